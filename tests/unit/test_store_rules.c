/*
 * Rules and alarms in a real store file (store/rules.c, store/alarms.c): owner scoping,
 * counters, dead letters capped, alarm de-duplication, clear, ack, filters, history cap.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "store/store_app.h"
#include "store_util.h"

static store *st;

static void setup(void)
{
    tmp_setup();
    st = open_store();
}

static void teardown(void)
{
    store_close(st);
    tmp_teardown();
}

TestSuite(store_rules, .init = setup, .fini = teardown, .timeout = 60);

typedef struct seen {
    int n;
    char ids[16][65];
    store_rule last;
    char last_error[256];
    int64_t alarm_ids[16];
    int64_t count[16];
    bool active[16], acked[16];
} seen;

static int on_rule(void *arg, const store_rule *r)
{
    seen *s = arg;
    if (s->n < 16)
        snprintf(s->ids[s->n], sizeof s->ids[0], "%s", r->id);
    s->n++;
    s->last = *r;
    snprintf(s->last_error, sizeof s->last_error, "%s", r->last_error ? r->last_error : "");
    s->last.def = NULL;
    return 0;
}

static int add(store_tx *tx, const char *owner, const char *id, int64_t at)
{
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&d, "name", id);
    store_rule r = {.id = id, .owner_id = owner, .enabled = true, .created_at = at, .def = &d};
    int rc = store_rule_add(tx, &r);
    bson_destroy(&d);
    return rc;
}

static int crud(store_tx *tx, void *arg)
{
    seen *s = arg;
    cr_assert_eq(add(tx, "u1", "r1", 1), 0);
    cr_assert_eq(add(tx, "u1", "r2", 2), 0);
    cr_assert_eq(add(tx, "u2", "r3", 3), 0);
    cr_assert_eq(add(tx, "u2", "r1", 4), STORE_EEXISTS);
    uint64_t n;
    cr_assert_eq(store_rule_count(tx, "u1", &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(store_rule_get(tx, "u2", "r1", on_rule, s), STORE_ENOTFOUND, "owner scoped");
    cr_assert_eq(store_rule_delete(tx, "u2", "r1"), STORE_ENOTFOUND);
    bson_t d = BSON_INITIALIZER;
    cr_assert_eq(store_rule_update(tx, "u2", "r1", false, &d, 9), STORE_ENOTFOUND);
    cr_assert_eq(store_rule_update(tx, "u1", "r1", false, &d, 9), 0);
    bson_destroy(&d);
    cr_assert_eq(store_rule_counts_add(tx, "r1", 3, 2, 1, 0, "boom", 77), 0);
    cr_assert_eq(store_rule_counts_add(tx, "r1", 1, 1, 0, 2, NULL, 88), 0);
    cr_assert_eq(store_rule_get(tx, "u1", "r1", on_rule, s), 0);
    cr_assert_eq(s->last.enabled, false);
    cr_assert_eq(s->last.updated_at, 9);
    cr_assert_eq(s->last.matched, 4);
    cr_assert_eq(s->last.actions_ok, 3);
    cr_assert_eq(s->last.actions_failed, 1);
    cr_assert_eq(s->last.dropped, 2);
    cr_assert_str_eq(s->last_error, "boom");
    cr_assert_eq(s->last.last_error_at, 77);
    s->n = 0;
    cr_assert_eq(store_rule_list(tx, "u1", on_rule, s), 0);
    cr_assert_eq(s->n, 2);
    cr_assert_str_eq(s->ids[0], "r1");
    s->n = 0;
    cr_assert_eq(store_rule_list(tx, NULL, on_rule, s), 0);
    cr_assert_eq(s->n, 3);
    cr_assert_eq(store_rule_delete(tx, "u1", "r1"), 0);
    cr_assert_eq(store_rule_get(tx, "u1", "r1", on_rule, s), STORE_ENOTFOUND);
    return 0;
}

Test(store_rules, crud_counters_owner_scoped)
{
    seen s = {0};
    cr_assert_eq(store_sync(st, crud, &s), 0);
}

static int on_dead(void *arg, const store_rule_dead *d)
{
    seen *s = arg;
    s->alarm_ids[s->n++] = d->at;
    return 0;
}

static int dead(store_tx *tx, void *arg)
{
    seen *s = arg;
    cr_assert_eq(add(tx, "u1", "r1", 1), 0);
    bson_t m = BSON_INITIALIZER;
    BSON_APPEND_INT32(&m, "temp", 30);
    for (int i = 1; i <= 5; i++)
        cr_assert_eq(store_rule_dead_add(tx, "r1", i, "queue_full", &m, 3), 0);
    bson_destroy(&m);
    cr_assert_eq(store_rule_dead_list(tx, "r1", 10, on_dead, s), 0);
    cr_assert_eq(s->n, 3, "capped at 3");
    cr_assert_eq(s->alarm_ids[0], 5, "newest first");
    cr_assert_eq(store_rule_delete(tx, "u1", "r1"), 0);
    s->n = 0;
    cr_assert_eq(store_rule_dead_list(tx, "r1", 10, on_dead, s), 0);
    cr_assert_eq(s->n, 0, "gone with the rule");
    return 0;
}

Test(store_rules, dead_letters_capped)
{
    seen s = {0};
    cr_assert_eq(store_sync(st, dead, &s), 0);
}

static int on_alarm(void *arg, const store_alarm *a)
{
    seen *s = arg;
    s->alarm_ids[s->n] = a->id;
    s->count[s->n] = a->count;
    s->active[s->n] = a->active;
    s->acked[s->n] = a->acked;
    s->n++;
    return 0;
}

static int list(store_tx *tx, seen *s, const store_alarm_filter *f)
{
    s->n = 0;
    return store_alarm_list(tx, "u1", 0, f, on_alarm, s);
}

static int alarms(store_tx *tx, void *arg)
{
    seen *s = arg;
    store_alarm a = {.owner_id = "u1",
                     .device_id = "d1",
                     .type = "overheat",
                     .severity = "major",
                     .rule_id = "r1"};
    int64_t id1, id2, id3;
    bool created;
    cr_assert_eq(store_alarm_raise(tx, &a, 10, &id1, &created), 0);
    cr_assert(created);
    cr_assert_eq(store_alarm_raise(tx, &a, 11, &id2, &created), 0);
    cr_assert(!created, "de-duplicated while active");
    cr_assert_eq(id1, id2);
    a.device_id = "d2";
    cr_assert_eq(store_alarm_raise(tx, &a, 12, &id3, &created), 0);
    cr_assert(created && id3 != id1);
    store_alarm_filter f = {0};
    cr_assert_eq(list(tx, s, &f), 0);
    cr_assert_eq(s->n, 2);
    cr_assert_eq(s->count[1], 2);
    f.device = "d1";
    cr_assert_eq(list(tx, s, &f), 0);
    cr_assert_eq(s->n, 1);
    /* ack, clear by type, clear by id; other owners see nothing */
    cr_assert_eq(store_alarm_ack(tx, "u2", id1, "bob", 13), STORE_ENOTFOUND);
    cr_assert_eq(store_alarm_ack(tx, "u1", id1, "alice", 13), 0);
    cr_assert_eq(store_alarm_ack(tx, "u1", id1, "alice", 14), 0, "again: no error");
    int64_t cid = 0;
    cr_assert_eq(store_alarm_clear(tx, "u1", "d1", "overheat", &cid, "rule", 15, 0), 0);
    cr_assert_eq(cid, id1);
    cr_assert_eq(store_alarm_clear(tx, "u1", "d1", "overheat", &cid, "rule", 15, 0),
                 STORE_ENOTFOUND);
    cid = id3;
    cr_assert_eq(store_alarm_clear(tx, "u2", NULL, NULL, &cid, "x", 16, 0), STORE_ENOTFOUND);
    cr_assert_eq(store_alarm_clear(tx, "u1", NULL, NULL, &cid, "alice", 16, 0), 0);
    f = (store_alarm_filter){.state = 1};
    cr_assert_eq(list(tx, s, &f), 0);
    cr_assert_eq(s->n, 0);
    f = (store_alarm_filter){.state = 2, .acked = 1};
    cr_assert_eq(list(tx, s, &f), 0);
    cr_assert_eq(s->n, 1);
    cr_assert_eq(s->alarm_ids[0], id1);
    /* raising again after a clear opens a new alarm; the history is capped */
    a.device_id = "d1";
    cr_assert_eq(store_alarm_raise(tx, &a, 20, &id2, &created), 0);
    cr_assert(created && id2 != id1);
    cr_assert_eq(store_alarm_clear(tx, "u1", "d1", "overheat", &cid, "rule", 21, 2), 0);
    a.device_id = "d3";
    cr_assert_eq(store_alarm_raise(tx, &a, 22, &id3, &created), 0);
    cr_assert_eq(store_alarm_clear(tx, "u1", "d3", "overheat", &cid, "rule", 23, 2), 0);
    f = (store_alarm_filter){.state = 2};
    cr_assert_eq(list(tx, s, &f), 0);
    cr_assert_eq(s->n, 2, "history capped at 2");
    cr_assert_eq(s->alarm_ids[0], id3);
    a.severity = "bad name that is fine";
    a.type = "";
    cr_assert_eq(store_alarm_raise(tx, &a, 24, &id3, &created), STORE_EINVAL);
    return 0;
}

