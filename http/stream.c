/*
 * stream — responses that stay open (http.h "streamed responses"): the head goes out at
 * once, then each write is one chunk [RFC 9112 7.1]:
 *
 *   <size in hex>\r\n <bytes> \r\n     ...     0\r\n\r\n  (http_stream_end)
 *
 * An HTTP/1.0 client gets the bytes raw and the end is the connection's close [RFC 9112
 * 6.3 item 8]. The connection is in HC_STREAM from the open on: its input is read and
 * ignored (reading on is how a close is seen), its one timer is the heartbeat, and the
 * stream is freed with it (hconn__closed -> http__stream_gone).
 *
 * Caps are taken at open and given back at free: the server-wide count is an atomic, the
 * per-user one an iptab keyed by a 64-bit hash of the user id (an id may be longer than an
 * address; a collision would only share a cap).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/log.h"
#include "http/http_int.h"

struct http_stream {
    hconn *c;
    http_stream_def def;
    bool chunked;
    bool ended;        /* http_stream_end was called: no on_close */
    bool user_counted; /* holds a slot in s->users under @user */
    char user[24];     /* "u:<hash>" */
    unsigned long long dropped;
};

static http_opts *opts(const http_stream *st) { return &st->c->s->o; }

/* Takes a server-wide and a per-user slot, or answers @r (503/429) and returns -1. */
static int admit(http_req *r, http_stream *st)
{
    http_server *s = r->s;
    if (atomic_fetch_add(&s->streams_open, 1) >= s->o.max_streams) {
        atomic_fetch_sub(&s->streams_open, 1);
        HTTP_STAT_ADD(s, streams_refused, 1);
        http_req_add_header(r, "Retry-After", "30");
        http_respond_error(r, 503, "too_many_streams", "the server has too many open streams");
        return -1;
    }
    const http_principal *p = http_req_principal(r);
    if (!p)
        return 0;
    snprintf(st->user, sizeof st->user, "u:%016" PRIx64, hash_fnv1a_str(p->user_id));
    if (iptab_acquire(&s->users, st->user, s->o.max_streams_per_user) < 0) {
        atomic_fetch_sub(&s->streams_open, 1);
        HTTP_STAT_ADD(s, streams_refused, 1);
        http_req_add_header(r, "Retry-After", "30");
        http_respond_error(r, 429, "too_many_streams", "this account has %u streams open already",
                           s->o.max_streams_per_user);
        return -1;
    }
    st->user_counted = true;
    return 0;
}

static void release(http_server *s, http_stream *st)
{
    if (st->user_counted)
        iptab_release(&s->users, st->user);
    atomic_fetch_sub(&s->streams_open, 1);
}

http_stream *http_stream_open(http_req *r, const http_stream_def *d)
{
    hconn *c = r->c;
    if (!c || c->phase != HC_WAIT) { /* gone: the answer only frees r */
        http_respond_error(r, 503, "unavailable", "connection closed");
        return NULL;
    }
    if (r->head) {
        http_respond_raw(r, 200, d->ctype, NULL, 0);
        return NULL;
    }
    http_stream *st = calloc(1, sizeof *st);
    if (!st) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return NULL;
    }
    if (admit(r, st) < 0) {
        free(st);
        return NULL;
    }
    st->c = c;
    st->def = *d;
    st->chunked = r->http_minor >= 1;
    size_t hlen = 0;
    char *head = http__stream_head(r, d->ctype, st->chunked, &hlen);
    int wrc = head ? c->io->write(c->t, head, hlen) : -1;
    free(head);
    c->req = NULL;
    http__req_free(r);
    free(c->pend); /* a request pipelined behind a stream is never answered */
    c->pend = NULL;
    c->pend_len = c->pend_cap = 0;
    c->st = st;
    c->phase = HC_STREAM;
    if (c->paused) {
        c->paused = false;
        c->io->resume(c->t);
    }
    if (wrc < 0) {
        st->ended = true; /* the owner learns it from the NULL */
        c->io->close(c->t);
        return NULL;
    }
    if (d->heartbeat)
        c->io->set_timer(c->t, c->s->o.stream_heartbeat_ms);
    return st;
}

int http_stream_write(http_stream *st, const void *p, size_t n)
{
    hconn *c = st->c;
    if (st->ended || c->phase != HC_STREAM)
        return HTTP_STREAM_CLOSED;
    if (n == 0)
        return 0; /* a zero-size chunk would end the body */
    /* Accepted while less than the cap waits, so the queue holds at most the cap plus one
     * message (a message larger than the cap still goes out once the reader caught up). */
    size_t pend = c->io->pending ? c->io->pending(c->t) : 0;
    if (pend >= opts(st)->stream_buffer_bytes) {
        st->dropped++;
        HTTP_STAT_ADD(c->s, stream_drops, 1);
        return HTTP_STREAM_DROPPED;
    }
    char size[24];
    int k = snprintf(size, sizeof size, "%zx\r\n", n);
    if (st->chunked && c->io->write(c->t, size, (size_t)k) < 0)
        return HTTP_STREAM_CLOSED;
    if (c->io->write(c->t, p, n) < 0 || (st->chunked && c->io->write(c->t, "\r\n", 2) < 0))
        return HTTP_STREAM_CLOSED;
    return 0;
}

void http_stream_end(http_stream *st)
{
    hconn *c = st->c;
    if (st->ended)
        return;
    if (st->chunked && c->phase == HC_STREAM)
        c->io->write(c->t, "0\r\n\r\n", 5);
    st->ended = true;
    c->phase = HC_CLOSING; /* c->st stays: freed with the connection */
    c->io->set_timer(c->t, 0);
    c->io->close(c->t);
}

unsigned long long http_stream_dropped(const http_stream *st) { return st->dropped; }

void http__stream_tick(hconn *c)
{
    http_stream *st = c->st;
    if (!st || st->ended || !st->def.heartbeat)
        return;
    http_stream_write(st, st->def.heartbeat, strlen(st->def.heartbeat));
    c->io->set_timer(c->t, c->s->o.stream_heartbeat_ms);
}

void http__stream_gone(hconn *c)
{
    http_stream *st = c->st;
    c->st = NULL;
    if (!st)
        return;
    release(c->s, st);
    if (!st->ended && st->def.on_close)
        st->def.on_close(st->def.arg);
    free(st);
}
