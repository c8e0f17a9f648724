/*
 * The notifier (notify/notify.h) against a real store file: the log channel, SMTP to a
 * closed port (retries, giving up), SMTP to a real aiosmtpd server started by the test
 * (delivery, permanent 5xx), and the refusals of notify_mail_add / notify_start.
 *
 * Each test sends stderr (the server log) to a file so it can check what was logged.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/clock.h"
#include "notify/notify.h"
#include "notify/notify_int.h"
#include "store/store_app.h"
#include "store_util.h"
#include "test_util.h"

extern char **environ;

static store *st;
static char logpath[160];

static void setup(void)
{
    tmp_setup();
    st = open_store();
    snprintf(logpath, sizeof logpath, "%s/stderr.log", tdir);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_geq(dup2(fd, STDERR_FILENO), 0); /* Criterion runs each test in its own process */
    close(fd);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void teardown(void)
{
    store_close(st);
    nftw(tdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(notify, .init = setup, .fini = teardown, .timeout = 60);

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct mail_args {
    const char *to, *subject, *text;
} mail_args;

static int add_fn(store_tx *tx, void *arg)
{
    const mail_args *a = arg;
    return notify_mail_add(tx, a->to, a->subject, a->text, clock_wall_ms());
}

static int add_mail(const char *to, const char *subject, const char *text)
{
    mail_args a = {to, subject, text};
    return store_sync(st, add_fn, &a);
}

static char *read_file(const char *p)
{
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f, "%s", p);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static notify_stats stats(notify *n)
{
    notify_stats s;
    notify_stats_get(n, &s);
    return s;
}

static notify *start(const notify_opts *o)
{
    char err[256];
    notify *n = notify_start(o, err, sizeof err);
    cr_assert_not_null(n, "notify_start: %s", err);
    return n;
}

/* A TCP port on 127.0.0.1 that was free a moment ago (bound, then closed). */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static long long outbox_count(const char *where)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE %s", where);
    return raw_int(sql);
}

/* The document of the only outbox row of @kind. */
static bson_t *outbox_doc(const char *kind)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    cr_assert_eq(sqlite3_open(tpath, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT doc FROM outbox WHERE kind = ?1", -1, &s, NULL),
                 SQLITE_OK);
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "no %s row", kind);
    bson_t *doc = bson_new_from_data(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
    cr_assert_not_null(doc);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return doc;
}

static const char *doc_str(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it), "no %s", key);
    return bson_iter_utf8(&it, NULL);
}

/* ---- log channel -------------------------------------------------------------------- */

Test(notify, log_channel_delivers_and_deletes)
{
    cr_assert_eq(add_mail("alice@example.com", "Your code", "Hello Alice,\nyour code is 424242.\n"),
                 0);
    notify *n = start(&(notify_opts){.st = st});
    notify_kick(n);
    WAIT_FOR(stats(n).sent == 1, 5000);
    notify_stop(n);
    cr_assert_eq(outbox_count("1"), 0, "a delivered item leaves the outbox");
    const char *log = read_file(logpath);
    /* By design the log channel shows the whole message: the code is readable there. */
    cr_assert_not_null(strstr(log, "alice@example.com"));
    cr_assert_not_null(strstr(log, "Your code"));
    cr_assert_not_null(strstr(log, "your code is 424242."));
}

Test(notify, kick_wakes_the_thread_at_once)
{
    notify *n = start(&(notify_opts){.st = st});
    usleep(100 * 1000); /* the thread found nothing and sleeps (NOTIFY_POLL_MS) */
    cr_assert_eq(add_mail("bob@example.com", "Hi", "text"), 0);
    uint64_t t0 = now_ms();
    notify_kick(n);
    WAIT_FOR(stats(n).sent == 1, 5000);
    uint64_t took = now_ms() - t0;
    notify_stats s = stats(n);
    notify_stop(n);
    cr_assert_eq(s.sent, 1);
    cr_assert_eq(s.retried + s.failed, 0);
    cr_assert_lt(took, NOTIFY_POLL_MS / 2, "kick took %llu ms", (unsigned long long)took);
}

