/* devsim: the device APIs (docs/device-protocol.md).
 *
 * A request on `ID/{api}` is a JSON object (an empty payload counts as {}). The answer
 * goes to `server/ID/{api}` at QoS 1:
 *
 *   { ...api fields..., "rid": <echoed verbatim>, "status": 200 }
 *   { "rid": ..., "status": 400, "error": {"code": "bad_gpio", "message": "..."} }
 *
 * --legacy leaves out rid/status/error and sends nothing for a request that failed,
 * like the firmware of the system we replace. --reply-delay-ms holds every answer back,
 * --malformed-every K breaks every K-th answer of the process (for the server's
 * timeout and 502 paths). */
#include "bench/devsim.h"

#include <bson/bson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"

#define TOPIC_MAX (DEVSIM_ID_MAX + 256)

typedef struct api_err {
    const char *code;
    char message[128];
} api_err;

typedef int (*api_fn)(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e);

/* An answer held back by --reply-delay-ms; topic and payload follow in data. */
struct devsim_reply {
    uv_timer_t timer;
    devsim_dev *d;
    devsim_reply *next;
    size_t topic_len, len;
    char data[];
};

/* ---- request fields ----------------------------------------------------------------- */

static int fail(api_err *e, const char *code, const char *field, const char *what)
{
    e->code = code;
    snprintf(e->message, sizeof e->message, "%s: %s", field, what);
    return 400;
}

/* An integer field (int32, int64 or an integral double). 0, or a 400 with @e filled. */
static int get_int(const bson_t *req, const char *field, int64_t *out, api_err *e)
{
    bson_iter_t it;

    if (!bson_iter_init_find(&it, req, field))
        return fail(e, "bad_request", field, "missing");
    switch (bson_iter_type(&it)) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        *out = bson_iter_as_int64(&it);
        return 0;
    case BSON_TYPE_DOUBLE: {
        double v = bson_iter_double(&it);
        if (v >= -9.2e18 && v <= 9.2e18 && v == (double)(int64_t)v) {
            *out = (int64_t)v;
            return 0;
        }
        break;
    }
    default:
        break;
    }
    return fail(e, "bad_request", field, "must be an integer");
}

static int get_str(const bson_t *req, const char *field, const char **out, uint32_t *len,
                   api_err *e)
{
    bson_iter_t it;

    if (!bson_iter_init_find(&it, req, field))
        return fail(e, "bad_request", field, "missing");
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return fail(e, "bad_request", field, "must be a string");
    *out = bson_iter_utf8(&it, len);
    return 0;
}

static int get_gpio_number(const bson_t *req, int64_t *n, api_err *e)
{
    int rc = get_int(req, "number", n, e);

    if (rc == 0 && (*n < 0 || *n >= DEVSIM_GPIOS))
        return fail(e, "bad_gpio", "number", "must be 0..31");
    if (rc != 0 && strcmp(e->code, "bad_request") == 0)
        e->code = "bad_gpio";
    return rc;
}

/* ---- the APIs ------------------------------------------------------------------------ */

static int api_get_gpio(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    int64_t n;
    int rc = get_gpio_number(req, &n, e);

    if (rc)
        return rc;
    BSON_APPEND_INT32(ans, "number", (int32_t)n);
    BSON_APPEND_INT32(ans, "value", (int32_t)((d->gpio >> n) & 1u));
    return 200;
}

static int api_set_gpio(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    int64_t n, v;
    int rc = get_gpio_number(req, &n, e);

    if (rc || (rc = get_int(req, "value", &v, e)))
        return rc;
    if (v != 0 && v != 1)
        return fail(e, "bad_value", "value", "must be 0 or 1");
    d->gpio = v ? d->gpio | (1u << n) : d->gpio & ~(1u << n);
    BSON_APPEND_INT32(ans, "number", (int32_t)n);
    BSON_APPEND_INT32(ans, "value", (int32_t)v);
    return 200;
}

static int api_get_rtc(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    BSON_APPEND_INT64(ans, "value", (int64_t)time(NULL) + d->rtc_offset);
    return 200;
}

