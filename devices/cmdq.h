/**
 * cmdq — delivery of queued device commands (?mode=queue, docs/device-control.md).
 *
 * A queued command is a row of the store (store_command_*, store/store_app.h) in state
 * QUEUED. cmdq sends a device's QUEUED commands when it is online: right after one is
 * queued (cmdq_kick from the request's loop) and whenever the device connects (DEV_EV_CONNECTED
 * on the device-event bus, on the device's loop). Path of one delivery round:
 *
 *   kick (a loop) → claim job (store thread: up to CMDQ_BATCH QUEUED commands of the
 *   device in creation order, not expired, each set to SENT in the same transaction, so
 *   two rounds never claim the same command) → net_loop_post back to the kicking loop →
 *   ctl_call_start for each, in creation order (ctl's window, queue and legacy rules
 *   apply) → each answer becomes an outcome job:
 *
 *     ctl 200            SENT → DELIVERED → SUCCEEDED   {status, result, latency_us}
 *     ctl 422 / 502      SENT → DELIVERED → FAILED      {status, error {code, message}}
 *     ctl 504            SENT → TIMED_OUT               {status, error}
 *     ctl 503/429/500    SENT → QUEUED (offline again, ctl's queue full, no memory:
 *                        sent on the next round)
 *
 * DELIVERED means "the device answered" (ctl sees no PUBACK). A round that was full, or in
 * which ctl said busy, claims again when its last answer is in. An expiry sweep (a timer
 * on the first loop) moves QUEUED commands past expires_at to EXPIRED once a second.
 * At start-up cmdq_recover puts SENT / DELIVERED commands (the process stopped before
 * their outcome was stored) back to QUEUED: delivery is at least once, like MQTT QoS 1 —
 * a device may see a command twice across a restart.
 *
 * Threading: cmdq_new / cmdq_recover / cmdq_free on the main thread (recover before
 * store_start or with the store running: it uses store_sync); cmdq_loop_init /
 * cmdq_loop_fini as net loop hooks (fini before ctl_loop_fini); cmdq_kick on a loop
 * thread. Every store access is a job; no loop ever waits. A round's state belongs to the
 * loop that kicked it; the sweep's in-flight flag is atomic.
 */
#ifndef IOT_CMDQ_CMDQ_H
#define IOT_CMDQ_CMDQ_H

#include <stdint.h>

#include "devices/ctl.h"
#include "net/net.h"
#include "store/store.h"

#define CMDQ_BATCH 32 /* commands claimed per round (below ctl's window + queue) */

typedef struct cmdq cmdq;

typedef struct cmdq_opts {
    uint32_t max_queued; /* QUEUED commands per device (the REST API answers 429 beyond);
                          * default 1000 */
    uint32_t sweep_ms;   /* expiry sweep period; default 1000 */
    struct devlog *dl;   /* each delivery's outcome goes into the device's history
                          * (source "queue"); NULL: not recorded */
} cmdq_opts;

/** @st and @c must outlive it; subscribes to @c's device-event bus (so call before
 *  the loops run). @o may be NULL. NULL when memory runs out. */
cmdq *cmdq_new(store *st, ctl *c, const cmdq_opts *o);
/** After the loops stopped and the store closed (every job it submitted completed). */
void cmdq_free(cmdq *q);
/** Start-up recovery (store_command_requeue), before the loops run. 0 or <0. */
int cmdq_recover(cmdq *q);
uint32_t cmdq_max_queued(const cmdq *q);

/** Net loop hooks: the first loop runs the expiry sweep; fini stops it and makes rounds
 *  of @l end without new sends (their commands return to QUEUED). */
void cmdq_loop_init(cmdq *q, net_loop *l);
void cmdq_loop_fini(cmdq *q, net_loop *l);

/** On loop @l: sends @dev's QUEUED commands now if the device is online (else nothing:
 *  its next connect will). Never blocks. */
void cmdq_kick(cmdq *q, net_loop *l, const char *dev);

#endif
