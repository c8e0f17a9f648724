/*
 * auth_cache — access tokens verified recently, so most requests skip the store. A hash
 * map (chained buckets keyed by the token's SHA-256) behind one mutex; entries live at
 * most AUTH_CACHE_TTL_MS, which bounds how long a revocation made by another process goes
 * unseen. Revocations by this process drop entries at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident/auth_int.h"

struct auth__centry {
    auth__centry *next;
    uint8_t hash[32];
    char family[STORE_ID_MAX + 1];
    auth_principal p;
    int64_t until;
    int64_t expires_at; /* the token's own expiry */
};

void auth__cache_init(auth__cache *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
}

static void drop_if(auth__cache *c, bool (*match)(const auth__centry *e, const void *arg),
                    const void *arg)
{
    for (size_t i = 0; i < AUTH_CACHE_BUCKETS; i++) {
        auth__centry **pp = &c->b[i];
        while (*pp) {
            auth__centry *e = *pp;
            if (match(e, arg)) {
                *pp = e->next;
                free(e);
                c->n--;
            } else {
                pp = &e->next;
            }
        }
    }
}

static bool any(const auth__centry *e, const void *arg) { return true; }

void auth__cache_free(auth__cache *c)
{
    drop_if(c, any, NULL);
    pthread_mutex_destroy(&c->mu);
}

static size_t bucket(const uint8_t hash[32])
{
    /* The key is a SHA-256 of 256 random bits: its bytes are already uniform. */
    return ((size_t)hash[0] | (size_t)hash[1] << 8) % AUTH_CACHE_BUCKETS;
}

static auth__centry **find(auth__cache *c, const uint8_t hash[32])
{
    auth__centry **pp = &c->b[bucket(hash)];
    while (*pp && memcmp((*pp)->hash, hash, 32) != 0)
        pp = &(*pp)->next;
    return pp;
}

bool auth__cache_get(auth__cache *c, const uint8_t hash[32], int64_t now, auth_principal *p)
{
    return auth__cache_get_info(c, hash, now, p, NULL);
}

bool auth__cache_get_info(auth__cache *c, const uint8_t hash[32], int64_t now, auth_principal *p,
                          auth_token_info *ti)
{
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    auth__centry **pp = find(c, hash);
    auth__centry *e = *pp;
    if (e && e->until > now) {
        *p = e->p;
        if (ti) {
            snprintf(ti->family, sizeof ti->family, "%s", e->family);
            ti->expires_at = e->expires_at;
        }
        hit = true;
    } else if (e) {
        *pp = e->next;
        free(e);
        c->n--;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

static bool expired(const auth__centry *e, const void *arg)
{
    return e->until <= *(const int64_t *)arg;
}

/* Under the lock. */
static void put_locked(auth__cache *c, const uint8_t hash[32], const char *family,
                       const auth_principal *p, int64_t expires_at, int64_t now, int64_t until)
{
    auth__centry **pp = find(c, hash);
    if (!*pp && c->n >= AUTH_CACHE_MAX) {
        drop_if(c, expired, &now);
        pp = find(c, hash); /* the link it pointed at may have been freed */
    }
    if (!*pp && c->n < AUTH_CACHE_MAX && (*pp = calloc(1, sizeof **pp)))
        c->n++;
    auth__centry *e = *pp;
    if (e) {
        memcpy(e->hash, hash, 32);
        memcpy(e->family, family, strlen(family) + 1);
        e->p = *p;
        e->until = until;
        e->expires_at = expires_at;
    }
}

static void put(auth__cache *c, const uint64_t *gen, const uint8_t hash[32], const char *family,
                const auth_principal *p, int64_t expires_at, int64_t now)
{
    int64_t until = now + AUTH_CACHE_TTL_MS < expires_at ? now + AUTH_CACHE_TTL_MS : expires_at;
    if (until <= now || strlen(family) > STORE_ID_MAX)
        return;
    pthread_mutex_lock(&c->mu);
    if (!gen || *gen == c->gen)
        put_locked(c, hash, family, p, expires_at, now, until);
    pthread_mutex_unlock(&c->mu);
}

void auth__cache_put(auth__cache *c, const uint8_t hash[32], const char *family,
                     const auth_principal *p, int64_t expires_at, int64_t now)
{
    put(c, NULL, hash, family, p, expires_at, now);
}

void auth__cache_put_gen(auth__cache *c, uint64_t gen, const uint8_t hash[32], const char *family,
                         const auth_principal *p, int64_t expires_at, int64_t now)
{
    put(c, &gen, hash, family, p, expires_at, now);
}

uint64_t auth__cache_gen(auth__cache *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t g = c->gen;
    pthread_mutex_unlock(&c->mu);
    return g;
}

void auth__cache_drop(auth__cache *c, const uint8_t hash[32])
{
    pthread_mutex_lock(&c->mu);
    c->gen++;
    auth__centry **pp = find(c, hash);
    auth__centry *e = *pp;
    if (e) {
        *pp = e->next;
        free(e);
        c->n--;
    }
    pthread_mutex_unlock(&c->mu);
}

static bool of_family(const auth__centry *e, const void *arg)
{
    return strcmp(e->family, arg) == 0;
}

static bool of_user(const auth__centry *e, const void *arg)
{
    return strcmp(e->p.user_id, arg) == 0;
}

void auth__cache_drop_family(auth__cache *c, const char *family)
{
    pthread_mutex_lock(&c->mu);
    c->gen++;
    drop_if(c, of_family, family);
    pthread_mutex_unlock(&c->mu);
}

void auth__cache_drop_user(auth__cache *c, const char *user_id)
{
    pthread_mutex_lock(&c->mu);
    c->gen++;
    drop_if(c, of_user, user_id);
    pthread_mutex_unlock(&c->mu);
}