Test(notify, every_due_item_is_sent_beyond_one_batch)
{
    for (int i = 0; i < NOTIFY_BATCH * 2 + 3; i++) {
        cr_assert_eq(add_mail("many@example.com", "Batch", "text"), 0);
    }
    notify *n = start(&(notify_opts){.st = st});
    WAIT_FOR(stats(n).sent == NOTIFY_BATCH * 2 + 3, 5000);
    notify_stop(n);
    cr_assert_eq(outbox_count("1"), 0);
}

/* ---- refusals ----------------------------------------------------------------------- */

Test(notify, header_injection_and_bad_fields_are_refused)
{
    cr_assert_eq(add_mail("a@example.com\r\nBcc: evil@example.com", "s", "t"), STORE_EINVAL);
    cr_assert_eq(add_mail("a@example.com\n", "s", "t"), STORE_EINVAL);
    cr_assert_eq(add_mail("a@example.com", "Hi\r\nBcc: evil@example.com", "t"), STORE_EINVAL);
    cr_assert_eq(add_mail("a@example.com", "Hi\rX", "t"), STORE_EINVAL);
    cr_assert_eq(add_mail("a@example.com", "", "t"), STORE_EINVAL);
    cr_assert_eq(add_mail("a@example.com", "s", NULL), STORE_EINVAL);
    cr_assert_eq(add_mail(NULL, "s", "t"), STORE_EINVAL);
    cr_assert_eq(add_mail("no-at-sign", "s", "t"), STORE_EINVAL);
    cr_assert_eq(add_mail("a@example.com, b@example.com", "s", "t"), STORE_EINVAL);
    cr_assert_eq(add_mail("<a@example.com>", "s", "t"), STORE_EINVAL);
    cr_assert_eq(outbox_count("1"), 0, "nothing refused was queued");
    /* The text may have line breaks of its own. */
    cr_assert_eq(add_mail("a@example.com", "s", "line 1\r\nline 2\n"), 0);
    cr_assert_eq(outbox_count("1"), 1);
}

Test(notify, start_refuses_bad_options)
{
    char err[256] = "";
    cr_assert_null(notify_start(&(notify_opts){0}, err, sizeof err));
    cr_assert_neq(err[0], 0);
    err[0] = 0;
    cr_assert_null(
        notify_start(&(notify_opts){.st = st, .smtp_url = "http://127.0.0.1:1"}, err, sizeof err));
    cr_assert_not_null(strstr(err, "smtp"));
    cr_assert_null(
        notify_start(&(notify_opts){.st = st, .from = "x@y.z\r\nBcc: a@b.c"}, err, sizeof err));
    notify_stop(NULL); /* ignored */
    notify_kick(NULL);
    notify_stats s = {1, 1, 1};
    notify_stats_get(NULL, &s);
    cr_assert_eq(s.sent + s.retried + s.failed, 0);
}

static int add_raw_fn(store_tx *tx, void *arg)
{
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&doc, "to", "x@example.com\r\nBcc: evil@example.com");
    BSON_APPEND_UTF8(&doc, "subject", "s");
    BSON_APPEND_UTF8(&doc, "text", "t");
    int rc = store_outbox_add(tx, "mail", &doc, 0, NULL);
    if (rc == 0)
        rc = store_outbox_add(tx, "webhook", &doc, 0, NULL);
    bson_destroy(&doc);
    return rc;
}

