/*
 * auth_limit — how long an account stays locked after failed logins, and the per-IP
 * failure limiter (process-wide, in memory, one mutex).
 *
 * The limiter is a fixed table of AUTH_IP_SLOTS slots, open addressing over a short probe;
 * a slot whose window ended is free. When every probed slot is live, the one with the
 * oldest window is reused: an attacker spraying many addresses can then only shorten
 * someone's window, never grow memory.
 */
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "ident/auth_int.h"

#define PROBE 16

int64_t auth__lockout_ms(int32_t failures)
{
    if (failures < AUTH_LOCK_AFTER)
        return 0;
    int64_t ms = AUTH_LOCK_BASE_MS;
    for (int32_t i = AUTH_LOCK_AFTER; i < failures && ms < AUTH_LOCK_MAX_MS; i++)
        ms *= 2;
    return ms < AUTH_LOCK_MAX_MS ? ms : AUTH_LOCK_MAX_MS;
}

int auth__iplim_init(auth__iplim *l, uint32_t max_fail, int64_t window_ms)
{
    memset(l, 0, sizeof *l);
    l->slots = calloc(AUTH_IP_SLOTS, sizeof *l->slots);
    if (!l->slots)
        return -1;
    l->max_fail = max_fail;
    l->window_ms = window_ms;
    pthread_mutex_init(&l->mu, NULL);
    return 0;
}

void auth__iplim_free(auth__iplim *l)
{
    if (!l->slots)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l->slots);
    l->slots = NULL;
}

/* FNV-1a: the table is small and full slots are recycled, so a chosen collision only
 * costs the attacker's own addresses a slot. */
static size_t slot_of(const char *ip) { return hash_fnv1a32_str(ip) % AUTH_IP_SLOTS; }

static bool live(const auth__iplim *l, const auth__ip_slot *s, int64_t now)
{
    return s->ip[0] && now - s->start < l->window_ms;
}

/* The slot of @ip, or NULL (under the lock). */
static auth__ip_slot *find(auth__iplim *l, const char *ip, int64_t now)
{
    size_t h = slot_of(ip);
    for (size_t i = 0; i < PROBE; i++) {
        auth__ip_slot *s = &l->slots[(h + i) % AUTH_IP_SLOTS];
        if (live(l, s, now) && strcmp(s->ip, ip) == 0)
            return s;
    }
    return NULL;
}

int auth__iplim_check(auth__iplim *l, const char *ip, int64_t now, int64_t *retry_ms)
{
    int rc = 0;
    pthread_mutex_lock(&l->mu);
    auth__ip_slot *s = find(l, ip, now);
    if (s && s->fails >= l->max_fail) {
        *retry_ms = s->start + l->window_ms - now;
        rc = -1;
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void auth__iplim_fail(auth__iplim *l, const char *ip, int64_t now)
{
    if (!ip || strlen(ip) >= sizeof l->slots[0].ip)
        return;
    pthread_mutex_lock(&l->mu);
    auth__ip_slot *s = find(l, ip, now);
    if (!s) {
        size_t h = slot_of(ip);
        for (size_t i = 0; i < PROBE; i++) {
            auth__ip_slot *c = &l->slots[(h + i) % AUTH_IP_SLOTS];
            if (!live(l, c, now)) {
                s = c;
                break;
            }
            if (!s || c->start < s->start)
                s = c;
        }
        memset(s, 0, sizeof *s);
        memcpy(s->ip, ip, strlen(ip) + 1);
        s->start = now;
    }
    s->fails++;
    pthread_mutex_unlock(&l->mu);
}
