/*
 * provisioning/prov_template.c: the template body, accepted with its defaults and every
 * field, and refused naming the field for each rule (name alphabet and length, bounds,
 * device type bytes, attribute shape and count, unknown fields such as a hook, bad JSON).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "provisioning/prov_template.h"

static int parse(const char *s, prov_template *t, json_err *e)
{
    memset(e, 0, sizeof *e);
    return prov_template_parse((const uint8_t *)s, strlen(s), t, e);
}

Test(prov_template, defaults)
{
    prov_template t;
    json_err e;
    cr_assert_eq(parse("{\"name\":\"batch-1\"}", &t, &e), 0, "%s", e.message);
    cr_assert_str_eq(t.name, "batch-1");
    cr_assert_str_eq(t.device_type, "");
    cr_assert_eq(t.max_devices, PROV_DEFAULT_DEVS);
    cr_assert_eq(t.expires_days, PROV_DEFAULT_DAYS);
    cr_assert_not(t.claim_by_code);
    cr_assert_eq(bson_count_keys(&t.attributes), 0);
    bson_destroy(&t.attributes);
}

Test(prov_template, every_field)
{
    prov_template t;
    json_err e;
    cr_assert_eq(parse("{\"name\":\"B_2\",\"device_type\":\"thermo v2\",\"max_devices\":1000000,"
                       "\"expires_days\":1,\"claim_by_code\":true,"
                       "\"attributes\":{\"factory\":\"lyon\",\"line\":\"\"}}",
                       &t, &e),
                 0, "%s", e.message);
    cr_assert_str_eq(t.name, "B_2");
    cr_assert_str_eq(t.device_type, "thermo v2");
    cr_assert_eq(t.max_devices, 1000000);
    cr_assert_eq(t.expires_days, 1);
    cr_assert(t.claim_by_code);
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, &t.attributes, "factory"));
    cr_assert_str_eq(bson_iter_utf8(&it, NULL), "lyon");
    cr_assert_eq(bson_count_keys(&t.attributes), 2);
    bson_destroy(&t.attributes);
}

static void refused(const char *body, const char *field)
{
    prov_template t;
    json_err e;
    cr_assert_lt(parse(body, &t, &e), 0, "accepted: %s", body);
    cr_assert_eq(e.status, 400, "%s", body);
    cr_assert_str_eq(e.field, field, "%s: %s", body, e.message);
    bson_destroy(&t.attributes);
}

Test(prov_template, refusals_name_the_field)
{
    refused("{}", "name");
    refused("{\"name\":\"\"}", "name");
    refused("{\"name\":\"a b\"}", "name");
    refused("{\"name\":\"a/b\"}", "name");
    refused("{\"name\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
            "name");
    refused("{\"name\":1}", "name");
    refused("{\"name\":\"a\",\"max_devices\":0}", "max_devices");
    refused("{\"name\":\"a\",\"max_devices\":1000001}", "max_devices");
    refused("{\"name\":\"a\",\"expires_days\":0}", "expires_days");
    refused("{\"name\":\"a\",\"expires_days\":3651}", "expires_days");
    refused("{\"name\":\"a\",\"device_type\":\"\"}", "device_type");
    refused("{\"name\":\"a\",\"device_type\":\"a\\nb\"}", "device_type");
    refused("{\"name\":\"a\",\"claim_by_code\":1}", "claim_by_code");
    refused("{\"name\":\"a\",\"attributes\":[]}", "attributes");
    refused("{\"name\":\"a\",\"attributes\":{\"k\":1}}", "attributes");
    refused("{\"name\":\"a\",\"attributes\":{\"k\":{\"x\":\"y\"}}}", "attributes");
    refused("{\"name\":\"a\",\"pre_provisioning_hook\":\"https://x\"}", "pre_provisioning_hook");
}

Test(prov_template, attribute_limits)
{
    char body[2048];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"name\":\"a\",\"attributes\":{");
    for (int i = 0; i < PROV_MAX_ATTRS + 1; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s\"k%d\":\"v\"", i ? "," : "", i);
    snprintf(body + n, sizeof body - n, "}}");
    refused(body, "attributes");
    char big[600];
    snprintf(big, sizeof big, "{\"name\":\"a\",\"attributes\":{\"k\":\"%0300d\"}}", 0);
    refused(big, "attributes");
}

Test(prov_template, bad_json)
{
    prov_template t;
    json_err e;
    cr_assert_lt(parse("{\"name\":\"a\"", &t, &e), 0);
    cr_assert_eq(e.status, 400);
    bson_destroy(&t.attributes);
    cr_assert_lt(parse("{\"name\":\"a\",\"name\":\"b\"}", &t, &e), 0, "duplicate key");
    bson_destroy(&t.attributes);
    cr_assert_lt(prov_template_parse(NULL, 0, &t, &e), 0);
    bson_destroy(&t.attributes);
}

static int patch(const char *s, prov_patch *p, json_err *e)
{
    memset(e, 0, sizeof *e);
    return prov_patch_parse((const uint8_t *)s, strlen(s), p, e);
}

Test(prov_template, patch_fields_present_or_not)
{
    prov_patch p;
    json_err e;
    cr_assert_eq(patch("{\"max_devices\":7}", &p, &e), 0, "%s", e.message);
    cr_assert(p.has_max && !p.has_type && !p.has_claim && !p.has_attrs);
    cr_assert_eq(p.max_devices, 7);
    bson_destroy(&p.attributes);
    cr_assert_eq(patch("{\"device_type\":null,\"claim_by_code\":false,\"attributes\":{}}", &p, &e),
                 0, "%s", e.message);
    cr_assert(p.has_type && p.has_claim && p.has_attrs && !p.has_max);
    cr_assert_str_eq(p.device_type, "", "null: no type");
    cr_assert_not(p.claim_by_code);
    bson_destroy(&p.attributes);
    cr_assert_eq(patch("{\"device_type\":\"lamp\",\"attributes\":{\"a\":\"b\"}}", &p, &e), 0);
    cr_assert_str_eq(p.device_type, "lamp");
    cr_assert_eq(bson_count_keys(&p.attributes), 1);
    bson_destroy(&p.attributes);
}

static void patch_refused(const char *body, const char *field)
{
    prov_patch p;
    json_err e;
    cr_assert_lt(patch(body, &p, &e), 0, "accepted: %s", body);
    cr_assert_eq(e.status, 400, "%s", body);
    cr_assert_str_eq(e.field, field, "%s: %s", body, e.message);
    bson_destroy(&p.attributes);
}

Test(prov_template, patch_refusals)
{
    patch_refused("{}", "body");
    patch_refused("{\"name\":\"x\"}", "name");
    patch_refused("{\"expires_days\":3}", "expires_days");
    patch_refused("{\"max_devices\":0}", "max_devices");
    patch_refused("{\"device_type\":1}", "device_type");
    patch_refused("{\"device_type\":\"\"}", "device_type");
    patch_refused("{\"attributes\":{\"k\":2}}", "attributes");
    patch_refused("{\"claim_by_code\":\"yes\"}", "claim_by_code");
}

Test(prov_template, name_alphabet)
{
    cr_assert(prov_name_ok("aZ09_-", 6));
    cr_assert_not(prov_name_ok("", 0));
    cr_assert_not(prov_name_ok("a.b", 3));
    cr_assert_not(prov_name_ok("\xc3\xa9", 2));
}
