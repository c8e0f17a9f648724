/*
 * tm_stream — live server-sent events (docs/telemetry.md "Live streams"):
 *
 *   GET /v1/devices/{id}/telemetry/stream?keys=a,b    text/event-stream
 *       id: <ts>\nevent: telemetry\ndata: {"device","ts","values":{k: v}}\n\n
 *         (one event per distinct ts of a message, only the keys asked for)
 *   GET /v1/devices/{id}/logs/stream?level=warn       text/event-stream
 *       id: <ts>\nevent: log\ndata: {"device","ts","level","msg"}\n\n
 *
 * Both start with "retry: 3000" and send ": keep-alive" comments at the configured
 * heartbeat. A reader too slow for the stream loses events: the next event that fits is
 * preceded by "event: dropped\ndata: {"dropped": n}" (n in all so far). Last-Event-ID is
 * not replayed from the store: the id is the event's ts (ms), so a client resumes with
 * GET .../telemetry?from=<id+1> or .../logs?since=<id+1> (documented).
 *
 * The device is resolved (and its owner checked) in a store job; then the stream opens on
 * the request's loop and listens to the live fan-out (telemetry/tm_live.h) there. A
 * browser, whose EventSource cannot send a header, opens the same stream with a one-use
 * ticket instead (tm_ticket.c: POST .../stream/ticket, then GET /v1/streams?ticket=).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/telemetry/tm_int.h"
#include "common/json.h"
#include "telemetry/tm_live.h"
#include "telemetry/tm_log.h"

#define SSE_HEARTBEAT ": keep-alive\n\n"
#define SSE_HELLO     "retry: 3000\n\n"

typedef struct stream_op {
    http_job j; /* first: the job's completion finds the op */
    tmapi_dev d;
    enum tm_live_kind kind;
    char keys[TMAPI_KEYS_MAX][TM_KEY_MAX + 1];
    unsigned nkeys; /* 0: every key */
    int level;      /* logs: the lowest level sent */
    http_stream *st;
    tm_live_sub *sub;
    unsigned long long told; /* drops already reported */
} stream_op;

static bool key_wanted(const stream_op *o, const char *key)
{
    if (!o->nkeys)
        return true;
    for (unsigned i = 0; i < o->nkeys; i++)
        if (!strcmp(o->keys[i], key))
            return true;
    return false;
}

/* Writes one event: "id", "event" and the JSON of @data. */
static void send_event(stream_op *o, int64_t id, const char *event, const bson_t *data)
{
    unsigned long long dropped = http_stream_dropped(o->st);
    char head[96];
    if (dropped > o->told) {
        int k =
            snprintf(head, sizeof head, "event: dropped\ndata: {\"dropped\": %llu}\n\n", dropped);
        if (http_stream_write(o->st, head, (size_t)k) == 0)
            o->told = dropped;
    }
    size_t len = 0;
    char *json = json_text(data, &len);
    if (!json)
        return;
    int k = snprintf(head, sizeof head, "id: %" PRId64 "\nevent: %s\ndata: ", id, event);
    size_t n = (size_t)k + len + 2;
    char *ev = malloc(n);
    if (ev) {
        memcpy(ev, head, (size_t)k);
        memcpy(ev + k, json, len);
        memcpy(ev + k + len, "\n\n", 2);
        http_stream_write(o->st, ev, n); /* dropped: counted by the stream, told later */
        free(ev);
    }
    bson_free(json);
}

static void append_point(bson_t *values, const tm_point *p)
{
    if (p->type == TM_STR)
        BSON_APPEND_UTF8(values, p->key, p->str);
    else if (p->type == TM_BOOL)
        BSON_APPEND_BOOL(values, p->key, p->num != 0);
    else
        BSON_APPEND_DOUBLE(values, p->key, p->num);
}

/* Points [i, end) share a ts: one event with the wanted keys among them. */
static void send_points(stream_op *o, const tm_live_msg *m, size_t i, size_t end)
{
    bson_t doc = BSON_INITIALIZER, values;
    size_t kept = 0;
    BSON_APPEND_UTF8(&doc, "device", m->dev);
    BSON_APPEND_INT64(&doc, "ts", m->pts[i].ts);
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "values", &values);
    for (; i < end; i++)
        if (key_wanted(o, m->pts[i].key)) {
            append_point(&values, &m->pts[i]);
            kept++;
        }
    bson_append_document_end(&doc, &values);
    if (kept)
        send_event(o, m->pts[end - 1].ts, "telemetry", &doc);
    bson_destroy(&doc);
}

static void send_log(stream_op *o, const tm_live_msg *m)
{
    const tm_log_line *l = m->log;
    if (l->level < o->level)
        return;
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&doc, "device", m->dev);
    BSON_APPEND_INT64(&doc, "ts", l->ts);
    BSON_APPEND_UTF8(&doc, "level", tm_log_level_name(l->level));
    BSON_APPEND_UTF8(&doc, "msg", l->msg);
    send_event(o, l->ts, "log", &doc);
    bson_destroy(&doc);
}

/* The live fan-out, on the stream's loop. */
static void on_live(void *arg, const tm_live_msg *m)
{
    stream_op *o = arg;
    if (m->kind == TM_LIVE_LOG) {
        send_log(o, m);
        return;
    }
    for (size_t i = 0, end; i < m->n; i = end) {
        for (end = i + 1; end < m->n && m->pts[end].ts == m->pts[i].ts; end++)
            ;
        send_points(o, m, i, end);
    }
}

