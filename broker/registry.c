/*
 * registry — client id -> session, one per broker, guarded by br->reg_lock.
 *
 * Open addressing with linear probing and backward-shift deletion; the table holds one
 * session reference per entry. The lock is held only for the lookup/update itself.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/bloop.h"
#include "broker/quota.h"
#include "broker/registry.h"
#include "broker/session.h"
#include "common/hash.h"

static uint64_t hash_id(const uint8_t *p, size_t n) { return hash_fnv1a(p, n); }

void registry__lock(broker *br) { pthread_mutex_lock(&br->reg_lock); }

void registry__unlock(broker *br) { pthread_mutex_unlock(&br->reg_lock); }

static size_t slot_of(broker *br, const uint8_t *id, size_t len)
{
    size_t mask = br->reg_cap - 1;
    size_t i = (size_t)hash_id(id, len) & mask;
    while (br->reg[i]) {
        session *s = br->reg[i];
        if (s->id_len == len && memcmp(s->id, id, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

session *registry__find(broker *br, const uint8_t *id, size_t len)
{
    if (!br->reg_cap)
        return NULL;
    return br->reg[slot_of(br, id, len)];
}

static int grow(broker *br)
{
    size_t ncap = br->reg_cap ? br->reg_cap * 2 : 64;
    session **old = br->reg;
    size_t ocap = br->reg_cap;
    session **n = calloc(ncap, sizeof *n);
    if (!n)
        return -1;
    br->reg = n;
    br->reg_cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i])
            br->reg[slot_of(br, (const uint8_t *)old[i]->id, old[i]->id_len)] = old[i];
    free(old);
    return 0;
}

int registry__put(broker *br, session *s)
{
    if ((br->reg_n + 1) * 4 > br->reg_cap * 3 && grow(br) < 0)
        return -1;
    size_t i = slot_of(br, (const uint8_t *)s->id, s->id_len);
    session *old = br->reg[i];
    br->reg[i] = session__ref(s);
    s->in_registry = true;
    quota__registered(s, true);
    if (old) {
        old->in_registry = false;
        quota__registered(old, false);
        session__unref(old);
    } else {
        br->reg_n++;
    }
    return 0;
}

void registry__remove(broker *br, session *s)
{
    if (!s->in_registry || !br->reg_cap)
        return;
    size_t mask = br->reg_cap - 1;
    size_t i = slot_of(br, (const uint8_t *)s->id, s->id_len);
    if (br->reg[i] != s)
        return;
    br->reg[i] = NULL;
    br->reg_n--;
    s->in_registry = false;
    quota__registered(s, false);
    /* Backward-shift the following cluster so probing never stops at the hole. */
    for (size_t j = (i + 1) & mask; br->reg[j]; j = (j + 1) & mask) {
        session *t = br->reg[j];
        br->reg[j] = NULL;
        br->reg[slot_of(br, (const uint8_t *)t->id, t->id_len)] = t;
    }
    session__unref(s);
}

void registry__free_all(broker *br)
{
    for (size_t i = 0; i < br->reg_cap; i++) {
        session *s = br->reg[i];
        if (!s)
            continue;
        s->in_registry = false;
        session__destroy_state(s);
        session__unref(s);
    }
    free(br->reg);
    br->reg = NULL;
    br->reg_cap = br->reg_n = 0;
}

size_t registry__take(broker *br, bool (*pred)(session *s, void *arg), void *arg, session ***out)
{
    size_t n = 0, cap = 0;
    session **v = NULL;
    for (size_t i = 0; i < br->reg_cap; i++) {
        session *s = br->reg[i];
        if (!s || !pred(s, arg))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            session **nv = realloc(v, ncap * sizeof *nv);
            if (!nv)
                break; /* the rest waits for the next sweep */
            v = nv;
            cap = ncap;
        }
        v[n++] = session__ref(s);
    }
    /* Removed after the scan: removal shifts entries, which would upset the walk. */
    for (size_t i = 0; i < n; i++)
        registry__remove(br, v[i]);
    *out = v;
    return n;
}

void registry__count(broker *br, size_t *online, size_t *offline)
{
    *online = *offline = 0;
    registry__lock(br);
    for (size_t i = 0; i < br->reg_cap; i++) {
        session *s = br->reg[i];
        if (!s)
            continue;
        if (atomic_load_explicit(&s->online, memory_order_relaxed))
            (*online)++;
        else if (!s->clean) /* a clean one is gone with its connection */
            (*offline)++;
    }
    registry__unlock(br);
}
