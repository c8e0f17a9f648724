/*
 * iptab — concurrent connections per peer IP, process-wide; shared by net (MQTT and TLS
 * listeners, counted at accept) and http (plain HTTP, counted at open). Touched only
 * when a connection opens or closes, so one mutex is enough. Open addressing with linear
 * probing; an entry whose count drops to zero is removed and its cluster re-inserted,
 * so there are no tombstones and the table never fills with dead addresses.
 */
#include "common/iptab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

#define IP_INITIAL_CAP 64u

static size_t hash_ip(const char *ip) { return (size_t)hash_fnv1a_str(ip); }

int iptab_init(iptab *t)
{
    memset(t, 0, sizeof *t);
    t->e = calloc(IP_INITIAL_CAP, sizeof *t->e);
    if (!t->e)
        return -1;
    t->cap = IP_INITIAL_CAP;
    return pthread_mutex_init(&t->lock, NULL) == 0 ? 0 : -1;
}

void iptab_fini(iptab *t)
{
    pthread_mutex_destroy(&t->lock);
    free(t->e);
    t->e = NULL;
}

static iptab_ent *slot(iptab_ent *e, size_t cap, const char *ip)
{
    size_t i = hash_ip(ip) & (cap - 1);
    while (e[i].n && strcmp(e[i].ip, ip) != 0)
        i = (i + 1) & (cap - 1);
    return &e[i];
}

static int grow(iptab *t)
{
    size_t cap = t->cap * 2;
    iptab_ent *e = calloc(cap, sizeof *e);
    if (!e)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->e[i].n)
            *slot(e, cap, t->e[i].ip) = t->e[i];
    free(t->e);
    t->e = e;
    t->cap = cap;
    return 0;
}

int iptab_acquire(iptab *t, const char *ip, uint32_t max)
{
    int rc = -1;
    pthread_mutex_lock(&t->lock);
    if ((t->used + 1) * 2 > t->cap && grow(t) < 0)
        goto out;
    iptab_ent *s = slot(t->e, t->cap, ip);
    if (s->n >= max)
        goto out;
    if (s->n == 0) {
        snprintf(s->ip, sizeof s->ip, "%s", ip);
        t->used++;
    }
    s->n++;
    rc = 0;
out:
    pthread_mutex_unlock(&t->lock);
    return rc;
}

/* Removes the entry at @i and re-inserts the rest of its probe cluster. */
static void remove_at(iptab *t, size_t i)
{
    t->e[i].n = 0;
    t->used--;
    for (size_t j = (i + 1) & (t->cap - 1); t->e[j].n; j = (j + 1) & (t->cap - 1)) {
        iptab_ent moved = t->e[j];
        t->e[j].n = 0;
        *slot(t->e, t->cap, moved.ip) = moved;
    }
}

void iptab_release(iptab *t, const char *ip)
{
    pthread_mutex_lock(&t->lock);
    iptab_ent *s = slot(t->e, t->cap, ip);
    if (s->n && --s->n == 0)
        remove_at(t, (size_t)(s - t->e));
    pthread_mutex_unlock(&t->lock);
}
