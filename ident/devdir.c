/*
 * devdir — the device directory (devdir.h): a chained hash table keyed by device id under
 * one read-write lock. Readers (MQTT connects and USER policy checks on every loop) take
 * the read side; the REST API writes after its commits. The table doubles when it holds
 * more entries than buckets, so chains stay short.
 */
#include "ident/devdir.h"
#include "common/hash.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 1024

typedef struct dev {
    struct dev *next;
    bool has_secret;
    uint8_t secret[DEVDIR_SECRET_HASH];
    char owner[STORE_ID_MAX + 1];
    size_t id_len;
    char id[STORE_ID_MAX + 1];
} dev;

struct devdir {
    pthread_rwlock_t lock;
    dev **b;
    size_t nb, n;
};

/* FNV-1a: ids are random, so any spreading hash is fine. */
static size_t hash(const uint8_t *p, size_t n) { return (size_t)hash_fnv1a(p, n); }

devdir *devdir_new(void)
{
    devdir *d = calloc(1, sizeof *d);
    if (!d || !(d->b = calloc(INITIAL_BUCKETS, sizeof *d->b))) {
        free(d);
        return NULL;
    }
    d->nb = INITIAL_BUCKETS;
    pthread_rwlock_init(&d->lock, NULL);
    return d;
}

void devdir_free(devdir *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nb; i++) {
        for (dev *e = d->b[i], *nx; e; e = nx) {
            nx = e->next;
            OPENSSL_cleanse(e->secret, sizeof e->secret);
            free(e);
        }
    }
    pthread_rwlock_destroy(&d->lock);
    free(d->b);
    free(d);
}

/* Under either lock. */
static dev **find(devdir *d, const uint8_t *id, size_t len)
{
    dev **pp = &d->b[hash(id, len) & (d->nb - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->id_len == len && memcmp((*pp)->id, id, len) == 0)
            return pp;
    return pp;
}

/* Under the write lock; failure to grow only makes chains longer. */
static void grow(devdir *d)
{
    size_t nb = d->nb * 2;
    dev **b = calloc(nb, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < d->nb; i++) {
        for (dev *e = d->b[i], *nx; e; e = nx) {
            nx = e->next;
            size_t h = hash((const uint8_t *)e->id, e->id_len) & (nb - 1);
            e->next = b[h];
            b[h] = e;
        }
    }
    free(d->b);
    d->b = b;
    d->nb = nb;
}

static bool key_ok(const char *s, size_t *len)
{
    *len = s ? strlen(s) : 0;
    return *len > 0 && *len <= STORE_ID_MAX;
}

int devdir_put(devdir *d, const char *id, const char *owner_id,
               const uint8_t secret_hash[DEVDIR_SECRET_HASH])
{
    size_t n, on;
    if (!key_ok(id, &n) || !key_ok(owner_id, &on))
        return -1;
    pthread_rwlock_wrlock(&d->lock);
    dev **pp = find(d, (const uint8_t *)id, n);
    dev *e = *pp;
    if (!e && (e = calloc(1, sizeof *e))) {
        memcpy(e->id, id, n + 1);
        e->id_len = n;
        *pp = e;
        if (++d->n > d->nb)
            grow(d);
    }
    if (e) {
        memcpy(e->owner, owner_id, on + 1);
        e->has_secret = secret_hash != NULL;
        if (secret_hash)
            memcpy(e->secret, secret_hash, DEVDIR_SECRET_HASH);
    }
    pthread_rwlock_unlock(&d->lock);
    return e ? 0 : -1;
}

int devdir_set_secret(devdir *d, const char *id, const uint8_t secret_hash[DEVDIR_SECRET_HASH])
{
    size_t n;
    if (!key_ok(id, &n))
        return -1;
    pthread_rwlock_wrlock(&d->lock);
    dev *e = *find(d, (const uint8_t *)id, n);
    if (e) {
        e->has_secret = secret_hash != NULL;
        if (secret_hash)
            memcpy(e->secret, secret_hash, DEVDIR_SECRET_HASH);
    }
    pthread_rwlock_unlock(&d->lock);
    return e ? 0 : -1;
}

void devdir_del(devdir *d, const char *id)
{
    size_t n;
    if (!key_ok(id, &n))
        return;
    pthread_rwlock_wrlock(&d->lock);
    dev **pp = find(d, (const uint8_t *)id, n);
    dev *e = *pp;
    if (e) {
        *pp = e->next;
        d->n--;
        OPENSSL_cleanse(e->secret, sizeof e->secret);
        free(e);
    }
    pthread_rwlock_unlock(&d->lock);
}

bool devdir_exists(devdir *d, const uint8_t *id, size_t len)
{
    if (len == 0 || len > STORE_ID_MAX)
        return false;
    pthread_rwlock_rdlock(&d->lock);
    bool ok = *find(d, id, len) != NULL;
    pthread_rwlock_unlock(&d->lock);
    return ok;
}

bool devdir_owned_by(devdir *d, const uint8_t *id, size_t len, const char *owner_id)
{
    if (len == 0 || len > STORE_ID_MAX || !owner_id)
        return false;
    pthread_rwlock_rdlock(&d->lock);
    dev *e = *find(d, id, len);
    bool ok = e && strcmp(e->owner, owner_id) == 0;
    pthread_rwlock_unlock(&d->lock);
    return ok;
}

bool devdir_owner(devdir *d, const char *id, char *out, size_t cap)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len > STORE_ID_MAX || cap == 0)
        return false;
    pthread_rwlock_rdlock(&d->lock);
    dev *e = *find(d, (const uint8_t *)id, len);
    bool ok = e && strlen(e->owner) < cap;
    if (ok)
        memcpy(out, e->owner, strlen(e->owner) + 1);
    pthread_rwlock_unlock(&d->lock);
    return ok;
}

bool devdir_secret_ok(devdir *d, const char *id, const uint8_t *pw, size_t pw_len)
{
    size_t n;
    if (!key_ok(id, &n) || !pw)
        return false;
    uint8_t h[DEVDIR_SECRET_HASH];
    SHA256(pw, pw_len, h);
    pthread_rwlock_rdlock(&d->lock);
    dev *e = *find(d, (const uint8_t *)id, n);
    /* constant time in the secret's bytes: the hash of a guess leaks nothing useful, but
     * a timing oracle on the stored hash should not exist either */
    bool ok = e && e->has_secret && CRYPTO_memcmp(e->secret, h, sizeof h) == 0;
    pthread_rwlock_unlock(&d->lock);
    OPENSSL_cleanse(h, sizeof h);
    return ok;
}

void devdir_secret_hash(const char *secret, size_t len, uint8_t out[DEVDIR_SECRET_HASH])
{
    SHA256((const unsigned char *)secret, len, out);
}

bool devdir_id_shaped(const char *s, size_t len)
{
    if (!s || len != DEVDIR_ID_LEN || s[0] != 'd')
        return false;
    for (size_t i = 1; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}
