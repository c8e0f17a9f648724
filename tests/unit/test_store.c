/* Unit tests for the store: open/migrations, every entity function, corrupt rows,
 * store_sync and store_check. The store thread is tested in test_store_queue.c.
 * Runs against SQLite, and against MongoDB with IOTCLOUD_TEST_MONGO set (store_util.h;
 * ctest unit.test_store.mongodb). */
#include "tests/unit/store_util.h"

TestSuite(store, .init = tmp_setup, .fini = tmp_teardown);

/* ---- helpers ---------------------------------------------------------------------- */

typedef struct call {
    int (*fn)(store_tx *tx, void *arg);
} call;

static bson_t *session_doc(int v)
{
    bson_t *d = bson_new();
    BSON_APPEND_INT32(d, "v", v);
    BSON_APPEND_INT64(d, "last_seen", 1234);
    return d;
}

static int put_session(store_tx *tx, void *arg)
{
    bson_t *d = session_doc(1);
    int rc = store_session_put(tx, arg, d);
    bson_destroy(d);
    return rc;
}

static void add_session(store *st, const char *id)
{
    cr_assert_eq(store_sync(st, put_session, (void *)id), 0);
}

typedef struct seen {
    int n, stop_at;
    char ids[8][32];
    int v[8];
    store_msg m[8];
    uint8_t topics[8][32];
} seen;

static int collect_session(void *arg, const char *id, const bson_t *doc)
{
    seen *s = arg;
    bson_iter_t it;
    cr_assert_lt(s->n, 8);
    snprintf(s->ids[s->n], sizeof s->ids[0], "%s", id);
    s->v[s->n] = bson_iter_init_find(&it, doc, "v") ? bson_iter_int32(&it) : -1;
    return ++s->n == s->stop_at ? 42 : 0;
}

static bool seen_has(const seen *s, const char *id, int v)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0 && s->v[i] == v)
            return true;
    return false;
}

typedef struct each_args {
    seen *s;
    const char *client;
    int rc;
} each_args;

static int sessions_each(store_tx *tx, void *arg)
{
    each_args *a = arg;
    a->rc = store_session_each(tx, collect_session, a->s);
    return 0;
}

static int collect_msg(void *arg, const store_msg *m)
{
    seen *s = arg;
    cr_assert_lt(s->n, 8);
    cr_assert_leq(m->topic_len, sizeof s->topics[0]);
    s->m[s->n] = *m;
    memcpy(s->topics[s->n], m->topic, m->topic_len);
    s->m[s->n].topic = s->topics[s->n];
    s->m[s->n].payload = NULL; /* not valid after the callback */
    return ++s->n == s->stop_at ? 7 : 0;
}

static int msgs_each(store_tx *tx, void *arg)
{
    each_args *a = arg;
    a->rc = store_msg_each(tx, a->client, collect_msg, a->s);
    return 0;
}

static store_msg msg(uint64_t mid, const char *topic, const char *payload)
{
    return (store_msg){.mid = mid,
                       .qos = 1,
                       .state = STORE_MSG_QUEUED,
                       .topic = (const uint8_t *)topic,
                       .topic_len = (uint16_t)strlen(topic),
                       .payload = (const uint8_t *)payload,
                       .payload_len = (uint32_t)strlen(payload)};
}

typedef struct msg_op {
    const char *client;
    store_msg m;
    int rc;
} msg_op;

static int do_add(store_tx *tx, void *arg)
{
    msg_op *o = arg;
    o->rc = store_msg_add(tx, o->client, &o->m);
    return 0;
}

static int add_msg(store *st, const char *client, store_msg m)
{
    msg_op o = {client, m, 99};
    cr_assert_eq(store_sync(st, do_add, &o), 0);
    return o.rc;
}

static int do_delete_msg(store_tx *tx, void *arg)
{
    msg_op *o = arg;
    o->rc = store_msg_delete(tx, o->client, o->m.mid);
    return 0;
}

static int delete_msg(store *st, const char *client, uint64_t mid)
{
    msg_op o = {client, {.mid = mid}, 99};
    cr_assert_eq(store_sync(st, do_delete_msg, &o), 0);
    return o.rc;
}

