/*
 * prov_int — private to api/provisioning/: the handlers and what they share.
 */
#ifndef IOT_API_PROVISIONING_PROV_INT_H
#define IOT_API_PROVISIONING_PROV_INT_H

#include "api/api.h"
#include "api/job.h"
#include "store/store_app.h"

#define PROV_ID_LEN 25 /* "p" + 24 hex digits: the template id and its claim certificate's CN */

void prov__create(http_req *r);
void prov__list(http_req *r);
void prov__get(http_req *r);
void prov__delete(http_req *r);
void prov__patch(http_req *r);
void prov__replace_claim(http_req *r);

/* A claim certificate to revoke: set serial, reason (RFC 5280 CRLReason) and at (ms);
 * prov__revoke_claim fills not_after and done. */
typedef struct prov__revocation {
    char serial[64];
    char tmpl_id[32]; /* the template's id: the claim connections' principal id */
    int reason;
    int64_t at, not_after;
    bool done;
} prov__revocation;
#define PROV_REASON_SUPERSEDED 4
#define PROV_REASON_CESSATION  5

/* Store thread: revokes @v's certificate (already revoked or pruned: nothing). 0 or <0. */
int prov__revoke_claim(store_tx *tx, prov__revocation *v);
/* Loop, after the commit: the revset and a CRL build, when @v was revoked. */
void prov__revoked(api *a, const prov__revocation *v);

struct ca_issued;
/* Answers 201 {<view of @tmpl>, claim: {certificate, private_key, serial, not_after}}
 * and wipes the answer's copy of the key. */
void prov__respond_claim(http_req *r, const bson_t *view, const struct ca_issued *iss);

/* Appends the public view of stored template @doc to @out (never the owner or a key). */
void prov__view(const bson_t *doc, bson_t *out);
/* {name} of the path into @out; <0 after answering 404. */
int prov__param_name(http_req *r, char out[STORE_NAME_MAX + 1]);
void prov__404(http_req *r);
int64_t prov__now_ms(void);

#endif
