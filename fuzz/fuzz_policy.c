/*
 * Fuzzes the topic policy (broker/policy.c) against what it promises, checked with the
 * reference matcher (mqtt/mqtt_topic.h): whatever a principal may subscribe to only
 * ever matches topics of its own devices, and it publishes only there.
 *
 * Input layout: data[0] = principal kind (% 3); data[1] = id length (% 24), then the id;
 * then one byte cuts the rest into a filter/topic F and a text W. F is checked as a
 * SUBSCRIBE filter and as a PUBLISH topic. W serves as the probe: every '+' of an allowed
 * filter becomes W's first level and a trailing '#' becomes W, and the topic so built,
 * when the filter matches it, must lie under the principal's prefix.
 *
 * owns(): user "u*" owns every device whose id starts with 'o' or 's' (so a device
 * called "server" is owned, and must still give no server/... powers).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "mqtt/mqtt_topic.h"

#define PROBE_MAX 4096

static int owns_calls;

static void check(bool cond)
{
    if (!cond)
        abort();
}

static bool owns(void *arg, const char *user_id, const uint8_t *dev, size_t len)
{
    (void)arg;
    owns_calls++;
    check(len > 0 && memchr(dev, '/', len) == NULL && dev[0] != '$');
    return user_id[0] == 'u' && (dev[0] == 'o' || dev[0] == 's');
}

static bool starts_level(const uint8_t *t, size_t n, const uint8_t *pre, size_t pn)
{
    return n >= pn && memcmp(t, pre, pn) == 0 && (n == pn || t[pn] == '/');
}

static size_t first_level(const uint8_t *p, size_t n)
{
    const uint8_t *s = memchr(p, '/', n);
    return s ? (size_t)(s - p) : n;
}

/* The filter with its wildcards filled from @w; 0 when it does not fit. */
static size_t fill(const uint8_t *f, size_t fn, const uint8_t *w, size_t wn, uint8_t *out)
{
    size_t wl = first_level(w, wn), o = 0;
    for (size_t i = 0; i < fn; i++) {
        const uint8_t *src = &f[i];
        size_t len = 1;
        if (f[i] == '+') {
            src = w;
            len = wl;
        } else if (f[i] == '#') {
            src = w;
            len = wn;
        }
        if (o + len > PROBE_MAX)
            return 0;
        memcpy(out + o, src, len);
        o += len;
    }
    return o;
}

/* A device's own shadow and jobs topics, "$aws/things/{id}/shadow/..." (docs/shadows.md)
 * and "$aws/things/{id}/jobs/..." (docs/jobs.md): the one "$" namespace a device may use. */
static bool own_shadow(const broker_principal *p, const uint8_t *t, size_t n)
{
    static const char aws[] = "$aws/things/";
    size_t idn = strlen(p->id), an = sizeof aws - 1;
    if (p->who != BROKER_WHO_DEVICE || n <= an + idn + 6 || memcmp(t, aws, an) != 0 ||
        memcmp(t + an, p->id, idn) != 0)
        return false;
    return (n > an + idn + 8 && memcmp(t + an + idn, "/shadow/", 8) == 0) ||
           memcmp(t + an + idn, "/jobs/", 6) == 0;
}

/* The topics a principal's subscription may reach: its own prefix. */
static bool reachable(const broker_principal *p, const uint8_t *t, size_t n)
{
    size_t idn = strlen(p->id);
    if (p->who == BROKER_WHO_DEVICE)
        return starts_level(t, n, (const uint8_t *)p->id, idn) || own_shadow(p, t, n);
    /* USER: "server/{dev}[/...]" with an owned, literal, non-"server" dev */
    if (!starts_level(t, n, (const uint8_t *)"server", 6) || n <= 7)
        return false;
    size_t d = first_level(t + 7, n - 7);
    return d > 0 && !(d == 6 && memcmp(t + 7, "server", 6) == 0) && owns(NULL, p->id, t + 7, d);
}

static bool publishable(const broker_principal *p, const uint8_t *t, size_t n)
{
    size_t idn = strlen(p->id);
    if (p->who == BROKER_WHO_DEVICE)
        return (n > 7 && memcmp(t, "server/", 7) == 0 &&
                starts_level(t + 7, n - 7, (const uint8_t *)p->id, idn)) ||
               own_shadow(p, t, n);
    size_t d = first_level(t, n);
    return d > 0 && !(d == 6 && memcmp(t, "server", 6) == 0) && owns(NULL, p->id, t, d);
}

static bool empty_level(const uint8_t *t, size_t n)
{
    if (n == 0 || t[0] == '/' || t[n - 1] == '/')
        return true;
    for (size_t i = 1; i < n; i++)
        if (t[i] == '/' && t[i - 1] == '/')
            return true;
    return false;
}

static void check_sub(const broker_principal *p, const uint8_t *f, size_t fn, const uint8_t *w,
                      size_t wn)
{
    owns_calls = 0;
    bool ok = broker_policy_sub(p, f, fn, owns, NULL);
    check(owns_calls <= 1);
    check(ok == broker_policy_sub(p, f, fn, owns, NULL)); /* pure */
    if (p->who == BROKER_WHO_ANON) {
        check(ok);
        return;
    }
    if (!ok)
        return;
    check(mqtt_topic_filter_valid(f, fn) && (f[0] != '$' || own_shadow(p, f, fn)) &&
          !empty_level(f, fn));
    static uint8_t probe[PROBE_MAX];
    size_t pn = fill(f, fn, w, wn, probe);
    if (pn && mqtt_topic_name_valid(probe, pn) && mqtt_topic_match(f, fn, probe, pn))
        check(reachable(p, probe, pn));
    if (mqtt_topic_name_valid(w, wn) && mqtt_topic_match(f, fn, w, wn))
        check(reachable(p, w, wn));
}

static void check_pub(const broker_principal *p, const uint8_t *t, size_t n)
{
    owns_calls = 0;
    bool ok = broker_policy_pub(p, t, n, owns, NULL);
    check(owns_calls <= 1);
    if (p->who == BROKER_WHO_ANON) {
        check(ok);
        return;
    }
    if (!ok)
        return;
    check(mqtt_topic_name_valid(t, n) && (t[0] != '$' || own_shadow(p, t, n)) &&
          !empty_level(t, n));
    check(publishable(p, t, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    broker_principal p = {.who = (enum broker_who)(data[0] % 3)};
    size_t idn = data[1] % 24;
    if (idn > size - 3)
        idn = size - 3;
    memcpy(p.id, data + 2, idn);
    p.id[idn] = '\0';
    if (p.who == BROKER_WHO_ANON)
        p.id[0] = '\0';
    const uint8_t *rest = data + 2 + idn + 1;
    size_t rn = size - 2 - idn - 1;
    size_t cut = rn ? data[2 + idn] % (rn + 1) : 0;
    const uint8_t *f = rest, *w = rest + cut;
    size_t fn = cut, wn = rn - cut;
    check_sub(&p, f, fn, w, wn);
    check_pub(&p, f, fn);
    check_pub(&p, w, wn);
    return 0;
}
