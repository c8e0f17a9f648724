/*
 * devsim_telem — simulated telemetry (devsim.h, --telemetry-ms): each up device publishes
 * {"ts": now_ms, "k0": .., ..} on "server/ID/telemetry" with QoS 1, the values a slow
 * walk so that aggregates differ per device.
 */
#include <stdio.h>
#include <time.h>

#include "bench/devsim.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void publish_reading(devsim_dev *d, int64_t now)
{
    char topic[DEVSIM_ID_MAX + 32], body[64 * 24 + 64];
    size_t n = 0;
    snprintf(topic, sizeof topic, "server/%s/telemetry", d->id);
    n += (size_t)snprintf(body, sizeof body, "{\"ts\":%lld", (long long)now);
    for (long k = 0; k < d->sim->o.telemetry_keys && n < sizeof body - 32; k++)
        n += (size_t)snprintf(body + n, sizeof body - n, ",\"k%ld\":%.2f", k,
                              (double)((now / 1000 + d->index * 7 + k) % 1000) / 10.0);
    n += (size_t)snprintf(body + n, sizeof body - n, "}");
    if (devsim__dev_publish(d, topic, (const uint8_t *)body, n) == 0)
        d->sim->st.telemetry++;
}

void devsim__telemetry_round(devsim *sim, size_t *next, size_t n)
{
    int64_t now = wall_ms();
    for (size_t i = 0; i < n && sim->ndevs; i++) {
        devsim_dev *d = &sim->devs[*next];
        *next = (*next + 1) % sim->ndevs;
        if (d->state == DEV_UP && !d->restarting)
            publish_reading(d, now);
    }
}
