/*
 * prov_template — the template body (prov_template.h): json_parse, the field table
 * (json_decode refuses unknown fields, wrong types, out-of-range integers), then the
 * checks json_decode cannot make: the name's alphabet, the type's bytes, the attributes'
 * shape and counts.
 */
#include "provisioning/prov_template.h"

#include <stdio.h>
#include <string.h>

static int bad(json_err *e, const char *field, const char *why)
{
    snprintf(e->code, sizeof e->code, "invalid_field");
    snprintf(e->field, sizeof e->field, "%s", field);
    snprintf(e->message, sizeof e->message, "%s: %s", field, why);
    e->status = 400;
    return -1;
}

bool prov_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > PROV_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return n > 0;
}

/* attributes: an object of at most PROV_MAX_ATTRS strings, copied into @dst
 * (json_parse refused duplicate keys already). */
static int take_attrs(const bson_iter_t *at, bson_t *dst, json_err *e)
{
    bson_iter_t it;
    unsigned n = 0;
    if (!bson_iter_recurse(at, &it))
        return bad(e, "attributes", "an object expected");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        uint32_t vn = 0;
        if (++n > PROV_MAX_ATTRS)
            return bad(e, "attributes", "at most 32 attributes");
        if (!BSON_ITER_HOLDS_UTF8(&it))
            return bad(e, "attributes", "every value must be a string");
        const char *v = bson_iter_utf8(&it, &vn);
        if (!printable(k, strlen(k)) || strlen(k) > PROV_ATTR_KEY_MAX)
            return bad(e, "attributes", "keys are 1..64 printable bytes");
        if (vn > PROV_ATTR_VAL_MAX || memchr(v, 0, vn))
            return bad(e, "attributes", "values are at most 256 bytes, no NUL");
        if (!bson_append_utf8(dst, k, -1, v, (int)vn))
            return bad(e, "attributes", "too large");
    }
    return 0;
}

static int take_type(const char *s, size_t n, char out[PROV_TYPE_MAX + 1], json_err *e)
{
    if (!printable(s, n))
        return bad(e, "device_type", "1..64 printable bytes expected");
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static int decode(const bson_t *doc, prov_template *t, json_err *e)
{
    const char *name = NULL, *type = NULL;
    size_t name_len = 0, type_len = 0;
    bson_iter_t attrs;
    json_field f[] = {
        {"name", JSON_STR, JSON_REQUIRED, .max_len = PROV_NAME_MAX, .str = &name, .len = &name_len},
        {"device_type", JSON_STR, JSON_OPTIONAL, .max_len = PROV_TYPE_MAX, .str = &type,
         .len = &type_len},
        {"max_devices", JSON_INT, JSON_OPTIONAL, .min = 1, .max = PROV_MAX_DEVICES,
         .i64 = &t->max_devices},
        {"expires_days", JSON_INT, JSON_OPTIONAL, .min = 1, .max = PROV_MAX_DAYS,
         .i64 = &t->expires_days},
        {"claim_by_code", JSON_BOOL, JSON_OPTIONAL, .b = &t->claim_by_code},
        {"attributes", JSON_OBJ, JSON_OPTIONAL, .doc = &attrs},
    };
    if (json_decode(doc, f, sizeof f / sizeof f[0], e) < 0)
        return -1;
    if (!prov_name_ok(name, name_len))
        return bad(e, "name", "1..64 characters of A-Z a-z 0-9 _ - expected");
    memcpy(t->name, name, name_len);
    t->name[name_len] = '\0';
    if (type && take_type(type, type_len, t->device_type, e) < 0)
        return -1;
    return f[5].present ? take_attrs(&attrs, &t->attributes, e) : 0;
}

int prov_template_parse(const uint8_t *p, size_t len, prov_template *t, json_err *e)
{
    bson_t doc;
    memset(t, 0, sizeof *t);
    bson_init(&t->attributes);
    t->max_devices = PROV_DEFAULT_DEVS;
    t->expires_days = PROV_DEFAULT_DAYS;
    if (json_parse(p, len, &doc, e) < 0)
        return -1;
    int rc = decode(&doc, t, e);
    bson_destroy(&doc);
    return rc;
}

/* device_type in a PATCH: a string, or null for none. */
static int patch_type(const bson_iter_t *it, prov_patch *pt, json_err *e)
{
    uint32_t n = 0;
    pt->has_type = true;
    if (BSON_ITER_HOLDS_NULL(it))
        return 0;
    if (!BSON_ITER_HOLDS_UTF8(it))
        return bad(e, "device_type", "a string or null expected");
    const char *s = bson_iter_utf8(it, &n);
    if (n > PROV_TYPE_MAX || memchr(s, 0, n))
        return bad(e, "device_type", "1..64 printable bytes expected");
    return take_type(s, n, pt->device_type, e);
}

static int decode_patch(const bson_t *doc, prov_patch *pt, json_err *e)
{
    bson_iter_t type, attrs;
    json_field f[] = {
        {"device_type", JSON_ANY, JSON_OPTIONAL, .doc = &type},
        {"max_devices", JSON_INT, JSON_OPTIONAL, .min = 1, .max = PROV_MAX_DEVICES,
         .i64 = &pt->max_devices},
        {"claim_by_code", JSON_BOOL, JSON_OPTIONAL, .b = &pt->claim_by_code},
        {"attributes", JSON_OBJ, JSON_OPTIONAL, .doc = &attrs},
    };
    if (json_decode(doc, f, sizeof f / sizeof f[0], e) < 0)
        return -1;
    pt->has_max = f[1].present;
    pt->has_claim = f[2].present;
    pt->has_attrs = f[3].present;
    if (f[0].present && patch_type(&type, pt, e) < 0)
        return -1;
    if (!pt->has_type && !pt->has_max && !pt->has_claim && !pt->has_attrs)
        return bad(e, "body", "nothing to change");
    return pt->has_attrs ? take_attrs(&attrs, &pt->attributes, e) : 0;
}

int prov_patch_parse(const uint8_t *p, size_t len, prov_patch *out, json_err *e)
{
    bson_t doc;
    memset(out, 0, sizeof *out);
    bson_init(&out->attributes);
    if (json_parse(p, len, &doc, e) < 0)
        return -1;
    int rc = decode_patch(&doc, out, e);
    bson_destroy(&doc);
    return rc;
}
