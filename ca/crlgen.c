/*
 * crlgen — the coalescing CRL builder (see crlgen.h).
 *
 * State under mu:  dirty (a kick since the last build started), last_ms (monotonic start
 * of the last build), refresh_at (monotonic time of the next forced rebuild), the PEM.
 * The thread sleeps on a CLOCK_MONOTONIC condition variable until the earlier of
 * "dirty and last_ms + interval" and refresh_at, or until stop.
 *
 * crlNumber is the build's wall-clock time in ms, kept strictly increasing
 * [RFC 5280 5.2.3: monotonically increasing].
 */
#include "ca/crlgen.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define BUILDER_NICE 10 /* behind the loops and the store thread when the CPU is short */

struct crlgen {
    crlgen_opts o;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, dirty, started;
    int64_t last_ms, refresh_at;
    char *pem;
    uint64_t number, builds;
};

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Signs a CRL over the set as it is now and swaps it in. 0 or <0 (the old one stays). */
static int build(crlgen *g, bool prune)
{
    int64_t now = clock_ms(CLOCK_REALTIME);
    if (prune)
        revset_prune(g->o.rs, now);
    revset_snap snap;
    char *pem = NULL;
    if (revset_snapshot(g->o.rs, now, &snap) < 0)
        return CA_EINTERNAL;
    pthread_mutex_lock(&g->mu);
    uint64_t number = now > 0 && (uint64_t)now > g->number ? (uint64_t)now : g->number + 1;
    pthread_mutex_unlock(&g->mu);
    int rc = ca_crl_pem(g->o.ca, snap.v, snap.n, now, g->o.next_update_s, number, &pem);
    revset_snap_free(&snap);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&g->mu);
    char *old = g->pem;
    g->pem = pem;
    g->number = number;
    g->builds++;
    pthread_mutex_unlock(&g->mu);
    free(old);
    return 0;
}

/* Under mu: the monotonic time of the next build. */
static int64_t due_at(const crlgen *g)
{
    int64_t at = g->refresh_at;
    if (g->dirty && g->last_ms + g->o.interval_ms < at)
        at = g->last_ms + g->o.interval_ms;
    return at;
}

static void wait_until(crlgen *g, int64_t at_ms)
{
    struct timespec ts = {.tv_sec = at_ms / 1000, .tv_nsec = (at_ms % 1000) * 1000000};
    pthread_cond_timedwait(&g->cv, &g->mu, &ts);
}

/* Under mu, returns with mu held. */
static void build_now(crlgen *g, bool refresh)
{
    g->dirty = false;
    g->last_ms = clock_ms(CLOCK_MONOTONIC);
    if (refresh)
        g->refresh_at = g->last_ms + (int64_t)g->o.refresh_s * 1000;
    pthread_mutex_unlock(&g->mu);
    if (build(g, refresh) < 0)
        log_warn("ca: CRL build failed; the previous CRL is still served");
    if (refresh && g->o.on_refresh)
        g->o.on_refresh(g->o.arg, clock_ms(CLOCK_REALTIME));
    pthread_mutex_lock(&g->mu);
}

static void *run(void *arg)
{
    crlgen *g = arg;
    /* Linux: a thread's nice value is its own (best effort; refused is fine). */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), BUILDER_NICE);
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        int64_t now = clock_ms(CLOCK_MONOTONIC), at = due_at(g);
        if (now < at)
            wait_until(g, at);
        else
            build_now(g, now >= g->refresh_at);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static int init_sync(crlgen *g)
{
    pthread_condattr_t attr;
    if (pthread_mutex_init(&g->mu, NULL) != 0)
        return -1;
    if (pthread_condattr_init(&attr) != 0)
        goto fail;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
                     pthread_cond_init(&g->cv, &attr) == 0
                 ? 0
                 : -1;
    pthread_condattr_destroy(&attr);
    if (rc == 0)
        return 0;
fail:
    pthread_mutex_destroy(&g->mu);
    return -1;
}

crlgen *crlgen_new(const crlgen_opts *o)
{
    if (!o || !o->ca || !o->rs)
        return NULL;
    crlgen *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->o = *o;
    g->o.interval_ms = o->interval_ms ? o->interval_ms : CRLGEN_DEFAULT_INTERVAL_MS;
    g->o.refresh_s = o->refresh_s ? o->refresh_s : CRLGEN_DEFAULT_REFRESH_S;
    g->o.next_update_s = o->next_update_s ? o->next_update_s : CRLGEN_NEXT_UPDATE_S;
    if (init_sync(g) < 0) {
        free(g);
        return NULL;
    }
    g->last_ms = clock_ms(CLOCK_MONOTONIC);
    g->refresh_at = g->last_ms + (int64_t)g->o.refresh_s * 1000;
    if (build(g, true) < 0 || pthread_create(&g->th, NULL, run, g) != 0) {
        crlgen_free(g);
        return NULL;
    }
    g->started = true;
    return g;
}

void crlgen_stop(crlgen *g)
{
    if (!g || !g->started)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->th, NULL);
    g->started = false;
}

void crlgen_free(crlgen *g)
{
    if (!g)
        return;
    crlgen_stop(g);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g->pem);
    free(g);
}

void crlgen_kick(crlgen *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    if (!g->dirty) {
        g->dirty = true;
        pthread_cond_signal(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
}

char *crlgen_pem(crlgen *g, uint64_t *number)
{
    pthread_mutex_lock(&g->mu);
    char *pem = g->pem ? strdup(g->pem) : NULL;
    if (number)
        *number = g->number;
    pthread_mutex_unlock(&g->mu);
    return pem;
}

uint64_t crlgen_builds(crlgen *g)
{
    pthread_mutex_lock(&g->mu);
    uint64_t n = g->builds;
    pthread_mutex_unlock(&g->mu);
    return n;
}
