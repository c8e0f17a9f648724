/*
 * rl_test — POST /v1/rules/test (rules.h): a definition evaluated against one sample
 * message, on the loop (compiling and evaluating are pure and bounded), with no side
 * effects: nothing is published, stored or sent; the answer says what would be.
 *
 *   {"rule": <definition; "name" may be left out>, "topic": "server/dev1/telemetry",
 *    "payload": {...} | "text", "device": "dev1" (default: the topic's second level),
 *    "timestamp": ms (default: now)}
 *   -> {"matched": bool, "selection": {...} | null, "actions": [{type, ...rendered}]}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "api/rules/rl_int.h"
#include "common/clock.h"
#include "common/json.h"
#include "mqtt/mqtt_topic.h"

#define TEXT_MAX 4096

static const char *const KIND_NAMES[] = {"",       "republish",   "telemetry",   "notify",
                                         "shadow", "alarm_raise", "alarm_clear", "webhook"};

static void describe(bson_t *arr, int i, const rule_action *a, const bson_t *sel,
                     const rexpr_ctx *c, char *text)
{
    bson_t d;
    char k[16];
    const char *key;
    bson_uint32_to_string((uint32_t)i, &key, k, sizeof k);
    BSON_APPEND_DOCUMENT_BEGIN(arr, key, &d);
    BSON_APPEND_UTF8(&d, "type", KIND_NAMES[a->kind]);
    if (a->kind == RULE_REPUBLISH && rule_render(a->topic, sel, c, text, TEXT_MAX) == 0)
        BSON_APPEND_UTF8(&d, "topic", text);
    if (a->url)
        BSON_APPEND_UTF8(&d, "url", a->url);
    if (a->payload && rule_render(a->payload, sel, c, text, TEXT_MAX) == 0)
        BSON_APPEND_UTF8(&d, a->kind == RULE_NOTIFY ? "message" : "payload", text);
    else if (a->kind == RULE_REPUBLISH || a->kind == RULE_ALARM_RAISE || a->kind == RULE_WEBHOOK)
        BSON_APPEND_DOCUMENT(&d, a->kind == RULE_ALARM_RAISE ? "details" : "payload", sel);
    if (a->recipient)
        BSON_APPEND_UTF8(&d, "recipient", a->recipient);
    if (a->alarm)
        BSON_APPEND_UTF8(&d, "alarm", a->alarm);
    if (a->kind == RULE_ALARM_RAISE)
        BSON_APPEND_UTF8(&d, "severity", a->severity);
    if (a->kind == RULE_SHADOW)
        BSON_APPEND_UTF8(&d, "section", a->section);
    bson_append_document_end(arr, &d);
}

static void answer(http_req *r, const rule_def *d, const rexpr_ctx *c)
{
    bson_t out = BSON_INITIALIZER, sel = BSON_INITIALIZER, arr;
    const char *f = rexpr_filter(d->x);
    bool hit = mqtt_topic_match((const uint8_t *)f, strlen(f), (const uint8_t *)c->topic,
                                strlen(c->topic)) &&
               rexpr_match(d->x, c);
    char *text = malloc(TEXT_MAX);
    BSON_APPEND_BOOL(&out, "matched", hit);
    if (hit && text && rexpr_select(d->x, c, &sel) == 0) {
        BSON_APPEND_DOCUMENT(&out, "selection", &sel);
        BSON_APPEND_ARRAY_BEGIN(&out, "actions", &arr);
        for (int i = 0; i < d->n_act; i++)
            describe(&arr, i, &d->act[i], &sel, c, text);
        bson_append_array_end(&out, &arr);
    } else {
        BSON_APPEND_NULL(&out, "selection");
        BSON_APPEND_ARRAY_BEGIN(&out, "actions", &arr);
        bson_append_array_end(&out, &arr);
    }
    http_respond_json(r, 200, &out);
    free(text);
    bson_destroy(&sel);
    bson_destroy(&out);
}

/* The sample payload: an object as it is, a string parsed as a device's payload. */
static bool payload_of(bson_iter_t *it, bool present, bson_t *out)
{
    uint32_t n;
    const uint8_t *p;
    if (!present)
        return false;
    if (BSON_ITER_HOLDS_DOCUMENT(it)) {
        bson_iter_document(it, &n, &p);
        bson_t tmp;
        if (!bson_init_static(&tmp, p, n))
            return false;
        bson_copy_to(&tmp, out);
        return true;
    }
    if (BSON_ITER_HOLDS_UTF8(it)) {
        const char *s = bson_iter_utf8(it, &n);
        return json_parse_loose((const uint8_t *)s, n, out);
    }
    return false;
}

/* The rule of the body, "name" defaulted. */
static int rule_of(http_req *r, bson_iter_t *it, rule_def **d)
{
    uint32_t n;
    const uint8_t *p;
    bson_t in, def = BSON_INITIALIZER;
    json_err e;
    bson_iter_document(it, &n, &p);
    if (!bson_init_static(&in, p, n))
        return -1;
    if (!bson_has_field(&in, "name"))
        BSON_APPEND_UTF8(&def, "name", "test");
    bson_concat(&def, &in);
    int rc = rule_def_parse(&def, &rules_options(api_of(r)->rules)->lim, d, &e);
    bson_destroy(&def);
    if (rc < 0) {
        char f[sizeof e.field];
        snprintf(f, sizeof f, "%s", e.field);
        snprintf(e.field, sizeof e.field, "rule.%.120s", f);
        json_respond_err(r, &e);
    }
    return rc;
}

void rl__test(http_req *r)
{
    if (!rl__engine(r))
        return;
    bson_t body;
    bson_iter_t rule_it, pay_it;
    const char *topic = NULL, *dev = NULL;
    int64_t ts = 0;
    json_field f[] = {
        {"rule", JSON_OBJ, JSON_REQUIRED, .doc = &rule_it},
        {"topic", JSON_STR, JSON_REQUIRED, 1024, .str = &topic},
        {"payload", JSON_ANY, .doc = &pay_it},
        {"device", JSON_STR, .max_len = STORE_ID_MAX, .str = &dev},
        {"timestamp", JSON_INT, .min = 0, .max = INT64_MAX, .i64 = &ts},
    };
    if (json_body_decode(r, &body, f, sizeof f / sizeof f[0]) < 0)
        return;
    rule_def *d = NULL;
    char devbuf[STORE_ID_MAX + 1] = "";
    if (!mqtt_topic_name_valid((const uint8_t *)topic, strlen(topic))) {
        http_respond_field(r, "topic", "not a valid MQTT topic name");
    } else if (rule_of(r, &rule_it, &d) == 0) {
        if (!dev && !strncmp(topic, "server/", 7)) {
            const char *s = topic + 7, *e = strchr(s, '/');
            size_t n = e ? (size_t)(e - s) : strlen(s);
            if (n <= STORE_ID_MAX) {
                memcpy(devbuf, s, n);
                devbuf[n] = '\0';
            }
        }
        bson_t payload;
        bool have = payload_of(&pay_it, f[2].present, &payload);
        rexpr_ctx c = {.topic = topic,
                       .device = dev ? dev : devbuf,
                       .ts_ms = f[4].present ? ts : clock_wall_ms(),
                       .payload = have ? &payload : NULL};
        answer(r, d, &c);
        if (have)
            bson_destroy(&payload);
    }
    rule_def_free(d);
    bson_destroy(&body);
}
