/*
 * The shadow document rules (shadows/shadow.h): merge, null delete, arrays replace, delta,
 * metadata, version and optimistic concurrency, limits, and the answers' shapes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common/json.h"
#include "shadows/shadow.h"

static const shd_limits LIM = {.max_size = 8192, .max_depth = 6, .max_keys = 500, .max_named = 100};

/* The stored shadow after applying @reqs in order (each must be accepted) at times 100.. */
static bson_t *apply(const char *const *reqs, size_t n, const shd_limits *lim)
{
    bson_t *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        shd_result r;
        shd_result_init(&r);
        bson_t nx;
        int rc = shd_update(cur, (const uint8_t *)reqs[i], strlen(reqs[i]), 100 + (int64_t)i, lim,
                            &nx, &r);
        cr_assert_eq(rc, 0, "request %zu refused: %d %s", i, r.code, r.message);
        if (cur)
            bson_destroy(cur);
        cur = bson_copy(&nx);
        bson_destroy(&nx);
        shd_result_fini(&r);
    }
    return cur;
}

/* JSON text of the field at dotted @path of @d ("" when absent). */
static char *field(const bson_t *d, const char *path)
{
    static char out[4096];
    bson_iter_t it, f;
    out[0] = '\0';
    if (!bson_iter_init(&it, d) || !bson_iter_find_descendant(&it, path, &f))
        return out;
    bson_t wrap = BSON_INITIALIZER;
    bson_append_iter(&wrap, "v", 1, &f);
    char *t = json_text(&wrap, NULL);
    snprintf(out, sizeof out, "%s", t);
    bson_free(t);
    bson_destroy(&wrap);
    return out;
}

static void reject(const bson_t *cur, const char *req, int code)
{
    shd_result r;
    shd_result_init(&r);
    bson_t nx;
    cr_assert_lt(shd_update(cur, (const uint8_t *)req, strlen(req), 5, &LIM, &nx, &r), 0, "%s",
                 req);
    cr_assert_eq(r.code, code, "%s: code %d", req, r.code);
    char want[32];
    snprintf(want, sizeof want, "{ \"v\" : %d }", code);
    cr_assert_str_eq(field(&r.reply, "code"), want);
    cr_assert_neq(field(&r.reply, "message")[0], '\0');
    shd_result_fini(&r);
}

Test(shadow, merge_objects_key_by_key)
{
    const char *reqs[] = {"{\"state\":{\"reported\":{\"a\":1,\"o\":{\"x\":1,\"y\":2}}}}",
                          "{\"state\":{\"reported\":{\"b\":2,\"o\":{\"y\":3,\"z\":4}}}}"};
    bson_t *s = apply(reqs, 2, &LIM);
    cr_assert_str_eq(field(s, "state.reported"),
                     "{ \"v\" : { \"a\" : 1, \"o\" : { \"x\" : 1, \"y\" : 3, \"z\" : 4 }, "
                     "\"b\" : 2 } }");
    bson_destroy(s);
}

Test(shadow, null_deletes_a_key_and_a_section)
{
    const char *reqs[] = {"{\"state\":{\"reported\":{\"a\":1,\"o\":{\"x\":1,\"y\":2}},"
                          "\"desired\":{\"d\":1}}}",
                          "{\"state\":{\"reported\":{\"a\":null,\"o\":{\"x\":null},\"n\":null}}}",
                          "{\"state\":{\"desired\":null}}"};
    bson_t *s = apply(reqs, 3, &LIM);
    cr_assert_str_eq(field(s, "state.reported"), "{ \"v\" : { \"o\" : { \"y\" : 2 } } }");
    cr_assert_str_eq(field(s, "metadata.reported.a"), "");
    cr_assert_str_eq(field(s, "metadata.reported.o.x"), "");
    cr_assert_str_eq(field(s, "state.desired"), "");
    cr_assert_str_eq(field(s, "metadata.desired"), "");
    bson_destroy(s);
}

Test(shadow, arrays_replace_whole)
{
    const char *reqs[] = {"{\"state\":{\"desired\":{\"l\":[1,2,3]}}}",
                          "{\"state\":{\"desired\":{\"l\":[9]}}}"};
    bson_t *s = apply(reqs, 2, &LIM);
    cr_assert_str_eq(field(s, "state.desired.l"), "{ \"v\" : [ 9 ] }");
    cr_assert_str_eq(field(s, "metadata.desired.l"), "{ \"v\" : { \"timestamp\" : 101 } }");
    bson_destroy(s);
}

Test(shadow, scalar_replaces_object_and_back)
{
    const char *reqs[] = {"{\"state\":{\"desired\":{\"o\":{\"x\":1}}}}",
                          "{\"state\":{\"desired\":{\"o\":5}}}",
                          "{\"state\":{\"desired\":{\"o\":{\"y\":null,\"z\":2}}}}"};
    bson_t *s = apply(reqs, 3, &LIM);
    cr_assert_str_eq(field(s, "state.desired.o"), "{ \"v\" : { \"z\" : 2 } }");
    bson_destroy(s);
}