static int do_delete_session(store_tx *tx, void *arg) { return store_session_delete(tx, arg); }

static int do_max_id(store_tx *tx, void *arg) { return store_msg_max_id(tx, arg); }

static uint64_t max_id(store *st)
{
    uint64_t v = 12345;
    cr_assert_eq(store_sync(st, do_max_id, &v), 0);
    return v;
}

/* ---- open and migrations ---------------------------------------------------------- */

Test(store, open_empty_file_runs_migrations)
{
    SQLITE_ONLY();
    store *st = open_store();
    store_close(st);
    cr_assert_eq(raw_int("PRAGMA user_version"), 11);
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_schema WHERE name ="
                         " 'provisioning_templates'"),
                 1);
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_schema WHERE name = 'shadow_history'"), 1);
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_schema WHERE name IN"
                         " ('device_events','device_history','commands','idempotency')"),
                 4);
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_schema WHERE name = 'shadows'"), 1);
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_schema WHERE name IN"
                         " ('sessions','messages','session_msgs','retained','meta')"),
                 5);
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_schema WHERE name IN"
                         " ('telemetry','telemetry_rollup','telemetry_latest')"),
                 3);
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_schema WHERE name IN"
                         " ('rules','rule_deadletters','alarms','groups','jobs','job_execs')"),
                 6);
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_schema WHERE type='trigger'"), 1);
    sqlite3 *db;
    sqlite3_stmt *s;
    cr_assert_eq(sqlite3_open(tpath, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

Test(store, reopen_keeps_data_and_does_not_remigrate)
{
    SQLITE_ONLY();
    store *st = open_store();
    add_session(st, "dev1");
    store_close(st);
    st = open_store();
    seen s = {0};
    each_args a = {&s, NULL, 99};
    cr_assert_eq(store_sync(st, sessions_each, &a), 0);
    cr_assert_eq(a.rc, 0);
    cr_assert_eq(s.n, 1);
    cr_assert(seen_has(&s, "dev1", 1));
    store_close(st);
    cr_assert_eq(raw_int("PRAGMA user_version"), 11, "migrated again or past the last version");
}

Test(store, newer_schema_version_refused)
{
    SQLITE_ONLY();
    raw_exec("PRAGMA user_version = 12");
    char err[256] = "";
    store_opts o = {.path = tpath};
    cr_assert_null(store_open(&o, err, sizeof err));
    cr_assert_str_eq(err, "database schema version 12 is newer than this iotcloud supports (11); "
                          "refusing to start");
    cr_assert_eq(raw_int("PRAGMA user_version"), 12, "the file must be left alone");
}

Test(store, garbage_file_refused)
{
    SQLITE_ONLY();
    FILE *f = fopen(tpath, "wb");
    cr_assert_not_null(f);
    for (int i = 0; i < 8192; i++)
        fputc((i * 131 + 7) & 0xff, f);
    fclose(f);
    char err[256] = "";
    store_opts o = {.path = tpath};
    cr_assert_null(store_open(&o, err, sizeof err));
    cr_assert(strstr(err, "not a database") != NULL, "err: %s", err);
}

Test(store, bad_options_refused)
{
    char err[128];
    cr_assert_null(store_open(NULL, err, sizeof err));
    store_opts o = {.path = NULL};
    cr_assert_null(store_open(&o, err, sizeof err));
    o = (store_opts){.path = tpath, .backend = "oracle"};
    cr_assert_null(store_open(&o, err, sizeof err));
    cr_assert(strstr(err, "unknown backend \"oracle\"") != NULL);
    o = (store_opts){.path = tpath, .backend = "mongodb"};
    cr_assert_null(store_open(&o, err, sizeof err));
    cr_assert(strstr(err, "invalid mongodb URI") != NULL, "%s", err);
    o = (store_opts){.path = "/nonexistent-dir/x/iot.db"};
    cr_assert_null(store_open(&o, NULL, 0));
    o = (store_opts){.path = tpath, .backend = "sqlite", .sync_normal = true};
    store *st = store_open(&o, err, sizeof err);
    cr_assert_not_null(st);
    store_close(st);
    store_close(NULL);
}

Test(store, mongodb_unreachable_refused_without_leaking_the_password)
{
    char err[256];
    /* port 1: nothing listens; the password is set apart from the URI, as the app does */
    store_opts o = {.backend = "mongodb",
                    .path = "mongodb://iot@127.0.0.1:1/db?serverSelectionTimeoutMS=200",
                    .password = "s3cret-pw"};
    cr_assert_null(store_open(&o, err, sizeof err));
    cr_assert(strstr(err, "mongodb unreachable") != NULL, "%s", err);
    cr_assert(strstr(err, "s3cret-pw") == NULL);
    cr_assert_str_eq(store_backend_missing("sqlite") ? "x" : "", "");
    cr_assert_not_null(store_backend_missing("mongodb"), "the server must refuse while a "
                                                         "MongoDB entity is missing");
}

/* ---- sessions --------------------------------------------------------------------- */

static int put_v2(store_tx *tx, void *arg)
{
    bson_t *d = session_doc(2);
    int rc = store_session_put(tx, arg, d);
    bson_destroy(d);
    return rc;
}

Test(store, sessions_put_replace_delete_each)
{
    store *st = open_store();
    add_session(st, "a");
    add_session(st, "b");
    add_session(st, "c");
    cr_assert_eq(store_sync(st, put_v2, "b"), 0); /* replace */
    seen s = {0};
    each_args a = {&s, NULL, 99};
    cr_assert_eq(store_sync(st, sessions_each, &a), 0);
    cr_assert_eq(a.rc, 0);
    cr_assert_eq(s.n, 3);
    cr_assert(seen_has(&s, "a", 1) && seen_has(&s, "b", 2) && seen_has(&s, "c", 1));

    cr_assert_eq(store_sync(st, do_delete_session, "a"), 0);
    cr_assert_eq(store_sync(st, do_delete_session, "a"), STORE_ENOTFOUND);
    s = (seen){.stop_at = 1};
    cr_assert_eq(store_sync(st, sessions_each, &a), 0);
    cr_assert_eq(a.rc, 42, "early stop returns the callback's value");
    cr_assert_eq(s.n, 1);
    s = (seen){0};
    cr_assert_eq(store_sync(st, sessions_each, &a), 0);
    cr_assert_eq(s.n, 2);
    cr_assert(!seen_has(&s, "a", 1));
    store_close(st);
}

static int bad_args_sessions(store_tx *tx, void *arg)
{
    bson_t *d = session_doc(1);
    cr_assert_eq(store_session_put(tx, NULL, d), STORE_EINVAL);
    cr_assert_eq(store_session_put(tx, "x", NULL), STORE_EINVAL);
    cr_assert_eq(store_session_delete(tx, NULL), STORE_EINVAL);
    cr_assert_eq(store_session_each(tx, NULL, NULL), STORE_EINVAL);
    bson_destroy(d);
    return 0;
}

Test(store, sessions_bad_arguments)
{
    store *st = open_store();
    cr_assert_eq(store_sync(st, bad_args_sessions, NULL), 0);
    store_close(st);
}

Test(store, corrupt_session_doc_skipped_and_counted)
{
    store *st = open_store();
    add_session(st, "good");
    store_close(st);
    if (test_mongo()) {
        raw_mongo_insert("sessions", "{\"_id\": \"text\", \"d\": \"not a document\"}");
        raw_mongo_insert("sessions", "{\"_id\": 5, \"d\": {\"v\": 1}}");
        raw_mongo_insert("sessions", "{\"_id\": \"nodoc\"}");
        raw_mongo_insert("sessions", "{\"_id\": \"\", \"d\": {\"v\": 1}}");
    } else {
        raw_exec("INSERT INTO sessions VALUES('garbage', x'0102030405060708');"
                 "INSERT INTO sessions VALUES('truncated', x'1000000010760001000000');"
                 "INSERT INTO sessions VALUES('badlen', x'05000000');"
                 "INSERT INTO sessions VALUES('text', 'not a blob');");
    }
    st = open_store();
    seen s = {0};
    each_args a = {&s, NULL, 99};
    cr_assert_eq(store_sync(st, sessions_each, &a), 0);
    cr_assert_eq(a.rc, 0);
    cr_assert_eq(s.n, 1);
    cr_assert(seen_has(&s, "good", 1));
    store_stats stats;
    store_stats_get(st, &stats);
    cr_assert_eq(stats.rows_skipped, 4);
    store_close(st);
}

/* ---- messages --------------------------------------------------------------------- */

Test(store, msg_add_update_delete_each_in_mid_order)
{
    store *st = open_store();
    add_session(st, "c1");
    cr_assert_eq(add_msg(st, "c1", msg(30, "t/3", "three")), 0);
    cr_assert_eq(add_msg(st, "c1", msg(10, "t/1", "")), 0);
    store_msg m2 = msg(20, "t/2", "two");
    m2.qos = 2;
    m2.retain = true;
    cr_assert_eq(add_msg(st, "c1", m2), 0);
    cr_assert_eq(add_msg(st, "c1", msg(20, "t/2", "two")), STORE_EEXISTS);

    msg_op u = {"c1", {.mid = 20}, 0};
    seen s = {0};
    each_args a = {&s, "c1", 99};
    cr_assert_eq(store_sync(st, msgs_each, &a), 0);
    cr_assert_eq(a.rc, 0);
    cr_assert_eq(s.n, 3);
    cr_assert_eq(s.m[0].mid, 10);
    cr_assert_eq(s.m[0].payload_len, 0);
    cr_assert_eq(s.m[1].mid, 20);
    cr_assert_eq(s.m[1].qos, 2);
    cr_assert(s.m[1].retain);
    cr_assert_eq(s.m[1].payload_len, 3);
    cr_assert_eq(s.m[1].topic_len, 3);
    cr_assert_eq(memcmp(s.topics[1], "t/2", 3), 0);
    cr_assert_eq(s.m[2].mid, 30);
    cr_assert_eq(s.m[2].state, STORE_MSG_QUEUED);
    (void)u;
    store_close(st);
}

static int do_update(store_tx *tx, void *arg)
{
    msg_op *o = arg;
    o->rc = store_msg_update(tx, o->client, o->m.mid, o->m.state, o->m.pid);
    return 0;
}

Test(store, msg_update_and_delete)
{
    store *st = open_store();
    add_session(st, "c1");
    cr_assert_eq(add_msg(st, "c1", msg(1, "a", "x")), 0);
    cr_assert_eq(add_msg(st, "c1", msg(2, "b", "y")), 0);
    msg_op u = {"c1", {.mid = 2, .state = STORE_MSG_SENT, .pid = 77}, 99};
    cr_assert_eq(store_sync(st, do_update, &u), 0);
    cr_assert_eq(u.rc, 0);
    u = (msg_op){"c1", {.mid = 3, .state = STORE_MSG_SENT, .pid = 1}, 99};
    cr_assert_eq(store_sync(st, do_update, &u), 0);
    cr_assert_eq(u.rc, STORE_ENOTFOUND);
    u = (msg_op){"nobody", {.mid = 2, .state = STORE_MSG_RELEASED, .pid = 1}, 99};
    cr_assert_eq(store_sync(st, do_update, &u), 0);
    cr_assert_eq(u.rc, STORE_ENOTFOUND);
    u = (msg_op){"c1", {.mid = 2, .state = 9, .pid = 1}, 99};
    cr_assert_eq(store_sync(st, do_update, &u), 0);
    cr_assert_eq(u.rc, STORE_EINVAL);

    cr_assert_eq(delete_msg(st, "c1", 1), 0);
    cr_assert_eq(delete_msg(st, "c1", 1), STORE_ENOTFOUND);
    cr_assert_eq(delete_msg(st, "other", 2), STORE_ENOTFOUND);

    seen s = {0};
    each_args a = {&s, "c1", 99};
    cr_assert_eq(store_sync(st, msgs_each, &a), 0);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.m[0].mid, 2);
    cr_assert_eq(s.m[0].state, STORE_MSG_SENT);
    cr_assert_eq(s.m[0].pid, 77);
    store_close(st);
}

Test(store, msg_each_early_stop_and_bad_arguments)
{
    store *st = open_store();
    add_session(st, "c1");
    for (uint64_t i = 1; i <= 4; i++)
        cr_assert_eq(add_msg(st, "c1", msg(i, "t", "p")), 0);
    seen s = {.stop_at = 2};
    each_args a = {&s, "c1", 99};
    cr_assert_eq(store_sync(st, msgs_each, &a), 0);
    cr_assert_eq(a.rc, 7);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(add_msg(st, "c1", msg(0, "t", "p")), STORE_EINVAL, "mid 0");
    cr_assert_eq(add_msg(st, "c1", msg(5, "", "p")), STORE_EINVAL, "empty topic");
    store_msg bad = msg(5, "t", "p");
    bad.state = 3;
    cr_assert_eq(add_msg(st, "c1", bad), STORE_EINVAL);
    bad = msg((uint64_t)INT64_MAX + 1, "t", "p");
    cr_assert_eq(add_msg(st, "c1", bad), STORE_EINVAL);
    s = (seen){0};
    a = (each_args){&s, "nobody", 99};
    cr_assert_eq(store_sync(st, msgs_each, &a), 0);
    cr_assert_eq(a.rc, 0);
    cr_assert_eq(s.n, 0);
    store_close(st);
}

Test(store, msg_add_without_session_is_notfound_and_leaves_no_body)
{
    store *st = open_store();
    cr_assert_eq(add_msg(st, "ghost", msg(5, "t", "p")), STORE_ENOTFOUND);
    cr_assert_eq(max_id(st), 0, "nothing stored");
    store_close(st);
    if (!test_mongo())
        cr_assert_eq(raw_int("SELECT count(*) FROM messages"), 0);
}

Test(store, body_shared_and_removed_after_last_reference)
{
    SQLITE_ONLY();
    store *st = open_store();
    add_session(st, "c1");
    add_session(st, "c2");
    cr_assert_eq(add_msg(st, "c1", msg(7, "shared", "body")), 0);
    cr_assert_eq(add_msg(st, "c2", msg(7, "shared", "body")), 0);
    store_close(st);
    cr_assert_eq(raw_int("SELECT count(*) FROM messages"), 1, "body stored once");
    cr_assert_eq(raw_int("SELECT count(*) FROM session_msgs"), 2);
    st = open_store();
    cr_assert_eq(delete_msg(st, "c1", 7), 0);
    store_close(st);
    cr_assert_eq(raw_int("SELECT count(*) FROM messages"), 1, "c2 still holds it");
    st = open_store();
    cr_assert_eq(delete_msg(st, "c2", 7), 0);
    store_close(st);
    cr_assert_eq(raw_int("SELECT count(*) FROM messages"), 0);
}

Test(store, session_delete_cascades_messages)
{
    store *st = open_store();
    add_session(st, "c1");
    add_session(st, "c2");
    cr_assert_eq(add_msg(st, "c1", msg(1, "a", "x")), 0);
    cr_assert_eq(add_msg(st, "c1", msg(2, "b", "y")), 0);
    cr_assert_eq(add_msg(st, "c2", msg(2, "b", "y")), 0);
    /* replacing the session document must not drop its queue */
    cr_assert_eq(store_sync(st, put_v2, "c1"), 0);
    seen s = {0};
    each_args a = {&s, "c1", 99};
    cr_assert_eq(store_sync(st, msgs_each, &a), 0);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(store_sync(st, do_delete_session, "c1"), 0);
    s = (seen){0};
    cr_assert_eq(store_sync(st, msgs_each, &a), 0);
    cr_assert_eq(s.n, 0);
    s = (seen){0};
    a.client = "c2";
    cr_assert_eq(store_sync(st, msgs_each, &a), 0);
    cr_assert_eq(s.n, 1, "the other session keeps its copy");
    store_close(st);
    if (test_mongo())
        return;
    cr_assert_eq(raw_int("SELECT count(*) FROM session_msgs"), 1);
    cr_assert_eq(raw_int("SELECT count(*) FROM messages"), 1, "mid 1 gone, mid 2 kept for c2");
    cr_assert_eq(raw_int("SELECT mid FROM messages"), 2);
}

Test(store, max_id_is_the_highest_live_mid)
{
    store *st = open_store();
    cr_assert_eq(max_id(st), 0);
    add_session(st, "c1");
    cr_assert_eq(add_msg(st, "c1", msg(5, "a", "x")), 0);
    cr_assert_eq(add_msg(st, "c1", msg(9, "a", "x")), 0);
    cr_assert_eq(max_id(st), 9);
    store_close(st);
    st = open_store();
    cr_assert_eq(max_id(st), 9, "survives a reopen");
    cr_assert_eq(delete_msg(st, "c1", 9), 0);
    cr_assert_eq(max_id(st), 5, "only live rows count: new ids start above them");
    cr_assert_eq(delete_msg(st, "c1", 5), 0);
    cr_assert_eq(max_id(st), 0);
    store_close(st);
}

/* The MongoDB twins of the damaged rows below, one per decoder check. */
static void plant_bad_mongo_msgs(void)
{
#define BIN_A "{\"$binary\": {\"base64\": \"YQ==\", \"subType\": \"00\"}}"
#define BIN_0 "{\"$binary\": {\"base64\": \"\", \"subType\": \"00\"}}"
    static const char *const docs[] = {
        /* unknown state */
        "{\"_id\": 2, \"c\": \"c1\", \"m\": 2, \"q\": 1, \"r\": false, \"s\": 7, \"p\": 0,"
        " \"t\": " BIN_A ", \"b\": " BIN_A "}",
        /* body missing */
        "{\"_id\": 3, \"c\": \"c1\", \"m\": 3, \"q\": 1, \"r\": false, \"s\": 0, \"p\": 0}",
        /* empty topic */
        "{\"_id\": 4, \"c\": \"c1\", \"m\": 4, \"q\": 1, \"r\": false, \"s\": 0, \"p\": 0,"
        " \"t\": " BIN_0 ", \"b\": " BIN_A "}",
        /* pid out of range */
        "{\"_id\": 5, \"c\": \"c1\", \"m\": 5, \"q\": 1, \"r\": false, \"s\": 0, \"p\": 70000,"
        " \"t\": " BIN_A ", \"b\": " BIN_A "}",
        /* qos of the wrong type */
        "{\"_id\": 6, \"c\": \"c1\", \"m\": 6, \"q\": \"x\", \"r\": false, \"s\": 0, \"p\": 0,"
        " \"t\": " BIN_A ", \"b\": " BIN_A "}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        raw_mongo_insert("session_msgs", docs[i]);
}

Test(store, corrupt_message_rows_skipped_and_counted)
{
    store *st = open_store();
    add_session(st, "c1");
    cr_assert_eq(add_msg(st, "c1", msg(1, "a", "x")), 0);
    store_close(st);
    if (test_mongo())
        plant_bad_mongo_msgs();
    else
        raw_exec("PRAGMA foreign_keys=OFF;"
                 "INSERT INTO messages VALUES(2, x'61', x'78', 0);"
                 "INSERT INTO session_msgs VALUES('c1', 2, 1, 7, 0);" /* unknown state */
                 "INSERT INTO session_msgs VALUES('c1', 3, 1, 0, 0);" /* body missing */
                 "INSERT INTO messages VALUES(4, x'', x'78', 0);"     /* empty topic */
                 "INSERT INTO session_msgs VALUES('c1', 4, 1, 0, 0);"
                 "INSERT INTO messages VALUES(5, x'61', x'78', 0);"
                 "INSERT INTO session_msgs VALUES('c1', 5, 1, 0, 70000);" /* pid range */
                 "INSERT INTO messages VALUES(6, x'61', x'78', 0);"
                 "INSERT INTO session_msgs VALUES('c1', 6, 'x', 0, 0);"); /* qos type */
    st = open_store();
    seen s = {0};
    each_args a = {&s, "c1", 99};
    cr_assert_eq(store_sync(st, msgs_each, &a), 0);
    cr_assert_eq(a.rc, 0);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.m[0].mid, 1);
    store_stats stats;
    store_stats_get(st, &stats);
    cr_assert_eq(stats.rows_skipped, 5);
    store_close(st);
}

/* ---- retained --------------------------------------------------------------------- */

typedef struct ret_seen {
    int n, stop_at;
    char topic[8][16];
    char payload[8][16];
    uint8_t qos[8];
} ret_seen;

static int collect_ret(void *arg, const store_retained *r)
{
    ret_seen *s = arg;
    cr_assert_lt(s->n, 8);
    snprintf(s->topic[s->n], 16, "%.*s", (int)r->topic_len, (const char *)r->topic);
    snprintf(s->payload[s->n], 16, "%.*s", (int)r->payload_len, (const char *)r->payload);
    s->qos[s->n] = r->qos;
    return ++s->n == s->stop_at ? 5 : 0;
}

typedef struct ret_op {
    const char *topic, *payload;
    uint8_t qos;
    int rc;
    ret_seen *s;
} ret_op;

#define RET(t, p, q) ((ret_op){.topic = (t), .payload = (p), .qos = (q)})

static int do_ret_put(store_tx *tx, void *arg)
{
    ret_op *o = arg;
    store_retained r = {(const uint8_t *)o->topic, (uint16_t)strlen(o->topic), o->qos,
                        (const uint8_t *)o->payload, (uint32_t)strlen(o->payload)};
    o->rc = store_retained_put(tx, &r);
    return 0;
}

static int do_ret_delete(store_tx *tx, void *arg)
{
    ret_op *o = arg;
    o->rc = store_retained_delete(tx, (const uint8_t *)o->topic, (uint16_t)strlen(o->topic));
    return 0;
}

static int do_ret_each(store_tx *tx, void *arg)
{
    ret_op *o = arg;
    o->rc = store_retained_each(tx, collect_ret, o->s);
    return 0;
}

static int ret_run(store *st, int (*fn)(store_tx *, void *), ret_op o)
{
    o.rc = 99;
    cr_assert_eq(store_sync(st, fn, &o), 0);
    return o.rc;
}

static int ret_find(const ret_seen *s, const char *topic)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->topic[i], topic) == 0)
            return i;
    return -1;
}

