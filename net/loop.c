/*
 * Worker loop basics and the cross-loop message queue.
 *
 * The queue is a mutex-protected singly linked list. A poster appends and, only when the
 * list was empty, wakes the loop by writing to its eventfd — after unlocking, so a burst
 * of posts costs one wakeup and the lock never covers a syscall. The loop's poll callback
 * first resets the eventfd, then swaps the whole list out under the lock and runs the
 * batch without it: a post that finds the list empty after that swap writes again, so no
 * wakeup is lost. Appending at the tail keeps each sender's messages in FIFO order.
 *
 * Why not uv_async_t: in libuv 1.44 the receiving loop spins (sched_yield) while a sender
 * is between its two atomic steps of uv_async_send, which include the eventfd write().
 * A sender preempted there (its write wakes the receiver, which may take its CPU) kept
 * the receiving loop spinning for up to 13 ms in the rtt bench on a loaded 2-core box,
 * and since we sent under qlock, every other poster to that loop waited too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/net_int.h"

static _Thread_local net_loop *current_loop;

/* Takes the whole queue; NULL when empty. */
static net_msg *take_all(net_loop *l)
{
    uv_mutex_lock(&l->qlock);
    net_msg *m = l->qhead;
    l->qhead = l->qtail = NULL;
    uv_mutex_unlock(&l->qlock);
    return m;
}

static void run_batch(net_loop *l, net_msg *m)
{
    while (m) {
        net_msg *next = m->next; /* fn owns m from here and may free it */
        m->fn(l, m);
        m = next;
    }
}

static void on_wake(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    net_loop *l = h->data;
    uint64_t n;
    while (read(l->wake_fd, &n, sizeof n) < 0 && errno == EINTR) {
    } /* EAGAIN: a wakeup whose batch an earlier callback already ran */
    run_batch(l, take_all(l));
}

static void wake(net_loop *l)
{
    uint64_t one = 1;
    while (write(l->wake_fd, &one, sizeof one) < 0 && errno == EINTR) {
    } /* EAGAIN only when the counter is near 2^64: the loop is woken already */
}

void net__loop_drain(net_loop *l)
{
    net_msg *m;
    while ((m = take_all(l)))
        run_batch(l, m);
}

static void on_check(uv_check_t *h) { net__out_flush_loop(h->data); }

int net__loop_init(net_loop *l, net_server *s, unsigned index)
{
    l->srv = s;
    l->index = index;
    int r = uv_loop_init(&l->uv);
    if (r < 0)
        return r;
    l->uv.data = l;
    if ((r = uv_mutex_init(&l->qlock)) < 0) {
        uv_loop_close(&l->uv);
        return r;
    }
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wake_fd < 0 || (r = uv_poll_init(&l->uv, &l->wake, l->wake_fd)) < 0) {
        r = l->wake_fd < 0 ? -errno : r;
        if (l->wake_fd >= 0)
            close(l->wake_fd);
        uv_mutex_destroy(&l->qlock);
        uv_loop_close(&l->uv);
        return r;
    }
    /* These cannot fail on an initialised loop and handle. */
    uv_poll_start(&l->wake, UV_READABLE, on_wake);
    uv_check_init(&l->uv, &l->check);
    uv_idle_init(&l->uv, &l->idle);
    l->wake.data = l->check.data = l->idle.data = l;
    uv_check_start(&l->check, on_check);
    uv_timer_init(&l->uv, &l->lag_timer);
    l->lag_timer.data = l;
    uv_timer_init(&l->uv, &l->wheel_timer);
    uv_unref((uv_handle_t *)&l->wheel_timer); /* connections keep the loop alive, not it */
    l->wheel_timer.data = l;
    net__wheel_init(&l->wheel, uv_now(&l->uv));
    l->wheel_due = UINT64_MAX;
    return 0;
}

/* libuv re-arms a repeating timer at the loop time of the tick plus the period; a loop
 * busy with other callbacks runs the next tick late by as much as it was busy. */
static void on_lag_tick(uv_timer_t *t)
{
    net_loop *l = t->data;
    uint64_t now = uv_hrtime();
    uint64_t lag = now > l->lag_due_ns ? (now - l->lag_due_ns) / 1000 : 0;
    atomic_store_explicit(&l->lag_us, lag, memory_order_relaxed);
    l->lag_due_ns = (uv_now(&l->uv) + NET__LAG_TICK_MS) * 1000000ull;
}

void net__loop_lag_start(net_loop *l)
{
    uv_update_time(&l->uv);
    l->lag_due_ns = (uv_now(&l->uv) + NET__LAG_TICK_MS) * 1000000ull;
    uv_timer_start(&l->lag_timer, on_lag_tick, NET__LAG_TICK_MS, NET__LAG_TICK_MS);
    uv_unref((uv_handle_t *)&l->lag_timer); /* never what keeps a loop alive */
}

uint64_t net_server_loop_lag_us(net_server *s, unsigned i)
{
    net_loop *l = net_server_loop(s, i);
    return l ? atomic_load_explicit(&l->lag_us, memory_order_relaxed) : 0;
}

void net__loop_set_current(net_loop *l) { current_loop = l; }

void net_loop_post(net_loop *target, net_msg *m)
{
    m->next = NULL;
    uv_mutex_lock(&target->qlock);
    int was_empty = target->qhead == NULL;
    if (target->qtail)
        target->qtail->next = m;
    else
        target->qhead = m;
    target->qtail = m;
    /* After qclosed the message waits for the final drain at shutdown. The write may
     * land after the poll handle closed: harmless, the fd lives until loop_free. */
    bool signal = was_empty && !target->qclosed;
    uv_mutex_unlock(&target->qlock);
    if (signal)
        wake(target);
}

uv_loop_t *net_loop_uv(net_loop *l) { return &l->uv; }

unsigned net_loop_index(net_loop *l) { return l->index; }

net_server *net_loop_server(net_loop *l) { return l->srv; }

net_loop *net_loop_current(void) { return current_loop; }

void net_loop_set_user(net_loop *l, void *user) { l->user = user; }

void *net_loop_user(net_loop *l) { return l->user; }

uint64_t net_loop_now(net_loop *l) { return uv_now(&l->uv); }