Test(shadow, metadata_timestamps_per_leaf)
{
    const char *reqs[] = {"{\"state\":{\"reported\":{\"a\":1,\"o\":{\"x\":1}}}}",
                          "{\"state\":{\"reported\":{\"o\":{\"y\":1}}}}"};
    bson_t *s = apply(reqs, 2, &LIM);
    cr_assert_str_eq(field(s, "metadata.reported.a.timestamp"), "{ \"v\" : 100 }");
    cr_assert_str_eq(field(s, "metadata.reported.o.x.timestamp"), "{ \"v\" : 100 }");
    cr_assert_str_eq(field(s, "metadata.reported.o.y.timestamp"), "{ \"v\" : 101 }");
    cr_assert_str_eq(field(s, "timestamp"), "{ \"v\" : 101 }");
    bson_destroy(s);
}

Test(shadow, version_counts_and_conflicts)
{
    const char *reqs[] = {"{\"state\":{\"reported\":{\"a\":1}}}",
                          "{\"state\":{\"reported\":{\"a\":2}},\"version\":1}"};
    bson_t *s = apply(reqs, 2, &LIM);
    cr_assert_eq(shd_version(s), 2);
    shd_result r;
    shd_result_init(&r);
    bson_t nx;
    const char *req = "{\"state\":{\"reported\":{\"a\":3}},\"version\":1,\"clientToken\":\"t\"}";
    cr_assert_lt(shd_update(s, (const uint8_t *)req, strlen(req), 7, &LIM, &nx, &r), 0);
    cr_assert_eq(r.code, 409);
    cr_assert_str_eq(field(&r.reply, "code"), "{ \"v\" : 409 }");
    cr_assert_str_eq(field(&r.reply, "clientToken"), "{ \"v\" : \"t\" }");
    cr_assert_str_eq(field(&r.reply, "timestamp"), "{ \"v\" : 7 }");
    cr_assert_str_eq(field(&r.reply, "message"), "{ \"v\" : \"Version conflict\" }");
    shd_result_fini(&r);
    bson_destroy(s);
}

Test(shadow, delta_is_desired_minus_reported)
{
    const char *reqs[] = {"{\"state\":{\"reported\":{\"a\":1,\"b\":\"x\",\"o\":{\"p\":1,\"q\":2},"
                          "\"l\":[1,2]}}}",
                          "{\"state\":{\"desired\":{\"a\":1.0,\"b\":\"y\",\"o\":{\"p\":1,\"q\":3},"
                          "\"l\":[1,2],\"n\":true}}}"};
    bson_t *cur = apply(reqs, 1, &LIM);
    shd_result r;
    shd_result_init(&r);
    bson_t nx;
    cr_assert_eq(shd_update(cur, (const uint8_t *)reqs[1], strlen(reqs[1]), 50, &LIM, &nx, &r), 0);
    cr_assert(r.has_delta);
    cr_assert_str_eq(field(&r.delta, "state"),
                     "{ \"v\" : { \"b\" : \"y\", \"o\" : { \"q\" : 3 }, \"n\" : true } }");
    cr_assert_str_eq(field(&r.delta, "metadata.o.q.timestamp"), "{ \"v\" : 50 }");
    cr_assert_str_eq(field(&r.delta, "version"), "{ \"v\" : 2 }");
    shd_result get;
    shd_result_init(&get);
    cr_assert_eq(shd_get(&nx, NULL, 0, 60, &get), 0);
    cr_assert_str_eq(field(&get.reply, "state.delta"),
                     "{ \"v\" : { \"b\" : \"y\", \"o\" : { \"q\" : 3 }, \"n\" : true } }");
    shd_result_fini(&get);
    shd_result_fini(&r);
    bson_destroy(&nx);
    bson_destroy(cur);
}

Test(shadow, no_delta_for_reported_only_or_equal)
{
    const char *reqs[] = {"{\"state\":{\"desired\":{\"a\":1}}}"};
    bson_t *cur = apply(reqs, 1, &LIM);
    shd_result r;
    shd_result_init(&r);
    bson_t nx;
    const char *req = "{\"state\":{\"reported\":{\"a\":1}}}";
    cr_assert_eq(shd_update(cur, (const uint8_t *)req, strlen(req), 50, &LIM, &nx, &r), 0);
    cr_assert_not(r.has_delta);
    cr_assert(r.has_documents);
    cr_assert_str_eq(field(&r.documents, "previous.version"), "{ \"v\" : 1 }");
    cr_assert_str_eq(field(&r.documents, "current.version"), "{ \"v\" : 2 }");
    shd_result get;
    shd_result_init(&get);
    shd_get(&nx, NULL, 0, 60, &get);
    cr_assert_str_eq(field(&get.reply, "state.delta"), "");
    shd_result_fini(&get);
    shd_result_fini(&r);
    bson_destroy(&nx);
    bson_destroy(cur);
}

