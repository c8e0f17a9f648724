/*
 * Device notifications against a real store file: the allow-list and notification records
 * (store/recipients.c, store/notifications.c), devnotify_record's decisions and outbox
 * items, the hook devnotify_on_message through the store thread, and the notifier setting
 * a record's status when its item is delivered (log channels).
 */
#include <fcntl.h>

#include "notify/devnotify.h"
#include "notify/notify.h"
#include "store/store_app.h"
#include "store_util.h"
#include "test_util.h"

static store *st;

static void setup(void)
{
    tmp_setup();
    st = open_store();
    int fd = open("/dev/null", O_WRONLY); /* the notifier's log lines */
    dup2(fd, STDERR_FILENO);
    close(fd);
}

static void teardown(void)
{
    store_close(st);
    tmp_teardown();
}

TestSuite(devnotify, .init = setup, .fini = teardown, .timeout = 60);

/* ---- fixtures --------------------------------------------------------------------------- */

typedef struct fixture {
    const char *user, *email, *dev;
    bool confirmed;
} fixture;

static int make_fn(store_tx *tx, void *arg)
{
    const fixture *f = arg;
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&doc, "confirmed", f->confirmed);
    char uname[80];
    snprintf(uname, sizeof uname, "name-%s", f->user);
    int rc = store_user_create(tx, f->user, uname, f->email, &doc);
    bson_destroy(&doc);
    if (rc == STORE_EEXISTS)
        rc = 0;
    return rc < 0 ? rc : store_device_create(tx, f->dev, f->user, f->dev, "-", NULL, NULL);
}

static void make(const char *user, const char *email, bool confirmed, const char *dev)
{
    fixture f = {user, email, dev, confirmed};
    cr_assert_eq(store_sync(st, make_fn, &f), 0);
}

typedef struct allow_args {
    const char *user;
    const char *const *list;
    size_t n;
} allow_args;

static int allow_fn(store_tx *tx, void *arg)
{
    const allow_args *a = arg;
    return store_recipients_set(tx, a->user, a->list, a->n);
}

static int allow(const char *user, const char *const *list, size_t n)
{
    allow_args a = {user, list, n};
    return store_sync(st, allow_fn, &a);
}

typedef struct rec_args {
    devnotify_req rq;
    devnotify_result res;
} rec_args;

static int rec_fn(store_tx *tx, void *arg)
{
    rec_args *a = arg;
    return devnotify_record(tx, &a->rq, 100, &a->res);
}

static int record(const char *dev, const char *owner, const char *to, const char *msg,
                  devnotify_result *res)
{
    rec_args a = {
        .rq = {.device_id = dev, .owner_id = owner, .recipient = to, .message = msg, .now = 1000}};
    int rc = store_sync(st, rec_fn, &a);
    *res = a.res;
    return rc;
}

/* The notifications of @dev as "status/reason/channel/recipient" lines, newest first. */
typedef struct rows {
    char line[120][200];
    int64_t id[120];
    int32_t attempts[120];
    unsigned n;
    bool more;
} rows;

static int row_cb(void *arg, const store_notification *n)
{
    rows *r = arg;
    snprintf(r->line[r->n], sizeof r->line[0], "%s/%s/%s/%s", n->status,
             n->reason ? n->reason : "-", n->channel, n->recipient);
    r->attempts[r->n] = n->attempts;
    r->id[r->n++] = n->id;
    return 0;
}

typedef struct list_args {
    const char *owner, *dev;
    int64_t before;
    unsigned limit;
    rows *r;
} list_args;

static int list_fn(store_tx *tx, void *arg)
{
    list_args *a = arg;
    return store_notification_list(tx, a->owner, a->dev, a->before, a->limit, row_cb, a->r,
                                   &a->r->more);
}

static rows *list(const char *owner, const char *dev, int64_t before, unsigned limit)
{
    static rows r;
    memset(&r, 0, sizeof r);
    list_args a = {owner, dev, before, limit, &r};
    cr_assert_eq(store_sync(st, list_fn, &a), 0);
    return &r;
}

/* Outbox items as "kind:to" in id order. */
typedef struct items {
    char line[16][300];
    unsigned n;
} items;

