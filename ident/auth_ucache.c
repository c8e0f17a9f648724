/*
 * auth_ucache — the public view of recently read accounts (GET /v1/me), so the commonest
 * authenticated call is answered from memory: token from the token cache, view from here,
 * no store round trip.
 *
 * Freshness: entries live AUTH_UCACHE_TTL_MS at most (the bound on staleness for changes
 * made by another process, like the token cache); changes made through this process drop
 * the entry at once. A read that started before a drop must not put its (older) view back
 * afterwards: puts carry the generation seen when their read was submitted and are
 * ignored when any drop happened since (drops are rare; a lost put only costs one read).
 * One mutex guards the table; it is held for a hash lookup and a copy.
 */
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "ident/auth_int.h"

struct auth__uentry {
    auth__uentry *next;
    int64_t until;
    uint8_t *doc;
    uint32_t len;
    char user_id[STORE_ID_MAX + 1];
};

static size_t bucket(const char *s) { return hash_fnv1a32_str(s) % AUTH_UCACHE_BUCKETS; }

void auth__ucache_init(auth__ucache *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
}

static void entry_free(auth__uentry *e)
{
    free(e->doc);
    free(e);
}

void auth__ucache_free(auth__ucache *c)
{
    for (size_t i = 0; i < AUTH_UCACHE_BUCKETS; i++) {
        auth__uentry *e = c->b[i], *next;
        for (; e; e = next) {
            next = e->next;
            entry_free(e);
        }
    }
    pthread_mutex_destroy(&c->mu);
}

static auth__uentry **find(auth__ucache *c, const char *user_id)
{
    auth__uentry **p = &c->b[bucket(user_id)];
    while (*p && strcmp((*p)->user_id, user_id) != 0)
        p = &(*p)->next;
    return p;
}

bool auth__ucache_get(auth__ucache *c, const char *user_id, int64_t now, bson_t *out)
{
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    auth__uentry *e = *find(c, user_id);
    if (e && e->until > now) {
        bson_t view;
        hit = bson_init_static(&view, e->doc, e->len);
        if (hit) {
            bson_destroy(out);
            bson_copy_to(&view, out);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

uint64_t auth__ucache_gen(auth__ucache *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t g = c->gen;
    pthread_mutex_unlock(&c->mu);
    return g;
}

void auth__ucache_put(auth__ucache *c, const char *user_id, const bson_t *view, uint64_t gen,
                      int64_t now)
{
    if (strlen(user_id) > STORE_ID_MAX)
        return;
    auth__uentry *e = calloc(1, sizeof *e);
    uint8_t *doc = e ? malloc(view->len) : NULL;
    if (!doc) {
        free(e);
        return;
    }
    memcpy(doc, bson_get_data(view), view->len);
    e->doc = doc;
    e->len = view->len;
    e->until = now + AUTH_UCACHE_TTL_MS;
    memcpy(e->user_id, user_id, strlen(user_id) + 1);
    pthread_mutex_lock(&c->mu);
    auth__uentry **p = find(c, user_id);
    if (gen != c->gen || (!*p && c->n >= AUTH_UCACHE_MAX)) {
        pthread_mutex_unlock(&c->mu);
        entry_free(e); /* stale read, or full: the next GET reads the store again */
        return;
    }
    if (*p) {
        e->next = (*p)->next;
        entry_free(*p);
    } else {
        e->next = NULL;
        c->n++;
    }
    *p = e;
    pthread_mutex_unlock(&c->mu);
}

void auth__ucache_drop(auth__ucache *c, const char *user_id)
{
    pthread_mutex_lock(&c->mu);
    c->gen++;
    auth__uentry **p = find(c, user_id), *e = *p;
    if (e) {
        *p = e->next;
        entry_free(e);
        c->n--;
    }
    pthread_mutex_unlock(&c->mu);
}
