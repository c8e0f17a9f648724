/*
 * The rules engine (rules/rules_engine.c, rules_drain.c) over a real store file: owner
 * isolation, filters, disabled rules, back-pressure into the dead letters (the store is
 * started late, so the queue fills), counters and alarms written by the drain.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common/json.h"
#include "rules/rules.h"
#include "store/store_app.h"
#include "store_util.h"

static store *st;
static rules *eng;

static void setup(void)
{
    tmp_setup();
    st = open_store();
}

static void teardown(void)
{
    store_close(st);
    rules_free(eng);
    tmp_teardown();
}

TestSuite(rules_engine, .init = setup, .fini = teardown, .timeout = 60);

static const char RULE[] = "{\"name\": \"hot\", \"sql\": \"SELECT temp FROM "
                           "'server/+/telemetry' WHERE temp > 30\", \"actions\": "
                           "[{\"type\": \"alarm_raise\", \"alarm\": \"hot\"}]}";

typedef struct put_arg {
    const char *owner, *id;
    bson_t def;
} put_arg;

static int put_fn(store_tx *tx, void *p)
{
    put_arg *a = p;
    store_rule r = {.id = a->id, .owner_id = a->owner, .enabled = true, .def = &a->def};
    return store_rule_add(tx, &r);
}

static void add_rule(const char *owner, const char *id, const char *json)
{
    put_arg a = {.owner = owner, .id = id};
    json_err e;
    cr_assert_eq(json_parse((const uint8_t *)json, strlen(json), &a.def, &e), 0);
    cr_assert_eq(store_sync(st, put_fn, &a), 0);
    cr_assert_eq(rules_put(eng, owner, id, true, &a.def), 0);
    bson_destroy(&a.def);
}

static void msg(const char *owner, const char *topic, const char *payload)
{
    rules_message(eng, NULL, owner, "dev1", topic, (const uint8_t *)payload, strlen(payload), 1000);
}

typedef struct seen {
    store_rule r;
    char last_error[128];
    int alarms, dead;
    int64_t count;
    char reason[64];
} seen;

static int on_rule(void *arg, const store_rule *r)
{
    seen *s = arg;
    s->r = *r;
    snprintf(s->last_error, sizeof s->last_error, "%s", r->last_error ? r->last_error : "");
    return 0;
}

static int on_alarm(void *arg, const store_alarm *a)
{
    seen *s = arg;
    s->alarms++;
    s->count = a->count;
    return 0;
}

static int on_dead(void *arg, const store_rule_dead *d)
{
    seen *s = arg;
    s->dead++;
    snprintf(s->reason, sizeof s->reason, "%s", d->reason);
    return 0;
}

static int read_fn(store_tx *tx, void *p)
{
    seen *s = p;
    store_alarm_filter f = {0};
    int rc = store_rule_get(tx, "u1", "r1", on_rule, s);
    if (rc == 0)
        rc = store_alarm_list(tx, "u1", 0, &f, on_alarm, s);
    if (rc == 0)
        rc = store_rule_dead_list(tx, "r1", 10, on_dead, s);
    return rc;
}

Test(rules_engine, back_pressure_isolation_and_counters)
{
    rules_opts o = {.queue_max = 2};
    cr_assert_not_null(eng = rules_new(st, NULL, NULL, NULL, &o));
    add_rule("u1", "r1", RULE);
    msg("u2", "server/dev1/telemetry", "{\"temp\": 40}"); /* another owner: not seen */
    msg("u1", "server/dev1/status", "{\"temp\": 40}");    /* the filter does not match */
    msg("u1", "server/dev1/telemetry", "{\"temp\": 20}"); /* the WHERE does not pass */
    msg("u1", "server/dev1/telemetry", "not json");
    for (int i = 0; i < 5; i++) /* 1 taken by the drain (waiting), 2 queued, 2 dropped */
        msg("u1", "server/dev1/telemetry", "{\"temp\": 40}");
    rules_stats s;
    rules_stats_get(eng, &s);
    cr_assert_eq(s.messages, 9);
    cr_assert_eq(s.matched, 5);
    cr_assert_eq(s.queued, 3);
    cr_assert_eq(s.dropped, 2);
    cr_assert_eq(store_start(st), 0);
    rules_flush(eng);
    seen got = {0};
    cr_assert_eq(store_sync(st, read_fn, &got), 0);
    cr_assert_eq(got.r.matched, 5, "3 run + 2 dropped");
    cr_assert_eq(got.r.actions_ok, 3);
    cr_assert_eq(got.r.dropped, 2);
    cr_assert_str_eq(got.last_error, "queue_full");
    cr_assert_eq(got.alarms, 1, "de-duplicated");
    cr_assert_eq(got.count, 3);
    cr_assert_eq(got.dead, 1);
    cr_assert_str_eq(got.reason, "queue_full: 2 dropped");
}

Test(rules_engine, disabled_replaced_and_removed_rules)
{
    cr_assert_not_null(eng = rules_new(st, NULL, NULL, NULL, NULL));
    cr_assert_eq(store_start(st), 0);
    add_rule("u1", "r1", RULE);
    json_err e;
    bson_t def;
    cr_assert_eq(json_parse((const uint8_t *)RULE, strlen(RULE), &def, &e), 0);
    cr_assert_eq(rules_put(eng, "u1", "r1", false, &def), 0);
    msg("u1", "server/dev1/telemetry", "{\"temp\": 40}");
    rules_stats s;
    rules_stats_get(eng, &s);
    cr_assert_eq(s.matched, 0, "disabled");
    cr_assert_eq(rules_put(eng, "u1", "r1", true, &def), 0);
    msg("u1", "server/dev1/telemetry", "{\"temp\": 40}");
    rules_stats_get(eng, &s);
    cr_assert_eq(s.matched, 1, "replaced, not added twice");
    rules_remove(eng, "u1", "r1");
    msg("u1", "server/dev1/telemetry", "{\"temp\": 40}");
    rules_stats_get(eng, &s);
    cr_assert_eq(s.matched, 1, "removed");
    bson_t bad = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&bad, "name", "x");
    cr_assert_lt(rules_put(eng, "u1", "r2", true, &bad), 0);
    bson_destroy(&bad);
    bson_destroy(&def);
    rules_flush(eng);
}