static int item_cb(void *arg, int64_t id, const char *kind, int32_t attempts, const bson_t *doc)
{
    items *it = arg;
    bson_iter_t i;
    const char *to = bson_iter_init_find(&i, doc, "to") ? bson_iter_utf8(&i, NULL) : "?";
    snprintf(it->line[it->n++], sizeof it->line[0], "%s:%s", kind, to);
    return 0;
}

static int claim_fn(store_tx *tx, void *arg)
{
    return store_outbox_claim(tx, INT64_MAX / 2, 1, 16, item_cb, arg);
}

static items *outbox(void)
{
    static items it;
    memset(&it, 0, sizeof it);
    cr_assert_eq(store_sync(st, claim_fn, &it), 0);
    return &it;
}

/* ---- store: allow-list --------------------------------------------------------------------- */

typedef struct collect {
    char s[8][64];
    unsigned n;
} collect;

static int collect_cb(void *arg, const char *r)
{
    collect *c = arg;
    snprintf(c->s[c->n++], sizeof c->s[0], "%s", r);
    return 0;
}

typedef struct each_args {
    const char *user;
    collect *c;
    const char *probe;
    int allowed;
} each_args;

static int each_fn(store_tx *tx, void *arg)
{
    each_args *a = arg;
    a->allowed = store_recipient_allowed(tx, a->user, a->probe);
    return store_recipients_each(tx, a->user, collect_cb, a->c);
}

Test(devnotify, allow_list_replaces_and_ignores_case)
{
    const char *l1[] = {"Bob@Example.com", "+441234567890", "bob@example.COM"};
    cr_assert_eq(allow("u1", l1, 3), 0);
    collect c = {0};
    each_args a = {"u1", &c, "BOB@example.com", 1};
    cr_assert_eq(store_sync(st, each_fn, &a), 0);
    cr_expect_eq(c.n, 2, "case-insensitive duplicates are one entry");
    cr_expect_eq(a.allowed, 0);
    collect c2 = {0};
    a = (each_args){"u2", &c2, "Bob@Example.com", 1};
    cr_assert_eq(store_sync(st, each_fn, &a), 0);
    cr_expect_eq(a.allowed, STORE_ENOTFOUND, "another user's list");
    const char *l2[] = {"+15555550100"};
    cr_assert_eq(allow("u1", l2, 1), 0);
    memset(&c, 0, sizeof c);
    a = (each_args){"u1", &c, "bob@example.com", 1};
    cr_assert_eq(store_sync(st, each_fn, &a), 0);
    cr_expect_eq(c.n, 1, "replaced");
    cr_expect_str_eq(c.s[0], "+15555550100");
    cr_expect_eq(a.allowed, STORE_ENOTFOUND);
    cr_expect_eq(allow("u1", NULL, 0), 0, "cleared");
    const char *bad[] = {""};
    cr_expect_eq(allow("u1", bad, 1), STORE_EINVAL);
}

/* ---- store: records --------------------------------------------------------------------- */

typedef struct add_args {
    const char *dev;
    int n;
    unsigned keep;
} add_args;