Test(store, retained_put_replace_delete_each)
{
    store *st = open_store();
    cr_assert_eq(ret_run(st, do_ret_put, RET("a/b", "one", 1)), 0);
    cr_assert_eq(ret_run(st, do_ret_put, RET("c", "two", 0)), 0);
    cr_assert_eq(ret_run(st, do_ret_put, RET("a/b", "three", 2)), 0);
    cr_assert_eq(ret_run(st, do_ret_put, RET("d", "four", 0)), 0);
    ret_seen s = {0};
    cr_assert_eq(ret_run(st, do_ret_each, (ret_op){.s = &s}), 0);
    cr_assert_eq(s.n, 3);
    int i = ret_find(&s, "a/b");
    cr_assert_geq(i, 0);
    cr_assert_str_eq(s.payload[i], "three");
    cr_assert_eq(s.qos[i], 2);

    cr_assert_eq(ret_run(st, do_ret_delete, RET("c", "", 0)), 0);
    cr_assert_eq(ret_run(st, do_ret_delete, RET("c", "", 0)), STORE_ENOTFOUND);
    cr_assert_eq(ret_run(st, do_ret_put, RET("d", "", 0)), 0, "empty payload deletes");
    cr_assert_eq(ret_run(st, do_ret_put, RET("zz", "", 0)), 0, "nothing to delete: fine");
    cr_assert_eq(ret_run(st, do_ret_put, RET("", "x", 0)), STORE_EINVAL);
    cr_assert_eq(ret_run(st, do_ret_put, RET("q", "x", 3)), STORE_EINVAL);
    cr_assert_eq(ret_run(st, do_ret_delete, RET("", "", 0)), STORE_EINVAL);
    s = (ret_seen){0};
    cr_assert_eq(ret_run(st, do_ret_each, (ret_op){.s = &s}), 0);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.topic[0], "a/b");
    store_close(st);

    if (test_mongo()) {
        raw_mongo_insert("retained", "{\"_id\": \"x\", \"q\": 9, \"b\": " BIN_A "}");
        raw_mongo_insert("retained", "{\"_id\": \"y\", \"q\": 1, \"b\": " BIN_0 "}");
        raw_mongo_insert("retained", "{\"_id\": \"z\", \"q\": 1, \"b\": " BIN_A "}");
    } else {
        raw_exec("INSERT INTO retained VALUES(x'78', 9, x'01');"
                 "INSERT INTO retained VALUES(x'79', 1, x'');"
                 "INSERT INTO retained VALUES(x'7a', 1, x'02');");
    }
    st = open_store();
    s = (ret_seen){.stop_at = 1};
    cr_assert_eq(ret_run(st, do_ret_each, (ret_op){.s = &s}), 5, "early stop");
    s = (ret_seen){0};
    cr_assert_eq(ret_run(st, do_ret_each, (ret_op){.s = &s}), 0);
    cr_assert_eq(s.n, 2, "bad qos and empty payload rows skipped");
    store_stats stats;
    store_stats_get(st, &stats);
    cr_assert_geq(stats.rows_skipped, 2);
    store_close(st);
}

