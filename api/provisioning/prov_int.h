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

/* Appends the public view of stored template @doc to @out (never the owner or a key). */
void prov__view(const bson_t *doc, bson_t *out);
/* {name} of the path into @out; <0 after answering 404. */
int prov__param_name(http_req *r, char out[STORE_NAME_MAX + 1]);
void prov__404(http_req *r);
int64_t prov__now_ms(void);

#endif
