/*
 * Fuzzes the rule expression language (rules/rexpr*.c): the input, split at its first
 * newline, is a rule (SELECT ... FROM ... WHERE ... or, when it does not start with
 * "select", a bare condition over the source "server/+/telemetry") and a JSON payload;
 * a compiled rule is evaluated and selected against the payload (a fixed sample when the
 * second part is not a JSON object) and against no payload at all.
 *
 * An input starting with '{' is a whole rule definition (rules/rule_def.c: the JSON of
 * POST /v1/rules) instead: checked and compiled, and its templates rendered against the
 * sample.
 *
 * Checks: a refusal leaves no rule and a terminated message naming a position within the
 * text; an accepted rule has a valid filter, evaluates without crashing, and its SELECT
 * builds a valid document; a refused definition names a field, an accepted one has 1..8
 * actions whose templates render within their buffer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "rules/rexpr.h"
#include "rules/rule_def.h"

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

static void render_all(const rule_def *d, const bson_t *sel, const rexpr_ctx *c)
{
    char out[256];
    for (int i = 0; i < d->n_act; i++) {
        const rule_action *a = &d->act[i];
        const char *t[] = {a->topic, a->payload};
        for (int k = 0; k < 2; k++)
            if (t[k] && rule_render(t[k], sel, c, out, sizeof out) == 0)
                check(strlen(out) < sizeof out);
    }
}

static void definition(const uint8_t *data, size_t size)
{
    bson_t doc, sample, sel = BSON_INITIALIZER;
    json_err je;
    rule_def *d = (rule_def *)&d;
    if (json_parse(data, size, &doc, &je) < 0)
        return;
    if (rule_def_parse(&doc, NULL, &d, &je) < 0) {
        check(!d && memchr(je.message, '\0', sizeof je.message) && je.message[0]);
    } else {
        check(d && d->n_act >= 1 && d->n_act <= RULE_ACTIONS_MAX);
        payload_of(NULL, 0, &sample);
        rexpr_ctx c = {.topic = "server/dev1/telemetry", .device = "dev1", .payload = &sample};
        if (rexpr_select(d->x, &c, &sel) == 0)
            render_all(d, &sel, &c);
        bson_destroy(&sample);
        rule_def_free(d);
    }
    bson_destroy(&sel);
    bson_destroy(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size && data[0] == '{') {
        definition(data, size);
        return 0;
    }
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
