/**
 * provisioning/prov_template — the body of POST /v1/provisioning/templates, parsed and
 * checked (docs/provisioning.md). Pure: no loop, no store, no global; fuzzed by
 * fuzz/fuzz_provisioning.c.
 *
 *   field          type     rule                                   default
 *   name           string   1..64 of A-Z a-z 0-9 _ -                (required)
 *   device_type    string   1..64 bytes, no control character       none (untyped devices)
 *   max_devices    integer  1..PROV_MAX_DEVICES                     100
 *   expires_days   integer  1..PROV_MAX_DAYS: the claim             365
 *                           certificate's validity and the template's expiry
 *   claim_by_code  boolean  devices provisioned by it get a          false
 *                           one-time claim code
 *   attributes     object   up to PROV_MAX_ATTRS string values      {}
 *                           (1..64-byte keys, values up to 256 bytes), given to every
 *                           device provisioned by the template
 * Anything else (a pre-provisioning hook included: not implemented) is a 400 naming the
 * field.
 */
#ifndef IOT_PROVISIONING_PROV_TEMPLATE_H
#define IOT_PROVISIONING_PROV_TEMPLATE_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/json.h"

#define PROV_NAME_MAX     64
#define PROV_TYPE_MAX     64
#define PROV_ATTR_KEY_MAX 64
#define PROV_ATTR_VAL_MAX 256
#define PROV_MAX_ATTRS    32
#define PROV_MAX_DEVICES  1000000
#define PROV_MAX_DAYS     3650
#define PROV_DEFAULT_DEVS 100
#define PROV_DEFAULT_DAYS 365

typedef struct prov_template {
    char name[PROV_NAME_MAX + 1];
    char device_type[PROV_TYPE_MAX + 1]; /* "" = none */
    int64_t max_devices;
    int64_t expires_days;
    bool claim_by_code;
    bson_t attributes; /* always initialised by prov_template_parse: bson_destroy it */
} prov_template;

/** Parses @len bytes of JSON into @t. 0, or <0 with @e filled (status 400, field).
 *  @t->attributes is initialised in both cases. */
int prov_template_parse(const uint8_t *p, size_t len, prov_template *t, json_err *e);

/** What PATCH /v1/provisioning/templates/{name} changes: each field as in the table
 *  above, present or not (device_type null: none); name and expires_days are not
 *  changeable (400 unknown_field naming them). */
typedef struct prov_patch {
    bool has_type, has_max, has_claim, has_attrs;
    char device_type[PROV_TYPE_MAX + 1]; /* "" with has_type: none */
    int64_t max_devices;
    bool claim_by_code;
    bson_t attributes; /* always initialised by prov_patch_parse: bson_destroy it */
} prov_patch;

/** Parses a PATCH body (an object with at least one field). 0, or <0 with @e filled;
 *  @p->attributes is initialised in both cases. */
int prov_patch_parse(const uint8_t *p, size_t len, prov_patch *out, json_err *e);

/** A template name: 1..PROV_NAME_MAX of A-Z a-z 0-9 _ -. Pure. */
bool prov_name_ok(const char *s, size_t n);

#endif
