/*
 * devsim_shadow — shadow load (--shadow-window W, bench/shadow.py): once up, each device
 * keeps W updates in flight on its native shadow topic and sends the next one when an
 * answer comes back; deltas are counted. Shadow replies are never answered as requests
 * (a real device does not answer them either).
 *
 *   device publishes                       server answers (the device's ID/# subscription)
 *   server/ID/shadow/update  {state: {desired: {v: N}, reported: {v: N-1}}, clientToken}
 *                                          ID/shadow/update/accepted | rejected | delta
 */
#include <stdio.h>
#include <string.h>

#include "bench/devsim.h"

static void send_update(devsim_dev *d)
{
    char topic[DEVSIM_ID_MAX + 32], body[160];
    uint64_t n = ++d->shadow_seq;
    snprintf(topic, sizeof topic, "server/%s/shadow/update", d->id);
    int len = snprintf(body, sizeof body,
                       "{\"state\":{\"desired\":{\"v\":%llu},\"reported\":{\"v\":%llu}},"
                       "\"clientToken\":\"%llu\"}",
                       (unsigned long long)n, (unsigned long long)(n - 1), (unsigned long long)n);
    if (len > 0 && devsim__dev_publish(d, topic, (const uint8_t *)body, (size_t)len) == 0)
        d->sim->st.shadow_sent++;
}

void devsim__shadow_start(devsim_dev *d)
{
    for (long i = 0; i < d->sim->o.shadow_window; i++)
        send_update(d);
}

static bool is(const char *api, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(api, s, n) == 0;
}

bool devsim__shadow_reply(devsim_dev *d, const char *api, size_t n)
{
    if (n < 7 || memcmp(api, "shadow/", 7) != 0)
        return false;
    devsim_stats *st = &d->sim->st;
    bool answer = false;
    if (is(api, n, "shadow/update/accepted"))
        st->shadow_accepted++, answer = true;
    else if (is(api, n, "shadow/update/rejected"))
        st->shadow_rejected++, answer = true;
    else if (is(api, n, "shadow/update/delta"))
        st->shadow_deltas++;
    if (answer && d->sim->o.shadow_window > 0 && !d->sim->stopping)
        send_update(d);
    return true;
}
