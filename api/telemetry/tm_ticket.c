/*
 * tm_ticket — stream tickets (docs/telemetry.md "Tickets for browsers"): EventSource
 * cannot send an Authorization header, and an access token in a URL ends up in proxy and
 * browser logs. So the dashboard asks, with its token, for a ticket:
 *
 *   POST /v1/devices/{id}/telemetry/stream/ticket   (user, owner-checked)
 *   POST /v1/devices/{id}/logs/stream/ticket
 *       201 {"ticket": "<43 chars>", "expires_in": <s>, "url": "/v1/streams?ticket=..."}
 *   GET  /v1/streams?ticket=<t>[&keys=][&level=]     (public: the ticket is the credential)
 *
 * A ticket is 32 random bytes (base64url), bound to the user, the device and the stream
 * kind, valid stream-ticket-ttl seconds and for ONE connection: it is removed when used,
 * so a ticket seen in a log afterwards opens nothing. Our access log writes the path
 * without the query. Tickets live in memory (a restart voids them), at most
 * stream-tickets-max at once; beyond that the oldest expired ones are reused, else 429.
 *
 * Threading: one table for the process, a mutex held only to look up / insert.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/telemetry/telemetry.h"
#include "api/telemetry/tm_int.h"
#include "common/clock.h"

#define TICKET_CHARS 43 /* base64url of 32 bytes, unpadded */

typedef struct ticket {
    char t[TICKET_CHARS + 1]; /* "" : free */
    char user[STORE_ID_MAX + 1];
    char dev[STORE_ID_MAX + 1];
    int kind;
    int64_t expires_ms;
} ticket;

struct tmapi_tickets {
    pthread_mutex_t lock;
    ticket *t;
    size_t max;
    uint32_t ttl_s;
};

tmapi_tickets *tmapi_tickets_new(uint32_t ttl_s, uint32_t max)
{
    tmapi_tickets *k = calloc(1, sizeof *k);
    if (!k || !(k->t = calloc(max ? max : 1, sizeof *k->t))) {
        free(k);
        return NULL;
    }
    pthread_mutex_init(&k->lock, NULL);
    k->max = max ? max : 1;
    k->ttl_s = ttl_s ? ttl_s : 30;
    return k;
}

void tmapi_tickets_free(tmapi_tickets *k)
{
    if (!k)
        return;
    OPENSSL_cleanse(k->t, k->max * sizeof *k->t);
    free(k->t);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

static void b64url(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = a[(acc >> bits) & 63];
        }
    }
    if (bits)
        out[o++] = a[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

/* A free or expired slot; NULL when every ticket is live. Under the lock. */
static ticket *free_slot(tmapi_tickets *k, int64_t now)
{
    for (size_t i = 0; i < k->max; i++)
        if (!k->t[i].t[0] || k->t[i].expires_ms <= now)
            return &k->t[i];
    return NULL;
}

int tmapi__ticket_issue(tmapi_tickets *k, const char *user, const char *dev, int kind,
                        char out[TICKET_CHARS + 1])
{
    uint8_t raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -2;
    b64url(raw, sizeof raw, out);
    OPENSSL_cleanse(raw, sizeof raw);
    int64_t now = clock_mono_us() / 1000;
    pthread_mutex_lock(&k->lock);
    ticket *t = free_slot(k, now);
    if (t) {
        memcpy(t->t, out, TICKET_CHARS + 1);
        snprintf(t->user, sizeof t->user, "%s", user);
        snprintf(t->dev, sizeof t->dev, "%s", dev);
        t->kind = kind;
        t->expires_ms = now + (int64_t)k->ttl_s * 1000;
    }
    pthread_mutex_unlock(&k->lock);
    return t ? 0 : -1;
}

int tmapi__ticket_take(tmapi_tickets *k, const char *tk, char *user, char *dev, int *kind)
{
    int rc = -1;
    if (!tk || strlen(tk) != TICKET_CHARS)
        return -1;
    int64_t now = clock_mono_us() / 1000;
    pthread_mutex_lock(&k->lock);
    for (size_t i = 0; i < k->max; i++) {
        ticket *t = &k->t[i];
        if (!t->t[0] || CRYPTO_memcmp(t->t, tk, TICKET_CHARS) != 0)
            continue;
        if (t->expires_ms > now) {
            memcpy(user, t->user, sizeof t->user);
            memcpy(dev, t->dev, sizeof t->dev);
            *kind = t->kind;
            rc = 0;
        }
        OPENSSL_cleanse(t, sizeof *t); /* one use, and an expired one is gone too */
        break;
    }
    pthread_mutex_unlock(&k->lock);
    return rc;
}

uint32_t tmapi__ticket_ttl(const tmapi_tickets *k) { return k->ttl_s; }
