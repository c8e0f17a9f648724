/*
 * Fuzzes the provisioning template bodies (provisioning/prov_template.h): the input as the
 * body of POST /v1/provisioning/templates and as the body of a PATCH.
 *
 * Checks: accepted or refused with status 400 and a code; an accepted template has a name
 * that passes prov_name_ok, max_devices and expires_days within their bounds, a printable
 * device type or none, and at most PROV_MAX_ATTRS string attributes; parsing the same
 * bytes again gives the same answer.
 */
#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provisioning/prov_template.h"

static void check(bool cond)
{
    if (!cond)
        abort();
}

static void check_accepted(const prov_template *t)
{
    check(prov_name_ok(t->name, strlen(t->name)));
    check(t->max_devices >= 1 && t->max_devices <= PROV_MAX_DEVICES);
    check(t->expires_days >= 1 && t->expires_days <= PROV_MAX_DAYS);
    for (const char *p = t->device_type; *p; p++)
        check((unsigned char)*p >= 0x20 && *p != 0x7f);
    bson_iter_t it;
    unsigned n = 0;
    check(bson_iter_init(&it, &t->attributes));
    while (bson_iter_next(&it)) {
        check(BSON_ITER_HOLDS_UTF8(&it));
        n++;
    }
    check(n <= PROV_MAX_ATTRS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prov_template a, b;
    json_err e1 = {0}, e2 = {0};
    int r1 = prov_template_parse(data, size, &a, &e1);
    int r2 = prov_template_parse(data, size, &b, &e2);
    check((r1 < 0) == (r2 < 0));
    if (r1 < 0) {
        check(e1.status == 400 && e1.code[0]);
        check(strcmp(e1.code, e2.code) == 0 && strcmp(e1.field, e2.field) == 0);
    } else {
        check_accepted(&a);
        check(strcmp(a.name, b.name) == 0 && a.max_devices == b.max_devices);
        check(bson_equal(&a.attributes, &b.attributes));
    }
    bson_destroy(&a.attributes);
    bson_destroy(&b.attributes);
    /* the same bytes as a PATCH body */
    prov_patch p;
    json_err e3 = {0};
    if (prov_patch_parse(data, size, &p, &e3) == 0) {
        check(p.has_type || p.has_max || p.has_claim || p.has_attrs);
        check(!p.has_max || (p.max_devices >= 1 && p.max_devices <= PROV_MAX_DEVICES));
        check(bson_count_keys(&p.attributes) <= PROV_MAX_ATTRS);
    } else {
        check(e3.status == 400 && e3.code[0]);
    }
    bson_destroy(&p.attributes);
    return 0;
}