Test(shadow, accepted_echoes_state_and_token)
{
    shd_result r;
    shd_result_init(&r);
    bson_t nx;
    const char *req = "{\"state\":{\"desired\":{\"a\":{\"b\":1}}},\"clientToken\":\"abc\"}";
    cr_assert_eq(shd_update(NULL, (const uint8_t *)req, strlen(req), 9, &LIM, &nx, &r), 0);
    cr_assert_str_eq(field(&r.reply, "state"),
                     "{ \"v\" : { \"desired\" : { \"a\" : { \"b\" : 1 } } } }");
    cr_assert_str_eq(field(&r.reply, "metadata.desired.a.b.timestamp"), "{ \"v\" : 9 }");
    cr_assert_str_eq(field(&r.reply, "version"), "{ \"v\" : 1 }");
    cr_assert_str_eq(field(&r.reply, "clientToken"), "{ \"v\" : \"abc\" }");
    cr_assert_str_eq(field(&r.documents, "previous"), "");
    bson_destroy(&nx);
    shd_result_fini(&r);
}

Test(shadow, bad_requests_rejected_400)
{
    reject(NULL, "", 400);
    reject(NULL, "{", 400);
    reject(NULL, "{}", 400);
    reject(NULL, "{\"state\":1}", 400);
    reject(NULL, "{\"state\":{}}", 400);
    reject(NULL, "{\"state\":{\"delta\":{}}}", 400);
    reject(NULL, "{\"state\":{\"desired\":[1]}}", 400);
    reject(NULL, "{\"state\":{\"desired\":{}},\"version\":\"1\"}", 400);
    reject(NULL, "{\"state\":{\"desired\":{}},\"clientToken\":5}", 400);
    reject(NULL,
           "{\"state\":{\"desired\":{}},\"clientToken\":"
           "\"01234567890123456789012345678901234567890123456789012345678901234\"}",
           400);
    reject(NULL, "{\"state\":{\"desired\":{\"a\":1}},\"version\":3}", 409);
}

Test(shadow, depth_and_key_limits)
{
    reject(NULL,
           "{\"state\":{\"desired\":{\"1\":{\"2\":{\"3\":{\"4\":{\"5\":{\"6\":{\"7\":1}}}}}}}}}",
           400);
    const char *six = "{\"state\":{\"desired\":{\"1\":{\"2\":{\"3\":{\"4\":{\"5\":{\"6\":1}}}}}}}}";
    bson_t *s = apply(&six, 1, &LIM);
    bson_destroy(s);
    shd_limits few = LIM;
    few.max_keys = 3;
    const char *three = "{\"state\":{\"desired\":{\"a\":1,\"b\":[1]}}}"; /* a, b, b.0 */
    s = apply(&three, 1, &few);
    bson_destroy(s);
    shd_result r;
    shd_result_init(&r);
    bson_t nx;
    const char *four = "{\"state\":{\"desired\":{\"a\":1,\"b\":[1,2]}}}";
    cr_assert_lt(shd_update(NULL, (const uint8_t *)four, strlen(four), 1, &few, &nx, &r), 0);
    cr_assert_eq(r.code, 400);
    shd_result_fini(&r);
}

Test(shadow, size_limit_on_request_and_result)
{
    shd_limits small = LIM;
    small.max_size = 60;
    char big[128];
    snprintf(big, sizeof big, "{\"state\":{\"desired\":{\"a\":\"%060d\"}}}", 0);
    shd_result r;
    shd_result_init(&r);
    bson_t nx;
    cr_assert_lt(shd_update(NULL, (const uint8_t *)big, strlen(big), 1, &small, &nx, &r), 0);
    cr_assert_eq(r.code, 413);
    shd_result_fini(&r);
    /* each request fits, the merged state does not */
    const char *reqs[] = {"{\"state\":{\"desired\":{\"a\":\"0123456789012\"}}}"};
    bson_t *s = apply(reqs, 1, &small);
    const char *more = "{\"state\":{\"desired\":{\"b\":\"0123456789012\"}}}";
    shd_result_init(&r);
    cr_assert_lt(shd_update(s, (const uint8_t *)more, strlen(more), 1, &small, &nx, &r), 0);
    cr_assert_eq(r.code, 413);
    shd_result_fini(&r);
    bson_destroy(s);
}

Test(shadow, get_and_delete_of_missing_are_404)
{
    shd_result r;
    shd_result_init(&r);
    const char *tok = "{\"clientToken\":\"x\"}";
    cr_assert_lt(shd_get(NULL, (const uint8_t *)tok, strlen(tok), 3, &r), 0);
    cr_assert_eq(r.code, 404);
    cr_assert_str_eq(field(&r.reply, "clientToken"), "{ \"v\" : \"x\" }");
    shd_result_fini(&r);
    shd_result_init(&r);
    cr_assert_lt(shd_delete(NULL, NULL, 0, 3, &r), 0);
    cr_assert_eq(r.code, 404);
    shd_result_fini(&r);
}

Test(shadow, names)
{
    cr_assert(shd_name_ok("cfg", 3));
    cr_assert(shd_name_ok("a:b_c-D9", 8));
    cr_assert_not(shd_name_ok("", 0));
    cr_assert_not(shd_name_ok("a/b", 3));
    cr_assert_not(shd_name_ok("a+", 2));
    cr_assert_not(shd_name_ok("$x", 2));
}
