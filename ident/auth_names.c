/*
 * auth_names — counters per login name and per e-mail address (auth_int.h): the account
 * lockout and the reset-mail limit. Keyed by what the client submitted, normalised, and
 * never by whether an account has it: an unknown name is locked after the same failures
 * as a real one, and an unknown address is limited like a real one, so neither tells who
 * has an account (issue #14 items 4 and 5).
 *
 * Memory: cap slots of 64 bytes, allocated once. The table holds a keyed SHA-256 of each
 * name, never the name itself.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "ident/auth_int.h"

#define PROBE 16

int auth__names_init(auth__names *t, size_t cap)
{
    memset(t, 0, sizeof *t);
    if (cap == 0 || RAND_bytes(t->salt, sizeof t->salt) != 1)
        return -1;
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots)
        return -1;
    t->cap = cap;
    pthread_mutex_init(&t->mu, NULL);
    return 0;
}

void auth__names_free(auth__names *t)
{
    if (!t->slots)
        return;
    pthread_mutex_destroy(&t->mu);
    OPENSSL_cleanse(t->slots, t->cap * sizeof *t->slots);
    free(t->slots);
    t->slots = NULL;
}

/* SHA-256(salt || name, ASCII case-folded). Folding matters for e-mail addresses: the
 * store finds "Alice@x.org" and "alice@x.org" alike (COLLATE NOCASE), so each spelling
 * must not get a counter of its own (five more guesses, or mails, per spelling). */
static void key_of(const auth__names *t, const char *name, uint8_t key[32])
{
    uint8_t low[256];
    size_t n = strlen(name);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(c, t->salt, sizeof t->salt) == 1;
    for (size_t i = 0; ok && i < n; i += sizeof low) {
        size_t k = n - i < sizeof low ? n - i : sizeof low;
        for (size_t j = 0; j < k; j++) {
            uint8_t ch = (uint8_t)name[i + j];
            low[j] = ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
        }
        ok = EVP_DigestUpdate(c, low, k) == 1;
    }
    if (!ok || EVP_DigestFinal_ex(c, key, NULL) != 1)
        memset(key, 0, 32); /* out of memory: every name shares one counter, fail-safe */
    EVP_MD_CTX_free(c);
}

static size_t home(const auth__names *t, const uint8_t key[32])
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return (size_t)(h % t->cap);
}

/* A slot that counts nothing any more: no lock, nothing counted for a day (which also
 * means no live mail window: last >= start). */
static bool idle(const auth__name_slot *s, int64_t now)
{
    return !s->used || (s->locked_until <= now && now - s->last >= AUTH_NAME_FORGET_MS);
}

/* The slot of @key (under the lock), or NULL. */
static auth__name_slot *find(auth__names *t, const uint8_t key[32])
{
    size_t h = home(t, key);
    for (size_t i = 0; i < PROBE && i < t->cap; i++) {
        auth__name_slot *s = &t->slots[(h + i) % t->cap];
        if (s->used && memcmp(s->key, key, 32) == 0)
            return s;
    }
    return NULL;
}

/* The slot of @key, made (from an idle or the least recently counted one) if absent. */
static auth__name_slot *get(auth__names *t, const uint8_t key[32], int64_t now)
{
    auth__name_slot *s = find(t, key);
    if (s)
        return s;
    size_t h = home(t, key);
    for (size_t i = 0; i < PROBE && i < t->cap; i++) {
        auth__name_slot *c = &t->slots[(h + i) % t->cap];
        if (idle(c, now)) {
            s = c;
            break;
        }
        if (!s || c->last < s->last)
            s = c;
    }
    memset(s, 0, sizeof *s);
    memcpy(s->key, key, 32);
    s->used = true;
    return s;
}

int64_t auth__name_locked(auth__names *t, const char *name, int64_t now)
{
    uint8_t key[32];
    int64_t ms = 0;
    key_of(t, name, key);
    pthread_mutex_lock(&t->mu);
    auth__name_slot *s = find(t, key);
    if (s && s->locked_until > now)
        ms = s->locked_until - now;
    pthread_mutex_unlock(&t->mu);
    return ms;
}

void auth__name_failed(auth__names *t, const char *name, int64_t now)
{
    uint8_t key[32];
    key_of(t, name, key);
    pthread_mutex_lock(&t->mu);
    auth__name_slot *s = get(t, key, now);
    if (now - s->last >= AUTH_NAME_FORGET_MS)
        s->n = 0;
    s->n++;
    s->last = now;
    int64_t lock = auth__lockout_ms((int32_t)(s->n < INT32_MAX ? s->n : INT32_MAX));
    if (lock)
        s->locked_until = now + lock;
    pthread_mutex_unlock(&t->mu);
}

void auth__name_clear(auth__names *t, const char *name)
{
    uint8_t key[32];
    key_of(t, name, key);
    pthread_mutex_lock(&t->mu);
    auth__name_slot *s = find(t, key);
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&t->mu);
}

bool auth__mail_allow(auth__names *t, const char *addr, uint32_t max, int64_t now)
{
    uint8_t key[32];
    key_of(t, addr, key);
    pthread_mutex_lock(&t->mu);
    auth__name_slot *s = get(t, key, now);
    if (now - s->start >= AUTH_MAIL_WINDOW_MS) {
        s->start = now;
        s->n = 0;
    }
    bool ok = s->n < max;
    if (ok)
        s->n++;
    s->last = now;
    pthread_mutex_unlock(&t->mu);
    return ok;
}
