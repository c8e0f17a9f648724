/*
 * revset — a set of revoked serials: open addressing with linear probing over
 * fixed-size keys, doubled when three quarters full. Entries leave only by revset_prune,
 * which rehashes the survivors into a fresh table of the same size (no tombstones, so a
 * lookup's probe still ends at the first empty slot). One read-write lock: handshakes
 * read in parallel; an add after a revocation briefly excludes them.
 *
 * Keys are normalised on the way in and on lookup: lower case, leading zeros stripped
 * ("0" stays "0"), at most CA_SERIAL_HEX digits.
 */
#include "ca/revset.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ca/ca.h"
#include "ca/ca_int.h"
#include "common/hash.h"

#define INITIAL_SLOTS 64
#define RAW_MAX       256 /* leading zeros accepted before the digits, for foreign input */

typedef struct slot {
    char key[CA_SERIAL_HEX + 1]; /* "" = empty */
    int reason;
    int64_t revoked_at, not_after;
} slot;

struct revset {
    pthread_rwlock_t lock;
    slot *slots;
    size_t cap; /* power of two */
    size_t count;
    uint64_t version;
};

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* @in into canonical form in @out; -1 when it is empty, not hex, or too long. */
static int normalise(const char *in, char out[CA_SERIAL_HEX + 1])
{
    size_t n = in ? strnlen(in, RAW_MAX + 1) : 0, i = 0, j = 0;
    if (n == 0 || n > RAW_MAX)
        return -1;
    while (i + 1 < n && in[i] == '0')
        i++;
    if (n - i > CA_SERIAL_HEX)
        return -1;
    for (; i < n; i++, j++) {
        int v = hex_value(in[i]);
        if (v < 0)
            return -1;
        out[j] = "0123456789abcdef"[v];
    }
    out[j] = '\0';
    return 0;
}

/* FNV-1a: the keys are random serials, so no need for a keyed hash. */
static size_t hash(const char *s) { return (size_t)hash_fnv1a_str(s); }

/* The slot holding @key, or the empty one where it would go. */
static slot *find(slot *slots, size_t cap, const char *key)
{
    size_t i = hash(key) & (cap - 1);
    while (slots[i].key[0] && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(revset *r)
{
    size_t cap = r->cap * 2;
    slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < r->cap; i++)
        if (r->slots[i].key[0])
            *find(slots, cap, r->slots[i].key) = r->slots[i];
    free(r->slots);
    r->slots = slots;
    r->cap = cap;
    return 0;
}

revset *revset_new(void)
{
    revset *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cap = INITIAL_SLOTS;
    r->slots = calloc(r->cap, sizeof *r->slots);
    if (!r->slots || pthread_rwlock_init(&r->lock, NULL) != 0) {
        free(r->slots);
        free(r);
        return NULL;
    }
    return r;
}

void revset_free(revset *r)
{
    if (!r)
        return;
    pthread_rwlock_destroy(&r->lock);
    free(r->slots);
    free(r);
}

int revset_add(revset *r, const char *serial)
{
    revset_entry e = {.serial = serial, .not_after = INT64_MAX};
    return revset_put(r, &e);
}

int revset_put(revset *r, const revset_entry *e)
{
    char key[CA_SERIAL_HEX + 1];
    int rc = 0;
    if (normalise(e->serial, key) < 0)
        return -1;
    pthread_rwlock_wrlock(&r->lock);
    slot *s = find(r->slots, r->cap, key);
    if (!s->key[0]) {
        /* Keep at least a quarter empty so probes stay short and always end. */
        if ((r->count + 1) * 4 > r->cap * 3) {
            rc = grow(r);
            s = find(r->slots, r->cap, key);
        }
        if (rc == 0) {
            *s =
                (slot){.reason = e->reason, .revoked_at = e->revoked_at, .not_after = e->not_after};
            memcpy(s->key, key, sizeof key);
            r->count++;
            r->version++;
        }
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

bool revset_has(revset *r, const char *serial)
{
    char key[CA_SERIAL_HEX + 1];
    if (normalise(serial, key) < 0)
        return false;
    pthread_rwlock_rdlock(&r->lock);
    bool found = find(r->slots, r->cap, key)->key[0] != '\0';
    pthread_rwlock_unlock(&r->lock);
    return found;
}

bool revset_has_x509(revset *r, const void *cert)
{
    char key[CA_SERIAL_HEX + 1];
    if (!cert || ca__serial_hex(X509_get0_serialNumber(cert), key) < 0)
        return false;
    return revset_has(r, key);
}

size_t revset_count(revset *r)
{
    pthread_rwlock_rdlock(&r->lock);
    size_t n = r->count;
    pthread_rwlock_unlock(&r->lock);
    return n;
}

uint64_t revset_version(revset *r)
{
    pthread_rwlock_rdlock(&r->lock);
    uint64_t v = r->version;
    pthread_rwlock_unlock(&r->lock);
    return v;
}

/* Rehashes the entries that are still valid at @now into a fresh table of the same size;
 * -1 (nothing changed) when it cannot be allocated. */
static ssize_t rehash_live(revset *r, int64_t now)
{
    slot *slots = calloc(r->cap, sizeof *slots);
    if (!slots)
        return -1;
    size_t dropped = 0;
    for (size_t i = 0; i < r->cap; i++) {
        if (!r->slots[i].key[0])
            continue;
        if (r->slots[i].not_after <= now)
            dropped++;
        else
            *find(slots, r->cap, r->slots[i].key) = r->slots[i];
    }
    free(r->slots);
    r->slots = slots;
    return (ssize_t)dropped;
}

static bool any_expired(const revset *r, int64_t now)
{
    for (size_t i = 0; i < r->cap; i++)
        if (r->slots[i].key[0] && r->slots[i].not_after <= now)
            return true;
    return false;
}

size_t revset_prune(revset *r, int64_t now)
{
    pthread_rwlock_rdlock(&r->lock); /* the common case: nothing expired, no writer lock */
    bool some = any_expired(r, now);
    pthread_rwlock_unlock(&r->lock);
    if (!some)
        return 0;
    pthread_rwlock_wrlock(&r->lock);
    ssize_t n = rehash_live(r, now);
    if (n > 0) {
        r->count -= (size_t)n;
        r->version++;
    }
    pthread_rwlock_unlock(&r->lock);
    return n > 0 ? (size_t)n : 0;
}

static void copy_live(const revset *r, int64_t now, revset_snap *out)
{
    for (size_t i = 0; i < r->cap; i++) {
        const slot *s = &r->slots[i];
        if (!s->key[0] || s->not_after <= now)
            continue;
        memcpy(out->serials[out->n], s->key, sizeof s->key);
        out->v[out->n] = (ca_revoked){
            .serial = out->serials[out->n], .revoked_at = s->revoked_at, .reason = s->reason};
        out->n++;
    }
}

int revset_snapshot(revset *r, int64_t now, revset_snap *out)
{
    int rc = 0;
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&r->lock);
    size_t n = r->count ? r->count : 1;
    out->v = malloc(n * sizeof *out->v);
    out->serials = malloc(n * sizeof *out->serials);
    if (out->v && out->serials) {
        copy_live(r, now, out);
        out->version = r->version;
    } else {
        rc = -1;
    }
    pthread_rwlock_unlock(&r->lock);
    if (rc < 0)
        revset_snap_free(out);
    return rc;
}

void revset_snap_free(revset_snap *s)
{
    free(s->v);
    free(s->serials);
    memset(s, 0, sizeof *s);
}