Test(notify, malformed_or_unknown_items_are_recorded_as_failed)
{
    cr_assert_eq(store_sync(st, add_raw_fn, NULL), 0);
    notify *n = start(&(notify_opts){.st = st});
    WAIT_FOR(stats(n).failed == 2, 5000);
    notify_stats s = stats(n);
    notify_stop(n);
    cr_assert_eq(s.failed, 2);
    cr_assert_eq(s.sent + s.retried, 0);
    cr_assert_eq(outbox_count("kind = 'mail.failed' AND due_at = 9223372036854775807"), 2);
    cr_assert_eq(outbox_count("kind <> 'mail.failed'"), 0);
    /* The bad value never reaches the log (it would forge a log line). */
    cr_assert_null(strstr(read_file(logpath), "evil@example.com"));
}

/* ---- backoff ------------------------------------------------------------------------ */

Test(notify, backoff_doubles_and_is_capped)
{
    cr_assert_eq(notify__backoff(2000, 0), 2000);
    cr_assert_eq(notify__backoff(2000, 1), 4000);
    cr_assert_eq(notify__backoff(2000, 3), 16000);
    cr_assert_eq(notify__backoff(2000, 11), NOTIFY_BACKOFF_CAP);
    cr_assert_eq(notify__backoff(2000, INT32_MAX), NOTIFY_BACKOFF_CAP);
    cr_assert_eq(notify__backoff(UINT32_MAX, 0), NOTIFY_BACKOFF_CAP);
}

/* ---- SMTP: nobody listening --------------------------------------------------------- */

Test(notify, smtp_connection_refused_is_retried_later)
{
    char url[128];
    snprintf(url, sizeof url, "smtp://notifyuser:url-secret-pw@127.0.0.1:%d", free_port());
    cr_assert_eq(add_mail("carol@example.com", "Code", "secret body 777111"), 0);
    int64_t before = clock_wall_ms();
    notify *n = start(&(notify_opts){.st = st,
                                     .smtp_url = url,
                                     .smtp_user = "notifyuser",
                                     .smtp_pass = "opt-secret-pw",
                                     .smtp_insecure = true,
                                     .backoff_ms = 60000});
    WAIT_FOR(stats(n).retried == 1, 10000);
    notify_stats s = stats(n);
    notify_stop(n);
    cr_assert_eq(s.retried, 1);
    cr_assert_eq(s.sent + s.failed, 0);
    cr_assert_eq(outbox_count("kind = 'mail' AND attempts = 1"), 1, "kept with one attempt more");
    char where[128];
    snprintf(where, sizeof where, "due_at >= %lld", (long long)(before + 60000));
    cr_assert_eq(outbox_count(where), 1, "due again after the backoff");
    const char *log = read_file(logpath);
    cr_assert_not_null(strstr(log, "carol@example.com"), "the recipient is logged");
    cr_assert_null(strstr(log, "777111"), "the SMTP channel never logs the text");
    cr_assert_null(strstr(log, "secret-pw"), "nor a password");
}

/* A reload's settings (app/reload.c): refused values never reach the notifier; applied
 * ones are used from the next delivery; unused ones are freed (ASan checks the leaks). */
Test(notify, settings_apply_switches_the_next_delivery)
{
    char err[256] = "", url[128];
    cr_assert_null(
        notify_settings_new(&(notify_opts){.smtp_url = "http://127.0.0.1:1"}, err, sizeof err));
    cr_assert_not_null(strstr(err, "smtp"));
    cr_assert_null(
        notify_settings_new(&(notify_opts){.from = "x@y.z\r\nBcc: a@b.c"}, err, sizeof err));
    notify_settings_free(NULL);
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", free_port());
    notify_opts refused = {.st = st, .smtp_url = url, .smtp_insecure = true, .backoff_ms = 60000};
    notify *n = start(&refused);
    cr_assert_eq(add_mail("dave@example.com", "Before", "to a closed port"), 0);
    notify_kick(n);
    WAIT_FOR(stats(n).retried == 1, 10000);
    notify_settings *s1 = notify_settings_new(&refused, err, sizeof err);
    cr_assert_not_null(s1, "%s", err);
    notify_settings_apply(n, s1);
    notify_settings *s2 = notify_settings_new(&(notify_opts){0}, err, sizeof err); /* log */
    cr_assert_not_null(s2, "%s", err);
    notify_settings_apply(n, s2); /* the last applied wins */
    cr_assert_eq(add_mail("erin@example.com", "After", "through the log channel 515051"), 0);
    notify_kick(n);
    WAIT_FOR(stats(n).sent == 1, 5000);
    notify_settings_apply(n, notify_settings_new(&(notify_opts){0}, err, sizeof err));
    notify_stop(n); /* frees settings applied but never taken */
    cr_assert_not_null(strstr(read_file(logpath), "through the log channel 515051"));
}

