/*
 * tm_int — private to api/telemetry/: the request shared by its handlers.
 */
#ifndef IOT_API_TELEMETRY_TM_INT_H
#define IOT_API_TELEMETRY_TM_INT_H

#include <bson/bson.h>
#include <stdbool.h>

#include "api/api.h"
#include "api/telemetry/telemetry.h"
#include "api/job.h"
#include "store/store_app.h"
#include "telemetry/tm_agg.h"
#include "telemetry/tm_parse.h"

#define TMAPI_KEYS_MAX 32 /* keys= names at most */

/* A request's device: owner and {id} from the path; the resolved id once found. */
typedef struct tmapi_dev {
    char owner[STORE_ID_MAX + 1];
    char key[STORE_NAME_MAX + 1];
    char id[STORE_ID_MAX + 1];
    bool found;
} tmapi_dev;

/* Fills @d from the request (404 answered when {id} cannot be a device: <0). */
int tmapi__dev_init(http_req *r, tmapi_dev *d);
/* Store thread: resolves @d (by id, then by name, of its owner). 0 with d->found set or
 * not; <0 on store errors. */
int tmapi__dev_find(store_tx *tx, tmapi_dev *d);
void tmapi__respond_404(http_req *r);
/* A store job's answer: @rc < 0 the store's error (about @what), else 404 when the device
 * was not @found, else 200 with @out. Destroys @out. */
void tmapi__finish(http_req *r, int rc, bool found, bson_t *out, const char *what);
/* Appends @p's value as "v" (number, boolean or string). */
void tmapi__append_value(bson_t *doc, const store_tm_point *p);

/* keys=a,b,c into @keys (TMAPI_KEYS_MAX rows): 0, 1 when absent (*@n = 0), or <0 after a
 * 400 naming keys. */
int tmapi__parse_keys(http_req *r, char (*keys)[TM_KEY_MAX + 1], unsigned *n);

void tmapi__query(http_req *r);
void tmapi__latest(http_req *r);
void tmapi__delete(http_req *r);
void tmapi__logs(http_req *r);
void tmapi__stream_telemetry(http_req *r);
void tmapi__stream_logs(http_req *r);
void tmapi__ticket_telemetry(http_req *r);
void tmapi__ticket_logs(http_req *r);
void tmapi__stream_by_ticket(http_req *r);

/* tm_ticket.c. Issues a ticket of @user for device @dev and stream @kind into @out (44
 * bytes): 0, -1 (every slot holds a live ticket), -2 (no randomness). */
int tmapi__ticket_issue(tmapi_tickets *k, const char *user, const char *dev, int kind,
                        char out[44]);
/* Takes (and removes) ticket @t: 0 with @user and @dev (STORE_ID_MAX + 1 bytes each) and
 * *@kind, or -1 (unknown, used, expired). */
int tmapi__ticket_take(tmapi_tickets *k, const char *t, char *user, char *dev, int *kind);
uint32_t tmapi__ticket_ttl(const tmapi_tickets *k);

#endif
