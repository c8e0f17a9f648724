/*
 * json — request bodies: JSON text → BSON (libbson's parser) → checked fields.
 *
 * libbson reads extended JSON, so {"$regex": ...} or {"$date": ...} would turn into BSON
 * types plain JSON cannot express. Bodies are plain JSON: after parsing, every value must
 * be one of the types a JSON parser produces (so {"$numberLong": "5"} passes as the number
 * 5, which is what it spells), and no remaining key may start with '$' (a key that reaches
 * MongoDB as an operator is an injection).
 *
 * libbson also stops after the first complete object and ignores what follows when it
 * starts like another value ("{..}{..}" or "{..} {"), and reads the non-JSON literals NaN
 * and Infinity. RFC 8259 allows neither: a JSON text is one value with optional whitespace
 * around it (section 2), and NaN/Infinity are not numbers (section 6). Both are refused.
 */
#include "common/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(json_err *e, int status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Replaces every byte that does not start a valid UTF-8 sequence with '?'. The field name
 * and message echo request bytes (a key, libbson's parser message) and may be cut
 * mid-character by their buffers; the answer is JSON, which must be UTF-8, or encoding it
 * fails and the client gets a 500 instead of this 400. */
static void scrub_utf8(char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
        if (i + n <= len && bson_utf8_validate(s + i, n, false)) {
            i += n;
        } else {
            s[i] = '?';
            i++;
        }
    }
}

static int fail(json_err *e, int status, const char *code, const char *field, const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    snprintf(e->code, sizeof e->code, "%s", code);
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    scrub_utf8(e->field);
    scrub_utf8(e->message);
    return -1;
}

static bool plain_type(bson_type_t t)
{
    switch (t) {
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_UTF8:
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
    case BSON_TYPE_BOOL:
    case BSON_TYPE_NULL:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        return true;
    default:
        return false;
    }
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Duplicate keys: sorted copy of the level's keys, O(n log n) even for a 1 MiB body. */
static int check_dups(const bson_iter_t *start, json_err *e)
{
    bson_iter_t it = *start;
    size_t n = 0, i = 0;
    while (bson_iter_next(&it))
        n++;
    if (n < 2)
        return 0;
    const char **keys = malloc(n * sizeof *keys);
    if (!keys)
        return fail(e, 500, "internal", NULL, "out of memory");
    it = *start;
    while (bson_iter_next(&it))
        keys[i++] = bson_iter_key(&it);
    qsort(keys, n, sizeof *keys, cmp_key);
    int rc = 0;
    for (i = 1; i < n && rc == 0; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            rc = fail(e, 400, "bad_json", keys[i], "key '%.64s' appears twice", keys[i]);
    free(keys);
    return rc;
}

static int check_value(const bson_iter_t *it, json_err *e)
{
    const char *k = bson_iter_key(it);
    if (k[0] == '$')
        return fail(e, 400, "bad_json", k, "key '%.64s' must not start with '$'", k);
    if (!plain_type(bson_iter_type(it)))
        return fail(e, 400, "bad_json", k, "field '%.64s': extended JSON is not accepted", k);
    /* [RFC 8259 6] NaN and Infinity are not permitted (also spelt {"$numberDouble":..}). */
    if (BSON_ITER_HOLDS_DOUBLE(it) && !isfinite(bson_iter_double(it)))
        return fail(e, 400, "bad_json", k, "field '%.64s': NaN and Infinity are not JSON numbers",
                    k);
    if (BSON_ITER_HOLDS_UTF8(it)) {
        uint32_t len;
        const char *s = bson_iter_utf8(it, &len);
        if (memchr(s, '\0', len) || !bson_utf8_validate(s, len, false))
            return fail(e, 400, "bad_json", k,
                        "field '%.64s': string is not valid UTF-8 without NUL", k);
    }
    return 0;
}

/* Walks one level: plain types only, no '$' keys, no duplicate keys, valid UTF-8 without
 * NUL in strings; recurses into documents and arrays up to JSON_MAX_DEPTH. */
static int check_level(bson_iter_t *it, int depth, json_err *e)
{
    if (depth > JSON_MAX_DEPTH)
        return fail(e, 400, "bad_json", NULL, "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
    if (check_dups(it, e) < 0)
        return -1;
    while (bson_iter_next(it)) {
        if (check_value(it, e) < 0)
            return -1;
        if (BSON_ITER_HOLDS_DOCUMENT(it) || BSON_ITER_HOLDS_ARRAY(it)) {
            bson_iter_t child;
            if (!bson_iter_recurse(it, &child) || check_level(&child, depth + 1, e) < 0)
                return -1;
        }
    }
    return 0;
}

static bool json_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Index just past the value that starts at @i (an object or array: strings are skipped,
 * brackets counted), or @len when it does not end. Malformed text is libbson's to refuse. */
static size_t value_end(const uint8_t *p, size_t len, size_t i)
{
    size_t depth = 0;
    bool in_str = false;
    for (; i < len; i++) {
        uint8_t c = p[i];
        if (in_str) {
            if (c == '\\')
                i++; /* the escaped byte cannot end the string */
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && depth > 0 && --depth == 0) {
            return i + 1;
        }
    }
    return len;
}

/* [RFC 8259 2] JSON-text = ws value ws: nothing but whitespace after the object. */
static int check_trailing(const uint8_t *p, size_t len, size_t start, json_err *e)
{
    size_t end = value_end(p, len, start);
    for (size_t i = end; i < len; i++)
        if (!json_ws(p[i]))
            return fail(e, 400, "bad_json", NULL,
                        "unexpected data after the JSON object at byte %zu", i);
    return 0;
}

int json_parse(const uint8_t *p, size_t len, bson_t *out, json_err *e)
{
    size_t i = 0;
    while (i < len && json_ws(p[i]))
        i++;
    if (i == len)
        return fail(e, 400, "bad_json", NULL, "request body is empty; a JSON object is expected");
    if (p[i] != '{')
        return fail(e, 400, "bad_json", NULL, "request body must be a JSON object");
    if (memchr(p, '\0', len))
        return fail(e, 400, "bad_json", NULL, "request body holds a NUL byte");
    if (check_trailing(p, len, i, e) < 0)
        return -1;
    bson_error_t be;
    if (!bson_init_from_json(out, (const char *)p, (ssize_t)len, &be))
        return fail(e, 400, "bad_json", NULL, "malformed JSON: %.180s", be.message);
    bson_iter_t it;
    if (!bson_iter_init(&it, out) || check_level(&it, 1, e) < 0) {
        if (e->code[0] == '\0')
            fail(e, 400, "bad_json", NULL, "malformed JSON");
        bson_destroy(out);
        return -1;
    }
    return 0;
}

static const char *type_name(enum json_type t)
{
    static const char *const names[] = {"a string",  "an integer", "a boolean",
                                        "an object", "an array",   "a value"};
    return names[t];
}

static json_field *find_field(json_field *f, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].name, k) == 0)
            return &f[i];
    return NULL;
}

