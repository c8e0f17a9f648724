/*
 * cmdq — the queued-command dispatcher's whole (devices/cmdq.h): options, start-up recovery,
 * loop hooks and the expiry sweep. Delivery rounds are in deliver.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/container_of.h"
#include "devices/cmdq_int.h"
#include "common/log.h"

#define SWEEP_MAX 1000 /* commands expired per sweep job */

void *cmdq__zalloc(size_t size)
{
    size_t n = (size + 127) / 128 * 128;
    void *p = aligned_alloc(128, n);
    if (p)
        memset(p, 0, n);
    return p;
}

bool cmdq__closing(const cmdq *q, net_loop *l)
{
    unsigned i = net_loop_index(l);
    return i >= CMDQ_MAX_LOOPS || q->closing[i];
}

static int sweep_run(store_tx *tx, store_job *j)
{
    (void)j;
    unsigned n = 0;
    int rc = store_command_expire(tx, clock_wall_ms(), SWEEP_MAX, NULL, NULL, &n);
    if (n)
        log_info("queued commands: %u expired", n);
    return rc;
}

static void sweep_done(store_job *j)
{
    cmdq *q = container_of(j, cmdq, sweep_job);
    atomic_store(&q->sweeping, false);
}

static void on_sweep(uv_timer_t *t)
{
    cmdq *q = t->data;
    if (atomic_exchange(&q->sweeping, true))
        return; /* the previous sweep is still running */
    q->sweep_job = (store_job){.run = sweep_run, .done = sweep_done};
    store_submit(q->st, &q->sweep_job);
}

cmdq *cmdq_new(store *st, ctl *c, const cmdq_opts *o)
{
    cmdq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->st = st;
    q->c = c;
    if (o)
        q->o = *o;
    if (!q->o.max_queued)
        q->o.max_queued = 1000;
    if (!q->o.sweep_ms)
        q->o.sweep_ms = 1000;
    atomic_init(&q->sweeping, false);
    if (dev_events_subscribe(ctl_events(c), DEV_EV_CONNECTED, cmdq__on_connected, q) < 0) {
        free(q);
        return NULL;
    }
    return q;
}

void cmdq_free(cmdq *q) { free(q); }

uint32_t cmdq_max_queued(const cmdq *q) { return q->o.max_queued; }

static int recover(store_tx *tx, void *arg)
{
    unsigned *n = arg;
    return store_command_requeue(tx, clock_wall_ms(), n);
}

int cmdq_recover(cmdq *q)
{
    unsigned n = 0;
    int rc = store_sync(q->st, recover, &n);
    if (rc < 0)
        log_error("queued commands: recovery failed: %s", store_strerror(rc));
    else if (n)
        log_info("queued commands: %u sent before the restart are queued again", n);
    return rc;
}

void cmdq_loop_init(cmdq *q, net_loop *l)
{
    if (net_loop_index(l) != 0)
        return;
    uv_timer_init(net_loop_uv(l), &q->sweep);
    q->sweep.data = q;
    uv_timer_start(&q->sweep, on_sweep, q->o.sweep_ms, q->o.sweep_ms);
    q->sweep_on = true;
}

void cmdq_loop_fini(cmdq *q, net_loop *l)
{
    unsigned i = net_loop_index(l);
    if (i < CMDQ_MAX_LOOPS)
        q->closing[i] = true;
    cmdq__later_close(q, l);
    if (i == 0 && q->sweep_on) {
        uv_close((uv_handle_t *)&q->sweep, NULL);
        q->sweep_on = false;
    }
}
