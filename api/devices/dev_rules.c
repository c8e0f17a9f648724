/*
 * dev_rules — the device module's pure rules: ids, names, attributes, a type's required
 * attributes, device secrets. No loop, no store: unit-tested directly.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "api/devices/dev_int.h"
#include "ident/devdir.h"

static const char hexdig[] = "0123456789abcdef";

static void to_hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[in[i] >> 4];
        out[2 * i + 1] = hexdig[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int dev__id_new(char out[DEV_ID_LEN + 1])
{
    uint8_t b[(DEV_ID_LEN - 1) / 2];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    out[0] = 'd';
    to_hex(b, sizeof b, out + 1);
    return 0;
}

/* Length of the UTF-8 sequence starting at @s (well-formed, no overlongs or surrogates),
 * or 0. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || (s[0] >= 0xf8))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return n;
}

int dev__name_check(const char *s, const char **why)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > DEV_NAME_MAX) {
        *why = "1 to 128 bytes expected";
        return -1;
    }
    if (s[0] == ' ' || s[n - 1] == ' ') {
        *why = "must not start or end with a space";
        return -1;
    }
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            *why = "control characters are not allowed";
            return -1;
        }
        if (c == '/' || c == '+' || c == '#') {
            *why = "'/', '+' and '#' are not allowed";
            return -1;
        }
        size_t k = utf8_len((const unsigned char *)s + i);
        if (k == 0) {
            *why = "not valid UTF-8";
            return -1;
        }
        i += k;
    }
    return 0;
}

static bool ident_char(char c, bool first)
{
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '_' || c == '.' || c == '-'));
}

int dev__ident_check(const char *s, size_t max, const char **why)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) {
        *why = "a name of 1 to 64 characters expected";
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!ident_char(s[i], i == 0)) {
            *why = "letters, digits, '_', '.' and '-' only, starting with a letter or digit";
            return -1;
        }
    return 0;
}

static bool scalar_ok(const bson_iter_t *it, const char **why)
{
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
        uint32_t len;
        bson_iter_utf8(it, &len);
        if (len > DEV_ATTR_STR_MAX) {
            *why = "string values are at most 1024 bytes";
            return false;
        }
        return true;
    }
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_BOOL:
    case BSON_TYPE_NULL:
        return true;
    default:
        *why = "values must be strings, numbers, booleans or null";
        return false;
    }
}

int dev__attrs_check(const bson_t *attrs, const char **key, const char **why)
{
    bson_iter_t it;
    size_t n = 0;
    *key = NULL;
    if (!bson_iter_init(&it, attrs)) {
        *why = "an object expected";
        return -1;
    }
    while (bson_iter_next(&it)) {
        *key = bson_iter_key(&it);
        if (++n > DEV_ATTRS_MAX) {
            *why = "at most 64 attributes";
            return -1;
        }
        if (dev__ident_check(*key, DEV_ATTR_KEY_MAX, why) < 0 || !scalar_ok(&it, why))
            return -1;
    }
    *key = NULL;
    return 0;
}

static bool has_value(const bson_t *attrs, const char *name)
{
    bson_iter_t it;
    return attrs && bson_iter_init_find(&it, attrs, name) && !BSON_ITER_HOLDS_NULL(&it);
}

const char *dev__required_missing(const bson_t *attrs, const bson_t *type_doc)
{
    bson_iter_t it, arr;
    if (!bson_iter_init_find(&it, type_doc, "required") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &arr))
        return NULL;
    while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_UTF8(&arr))
            continue;
        const char *name = bson_iter_utf8(&arr, NULL);
        if (!has_value(attrs, name))
            return name;
    }
    return NULL;
}

int dev__secret_new(char text[DEV_SECRET_LEN + 1], uint8_t hash[32])
{
    uint8_t b[DEV_SECRET_LEN / 2];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    to_hex(b, sizeof b, text);
    OPENSSL_cleanse(b, sizeof b);
    devdir_secret_hash(text, DEV_SECRET_LEN, hash);
    return 0;
}
