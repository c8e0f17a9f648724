/*
 * quota — per-user quotas of the broker: persistent sessions and offline queues per account.
 *
 * An account is the user who pays for a session: a USER principal is its own account, a
 * DEVICE principal's is its owner (broker_opts.account_of), ANON has none and is never
 * limited. Only persistent sessions are accounted (a clean session keeps nothing when its
 * connection ends).
 *
 *   sessions  persistent sessions in the registry, changed by registry__put/remove under
 *             br->reg_lock; open_session checks it under the same lock before creating
 *             one, so the limit is exact.
 *   queued    messages in the queues (behind the inflight window) of the account's
 *             persistent sessions that have no live connection; an atomic, since each
 *             session's owner loop adds and removes its own share (s->acct_q) without any
 *             lock. A place is taken with a compare-and-swap before a message is queued,
 *             so loops racing for the last place cannot pass the limit together.
 *
 * Both are O(1) per operation. Account entries live until broker_free (one per user that
 * ever had a persistent session); the table is guarded by br->reg_lock.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/mconn.h"
#include "broker/quota.h"
#include "broker/registry.h"
#include "broker/session.h"

static uint64_t hash_id(const char *p)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *p; p++) {
        h ^= (uint8_t)*p;
        h *= 1099511628211ull;
    }
    return h;
}

bool quota__account_id(broker *br, const broker_principal *p, char out[BROKER_PRINCIPAL_ID_MAX + 1])
{
    if (p->who == BROKER_WHO_USER) {
        memcpy(out, p->id, sizeof p->id);
        return out[0] != '\0';
    }
    if (p->who != BROKER_WHO_DEVICE || !br->o.account_of)
        return false;
    out[0] = '\0';
    return br->o.account_of(br->o.account_arg, p->id, out) && out[0] != '\0';
}

static size_t slot_of(broker *br, const char *id)
{
    size_t mask = br->acct_cap - 1;
    size_t i = (size_t)hash_id(id) & mask;
    while (br->acct[i] && strcmp(br->acct[i]->id, id) != 0)
        i = (i + 1) & mask;
    return i;
}

static int grow(broker *br)
{
    size_t ncap = br->acct_cap ? br->acct_cap * 2 : 64, ocap = br->acct_cap;
    qacct **old = br->acct, **n = calloc(ncap, sizeof *n);
    if (!n)
        return -1;
    br->acct = n;
    br->acct_cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i])
            br->acct[slot_of(br, old[i]->id)] = old[i];
    free(old);
    return 0;
}

qacct *quota__acct(broker *br, const char *id)
{
    if (br->acct_cap) {
        qacct *a = br->acct[slot_of(br, id)];
        if (a)
            return a;
    }
    if ((br->acct_n + 1) * 4 > br->acct_cap * 3 && grow(br) < 0)
        return NULL;
    qacct *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    memcpy(a->id, id, strnlen(id, BROKER_PRINCIPAL_ID_MAX));
    atomic_init(&a->queued, 0);
    br->acct[slot_of(br, id)] = a;
    br->acct_n++;
    return a;
}

void quota__free_all(broker *br)
{
    for (size_t i = 0; i < br->acct_cap; i++)
        free(br->acct[i]);
    free(br->acct);
    br->acct = NULL;
    br->acct_cap = br->acct_n = 0;
}

bool quota__sessions_full(broker *br, const qacct *a)
{
    uint32_t max = br->o.max_sessions_per_user;
    return a && max && a->sessions >= max;
}

void quota__registered(session *s, bool added)
{
    if (!s->acct || s->clean)
        return;
    if (added)
        s->acct->sessions++;
    else if (s->acct->sessions)
        s->acct->sessions--;
}

/* The queue counts against the account while the session has no live connection. */
static bool counted(const session *s)
{
    return !s->dead && !(s->conn && s->conn->state == MC_CONNECTED);
}

void quota__queue_sync(session *s)
{
    qacct *a = s->acct;
    if (!a)
        return;
    uint32_t want = counted(s) ? s->qlen : 0;
    if (want > s->acct_q)
        atomic_fetch_add_explicit(&a->queued, want - s->acct_q, memory_order_relaxed);
    else if (want < s->acct_q)
        atomic_fetch_sub_explicit(&a->queued, s->acct_q - want, memory_order_relaxed);
    s->acct_q = want;
}

bool quota__queue_take(session *s)
{
    qacct *a = s->acct;
    uint32_t max = s->br->o.max_queued_per_user;
    if (!a || !max || !counted(s))
        return true;
    quota__queue_sync(s); /* drops since the last sync give their places back first */
    unsigned v = atomic_load_explicit(&a->queued, memory_order_relaxed);
    do {
        if (v >= max)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&a->queued, &v, v + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    s->acct_q++; /* the caller appends; a failed append is corrected by the next sync */
    return true;
}

void broker_quota_usage(broker *br, const char *account, uint32_t *sessions, uint32_t *queued)
{
    registry__lock(br);
    qacct *a = br->acct_cap ? br->acct[slot_of(br, account)] : NULL;
    *sessions = a ? a->sessions : 0;
    *queued = a ? atomic_load(&a->queued) : 0;
    registry__unlock(br);
}
