/*
 * subs — a session's own list of subscriptions, mirrored into the shared trie.
 *
 * The list lets the owner loop remove every subscription of a session that ends, and
 * answers "is this a re-subscription" without a trie lookup. Owner loop only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/bloop.h"
#include "broker/session.h"
#include "broker/share.h"

static sub **find(session *s, const uint8_t *f, uint16_t n)
{
    for (sub **pp = &s->subs; *pp; pp = &(*pp)->next)
        if ((*pp)->len == n && memcmp((*pp)->filter, f, n) == 0)
            return pp;
    return NULL;
}

/* The list entry of filter @f, added at the head when absent; NULL without memory. */
static sub **entry(session *s, const uint8_t *f, uint16_t n)
{
    sub **pp = find(s, f, n);
    if (pp)
        return pp;
    sub *e = malloc(sizeof *e + n);
    if (!e)
        return NULL;
    e->len = n;
    e->opts = 0;
    e->subid = 0;
    memcpy(e->filter, f, n);
    e->next = s->subs;
    s->subs = e;
    return &s->subs;
}

/* The trie, or the shared group, forgets @e of @s. */
static void untrie(session *s, sub *e)
{
    if (share__kind(e->filter, e->len) == 1)
        share__leave(s->br, s, e->filter, e->len);
    else
        mqtt_trie_unsubscribe(s->br->subs, e->filter, e->len, s);
}

int session__sub_list_add(session *s, const uint8_t *f, uint16_t n, uint8_t qos)
{
    sub **pp = entry(s, f, n);
    if (!pp)
        return -ENOMEM;
    (*pp)->qos = qos;
    return 0;
}

int session__subscribe(session *s, const uint8_t *f, uint16_t n, uint8_t qos)
{
    session__assert_owner(s);
    sub **pp = entry(s, f, n);
    if (!pp)
        return -ENOMEM;
    int rc = share__kind(f, n) == 1 ? share__join(s->br, s, f, n, qos)
                                    : mqtt_trie_subscribe(s->br->subs, f, n, s, qos);
    if (rc < 0) {
        sub *e = *pp;
        *pp = e->next;
        free(e);
        return rc;
    }
    (*pp)->qos = qos;
    return 0;
}

int session__unsubscribe(session *s, const uint8_t *f, uint16_t n)
{
    session__assert_owner(s);
    sub **pp = find(s, f, n);
    if (!pp)
        return -ENOENT;
    sub *e = *pp;
    *pp = e->next;
    if (e->opts || e->subid)
        s->n_opt_subs--;
    untrie(s, e);
    free(e);
    return 0;
}

bool session__has_sub(session *s, const uint8_t *f, uint16_t n) { return find(s, f, n) != NULL; }

void session__sub_opts(session *s, const uint8_t *f, uint16_t n, uint8_t opts, uint32_t subid)
{
    sub **pp = find(s, f, n);
    if (!pp)
        return;
    sub *e = *pp;
    s->n_opt_subs += (opts || subid) - (e->opts || e->subid);
    e->opts = opts;
    e->subid = subid;
}

void session__unsubscribe_all(session *s)
{
    sub *e = s->subs;
    while (e) {
        sub *next = e->next;
        untrie(s, e);
        free(e);
        e = next;
    }
    s->subs = NULL;
    s->n_opt_subs = 0;
}