Test(notify, smtp_gives_up_after_max_attempts)
{
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", free_port());
    cr_assert_eq(add_mail("dave@example.com", "Code", "body"), 0);
    notify *n = start(&(notify_opts){
        .st = st, .smtp_url = url, .smtp_insecure = true, .max_attempts = 3, .backoff_ms = 10});
    WAIT_FOR(stats(n).failed == 1, 10000);
    notify_stats s = stats(n);
    notify_stop(n);
    cr_assert_eq(s.failed, 1);
    cr_assert_eq(s.retried, 2, "attempts 1 and 2 were retried, the third gave up");
    cr_assert_eq(s.sent, 0);
    cr_assert_eq(outbox_count("kind = 'mail'"), 0);
    cr_assert_eq(outbox_count("kind = 'mail.failed' AND due_at = 9223372036854775807"), 1);
    bson_t *doc = outbox_doc("mail.failed");
    cr_assert_str_eq(doc_str(doc, "to"), "dave@example.com");
    cr_assert_not_null(strstr(doc_str(doc, "error"), "onnect"), "%s", doc_str(doc, "error"));
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, doc, "attempts") && bson_iter_int32(&it) == 3);
    bson_destroy(doc);
}

/* ---- SMTP: a real server (aiosmtpd, started by the test) ---------------------------- */

typedef struct smtpd {
    pid_t pid;
    int port;
    char maildir[200];
} smtpd;

static bool port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

/* Starts `python3 -m aiosmtpd` with handler class @cls (found on PYTHONPATH=tdir). */
static void smtpd_start(smtpd *d, const char *cls)
{
    char listen[32], pypath[96];
    d->port = free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", d->port);
    snprintf(d->maildir, sizeof d->maildir, "%s/maildir", tdir);
    snprintf(pypath, sizeof pypath, "PYTHONPATH=%s", tdir);
    char *argv[] = {"/usr/bin/python3", "-m",       "aiosmtpd", "-n", "-l", listen, "-c",
                    (char *)cls,        d->maildir, NULL};
    char *envp[] = {pypath, "PATH=/usr/bin:/bin", NULL};
    cr_assert_eq(posix_spawn(&d->pid, argv[0], NULL, NULL, argv, envp), 0);
    WAIT_FOR(port_open(d->port), 15000);
    cr_assert(port_open(d->port), "aiosmtpd did not start");
}

static void smtpd_stop(smtpd *d)
{
    kill(d->pid, SIGTERM);
    waitpid(d->pid, NULL, 0);
}

/* The only message in the maildir. */
static char *maildir_message(const smtpd *d)
{
    char dir[256], p[600];
    snprintf(dir, sizeof dir, "%s/new", d->maildir);
    DIR *dh = opendir(dir);
    cr_assert_not_null(dh, "%s", dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dh))) {
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            n++;
        }
    }
    closedir(dh);
    cr_assert_eq(n, 1, "%d messages", n);
    return read_file(p);
}

static notify *start_smtp(const smtpd *d)
{
    static char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", d->port);
    return start(&(notify_opts){.st = st,
                                .smtp_url = url,
                                .smtp_insecure = true,
                                .from = "noreply@iot.example",
                                .backoff_ms = 60000});
}