static int api_set_rtc(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    int64_t v;
    int rc = get_int(req, "value", &v, e);

    if (rc)
        return rc;
    if (v < 0 || v > 253402300799) /* 9999-12-31T23:59:59Z */
        return fail(e, "bad_value", "value", "must be epoch seconds in 0..253402300799");
    d->rtc_offset = v - (int64_t)time(NULL);
    BSON_APPEND_INT64(ans, "value", v);
    return 200;
}

/* Network values: fixed per device, derived from its index so they differ and look real. */
static int api_get_mac(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    char mac[18];
    uint32_t i = d->index;

    snprintf(mac, sizeof mac, "02:00:5e:%02x:%02x:%02x", (i >> 16) & 0xff, (i >> 8) & 0xff,
             i & 0xff); /* 02: locally administered */
    BSON_APPEND_UTF8(ans, "value", mac);
    return 200;
}

static int api_get_ip(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    char ip[16];
    uint32_t host = d->index + 10u; /* 10.x.y.10 upwards: .1 is the gateway */

    snprintf(ip, sizeof ip, "10.%u.%u.%u", (host >> 16) & 0xff, (host >> 8) & 0xff, host & 0xff);
    BSON_APPEND_UTF8(ans, "value", ip);
    return 200;
}

static int api_get_subnet(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    BSON_APPEND_UTF8(ans, "value", "255.0.0.0");
    return 200;
}

static int api_get_gateway(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    BSON_APPEND_UTF8(ans, "value", "10.0.0.1");
    return 200;
}

static int api_get_status(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    BSON_APPEND_UTF8(ans, "value", d->restarting ? "restarting" : "running");
    return 200;
}

static void on_restarted(uv_timer_t *t)
{
    devsim_dev *d = t->data;

    d->restarting = false;
}

static int api_set_status(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    const char *v;
    uint32_t len;
    int rc = get_str(req, "value", &v, &len, e);

    if (rc)
        return rc;
    if (strcmp(v, "restart") != 0)
        return fail(e, "bad_value", "value", "must be \"restart\"");
    /* a real device would reboot; we only report it for a while */
    d->restarting = true;
    uv_timer_start(&d->restart_timer, on_restarted, DEVSIM_RESTART_MS, 0);
    BSON_APPEND_UTF8(ans, "value", "restarting");
    return 200;
}

static int api_write_uart(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    const char *v;
    uint32_t len;
    int rc = get_str(req, "value", &v, &len, e);

    if (rc)
        return rc;
    bson_append_utf8(ans, "value", -1, v, (int)len); /* the UART loops back */
    return 200;
}

static int api_trigger_notification(devsim_dev *d, const bson_t *req, bson_t *ans, api_err *e)
{
    const char *to, *msg;
    uint32_t tlen, mlen;
    int rc = get_str(req, "recipient", &to, &tlen, e);

    if (rc || (rc = get_str(req, "message", &msg, &mlen, e)))
        return rc;
    /* this answer is itself the notification request the server's notifier consumes */
    bson_append_utf8(ans, "recipient", -1, to, (int)tlen);
    bson_append_utf8(ans, "message", -1, msg, (int)mlen);
    return 200;
}

static const struct {
    const char *name;
    api_fn fn;
} api_table[] = {
    {"get_gpio", api_get_gpio},     {"set_gpio", api_set_gpio},
    {"get_rtc", api_get_rtc},       {"set_rtc", api_set_rtc},
    {"get_mac", api_get_mac},       {"get_ip", api_get_ip},
    {"get_subnet", api_get_subnet}, {"get_gateway", api_get_gateway},
    {"get_status", api_get_status}, {"set_status", api_set_status},
    {"write_uart", api_write_uart}, {"trigger_notification", api_trigger_notification},
};

static api_fn find_api(const char *api, size_t len)
{
    for (size_t i = 0; i < sizeof api_table / sizeof api_table[0]; i++)
        if (strlen(api_table[i].name) == len && memcmp(api_table[i].name, api, len) == 0)
            return api_table[i].fn;
    return NULL;
}

/* ---- answers --------------------------------------------------------------------------- */

static void send_now(devsim_dev *d, const char *topic, const char *payload, size_t len)
{
    if (devsim__dev_publish(d, topic, (const uint8_t *)payload, len) == 0)
        d->sim->st.answers++;
}

static void on_reply_closed(uv_handle_t *h) { free(h->data); }