/* ---- store_sync, store_check, strerror -------------------------------------------- */

static int put_then_fail(store_tx *tx, void *arg)
{
    cr_assert_eq(put_session(tx, arg), 0);
    return STORE_EINVAL;
}

Test(store, sync_rolls_back_when_fn_fails)
{
    SQLITE_ONLY();
    store *st = open_store();
    cr_assert_eq(store_sync(st, put_then_fail, "lost"), STORE_EINVAL);
    cr_assert_eq(store_sync(st, NULL, NULL), STORE_EINVAL);
    cr_assert_eq(store_sync(NULL, put_session, "x"), STORE_EINVAL);
    store_close(st);
    cr_assert_eq(raw_int("SELECT count(*) FROM sessions"), 0);
}

Test(store, check_ok)
{
    store *st = open_store();
    add_session(st, "x");
    char msg[64] = "junk";
    cr_assert_eq(store_check(st, msg, sizeof msg), 0);
    cr_assert_str_eq(msg, "ok");
    cr_assert_eq(store_check(NULL, msg, sizeof msg), STORE_EINVAL);
    cr_assert_eq(store_check(st, NULL, 0), 0);
    store_close(st);
}

Test(store, check_reports_damage)
{
    SQLITE_ONLY();
    store *st = open_store();
    store_close(st);
    /* An index that disagrees with its table: integrity_check must say so. */
    raw_exec("CREATE TABLE t(a INTEGER); CREATE INDEX t_a ON t(a);"
             "INSERT INTO t VALUES(1),(2),(3);"
             "PRAGMA writable_schema=ON;"
             "UPDATE sqlite_schema SET sql='CREATE INDEX t_a ON t(a DESC)' WHERE name='t_a';");
    st = open_store();
    char msg[256] = "";
    cr_assert_lt(store_check(st, msg, sizeof msg), 0);
    cr_assert_str_neq(msg, "ok");
    cr_assert_neq(msg[0], '\0');
    store_close(st);
}

Test(store, strerror_names_every_code)
{
    static const int codes[] = {STORE_OK,       STORE_ENOTFOUND, STORE_EEXISTS,
                                STORE_ECORRUPT, STORE_EIO,       STORE_ENOMEM,
                                STORE_EINVAL,   STORE_ESCHEMA,   STORE_ECLOSED};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = store_strerror(codes[i]);
        cr_assert_not_null(s);
        cr_assert_str_neq(s, "unknown store error", "code %d", codes[i]);
        for (size_t k = 0; k < i; k++)
            cr_assert_str_neq(s, store_strerror(codes[k]));
    }
    cr_assert_str_eq(store_strerror(-100), "unknown store error");
    cr_assert_str_eq(store_strerror(5), "unknown store error");
}
