/**
 * api/quota — the per-user quotas of the REST API and the one answer they share.
 *
 * A quota bounds what one user can make the server hold (docs/security.md, "Per-user
 * quotas"). The limits come from the configuration (app/config.c) and are read-only once
 * the loops run. A create that would go beyond one is answered
 *
 *   429 {"error": {"code": "quota_exceeded", "message": "...", "quota": NAME, "limit": N}}
 *
 * with the existing error shape plus the two fields that name the quota. Counting is done
 * in the store job that creates, so two concurrent creates cannot both slip past the limit
 * (the store thread runs jobs one after another).
 */
#ifndef IOT_API_QUOTA_H
#define IOT_API_QUOTA_H

#include <stdint.h>

#include "http/http.h"

/** Quota names as they appear in the answer. */
#define HTTP_QUOTA_DEVICES      "devices"
#define HTTP_QUOTA_DEVICE_TYPES "device_types"
#define HTTP_QUOTA_RECIPIENTS   "recipients"

typedef struct http_quota {
    uint32_t devices;      /* devices per user (config max-devices-per-user) */
    uint32_t device_types; /* own device types per user (max-device-types-per-user) */
    uint32_t recipients;   /* notification recipients per user (max-recipients-per-user) */

    /* provisioning templates per user (max-provisioning-templates-per-user) */
    uint32_t prov_templates;
} http_quota;

/** Answers 429 quota_exceeded naming @quota and its @limit. */
void http_respond_quota(http_req *r, const char *quota, uint32_t limit);

#endif