static void on_reply_due(uv_timer_t *t)
{
    devsim_reply *r = t->data;
    devsim_reply **pp = &r->d->replies;

    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
    send_now(r->d, r->data, r->data + r->topic_len + 1, r->len);
    uv_close((uv_handle_t *)&r->timer, on_reply_closed);
}

static void send_later(devsim_dev *d, const char *topic, const char *payload, size_t len)
{
    size_t tlen = strlen(topic);
    devsim_reply *r = malloc(sizeof *r + tlen + 1 + len);

    if (!r || uv_timer_init(d->sim->loop, &r->timer) < 0) {
        free(r);
        return;
    }
    r->timer.data = r;
    r->d = d;
    r->topic_len = tlen;
    r->len = len;
    memcpy(r->data, topic, tlen + 1);
    memcpy(r->data + tlen + 1, payload, len);
    r->next = d->replies;
    d->replies = r;
    uv_timer_start(&r->timer, on_reply_due, (uint64_t)d->sim->o.reply_delay_ms, 0);
}

void devsim__api_drop_replies(devsim_dev *d)
{
    devsim_reply *r = d->replies;

    d->replies = NULL;
    while (r) {
        devsim_reply *next = r->next;
        uv_close((uv_handle_t *)&r->timer, on_reply_closed);
        r = next;
    }
}

/* Adds rid (verbatim), status and error to the API's fields and sends the JSON. */
static void answer(devsim_dev *d, const char *api, size_t api_len, const bson_t *req,
                   const bson_t *fields, int status, const api_err *e)
{
    devsim *sim = d->sim;
    bson_t out = BSON_INITIALIZER, err;
    bson_iter_t it;
    char topic[TOPIC_MAX];
    char *json;
    size_t len;

    if (status >= 400)
        sim->st.errors++;
    if (sim->o.legacy && status >= 400)
        goto out; /* old firmware says nothing; the server times out */
    bson_concat(&out, fields);
    if (!sim->o.legacy) {
        if (req && bson_iter_init_find(&it, req, "rid"))
            bson_append_iter(&out, "rid", -1, &it);
        BSON_APPEND_INT32(&out, "status", status);
        if (status >= 400) {
            BSON_APPEND_DOCUMENT_BEGIN(&out, "error", &err);
            BSON_APPEND_UTF8(&err, "code", e->code);
            BSON_APPEND_UTF8(&err, "message", e->message);
            bson_append_document_end(&out, &err);
        }
    }
    if (snprintf(topic, sizeof topic, "server/%s/%.*s", d->id, (int)api_len, api) >=
        (int)sizeof topic)
        goto out;
    json = bson_as_relaxed_extended_json(&out, &len);
    if (!json)
        goto out;
    if (sim->o.malformed_every > 0 && ++sim->answer_seq % (uint64_t)sim->o.malformed_every == 0) {
        len /= 2; /* cut in the middle: never valid JSON */
        sim->st.malformed++;
    }
    if (sim->o.reply_delay_ms > 0)
        send_later(d, topic, json, len);
    else
        send_now(d, topic, json, len);
    bson_free(json);
out:
    bson_destroy(&out);
}

void devsim__api_request(devsim_dev *d, const char *api, size_t api_len, const uint8_t *payload,
                         size_t len)
{
    bson_t req, fields = BSON_INITIALIZER;
    api_err e = {0};
    json_err je;
    api_fn fn;
    int status;

    d->sim->st.requests++;
    if (len == 0) {
        bson_init(&req);
    } else if (json_parse(payload, len, &req, &je) < 0) {
        e.code = "bad_json";
        snprintf(e.message, sizeof e.message, "%.100s", je.message);
        answer(d, api, api_len, NULL, &fields, 400, &e);
        bson_destroy(&fields);
        return;
    }
    fn = find_api(api, api_len);
    if (!fn) {
        e.code = "unknown_api";
        snprintf(e.message, sizeof e.message, "no api \"%.*s\"", (int)(api_len > 64 ? 64 : api_len),
                 api);
        status = 404;
    } else {
        status = fn(d, &req, &fields, &e);
    }
    if (status >= 400) { /* an error answer carries no half-built fields */
        bson_reinit(&fields);
    }
    answer(d, api, api_len, &req, &fields, status, &e);
    bson_destroy(&fields);
    bson_destroy(&req);
}
