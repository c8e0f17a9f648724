/*
 * job_svc — the jobs service (jobs.h): its limits, and the scheduler timer on loop 0,
 * which submits one tick (job_sched.c) at a time and publishes what it changed after the
 * commit, on that loop.
 */
#include <stdlib.h>

#include "common/clock.h"
#include "common/container_of.h"
#include "common/log.h"
#include "jobs/jobs_int.h"

jobs_svc *jobs_svc_new(store *st, struct broker *br, const jobs_limits *lim)
{
    jobs_svc *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->st = st;
    s->br = br;
    s->lim = *lim;
    if (!s->lim.tick_ms)
        s->lim.tick_ms = 1000;
    atomic_init(&s->detached, false);
    atomic_init(&s->ticking, false);
    return s;
}

void jobs_svc_free(jobs_svc *s) { free(s); }

void jobs_svc_detach(jobs_svc *s)
{
    if (s)
        atomic_store(&s->detached, true);
}

const jobs_limits *jobs_svc_limits(const jobs_svc *s) { return &s->lim; }

static void tick_publish(net_loop *l, net_msg *m)
{
    (void)l;
    jobs_svc *s = container_of(m, jobs_svc, tick_msg);
    jobs_pubs_publish(s, &s->tick_pubs);
    atomic_store(&s->ticking, false);
}

static int tick_run(store_tx *tx, store_job *j)
{
    jobs_svc *s = container_of(j, jobs_svc, tick_job);
    return jobs_tick(tx, clock_wall_ms(), s->lim.tick_ms, &s->tick_pubs);
}

static void tick_done(store_job *j)
{
    jobs_svc *s = container_of(j, jobs_svc, tick_job);
    if (j->rc < 0) {
        log_error("jobs: scheduler tick failed: %s", store_strerror(j->rc));
        jobs_pubs_free(&s->tick_pubs); /* rolled back: nothing happened */
    }
    s->tick_msg.fn = tick_publish;
    net_loop_post(s->loop, &s->tick_msg);
}

static void on_timer(uv_timer_t *t)
{
    jobs_svc *s = t->data;
    if (atomic_load(&s->detached) || atomic_exchange(&s->ticking, true))
        return; /* the previous tick still runs */
    s->tick_job = (store_job){.run = tick_run, .done = tick_done};
    store_submit(s->st, &s->tick_job);
}

void jobs_svc_loop_init(jobs_svc *s, net_loop *l)
{
    if (!s || net_loop_index(l) != 0)
        return;
    s->loop = l;
    uv_timer_init(net_loop_uv(l), &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_timer, s->lim.tick_ms, s->lim.tick_ms);
    s->timer_on = true;
}

void jobs_svc_loop_fini(jobs_svc *s, net_loop *l)
{
    if (s && net_loop_index(l) == 0 && s->timer_on) {
        uv_close((uv_handle_t *)&s->timer, NULL);
        s->timer_on = false;
    }
}