/* The client went away or the server stops. */
static void on_close(void *arg)
{
    stream_op *o = arg;
    tm_live_unsubscribe(o->sub);
    free(o);
}

static int stream_run(store_tx *tx, http_job *hj)
{
    return tmapi__dev_find(tx, &((stream_op *)(void *)hj)->d);
}

static void stream_done(http_job *hj, int rc)
{
    stream_op *o = (stream_op *)(void *)hj;
    http_req *r = hj->req;
    struct tm_live *live = api_of(r)->live;
    if (rc < 0 || !o->d.found) {
        tmapi__finish(r, rc, o->d.found, NULL, "telemetry stream");
        free(o);
        return;
    }
    const http_stream_def def = {
        .ctype = "text/event-stream", .heartbeat = SSE_HEARTBEAT, .on_close = on_close, .arg = o};
    /* no cache may keep or replay a live stream; nginx must not buffer it either */
    http_req_add_header(r, "Cache-Control", "no-store");
    http_req_add_header(r, "X-Accel-Buffering", "no");
    if (!(o->st = http_stream_open(r, &def))) { /* answered: 429/503/HEAD */
        free(o);
        return;
    }
    o->sub = tm_live_subscribe(live, o->d.id, o->kind, on_live, o);
    if (!o->sub) {
        http_stream_end(o->st);
        free(o);
        return;
    }
    http_stream_write(o->st, SSE_HELLO, sizeof SSE_HELLO - 1);
}

/* A new op with keys= and level= read (both checked whatever the kind, so a ticket is not
 * spent on a request answered 400). NULL after answering. */
static stream_op *new_op(http_req *r, enum tm_live_kind kind)
{
    if (!api_of(r)->live) {
        http_respond_error(r, 503, "unavailable", "live streams are not enabled");
        return NULL;
    }
    stream_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "telemetry stream");
        return NULL;
    }
    o->kind = kind;
    const char *level = http_req_query(r, "level");
    if (level && (o->level = tm_log_level_parse(level)) < 0) {
        http_respond_field(r, "level", "one of debug, info, warn, error expected");
        free(o);
        return NULL;
    }
    if (tmapi__parse_keys(r, o->keys, &o->nkeys) < 0) {
        free(o);
        return NULL;
    }
    return o;
}

static void start(http_req *r, enum tm_live_kind kind)
{
    stream_op *o = new_op(r, kind);
    if (!o)
        return;
    if (tmapi__dev_init(r, &o->d) < 0) {
        free(o);
        return;
    }
    http_job_submit(&o->j, r, stream_run, stream_done);
}

void tmapi__stream_telemetry(http_req *r) { start(r, TM_LIVE_TELEMETRY); }

void tmapi__stream_logs(http_req *r) { start(r, TM_LIVE_LOG); }

/* ---- tickets (tm_ticket.c) ----------------------------------------------------------- */

static void ticket_done(http_job *hj, int rc)
{
    stream_op *o = (stream_op *)(void *)hj;
    http_req *r = hj->req;
    char t[48];
    if (rc < 0 || !o->d.found) {
        tmapi__finish(r, rc, o->d.found, NULL, "stream ticket");
    } else if (tmapi__ticket_issue(api_of(r)->tickets, o->d.owner, o->d.id, (int)o->kind, t) < 0) {
        http_req_add_header(r, "Retry-After", "30");
        http_respond_error(r, 429, "too_many_tickets", "too many stream tickets outstanding");
    } else {
        char url[96];
        snprintf(url, sizeof url, "/v1/streams?ticket=%s", t);
        bson_t doc = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&doc, "ticket", t);
        BSON_APPEND_INT32(&doc, "expires_in", (int32_t)tmapi__ticket_ttl(api_of(r)->tickets));
        BSON_APPEND_UTF8(&doc, "url", url);
        http_respond_json(r, 201, &doc);
        bson_destroy(&doc);
    }
    free(o);
}

static void ticket(http_req *r, enum tm_live_kind kind)
{
    if (!api_of(r)->tickets || !api_of(r)->live) {
        http_respond_error(r, 503, "unavailable", "live streams are not enabled");
        return;
    }
    stream_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "stream ticket");
        return;
    }
    o->kind = kind;
    if (tmapi__dev_init(r, &o->d) < 0) {
        free(o);
        return;
    }
    http_job_submit(&o->j, r, stream_run, ticket_done);
}

void tmapi__ticket_telemetry(http_req *r) { ticket(r, TM_LIVE_TELEMETRY); }

void tmapi__ticket_logs(http_req *r) { ticket(r, TM_LIVE_LOG); }

void tmapi__stream_by_ticket(http_req *r)
{
    int kind = 0;
    http_principal p = {0};
    if (!api_of(r)->tickets) {
        http_respond_error(r, 503, "unavailable", "live streams are not enabled");
        return;
    }
    stream_op *o = new_op(r, TM_LIVE_TELEMETRY);
    if (!o)
        return;
    if (tmapi__ticket_take(api_of(r)->tickets, http_req_query(r, "ticket"), o->d.owner, o->d.key,
                           &kind) < 0) {
        free(o);
        http_respond_error(r, 401, "unauthorized", "no such ticket, or it was used or expired");
        return;
    }
    o->kind = (enum tm_live_kind)kind;
    snprintf(p.user_id, sizeof p.user_id, "%s", o->d.owner);
    http_req_set_principal(r, &p); /* the stream counts against its user's cap */
    http_job_submit(&o->j, r, stream_run, stream_done);
}
