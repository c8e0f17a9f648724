/*
 * cmdq_int — private to the cmdq sources of devices/: the whole (cmdq.c: options, expiry
 * sweep, recovery, loop hooks) and delivery rounds (deliver.c).
 */
#ifndef IOT_CMDQ_CMDQ_INT_H
#define IOT_CMDQ_CMDQ_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#include "devices/cmdq.h"
#include "store/store_app.h"

#define CMDQ_MAX_LOOPS 256

struct cmdq {
    store *st;
    ctl *c;
    cmdq_opts o;
    /* closing[i]: loop i ran cmdq_loop_fini; later[i]: its delayed kicks (deliver.c);
     * each written and read by loop i only */
    bool closing[CMDQ_MAX_LOOPS];
    struct cmdq__later *later[CMDQ_MAX_LOOPS];
    /* the expiry sweep: its timer belongs to the first loop; one job in flight at most */
    uv_timer_t sweep;
    bool sweep_on;
    atomic_bool sweeping;
    store_job sweep_job;
};

/* Zeroed memory for a struct embedding a bson_t (which asks for 128-byte alignment, more
 * than calloc promises); free() frees it. NULL when memory runs out. */
void *cmdq__zalloc(size_t size);
bool cmdq__closing(const cmdq *q, net_loop *l);
/* Closes loop @l's delayed kicks (cmdq_loop_fini). */
void cmdq__later_close(cmdq *q, net_loop *l);
/* The DEV_EV_CONNECTED subscriber (devices/events.h): a connect kicks a round. */
void cmdq__on_connected(void *arg, const dev_event *e);

#endif
