/*
 * auth_hash — at most max_hashes Argon2 computations at once, process-wide. Each takes
 * ~19 MiB and tens of ms of a core; unbounded, a burst of logins would take the memory and
 * the pool threads the store and other handlers need. Requests beyond the limit wait in
 * one FIFO; beyond max_wait waiting, they are turned away (503) at once.
 *
 * A slot freed on one loop may go to a request of another loop: uv_queue_work must be
 * called on the request's own loop, so the waiter is posted there (net_loop_post).
 */
#include "api/accounts/accounts_int.h"

static void start(auth__pw *p);

/* Hands the slot just freed to the first waiter, or gives it back. */
static void release(auth *a)
{
    auth__gate *g = &a->gate;
    pthread_mutex_lock(&g->mu);
    auth__pw *next = g->head;
    if (next) {
        g->head = next->next;
        if (!g->head)
            g->tail = NULL;
        g->waiting--;
    } else {
        g->running--;
    }
    pthread_mutex_unlock(&g->mu);
    if (!next)
        return;
    if (next->loop == net_loop_current())
        start(next);
    else
        net_loop_post(next->loop, &next->msg);
}

static void on_work(http_work *w)
{
    auth__pw *p = AUTH_CONTAINER(w, auth__pw, w);
    p->work(p);
}

static void on_after(http_work *w)
{
    auth__pw *p = AUTH_CONTAINER(w, auth__pw, w);
    release(p->a);
    p->after(p, 0);
}

static void start(auth__pw *p)
{
    int rc = http_work_submit(&p->w, p->req, on_work, on_after);
    if (rc < 0) {
        release(p->a);
        p->after(p, rc);
    }
}

static void on_posted(net_loop *l, net_msg *m) { start(AUTH_CONTAINER(m, auth__pw, msg)); }

int auth__pw_submit(auth *a, auth__pw *p, http_req *r, void (*work)(auth__pw *p),
                    void (*after)(auth__pw *p, int rc))
{
    auth__gate *g = &a->gate;
    p->a = a;
    p->req = r;
    p->loop = http_req_loop(r);
    p->work = work;
    p->after = after;
    p->next = NULL;
    p->msg.fn = on_posted;
    pthread_mutex_lock(&g->mu);
    bool now = g->running < g->max;
    bool full = !now && g->waiting >= g->max_wait;
    if (now) {
        g->running++;
    } else if (!full) {
        if (g->tail)
            g->tail->next = p;
        else
            g->head = p;
        g->tail = p;
        g->waiting++;
    }
    pthread_mutex_unlock(&g->mu);
    if (full)
        return -1;
    if (now)
        start(p);
    return 0;
}