static int add_fn(store_tx *tx, void *arg)
{
    const add_args *a = arg;
    for (int i = 0; i < a->n; i++) {
        store_notification n = {.device_id = a->dev,
                                .owner_id = "u1",
                                .channel = "mail",
                                .recipient = "a@b.co",
                                .status = "refused",
                                .reason = "rate_limited",
                                .created_at = i};
        int rc = store_notification_add(tx, &n, a->keep, NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

Test(devnotify, records_are_capped_per_device_and_paged_newest_first)
{
    add_args a = {"dA", 130, 100};
    cr_assert_eq(store_sync(st, add_fn, &a), 0);
    a = (add_args){"dB", 3, 100};
    cr_assert_eq(store_sync(st, add_fn, &a), 0);
    cr_expect_eq(raw_int("SELECT count(*) FROM notifications WHERE device_id = 'dA'"), 100);
    cr_expect_eq(raw_int("SELECT count(*) FROM notifications WHERE device_id = 'dB'"), 3);
    cr_expect_eq(raw_int("SELECT min(created_at) FROM notifications WHERE device_id = 'dA'"), 30,
                 "the oldest went");
    rows *r = list("u1", "dA", 0, 40);
    cr_expect_eq(r->n, 40);
    cr_expect(r->more);
    cr_expect_gt(r->id[0], r->id[39], "newest first");
    int64_t last = r->id[39];
    r = list("u1", "dA", last, 100);
    cr_expect_eq(r->n, 60);
    cr_expect_not(r->more);
    cr_expect_lt(r->id[0], last);
    cr_expect_eq(list("someone-else", "dA", 0, 10)->n, 0, "owner-checked");
}

typedef struct fin_args {
    int64_t id;
    int rc;
} fin_args;

static int fin_fn(store_tx *tx, void *arg)
{
    fin_args *a = arg;
    a->rc = store_notification_finish(tx, a->id, "failed", 3, "SMS gateway answered HTTP 400", 0);
    return 0;
}

Test(devnotify, finish_sets_the_outcome)
{
    add_args a = {"dA", 1, 100};
    cr_assert_eq(store_sync(st, add_fn, &a), 0);
    rows *r = list("u1", "dA", 0, 10);
    fin_args f = {r->id[0], 1};
    cr_assert_eq(store_sync(st, fin_fn, &f), 0);
    cr_expect_eq(f.rc, 0);
    r = list("u1", "dA", 0, 10);
    cr_expect_str_eq(r->line[0], "failed/rate_limited/mail/a@b.co");
    cr_expect_eq(r->attempts[0], 3);
    f = (fin_args){999999, 1};
    cr_assert_eq(store_sync(st, fin_fn, &f), 0);
    cr_expect_eq(f.rc, STORE_ENOTFOUND, "a trimmed record");
}

/* ---- devnotify_record ---------------------------------------------------------------- */

Test(devnotify, record_allows_own_confirmed_email_and_the_allow_list)
{
    make("u1", "owner@example.com", true, "d1");
    devnotify_result res;
    cr_assert_eq(record("d1", NULL, "OWNER@example.com", "hi", &res), 0);
    cr_expect_str_eq(res.status, "queued", "own confirmed address, any case");
    cr_assert_eq(record("d1", "u1", "+441234567890", "sms text", &res), 0);
    cr_expect_str_eq(res.status, "refused");
    cr_expect_str_eq(res.reason, "recipient_not_allowed");
    const char *l[] = {"+441234567890"};
    cr_assert_eq(allow("u1", l, 1), 0);
    cr_assert_eq(record("d1", "u1", "+441234567890", "sms text", &res), 0);
    cr_expect_str_eq(res.status, "queued");
    cr_assert_eq(record("d1", NULL, "stranger@example.com", "spam", &res), 0);
    cr_expect_str_eq(res.reason, "recipient_not_allowed");
    cr_assert_eq(record("d1", NULL, "not-an-address", "x", &res), 0);
    cr_expect_str_eq(res.reason, "invalid_payload");
    rows *r = list("u1", "d1", 0, 10);
    cr_assert_eq(r->n, 5);
    cr_expect_str_eq(r->line[0], "refused/invalid_payload/none/");
    cr_expect_str_eq(r->line[1], "refused/recipient_not_allowed/mail/stranger@example.com");
    cr_expect_str_eq(r->line[2], "queued/-/sms/+441234567890");
    cr_expect_str_eq(r->line[4], "queued/-/mail/OWNER@example.com");
    items *it = outbox();
    cr_assert_eq(it->n, 2, "only the allowed ones reach the outbox");
    cr_expect_str_eq(it->line[0], "mail:OWNER@example.com");
    cr_expect_str_eq(it->line[1], "sms:+441234567890");
}

Test(devnotify, record_refuses_an_unconfirmed_email_and_foreign_devices)
{
    make("u1", "new@example.com", false, "d1");
    make("u2", "other@example.com", true, "d2");
    devnotify_result res;
    cr_assert_eq(record("d1", NULL, "new@example.com", "hi", &res), 0);
    cr_expect_str_eq(res.reason, "recipient_not_allowed", "not confirmed yet");
    cr_expect_eq(record("d2", "u1", "other@example.com", "hi", &res), STORE_ENOTFOUND);
    cr_expect_eq(record("nope", NULL, "other@example.com", "hi", &res), STORE_ENOTFOUND);
    cr_expect_eq(list("u2", "d2", 0, 10)->n, 0, "nothing recorded for a foreign request");
    cr_expect_eq(outbox()->n, 0);
}

/* ---- the hook, through the store thread --------------------------------------------------- */

static unsigned count_rows(const char *owner, const char *dev)
{
    return list(owner, dev, 0, 1000)->n;
}

static void publish(devnotify *dn, const char *dev, const char *api, const char *json)
{
    devnotify_on_message(dn, NULL, dev, api, (const uint8_t *)json, strlen(json));
}

Test(devnotify, hook_records_refuses_and_rate_limits)
{
    make("u1", "owner@example.com", true, "d1");
    cr_assert_eq(store_start(st), 0);
    devnotify_opts o = {.rate_per_min = 1, .burst = 3};
    devnotify *dn = devnotify_new(st, NULL, NULL, &o);
    cr_assert_not_null(dn);
    publish(dn, "d1", "something_else", "{\"recipient\":\"owner@example.com\",\"message\":\"x\"}");
    publish(dn, "d1", "trigger_notification",
            "{\"recipient\":\"owner@example.com\",\"message\":\"hello\",\"rid\":\"r7\",\"ts\":1}");
    publish(dn, "d1", "trigger_notifications", "[1,2]");
    WAIT_FOR(count_rows("u1", "d1") == 2, 5000);
    rows *r = list("u1", "d1", 0, 10);
    cr_assert_eq(r->n, 2, "other apis are ignored");
    cr_expect_str_eq(r->line[0], "refused/invalid_payload/none/");
    cr_expect_str_eq(r->line[1], "queued/-/mail/owner@example.com");
    for (int i = 0; i < 5; i++)
        publish(dn, "d1", "trigger_notification",
                "{\"recipient\":\"owner@example.com\",\"message\":\"again\"}");
    WAIT_FOR(count_rows("u1", "d1") == 4, 5000);
    usleep(100000); /* nothing more may come */
    r = list("u1", "d1", 0, 10);
    cr_assert_eq(r->n, 4, "burst 3: one more, then one rate_limited record for the run");
    cr_expect_str_eq(r->line[0], "refused/rate_limited/none/");
    cr_expect_str_eq(r->line[1], "queued/-/mail/owner@example.com");
    store_close(st);
    st = open_store();
    devnotify_free(dn);
}

/* ---- the notifier finishes records ----------------------------------------------------------- */

typedef struct get_args {
    const char *status;
    int32_t attempts;
    bool sent_at;
} get_args;

static int get_cb(void *arg, const store_notification *n)
{
    get_args *g = arg;
    static char s[16];
    snprintf(s, sizeof s, "%s", n->status);
    *g = (get_args){s, n->attempts, n->sent_at != 0};
    return 0;
}

static int get_fn(store_tx *tx, void *arg)
{
    return store_notification_list(tx, "u1", "d1", 0, 1, get_cb, arg, NULL);
}

Test(devnotify, notifier_marks_records_sent)
{
    make("u1", "owner@example.com", true, "d1");
    const char *l[] = {"+441234567890"};
    cr_assert_eq(allow("u1", l, 1), 0);
    devnotify_result res;
    cr_assert_eq(record("d1", NULL, "+441234567890", "via the log", &res), 0);
    char err[256];
    notify_opts no = {.st = st};
    notify *nt = notify_start(&no, err, sizeof err);
    cr_assert_not_null(nt, "%s", err);
    get_args g = {0};
    for (int i = 0; i < 500 && !(g.status && !strcmp(g.status, "sent")); i++) {
        usleep(10000);
        cr_assert_eq(store_sync(st, get_fn, &g), 0);
    }
    notify_stop(nt);
    cr_expect_str_eq(g.status, "sent");
    cr_expect_eq(g.attempts, 1);
    cr_expect(g.sent_at);
    cr_expect_eq(raw_int("SELECT count(*) FROM outbox"), 0);
}
