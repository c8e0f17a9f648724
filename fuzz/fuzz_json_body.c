/*
 * fuzz_json_body — request bodies: JSON text → BSON → field table (common/json.c), and the
 * answer path back to JSON text. Any input must end in 0 or a filled json_err, never a
 * crash, leak or an error without code and message.
 */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

static void decode(const bson_t *doc)
{
    const char *s = NULL;
    size_t len = 0;
    int64_t n = 0;
    bool b = false;
    bson_iter_t o, a, any;
    json_field f[] = {
        {"username", JSON_STR, JSON_REQUIRED, .max_len = 64, .str = &s, .len = &len},
        {"n", JSON_INT, JSON_OPTIONAL, .min = -5, .max = 1000, .i64 = &n},
        {"b", JSON_BOOL, JSON_OPTIONAL, .b = &b},
        {"attrs", JSON_OBJ, JSON_OPTIONAL, .doc = &o},
        {"list", JSON_ARR, JSON_OPTIONAL, .doc = &a},
        {"params", JSON_ANY, JSON_OPTIONAL, .doc = &any},
    };
    json_err e;
    memset(&e, 0, sizeof e);
    if (json_decode(doc, f, sizeof f / sizeof f[0], &e) < 0) {
        if (!e.code[0] || !e.message[0])
            abort();
        return;
    }
    if (!s || strlen(s) != len)
        abort(); /* a required string without NUL, as promised */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t doc;
    json_err e;
    memset(&e, 0, sizeof e);
    if (json_parse(data, size, &doc, &e) < 0) {
        if (!e.code[0] || !e.message[0] || (e.status != 400))
            abort();
        return 0;
    }
    decode(&doc);
    char *out = bson_as_relaxed_extended_json(&doc, NULL);
    if (!out)
        abort();
    bson_free(out);
    bson_destroy(&doc);
    return 0;
}
