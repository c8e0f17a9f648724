/*
 * quota — the 429 answer of a per-user quota (api/quota.h).
 */
#include <stdio.h>

#include "api/quota.h"

void http_respond_quota(http_req *r, const char *quota, uint32_t limit)
{
    bson_t doc = BSON_INITIALIZER, err;
    char msg[160];
    snprintf(msg, sizeof msg, "you have reached the limit of %u %s", limit, quota);
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "error", &err);
    BSON_APPEND_UTF8(&err, "code", "quota_exceeded");
    BSON_APPEND_UTF8(&err, "message", msg);
    BSON_APPEND_UTF8(&err, "quota", quota);
    BSON_APPEND_INT64(&err, "limit", (int64_t)limit);
    bson_append_document_end(&doc, &err);
    http_respond_json(r, 429, &doc);
    bson_destroy(&doc);
}
