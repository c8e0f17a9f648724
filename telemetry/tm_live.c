/*
 * tm_live — the live fan-out (telemetry/tm_live.h).
 *
 * Per loop, a slot: the loop's listeners (a list touched only by that loop) and their
 * count (atomic, read by publishers). A slot is created at the loop's first subscribe
 * and lives until tm_live_free. A publish builds one `shared` block (the device, the
 * points or the line, their strings) and posts one small envelope per interested loop;
 * the last envelope run frees the block.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "telemetry/tm_live.h"

struct tm_live_sub {
    tm_live_sub *next;
    struct slot *slot;
    char *dev;
    unsigned kinds;
    tm_live_fn fn;
    void *arg;
};

typedef struct slot {
    net_loop *loop;
    atomic_uint n;     /* listeners on this loop */
    tm_live_sub *head; /* loop only */
    tm_live *h;
} slot;

struct tm_live {
    pthread_mutex_t lock; /* creating slots */
    _Atomic(slot *) slots[TM_LIVE_LOOPS_MAX];
    atomic_uint total; /* listeners on every loop */
    atomic_ullong posted, failed;
};

/* One published message, shared by the envelopes of every loop it is posted to. */
typedef struct shared {
    atomic_uint refs;
    tm_live_msg m;
    tm_log_line log;
    /* then: the points, then the strings */
} shared;

typedef struct envelope {
    net_msg m;
    slot *slot;
    shared *sh;
} envelope;

tm_live *tm_live_new(void)
{
    tm_live *h = calloc(1, sizeof *h);
    if (h)
        pthread_mutex_init(&h->lock, NULL);
    return h;
}

void tm_live_free(tm_live *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < TM_LIVE_LOOPS_MAX; i++) {
        slot *s = atomic_load(&h->slots[i]);
        while (s && s->head) {
            tm_live_sub *next = s->head->next;
            free(s->head->dev);
            free(s->head);
            s->head = next;
        }
        free(s);
    }
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static slot *slot_of(tm_live *h, net_loop *l)
{
    unsigned i = net_loop_index(l);
    if (i >= TM_LIVE_LOOPS_MAX)
        return NULL;
    slot *s = atomic_load(&h->slots[i]);
    if (s)
        return s;
    pthread_mutex_lock(&h->lock);
    s = atomic_load(&h->slots[i]);
    if (!s && (s = calloc(1, sizeof *s))) {
        s->loop = l;
        s->h = h;
        atomic_store(&h->slots[i], s);
    }
    pthread_mutex_unlock(&h->lock);
    return s;
}

tm_live_sub *tm_live_subscribe(tm_live *h, const char *dev, unsigned kinds, tm_live_fn fn,
                               void *arg)
{
    net_loop *l = net_loop_current();
    slot *s = l ? slot_of(h, l) : NULL;
    tm_live_sub *sub = s ? calloc(1, sizeof *sub) : NULL;
    if (!sub)
        return NULL;
    if (!(sub->dev = strdup(dev))) {
        free(sub);
        return NULL;
    }
    *sub = (tm_live_sub){s->head, s, sub->dev, kinds, fn, arg};
    s->head = sub;
    atomic_fetch_add(&s->n, 1);
    atomic_fetch_add(&h->total, 1);
    return sub;
}

void tm_live_unsubscribe(tm_live_sub *sub)
{
    if (!sub)
        return;
    slot *s = sub->slot;
    for (tm_live_sub **pp = &s->head; *pp; pp = &(*pp)->next)
        if (*pp == sub) {
            *pp = sub->next;
            break;
        }
    atomic_fetch_sub(&s->n, 1);
    atomic_fetch_sub(&s->h->total, 1);
    free(sub->dev);
    free(sub);
}

/* ---- publishing ------------------------------------------------------------------------ */

static void unref(shared *sh)
{
    if (atomic_fetch_sub(&sh->refs, 1) == 1)
        free(sh);
}

/* On the slot's loop: every listener of the device and kind. A listener may unsubscribe
 * itself from its call (the next pointer is read first). */
static void deliver(net_loop *l, net_msg *m)
{
    (void)l;
    envelope *e = (envelope *)(void *)m;
    const tm_live_msg *msg = &e->sh->m;
    for (tm_live_sub *s = e->slot->head, *next; s; s = next) {
        next = s->next;
        if ((s->kinds & msg->kind) && strcmp(s->dev, msg->dev) == 0)
            s->fn(s->arg, msg);
    }
    unref(e->sh);
    free(e);
}

static void post_all(tm_live *h, shared *sh)
{
    atomic_store(&sh->refs, 1); /* the publisher's, dropped at the end */
    for (size_t i = 0; i < TM_LIVE_LOOPS_MAX; i++) {
        slot *s = atomic_load(&h->slots[i]);
        if (!s || atomic_load(&s->n) == 0)
            continue;
        envelope *e = malloc(sizeof *e);
        if (!e) {
            atomic_fetch_add(&h->failed, 1);
            continue;
        }
        atomic_fetch_add(&sh->refs, 1);
        *e = (envelope){.m.fn = deliver, .slot = s, .sh = sh};
        atomic_fetch_add(&h->posted, 1);
        net_loop_post(s->loop, &e->m);
    }
    unref(sh);
}

/* Copies @n bytes of @s to *@at (NUL added) and returns where it went. */
static char *put(char **at, const char *s, size_t n)
{
    char *d = *at;
    memcpy(d, s, n);
    d[n] = '\0';
    *at += n + 1;
    return d;
}

void tm_live_telemetry(tm_live *h, const char *dev, const tm_batch *b)
{
    if (!h || !b->n || atomic_load(&h->total) == 0)
        return;
    size_t bytes = sizeof(shared) + b->n * sizeof(tm_point) + strlen(dev) + 1;
    for (size_t i = 0; i < b->n; i++)
        bytes += strlen(b->pts[i].key) + 1 + (b->pts[i].str ? strlen(b->pts[i].str) + 1 : 0);
    shared *sh = malloc(bytes);
    if (!sh) {
        atomic_fetch_add(&h->failed, 1);
        return;
    }
    tm_point *pts = (tm_point *)(sh + 1);
    char *at = (char *)(pts + b->n);
    sh->m = (tm_live_msg){.kind = TM_LIVE_TELEMETRY, .pts = pts, .n = b->n};
    sh->m.dev = put(&at, dev, strlen(dev));
    for (size_t i = 0; i < b->n; i++) {
        pts[i] = b->pts[i];
        pts[i].key = put(&at, b->pts[i].key, strlen(b->pts[i].key));
        if (b->pts[i].str)
            pts[i].str = put(&at, b->pts[i].str, strlen(b->pts[i].str));
    }
    post_all(h, sh);
}

void tm_live_log(tm_live *h, const char *dev, const tm_log_line *l)
{
    if (!h || !l->msg || atomic_load(&h->total) == 0)
        return;
    size_t bytes = sizeof(shared) + strlen(dev) + 1 + l->len + 1;
    shared *sh = malloc(bytes);
    if (!sh) {
        atomic_fetch_add(&h->failed, 1);
        return;
    }
    char *at = (char *)(sh + 1);
    sh->log = *l;
    sh->log.msg = put(&at, l->msg, l->len);
    sh->m = (tm_live_msg){.kind = TM_LIVE_LOG, .log = &sh->log};
    sh->m.dev = put(&at, dev, strlen(dev));
    post_all(h, sh);
}

void tm_live_stats_get(tm_live *h, tm_live_stats *out)
{
    out->listeners = atomic_load(&h->total);
    out->posted = atomic_load(&h->posted);
    out->failed = atomic_load(&h->failed);
}
