/**
 * admin — the server's local control thread: SIGHUP and the admin socket (reload), and
 * the systemd notifications (READY, WATCHDOG, RELOADING, STOPPING; app/sdnotify.h).
 *
 * The admin socket is DATA_DIR/admin.sock, a unix stream socket made mode 0600; a peer
 * whose uid (SO_PEERCRED) is neither the server's nor root is answered "error: not
 * allowed" and closed. Protocol: one line in ("reload\n"), one line out ("ok: ..." or
 * "error: ..."), then the server closes. `iotcloud reload` is its client (cmd_reload.c).
 *
 * Threading: app_admin_start/stop on the main thread; everything else runs on the admin
 * thread's own libuv loop, never on a worker loop (a reload reads files).
 */
#ifndef IOT_APP_ADMIN_H
#define IOT_APP_ADMIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#include "app/reload.h"
#include "net/net.h"

#define APP_ADMIN_SOCK "admin.sock"

typedef struct app_admin {
    app_reload *rl;
    net_server *srv;
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t stop;
    uv_signal_t hup;
    uv_pipe_t pipe;
    uv_timer_t tick;
    char path[600];
    bool started, ready_sent;
    uint64_t watchdog_ms; /* systemd's WatchdogSec / 2; 0 = no watchdog */
    unsigned round;       /* liveness pings posted in the current round */
    atomic_uint pongs;    /* pings the worker loops ran in the current round */
} app_admin;

/** Binds the admin socket and starts the thread. 0, or -1 with @err filled. @rl and
 *  @srv must outlive app_admin_stop, and @a must outlive net_server_free (worker loops
 *  may still run a liveness ping while they close). */
int app_admin_start(app_admin *a, const char *data_dir, app_reload *rl, net_server *srv, char *err,
                    size_t errlen);
/** Stops the thread and removes the socket. Safe on a never-started @a. */
void app_admin_stop(app_admin *a);

/** Answers one admin command line (without its newline) into @out: 0 ok, -1 error.
 *  Exposed for the admin thread's socket and for tests. */
int app_admin_command(app_admin *a, const char *line, char *out, size_t outlen);

#endif
