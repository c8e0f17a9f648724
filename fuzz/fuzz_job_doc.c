/*
 * Fuzzes the job specification (jobs/job_spec.c): a POST /v1/jobs body as JSON text
 * through json_parse and jobs_spec_parse, then the stored copy's settings through
 * jobs_cfg_read.
 *
 * Checks: a refusal names why; an accepted spec has a job document within the limit, a
 * valid jobId when one is given, settings within the documented ranges (rate, ramp,
 * abort percentages, timeout, retries) and jobs_cfg_read of the body gives the same
 * settings back (the scheduler reads what the parser accepted).
 */
#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "jobs/jobs.h"

static const jobs_limits LIM = {.doc_max = 32768, .max_targets = 10000, .details_max = 1024};

static void check(bool cond)
{
    if (!cond)
        abort();
}

static void check_cfg(const jobs_cfg *c)
{
    check(c->max_rate >= 0 && c->max_rate <= 1000000);
    check(c->base_rate >= 0 && c->base_rate <= c->max_rate);
    check(c->base_rate == 0 || (c->factor >= 1.1 && c->factor <= 5));
    check(c->nabort <= JOBS_MAX_CRITERIA && c->nretry <= JOBS_MAX_CRITERIA);
    for (unsigned i = 0; i < c->nabort; i++)
        check(c->abort[i].pct >= 0 && c->abort[i].pct <= 100 && c->abort[i].min >= 1 &&
              c->abort[i].fail != 0);
    for (unsigned i = 0; i < c->nretry; i++)
        check(c->retry[i].retries >= 0 && c->retry[i].retries <= 10 &&
              !(c->retry[i].fail & JOBS_FAIL_REJECTED));
    check(c->timeout_ms >= 0 && c->timeout_ms <= 604800000);
}

static bool same_cfg(const jobs_cfg *a, const jobs_cfg *b)
{
    return a->max_rate == b->max_rate && a->base_rate == b->base_rate &&
           a->timeout_ms == b->timeout_ms && a->nabort == b->nabort && a->nretry == b->nretry &&
           a->ramp_notified == b->ramp_notified && a->ramp_succeeded == b->ramp_succeeded;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t body;
    json_err e;
    if (json_parse(data, size, &body, &e) < 0)
        return 0;
    jobs_spec s;
    char err[256] = "";
    if (jobs_spec_parse(&body, &LIM, &s, err, sizeof err) < 0) {
        check(err[0] != '\0');
    } else {
        check(!s.job_id || jobs_id_ok(s.job_id, strlen(s.job_id)));
        check(BSON_ITER_HOLDS_DOCUMENT(&s.document));
        check(s.has_devices || s.has_groups);
        check_cfg(&s.cfg);
        jobs_cfg back;
        check(jobs_cfg_read(&body, &back) == 0);
        check(same_cfg(&s.cfg, &back));
    }
    bson_destroy(&body);
    return 0;
}