Test(notify, smtp_delivers_to_a_real_server)
{
    smtpd d;
    smtpd_start(&d, "aiosmtpd.handlers.Mailbox");
    cr_assert_eq(add_mail("erin@example.com", "Confirm your account",
                          "Hello Erin,\n.a line starting with a dot\nYour code: 135790\n"),
                 0);
    notify *n = start_smtp(&d);
    WAIT_FOR(stats(n).sent == 1, 15000);
    notify_stats s = stats(n);
    notify_stop(n);
    cr_assert_eq(s.sent, 1, "retried %llu failed %llu", s.retried, s.failed);
    cr_assert_eq(outbox_count("1"), 0);
    char *msg = maildir_message(&d);
    smtpd_stop(&d);
    cr_assert_not_null(strstr(msg, "To: erin@example.com"), "%s", msg);
    cr_assert_not_null(strstr(msg, "From: noreply@iot.example"));
    cr_assert_not_null(strstr(msg, "Subject: Confirm your account"));
    cr_assert_not_null(strstr(msg, "Message-ID: <"));
    cr_assert_not_null(strstr(msg, "@iot.example>"));
    cr_assert_not_null(strstr(msg, "Date: "));
    cr_assert_not_null(strstr(msg, "MIME-Version: 1.0"));
    cr_assert_not_null(strstr(msg, "Content-Type: text/plain; charset=utf-8"));
    cr_assert_not_null(strstr(msg, "X-RcptTo: erin@example.com"), "envelope recipient");
    cr_assert_not_null(strstr(msg, "\n.a line starting with a dot\n"), "dot-stuffing undone");
    cr_assert_not_null(strstr(msg, "Your code: 135790"));
    cr_assert_null(strstr(read_file(logpath), "135790"), "the SMTP channel never logs text");
}

Test(notify, smtp_utf8_subject_is_encoded)
{
    smtpd d;
    smtpd_start(&d, "aiosmtpd.handlers.Mailbox");
    cr_assert_eq(add_mail("f@example.com", "Bestätigung für Sie", "Grüße\n"), 0);
    notify *n = start_smtp(&d);
    WAIT_FOR(stats(n).sent == 1, 15000);
    notify_stop(n);
    char *msg = maildir_message(&d);
    smtpd_stop(&d);
    /* "Bestätigung für Sie" in base64 */
    cr_assert_not_null(strstr(msg, "Subject: =?UTF-8?B?QmVzdMOkdGlndW5nIGbDvHIgU2ll?="), "%s", msg);
}

/* A handler class that refuses every recipient with a permanent 550. */
static void write_rejecter(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/rejecter.py", tdir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("class Reject:\n"
          "    @classmethod\n" /* aiosmtpd hands it the maildir argument */
          "    def from_cli(cls, parser, *args):\n"
          "        return cls()\n"
          "    async def handle_RCPT(self, server, session, envelope, address, options):\n"
          "        return '550 5.1.1 no such user'\n",
          f);
    fclose(f);
}

Test(notify, smtp_permanent_refusal_is_not_retried)
{
    smtpd d;
    write_rejecter();
    smtpd_start(&d, "rejecter.Reject");
    cr_assert_eq(add_mail("nobody@example.com", "Code", "body 246810"), 0);
    notify *n = start_smtp(&d);
    WAIT_FOR(stats(n).failed == 1, 15000);
    notify_stats s = stats(n);
    notify_stop(n);
    smtpd_stop(&d);
    cr_assert_eq(s.failed, 1);
    cr_assert_eq(s.retried + s.sent, 0, "a 5xx is never retried");
    cr_assert_eq(outbox_count("kind = 'mail'"), 0);
    bson_t *doc = outbox_doc("mail.failed");
    cr_assert_not_null(strstr(doc_str(doc, "error"), "SMTP 550"), "%s", doc_str(doc, "error"));
    bson_destroy(doc);
    const char *log = read_file(logpath);
    cr_assert_not_null(strstr(log, "nobody@example.com"));
    cr_assert_null(strstr(log, "246810"));
}
