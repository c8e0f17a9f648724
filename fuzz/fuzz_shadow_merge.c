/*
 * Fuzzes the shadow document rules (shadows/shadow.h): an update request (the input, as a
 * device or an app sends it) against no shadow and against a stored one, then get and
 * delete on the result.
 *
 * Checks: accepted or rejected with one of 400/409/413 and a /rejected document naming the
 * code; an accepted shadow is valid BSON, its version is the old one + 1, its state is
 * within the size limit; the delta and documents are valid BSON; the merge is idempotent
 * (applying the same request again yields the same state); get on the result is accepted.
 */
#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "shadows/shadow.h"

static const shd_limits LIM = {.max_size = 8192, .max_depth = 6, .max_keys = 500, .max_named = 100};

static void check(bool cond)
{
    if (!cond)
        abort();
}

static bson_t *stored(void)
{
    static const char req[] = "{\"state\":{\"desired\":{\"a\":1,\"o\":{\"x\":[1,2],\"y\":\"s\"}},"
                              "\"reported\":{\"a\":2,\"o\":{\"x\":[1]},\"z\":null,\"t\":true}}}";
    shd_result r;
    bson_t next;
    shd_result_init(&r);
    check(shd_update(NULL, (const uint8_t *)req, sizeof req - 1, 1, &LIM, &next, &r) == 0);
    shd_result_fini(&r);
    bson_t *out = bson_copy(&next);
    bson_destroy(&next);
    return out;
}

static bool same_state(const bson_t *a, const bson_t *b)
{
    bson_iter_t ia, ib;
    check(bson_iter_init_find(&ia, a, "state") && bson_iter_init_find(&ib, b, "state"));
    uint32_t na, nb;
    const uint8_t *pa, *pb;
    bson_iter_document(&ia, &na, &pa);
    bson_iter_document(&ib, &nb, &pb);
    return na == nb && memcmp(pa, pb, na) == 0;
}

static void after(const bson_t *next, const uint8_t *p, size_t n)
{
    shd_result r;
    shd_result_init(&r);
    check(shd_get(next, NULL, 0, 3, &r) == 0);
    check(bson_validate(&r.reply, BSON_VALIDATE_NONE, NULL));
    shd_result_fini(&r);
    /* idempotent: the same request again changes nothing but the version */
    bson_t again;
    shd_result_init(&r);
    if (shd_update(next, p, n, 4, &LIM, &again, &r) == 0) {
        check(same_state(next, &again));
        check(shd_version(&again) == shd_version(next) + 1);
        bson_destroy(&again);
    } else {
        check(r.code == 409 || r.code == 413); /* a version that matched once, or size */
    }
    shd_result_fini(&r);
    shd_result_init(&r);
    check(shd_delete(next, NULL, 0, 5, &r) == 0);
    shd_result_fini(&r);
}

static void one(const bson_t *cur, const uint8_t *p, size_t n)
{
    shd_result r;
    bson_t next;
    shd_result_init(&r);
    if (shd_update(cur, p, n, 2, &LIM, &next, &r) == 0) {
        check(r.code == 0 && bson_validate(&next, BSON_VALIDATE_NONE, NULL));
        check(shd_version(&next) == shd_version(cur) + 1);
        check(!r.has_delta || bson_validate(&r.delta, BSON_VALIDATE_NONE, NULL));
        check(r.has_documents && bson_validate(&r.documents, BSON_VALIDATE_NONE, NULL));
        char *t = json_text(&next, NULL);
        check(t != NULL);
        bson_free(t);
        after(&next, p, n);
        bson_destroy(&next);
    } else {
        check(r.code == 400 || r.code == 409 || r.code == 413);
        bson_iter_t it;
        check(bson_iter_init_find(&it, &r.reply, "code") && bson_iter_as_int64(&it) == r.code);
    }
    shd_result_fini(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bson_t *cur;
    if (!cur)
        cur = stored();
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    one(NULL, p, size);
    one(cur, p, size);
    free(p);
    return 0;
}
