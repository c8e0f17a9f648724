/*
 * shd_rest_int — private to api/shadows/: the handlers (shd_rest.c, shd_list.c) and
 * what they share.
 */
#ifndef IOT_API_SHADOWS_SHD_REST_INT_H
#define IOT_API_SHADOWS_SHD_REST_INT_H

#include "api/api.h"
#include "api/job.h"
#include "shadows/shd_svc.h"
#include "store/store_app.h"

void shd__rest_list(http_req *r);
void shd__rest_get(http_req *r);
void shd__rest_update(http_req *r);
void shd__rest_delete(http_req *r);
void shd__rest_history(http_req *r);

/* Store thread: the id of device @key (an id, else a name) of @owner into @out;
 * STORE_ENOTFOUND for a missing or another user's device. */
int shd__rest_find(store_tx *tx, const char *owner, const char *key, char out[STORE_ID_MAX + 1]);
/* {id} into @out; <0 after answering 404. */
int shd__rest_key(http_req *r, char out[STORE_NAME_MAX + 1]);
void shd__rest_404(http_req *r);

#endif
