/*
 * Fuzzes the rule expression language (rules/rexpr*.c): the input, split at its first
 * newline, is a rule (SELECT ... FROM ... WHERE ... or, when it does not start with
 * "select", a bare condition over the source "server/+/telemetry") and a JSON payload;
 * a compiled rule is evaluated and selected against the payload (a fixed sample when the
 * second part is not a JSON object) and against no payload at all.
 *
 * Checks: a refusal leaves no rule and a terminated message naming a position within the
 * text; an accepted rule has a valid filter, evaluates without crashing, and its SELECT
 * builds a valid document.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "rules/rexpr.h"

static const char SAMPLE[] =
    "{\"temp\":21.5,\"hum\":40,\"name\":\"boiler-1\",\"s\":{\"a\":[1,{\"b\":2}]}}";

static void check(bool cond)
{
    if (!cond)
        abort();
}

static void run(const rexpr *x, const bson_t *payload)
{
    rexpr_ctx c = {.topic = "server/dev1/telemetry",
                   .device = "dev1",
                   .ts_ms = 1700000000000LL,
                   .payload = payload};
    (void)rexpr_match(x, &c);
    bson_t out = BSON_INITIALIZER;
    if (rexpr_select(x, &c, &out) == 0)
        check(bson_validate(&out, BSON_VALIDATE_NONE, NULL));
    bson_destroy(&out);
}

static void payload_of(const uint8_t *p, size_t n, bson_t *doc)
{
    json_err je;
    if (n && json_parse(p, n, doc, &je) == 0)
        return;
    check(json_parse((const uint8_t *)SAMPLE, sizeof SAMPLE - 1, doc, &je) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t rn = nl ? (size_t)(nl - data) : size;
    char *text = malloc(rn ? rn : 1);
    if (!text)
        return 0;
    memcpy(text, data, rn);
    rexpr *x = (rexpr *)&x;
    rexpr_err e;
    int rc = rn >= 6 && !strncasecmp(text, "select", 6)
                 ? rexpr_compile_sql(text, rn, NULL, &x, &e)
                 : rexpr_compile_cond("server/+/telemetry", text, rn, NULL, &x, &e);
    if (rc < 0) {
        check(!x && memchr(e.msg, '\0', sizeof e.msg) && e.msg[0] && e.pos <= rn + 1);
    } else {
        check(x && rexpr_filter(x)[0]);
        bson_t doc;
        payload_of(nl ? nl + 1 : data, nl ? size - rn - 1 : 0, &doc);
        run(x, &doc);
        run(x, NULL);
        bson_destroy(&doc);
        rexpr_free(x);
    }
    free(text);
    return 0;
}
