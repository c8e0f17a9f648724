/*
 * ntf_int — private to the api/notifications files: the handlers and the few helpers they share.
 */
#ifndef IOT_HTTP_NTF_INT_H
#define IOT_HTTP_NTF_INT_H

#include <stddef.h>

#include "common/container_of.h"
#include "api/api.h"
#include "api/job.h"
#include "api/json.h"
#include "api/notifications/notifications.h"
#include "store/store_app.h"

#define NTF_CONTAINER(p, type, member) container_of(p, type, member)

void ntf__recipients_get(http_req *r);
void ntf__recipients_put(http_req *r);
void ntf__list(http_req *r);
void ntf__post(http_req *r);

/* The {id} path parameter into @out; <0 after answering 404 when it cannot be an id. */
int ntf__device_param(http_req *r, char out[STORE_ID_MAX + 1]);
void ntf__respond_404(http_req *r);

#endif