static int get_int(const bson_iter_t *it, int64_t *v)
{
    if (BSON_ITER_HOLDS_INT32(it) || BSON_ITER_HOLDS_INT64(it)) {
        *v = bson_iter_as_int64(it);
        return 0;
    }
    if (BSON_ITER_HOLDS_DOUBLE(it)) {
        double d = bson_iter_double(it);
        if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(int64_t)d) {
            *v = (int64_t)d;
            return 0;
        }
    }
    return -1;
}

static int take_str(json_field *f, const bson_iter_t *it, json_err *e)
{
    uint32_t len;
    const char *s = bson_iter_utf8(it, &len);
    size_t max = f->max_len ? f->max_len : 4096;
    if (len > max)
        return fail(e, 400, "invalid_field", f->name, "field '%s' must be at most %zu bytes",
                    f->name, max);
    if (f->str)
        *f->str = s;
    if (f->len)
        *f->len = len;
    return 0;
}

static int take_int(json_field *f, const bson_iter_t *it, json_err *e)
{
    int64_t v;
    if (get_int(it, &v) < 0)
        return fail(e, 400, "invalid_field", f->name, "field '%s' must be an integer", f->name);
    if ((f->min || f->max) && (v < f->min || v > f->max))
        return fail(e, 400, "invalid_field", f->name, "field '%s' must be between %lld and %lld",
                    f->name, (long long)f->min, (long long)f->max);
    if (f->i64)
        *f->i64 = v;
    return 0;
}

static bool type_ok(enum json_type t, const bson_iter_t *it)
{
    int64_t v;
    switch (t) {
    case JSON_STR:
        return BSON_ITER_HOLDS_UTF8(it);
    case JSON_INT:
        return get_int(it, &v) == 0 || BSON_ITER_HOLDS_DOUBLE(it);
    case JSON_BOOL:
        return BSON_ITER_HOLDS_BOOL(it);
    case JSON_OBJ:
        return BSON_ITER_HOLDS_DOCUMENT(it);
    case JSON_ARR:
        return BSON_ITER_HOLDS_ARRAY(it);
    case JSON_ANY:
        return true;
    }
    return false;
}

static int take(json_field *f, const bson_iter_t *it, json_err *e)
{
    if (!type_ok(f->type, it))
        return fail(e, 400, "invalid_field", f->name, "field '%s' must be %s", f->name,
                    type_name(f->type));
    f->present = true;
    switch (f->type) {
    case JSON_STR:
        return take_str(f, it, e);
    case JSON_INT:
        return take_int(f, it, e);
    case JSON_BOOL:
        if (f->b)
            *f->b = bson_iter_bool(it);
        return 0;
    default:
        if (f->doc)
            *f->doc = *it;
        return 0;
    }
}

int json_decode(const bson_t *doc, json_field *f, size_t n, json_err *e)
{
    bson_iter_t it;
    for (size_t i = 0; i < n; i++)
        f[i].present = false;
    if (!bson_iter_init(&it, doc))
        return fail(e, 400, "bad_json", NULL, "malformed document");
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        json_field *fi = find_field(f, n, k);
        if (!fi)
            return fail(e, 400, "unknown_field", k, "unknown field '%.64s'", k);
        if (fi->present)
            return fail(e, 400, "bad_json", k, "key '%.64s' appears twice", k);
        if (take(fi, &it, e) < 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (f[i].need == JSON_REQUIRED && !f[i].present)
            return fail(e, 400, "missing_field", f[i].name, "field '%s' is required", f[i].name);
    return 0;
}

const char *json_doc_str(const bson_t *d, const char *key)
{
    bson_iter_t it;
    if (d && bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return NULL;
}

int64_t json_doc_i64(const bson_t *d, const char *key)
{
    bson_iter_t it;
    if (d && bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_NUMBER(&it))
        return bson_iter_as_int64(&it);
    return 0;
}

char *json_text(const bson_t *doc, size_t *len) { return bson_as_relaxed_extended_json(doc, len); }

bool json_parse_loose(const uint8_t *p, size_t len, bson_t *out)
{
    bson_error_t err;
    return bson_init_from_json(out, (const char *)p, (ssize_t)len, &err);
}
