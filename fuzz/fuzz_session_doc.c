/*
 * Fuzzes the session document parser (broker/persist_doc.c), the decoder of rows a
 * damaged or foreign database hands us at start-up. Whatever it accepts must be a
 * document we could have written: re-encoding the parsed state and parsing it again
 * gives the same subscriptions and QoS 2 ids.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/persist.h"
#include "broker/session.h"
#include "mqtt/mqtt_topic.h"

#define MAX_ITEMS 64

typedef struct seen {
    session *s;
    sub *tail;
    size_t n_subs, n_rx2;
    char filters[MAX_ITEMS][256];
    uint8_t qos[MAX_ITEMS];
    uint8_t opts[MAX_ITEMS];
    uint32_t subid[MAX_ITEMS];
    uint16_t rx2[MAX_ITEMS];
} seen;

static void check(bool cond)
{
    if (!cond)
        abort();
}

static int on_sub(void *arg, const persist_sub *ps)
{
    seen *w = arg;
    check(mqtt_topic_filter_valid((const uint8_t *)ps->filter, ps->len) && ps->qos <= 2);
    if (w->n_subs == MAX_ITEMS || ps->len >= sizeof w->filters[0])
        return -1; /* keep the check simple: refuse big ones */
    memcpy(w->filters[w->n_subs], ps->filter, ps->len);
    w->filters[w->n_subs][ps->len] = '\0';
    w->opts[w->n_subs] = ps->opts;
    w->subid[w->n_subs] = ps->subid;
    w->qos[w->n_subs++] = ps->qos;
    if (w->s) {
        sub *e = malloc(sizeof *e + ps->len);
        check(e != NULL);
        e->next = NULL;
        e->len = (uint16_t)ps->len;
        e->qos = ps->qos;
        e->opts = ps->opts;
        e->subid = ps->subid;
        w->s->n_opt_subs += ps->opts || ps->subid;
        memcpy(e->filter, ps->filter, ps->len);
        if (w->tail)
            w->tail->next = e;
        else
            w->s->subs = e;
        w->tail = e;
    }
    return 0;
}

static int on_rx2(void *arg, uint16_t pid)
{
    seen *w = arg;
    check(pid != 0);
    if (w->n_rx2 == MAX_ITEMS)
        return -1;
    w->rx2[w->n_rx2++] = pid;
    if (w->s)
        session__rx_qos2_add(w->s, pid);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t doc;
    if (!bson_init_static(&doc, data, size))
        return 0;
    static seen a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.s = session__new(NULL, NULL, (const uint8_t *)"f", 1, false);
    check(a.s != NULL);
    int64_t seen_a = 0, seen_b = 0;
    if (persist__session_parse(&doc, &seen_a, on_sub, on_rx2, &a) == 0 &&
        persist__session_expiry(&doc, &a.s->expiry_ms) == 0) {
        /* rx2 duplicates collapse in the session, so compare against its own list */
        bson_t *again = persist__session_doc(a.s, seen_a);
        check(again != NULL);
        check(persist__session_parse(again, &seen_b, on_sub, on_rx2, &b) == 0);
        int64_t exp_b = 0;
        check(persist__session_expiry(again, &exp_b) == 0 && exp_b == a.s->expiry_ms);
        check(seen_a == seen_b && a.n_subs == b.n_subs && b.n_rx2 == a.s->n_rx_qos2);
        for (size_t i = 0; i < a.n_subs; i++)
            check(strcmp(a.filters[i], b.filters[i]) == 0 && a.qos[i] == b.qos[i] &&
                  a.opts[i] == b.opts[i] && a.subid[i] == b.subid[i]);
        bson_destroy(again);
    }
    for (sub *e = a.s->subs; e;) {
        sub *next = e->next;
        free(e);
        e = next;
    }
    a.s->subs = NULL;
    free(a.s->rx_qos2);
    free(a.s);
    return 0;
}
