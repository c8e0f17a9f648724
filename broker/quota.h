/*
 * quota — per-user quotas: persistent sessions and offline queued messages per account
 * (quota.c). Internal header of broker/.
 */
#ifndef IOT_BROKER_QUOTA_H
#define IOT_BROKER_QUOTA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/bloop.h"

struct qacct {
    uint32_t sessions;  /* persistent sessions registered; br->reg_lock */
    atomic_uint queued; /* messages queued in its offline persistent sessions */
    char id[BROKER_PRINCIPAL_ID_MAX + 1];
};

/* Any thread, no lock: the account of @p into @out; false when it has none (not limited). */
bool quota__account_id(broker *br, const broker_principal *p,
                       char out[BROKER_PRINCIPAL_ID_MAX + 1]);
/* Under reg_lock: the entry of account @id, created when new; NULL when out of memory. */
qacct *quota__acct(broker *br, const char *id);
/* Under reg_lock: @a has max_sessions_per_user persistent sessions already. */
bool quota__sessions_full(broker *br, const qacct *a);
/* Under reg_lock (registry.c): @s entered (@added) or left the registry. */
void quota__registered(session *s, bool added);
/* Owner loop: brings @s's share of acct->queued up to date (after any queue change, and
 * when a connection attaches or detaches). */
void quota__queue_sync(session *s);
/* Owner loop, before queueing one message: takes a place in the account's queue quota.
 * True when taken or when @s is not limited; false when the account is full. */
bool quota__queue_take(session *s);
void quota__free_all(broker *br); /* broker_free */

#endif
