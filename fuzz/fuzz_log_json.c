/*
 * fuzz_log_json — the JSON log line formatter (common/log_format.c) on arbitrary bytes, as
 * a peer could put them in a client id, a path or a message: every line must parse as JSON
 * (libbson's parser), be one line ending in '\n', fit the buffer, and give back the
 * component and level as given.
 *
 * Input layout: data[0] picks the output size (256..1279), data[1] a split point; the rest
 * is cut there into the message and a field value.
 */
#include <bson/bson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log_int.h"

static void check(bool cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cap = 256 + (size_t)data[0] * 4, cut = data[1];
    data += 2, size -= 2;
    cut = size ? cut % (size + 1) : 0;
    char *msg = malloc(cut + 1), *val = malloc(size - cut + 1), *out = malloc(cap);
    check(msg && val && out);
    memcpy(msg, data, cut);
    msg[cut] = '\0';
    memcpy(val, data + cut, size - cut);
    val[size - cut] = '\0';
    log_field f[] = {{"client_id", val}, {"peer", NULL}};
    log__event e = {"2026-01-02T03:04:05.678Z", "info", msg, f, 2};
    size_t n = log__format_json(&e, out, cap);
    check(n >= 2 && n <= cap && out[n - 1] == '\n');
    check(memchr(out, '\n', n - 1) == NULL);
    bson_error_t err;
    bson_t *b = bson_new_from_json((const uint8_t *)out, (ssize_t)n - 1, &err);
    check(b != NULL);
    bson_iter_t it;
    check(bson_iter_init_find(&it, b, "level") && BSON_ITER_HOLDS_UTF8(&it) &&
          strcmp(bson_iter_utf8(&it, NULL), "info") == 0);
    check(bson_iter_init_find(&it, b, "message") && BSON_ITER_HOLDS_UTF8(&it));
    check(bson_iter_init_find(&it, b, "component") && BSON_ITER_HOLDS_UTF8(&it));
    bson_destroy(b);
    free(msg);
    free(val);
    free(out);
    return 0;
}
