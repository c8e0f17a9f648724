/*
 * tm_live over two real worker loops: listeners subscribe on loop 0 (through posted
 * messages), a publisher on loop 1 publishes; only the listeners of the device and kind
 * are called, on their own loop, with a copy that outlives the publisher's batch; an
 * unsubscribed listener hears nothing; no listener anywhere posts nothing.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "telemetry/tm_live.h"
#include "tests/unit/test_util.h"

static tm_live *hub;
static net_loop *loop0;
static atomic_int heard_a, heard_b, heard_log, wrong_loop, done;
static char last_key[TM_KEY_MAX + 1];
static double last_num;
static tm_live_sub *sub_a, *sub_b, *sub_log;

static void on_a(void *arg, const tm_live_msg *m)
{
    (void)arg;
    if (net_loop_current() != loop0)
        atomic_fetch_add(&wrong_loop, 1);
    snprintf(last_key, sizeof last_key, "%s", m->pts[m->n - 1].key);
    last_num = m->pts[m->n - 1].num;
    atomic_fetch_add(&heard_a, 1);
}

static void on_b(void *arg, const tm_live_msg *m)
{
    (void)arg;
    (void)m;
    atomic_fetch_add(&heard_b, 1);
}

static void on_log(void *arg, const tm_live_msg *m)
{
    (void)arg;
    if (m->kind == TM_LIVE_LOG && !strcmp(m->log->msg, "hello") && m->log->level == TM_LOG_WARN)
        atomic_fetch_add(&heard_log, 1);
}

typedef struct job {
    net_msg m;
    void (*fn)(void);
} job;

static void run_job(net_loop *l, net_msg *m)
{
    (void)l;
    job *j = (job *)m;
    j->fn();
    free(j);
    atomic_fetch_add(&done, 1);
}

static void on_loop(net_loop *l, void (*fn)(void))
{
    int before = atomic_load(&done);
    job *j = calloc(1, sizeof *j);
    j->m.fn = run_job;
    j->fn = fn;
    net_loop_post(l, &j->m);
    WAIT_FOR(atomic_load(&done) > before, 5000);
    cr_assert_gt(atomic_load(&done), before);
}

static void subscribe(void)
{
    sub_a = tm_live_subscribe(hub, "dev-a", TM_LIVE_TELEMETRY, on_a, NULL);
    sub_b = tm_live_subscribe(hub, "dev-b", TM_LIVE_TELEMETRY, on_b, NULL);
    sub_log = tm_live_subscribe(hub, "dev-a", TM_LIVE_LOG, on_log, NULL);
}

static void publish(void)
{
    tm_batch b = {0};
    tm_err e;
    const char *p = "{\"ts\": 1700000000000, \"rpm\": 1200}";
    cr_assert_eq(tm_parse((const uint8_t *)p, strlen(p), 0, 0, &b, &e), 0);
    tm_live_telemetry(hub, "dev-a", &b);
    tm_batch_free(&b); /* the listeners read a copy, later, on their loop */
    char msg[] = "hello";
    tm_log_line l = {.level = TM_LOG_WARN, .ts = 1, .msg = msg, .len = 5};
    tm_live_log(hub, "dev-a", &l);
}

static void drop_a(void) { tm_live_unsubscribe(sub_a); }

static void drop_rest(void)
{
    tm_live_unsubscribe(sub_b);
    tm_live_unsubscribe(sub_log);
}

static void run_thread(void *arg) { net_server_run(arg); }

Test(tm_live, fan_out_across_loops)
{
    char err[128];
    net_server_opts o = {.workers = 2};
    net_server *s = net_server_new(&o, NULL, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    uv_thread_t th;
    cr_assert_eq(uv_thread_create(&th, run_thread, s), 0);
    hub = tm_live_new();
    loop0 = net_server_loop(s, 0);
    net_loop *loop1 = net_server_loop(s, 1);
    tm_live_stats st;

    on_loop(loop1, publish); /* nobody listens yet: nothing posted */
    tm_live_stats_get(hub, &st);
    cr_assert_eq(st.posted, 0);

    on_loop(loop0, subscribe);
    tm_live_stats_get(hub, &st);
    cr_assert_eq(st.listeners, 3);
    on_loop(loop1, publish);
    WAIT_FOR(atomic_load(&heard_a) == 1 && atomic_load(&heard_log) == 1, 5000);
    cr_assert_eq(atomic_load(&heard_a), 1);
    cr_assert_eq(atomic_load(&heard_log), 1);
    cr_assert_str_eq(last_key, "rpm");
    cr_assert_float_eq(last_num, 1200.0, 1e-9);
    cr_assert_eq(atomic_load(&heard_b), 0, "another device's listener");
    cr_assert_eq(atomic_load(&wrong_loop), 0);

    on_loop(loop0, drop_a);
    on_loop(loop1, publish);
    WAIT_FOR(atomic_load(&heard_log) == 2, 5000);
    cr_assert_eq(atomic_load(&heard_log), 2);
    cr_assert_eq(atomic_load(&heard_a), 1, "unsubscribed: not called");

    on_loop(loop0, drop_rest);
    tm_live_stats_get(hub, &st);
    cr_assert_eq(st.listeners, 0);
    net_server_stop(s);
    uv_thread_join(&th);
    net_server_free(s);
    tm_live_free(hub);
}
