/*
 * devsim_jobs — jobs (--jobs, docs/jobs.md, bench/jobs_scale.py): each device runs every
 * job queued for it to SUCCEEDED over the native topics, one at a time, like a device
 * using AWS IoT Jobs' start-next loop:
 *
 *   device publishes                       server answers (the device's ID/# subscription)
 *   server/ID/jobs/start-next  {}          ID/jobs/start-next/accepted {execution?: {jobId}}
 *   server/ID/jobs/{jobId}/update          ID/jobs/{jobId}/update/accepted | rejected
 *     {status: SUCCEEDED, statusDetails}
 *                                          ID/jobs/notify-next {execution?}: a new job
 */
#include <stdio.h>
#include <string.h>

#include "bench/devsim.h"

static void publish(devsim_dev *d, const char *rest, const char *body)
{
    char topic[DEVSIM_ID_MAX + 160];
    snprintf(topic, sizeof topic, "server/%s/jobs/%s", d->id, rest);
    devsim__dev_publish(d, topic, (const uint8_t *)body, strlen(body));
}

static void start_next(devsim_dev *d)
{
    d->job_busy = true;
    publish(d, "start-next", "{}");
}

void devsim__jobs_start(devsim_dev *d)
{
    if (d->sim->o.jobs)
        start_next(d);
}

/* The execution's jobId in a reply (JSON text as the server writes it) into @out. */
static bool job_id(const uint8_t *p, size_t len, char *out, size_t cap)
{
    char buf[4096];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    const char *ex = strstr(buf, "\"execution\"");
    const char *k = ex ? strstr(ex, "\"jobId\"") : NULL;
    if (!k)
        return false;
    k += 7;
    while (*k == ' ' || *k == ':')
        k++;
    if (*k++ != '"')
        return false;
    const char *end = strchr(k, '"');
    if (!end || (size_t)(end - k) >= cap || end == k)
        return false;
    memcpy(out, k, (size_t)(end - k));
    out[end - k] = '\0';
    return true;
}

static bool ends(const char *api, size_t n, const char *s)
{
    size_t k = strlen(s);
    return n >= k && memcmp(api + n - k, s, k) == 0;
}

bool devsim__jobs_reply(devsim_dev *d, const char *api, size_t n, const uint8_t *payload,
                        size_t len)
{
    if (n < 5 || memcmp(api, "jobs/", 5) != 0)
        return false;
    if (!d->sim->o.jobs || d->sim->stopping)
        return true;
    char id[80], rest[128];
    if (ends(api, n, "jobs/start-next/accepted")) {
        if (!job_id(payload, len, id, sizeof id)) {
            d->job_busy = false; /* nothing pending: wait for notify-next */
            return true;
        }
        d->sim->st.jobs_started++;
        snprintf(rest, sizeof rest, "%s/update", id);
        publish(d, rest, "{\"status\":\"SUCCEEDED\",\"statusDetails\":{\"by\":\"devsim\"}}");
    } else if (ends(api, n, "/update/accepted")) {
        d->sim->st.jobs_succeeded++;
        start_next(d);
    } else if (ends(api, n, "/rejected")) {
        start_next(d);
    } else if (ends(api, n, "jobs/notify-next") && !d->job_busy &&
               job_id(payload, len, id, sizeof id)) {
        start_next(d);
    }
    return true;
}
