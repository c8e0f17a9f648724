/**
 * http/api — what REST handlers share: the object behind http_req_app(). Built by app/
 * main before the loops run, read-only afterwards (each member documents its own locking).
 */
#ifndef IOT_HTTP_API_H
#define IOT_HTTP_API_H

#include "http/http.h"

struct auth;
struct notify;

typedef struct api {
    store *st;
    struct auth *auth; /* accounts, tokens (http/auth.h) */
    struct notify *nt; /* outbox delivery (notify/notify.h); may be NULL in tests */
} api;

/** The api of a request (http_req_app). */
static inline api *api_of(const http_req *r) { return (api *)http_req_app(r); }

#endif
