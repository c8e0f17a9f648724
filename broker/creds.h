/*
 * creds — credentials of live connections (creds.c). Owner loop only. A connection whose
 * principal carries a credential tag or an expiry is tracked from its acceptance to the
 * end of its transport. Internal header of broker/.
 */
#ifndef IOT_BROKER_CREDS_H
#define IOT_BROKER_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/bloop.h"

void creds__track(mconn *c);
void creds__untrack(mconn *c);
/* True when @c logged in as (@who, @id) with credential @cred (NULL: any). Pure. */
bool creds__matches(const broker_principal *p, enum broker_who who, const char *id,
                    const char *cred);
/* Closes @lp's connections matching (@who, @id, @cred); returns how many. */
size_t creds__close_matching(bloop *lp, enum broker_who who, const char *id, const char *cred);
/* Closes @lp's connections whose credential expired at @now (wall ms); returns how many,
 * and the earliest expiry still ahead in *@next (0: none). */
size_t creds__close_expired(bloop *lp, int64_t now, int64_t *next);
void creds__loop_init(bloop *lp);
void creds__loop_fini(bloop *lp);

#endif