Test(store_rules, alarms_dedup_clear_ack_history)
{
    seen s = {0};
    cr_assert_eq(store_sync(st, alarms, &s), 0);
}

static int on_hook(void *arg, const store_rule_hook *h)
{
    seen *s = arg;
    s->alarm_ids[s->n] = h->id;
    s->count[s->n] = h->attempts;
    s->n++;
    return 0;
}

static int hooks(store_tx *tx, void *arg)
{
    seen *s = arg;
    store_rule_hook h = {.rule_id = "r1",
                         .url = "https://x/",
                         .body = "{}",
                         .body_len = 2,
                         .timeout_ms = 1000,
                         .max_attempts = 3,
                         .next_at = 100,
                         .created_at = 100};
    bool full;
    int64_t at;
    cr_assert_eq(store_rule_hook_next(tx, &at), STORE_ENOTFOUND);
    cr_assert_eq(store_rule_hook_add(tx, &h, 2, &full), 0);
    cr_assert(!full);
    h.next_at = 200;
    cr_assert_eq(store_rule_hook_add(tx, &h, 2, &full), 0);
    cr_assert_eq(store_rule_hook_add(tx, &h, 2, &full), 0);
    cr_assert(full, "capped at 2");
    cr_assert_eq(store_rule_hook_next(tx, &at), 0);
    cr_assert_eq(at, 100);
    cr_assert_eq(store_rule_hook_due(tx, 150, 10, on_hook, s), 0);
    cr_assert_eq(s->n, 1, "only the due one");
    int64_t id = s->alarm_ids[0];
    cr_assert_eq(store_rule_hook_retry(tx, id, 300, "HTTP 500"), 0);
    s->n = 0;
    cr_assert_eq(store_rule_hook_due(tx, 1000, 10, on_hook, s), 0);
    cr_assert_eq(s->n, 2);
    cr_assert_eq(s->alarm_ids[1], id, "due later now");
    cr_assert_eq(s->count[1], 1, "one attempt recorded");
    cr_assert_eq(store_rule_hook_done(tx, id), 0);
    uint64_t n;
    cr_assert_eq(store_rule_hook_count(tx, &n), 0);
    cr_assert_eq(n, 1);
    return 0;
}

Test(store_rules, webhook_outbox)
{
    seen s = {0};
    cr_assert_eq(store_sync(st, hooks, &s), 0);
}
