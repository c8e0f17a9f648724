/*
 * cmd_user — `iotcloud user add`: creates an account from the command line, typically the
 * first administrator of a fresh installation (the REST sign-up never makes one).
 *
 *   iotcloud user add [--admin] [--email E] [--given-name G] [--family-name F]
 *                     [--data-dir D | --store FILE] [--config FILE] [--password-stdin] NAME
 *
 * The password comes from stdin (one line) with --password-stdin or when stdin is not a
 * terminal, else from two prompts on the terminal with echo off; it is checked against the
 * account rules, hashed (Argon2id: blocking is fine here) and wiped from memory. The user
 * document follows api/accounts/auth.h; the account is confirmed at once (an operator made it).
 * Without --email the address is NAME@localhost.localdomain (acct_rules wants a dot in
 * the domain); it can be changed later over REST.
 * Exit: 0 created, 1 refused (taken, weak password, store error), 2 usage.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "app/cmd.h"
#include "common/clock.h"
#include "common/log.h"
#include "ident/acct_rules.h"
#include "ident/passwd.h"
#include "store/store_app.h"

#define DEFAULT_EMAIL_DOMAIN "localhost.localdomain"
#define PW_BUF               (ACCT_PASSWORD_MAX + 2) /* a line one byte too long is seen */

static const char usage_text[] =
    "usage: iotcloud user add [--admin] [--email E] [--given-name G] [--family-name F]\n"
    "                         [--data-dir DIR | --store FILE] [--config FILE]\n"
    "                         [--password-stdin] NAME\n";

static const char help_text[] =
    "Creates the user NAME (confirmed at once; an administrator with --admin).\n"
    "  --email E          e-mail address (default NAME@" DEFAULT_EMAIL_DOMAIN ")\n"
    "  --given-name G, --family-name F   the person's names (default empty)\n"
    "  --password-stdin   read the password as one line from stdin (also done when stdin\n"
    "                     is not a terminal); otherwise it is asked for twice\n"
    "Passwords: 10 to 1024 bytes, not the username or the e-mail address.\n"
    "Exit status: 0 created, 1 refused (name or e-mail taken, weak password), 2 usage.\n";

typedef struct user_args {
    bool admin, pw_stdin, help;
    const char *name, *email, *given, *family;
    char **cfg_argv; /* "user" + the store flags, for config_parse_args */
    int cfg_argc;
} user_args;

/* Our own flags with a value: --flag V or --flag=V. */
static const char *const value_flags[] = {"--email", "--given-name", "--family-name", NULL};
/* Flags handed to the config parser (where the database is). */
static const char *const store_flags[] = {"--data-dir", "--store", "--store-sync", "--config",
                                          NULL};

/* The flag of @list that @arg is (exactly, or followed by '='), else NULL. */
static const char *match_flag(const char *const *list, const char *arg)
{
    for (; *list; list++) {
        size_t n = strlen(*list);
        if (strncmp(arg, *list, n) == 0 && (arg[n] == '\0' || arg[n] == '='))
            return *list;
    }
    return NULL;
}

/* The value of the flag at argv[*i] (after '=' or the next argument); NULL if missing. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag)
{
    const char *arg = argv[*i];
    size_t n = strlen(flag);
    if (arg[n] == '=')
        return arg + n + 1;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

static void set_value(user_args *a, const char *flag, const char *v)
{
    if (!strcmp(flag, "--email"))
        a->email = v;
    else if (!strcmp(flag, "--given-name"))
        a->given = v;
    else
        a->family = v;
}

static int parse_one(user_args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i], *flag, *v;
    if (!strcmp(arg, "--admin"))
        a->admin = true;
    else if (!strcmp(arg, "--password-stdin"))
        a->pw_stdin = true;
    else if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
        a->help = true;
    else if ((flag = match_flag(value_flags, arg))) {
        if (!(v = flag_value(argc, argv, i, flag)))
            return -1;
        set_value(a, flag, v);
    } else if ((flag = match_flag(store_flags, arg))) {
        a->cfg_argv[a->cfg_argc++] = argv[*i];
        if (!strchr(arg, '=') && *i + 1 < argc)
            a->cfg_argv[a->cfg_argc++] = argv[++*i];
    } else if (arg[0] != '-' && !a->name) {
        a->name = arg;
    } else {
        fprintf(stderr, "iotcloud user add: unexpected argument '%.100s'\n", arg);
        return -1;
    }
    return 0;
}

/* argv[0] is "user", argv[1] "add". 0, or -1 for a usage error. */
static int parse_args(user_args *a, int argc, char **argv)
{
    if (!(a->cfg_argv = calloc((size_t)argc + 1, sizeof(char *))))
        return -1;
    a->cfg_argv[a->cfg_argc++] = argv[0];
    for (int i = 2; i < argc; i++) {
        if (parse_one(a, argc, argv, &i) < 0)
            return -1;
    }
    return a->name || a->help ? 0 : -1;
}

/* ---- the password ---------------------------------------------------------------------- */

/* One line from @f without its line ending into @buf. 0, or -1 (none, or too long). */
static int read_line(FILE *f, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, f))
        return -1;
    size_t n = strlen(buf);
    bool complete = n > 0 && buf[n - 1] == '\n';
    if (!complete && !feof(f))
        return -1; /* longer than any acceptable password */
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int prompt(const char *what, char *buf, size_t cap)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) < 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fputs(what, stderr);
    fflush(stderr);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    int rc = read_line(stdin, buf, cap);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    return rc;
}

static int read_password(const user_args *a, char *pw, char *again)
{
    if (a->pw_stdin || !isatty(STDIN_FILENO)) {
        if (read_line(stdin, pw, PW_BUF) == 0)
            return 0;
        fprintf(stderr, "iotcloud user add: no password line on stdin (or it is too long)\n");
        return -1;
    }
    if (prompt("Password: ", pw, PW_BUF) < 0 || prompt("Password again: ", again, PW_BUF) < 0) {
        fprintf(stderr, "iotcloud user add: no password given\n");
        return -1;
    }
    if (strcmp(pw, again) != 0) {
        fprintf(stderr, "iotcloud user add: the passwords differ\n");
        return -1;
    }
    return 0;
}

/* ---- the account ----------------------------------------------------------------------- */

typedef struct new_user {
    char id[33];
    char username[ACCT_USERNAME_MAX + 1];
    char email[ACCT_EMAIL_MAX + 1];
    char phc[PASSWD_PHC_MAX];
    const char *given, *family;
    bool admin;
} new_user;

static int refuse(const char *what, const char *why)
{
    fprintf(stderr, "iotcloud user add: %s %s\n", what, why ? why : "is not acceptable");
    return -1;
}

static int check_fields(const user_args *a, new_user *u, const char *pw)
{
    const char *why = NULL;
    char email[ACCT_EMAIL_MAX + 64];
    if (acct_username_norm(a->name, u->username, sizeof u->username, &why) < 0 ||
        acct_username_reserved(u->username, &why) < 0)
        return refuse("username", why);
    if (a->email)
        snprintf(email, sizeof email, "%s", a->email);
    else
        snprintf(email, sizeof email, "%s@%s", u->username, DEFAULT_EMAIL_DOMAIN);
    if (acct_email_norm(email, u->email, sizeof u->email, &why) < 0)
        return refuse("e-mail address", why);
    if (u->given[0] && acct_name_check(u->given, &why) < 0)
        return refuse("given name", why);
    if (u->family[0] && acct_name_check(u->family, &why) < 0)
        return refuse("family name", why);
    if (acct_password_check(pw, u->username, u->email, &why) < 0)
        return refuse("password", why);
    return 0;
}

static int new_id(char out[33])
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1)
        return -1;
    for (size_t i = 0; i < sizeof r; i++) {
        snprintf(out + 2 * i, 3, "%02x", r[i]);
    }
    return 0;
}

static int create_fn(store_tx *tx, void *arg)
{
    const new_user *u = arg;
    int64_t now = clock_wall_ms();
    bson_t doc = BSON_INITIALIZER;
    int rc = STORE_ENOMEM;
    if (BSON_APPEND_UTF8(&doc, "password", u->phc) &&
        BSON_APPEND_UTF8(&doc, "given_name", u->given) &&
        BSON_APPEND_UTF8(&doc, "family_name", u->family) &&
        BSON_APPEND_BOOL(&doc, "confirmed", true) && BSON_APPEND_BOOL(&doc, "admin", u->admin) &&
        BSON_APPEND_INT64(&doc, "created_at", now) && BSON_APPEND_INT32(&doc, "failed_logins", 0) &&
        BSON_APPEND_INT64(&doc, "locked_until", 0) && BSON_APPEND_INT64(&doc, "pw_changed_at", now))
        rc = store_user_create(tx, u->id, u->username, u->email, &doc);
    bson_destroy(&doc);
    return rc;
}

static store *open_store(int argc, char **argv)
{
    iot_config cfg;
    char err[512];
    bool help = false;
    config_defaults(&cfg);
    if (config_parse_args(&cfg, argc, argv, &help, err, sizeof err) < 0 ||
        app_store_sync_check(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "iotcloud user add: %s\n", err);
        return NULL;
    }
    /* Like the server: a fresh data directory is created (the store file lives in it). */
    if (!cfg.store_path[0] && mkdir(cfg.data_dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "iotcloud user add: %s: %s\n", cfg.data_dir, strerror(errno));
        return NULL;
    }
    return app_store_open(&cfg); /* logs why it failed */
}

static int create(const user_args *a, new_user *u)
{
    store *st = open_store(a->cfg_argc, a->cfg_argv);
    if (!st)
        return 1;
    int rc = store_sync(st, create_fn, u);
    store_close(st);
    if (rc == STORE_EEXISTS) {
        fprintf(stderr, "iotcloud user add: username or e-mail address is taken\n");
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, "iotcloud user add: store: %s\n", store_strerror(rc));
        return 1;
    }
    printf("user %s created%s\n", u->username, u->admin ? " (admin)" : "");
    return 0;
}

static int add(const user_args *a)
{
    char *pw = calloc(2, PW_BUF); /* password, then its repetition */
    new_user u = {
        .given = a->given ? a->given : "", .family = a->family ? a->family : "", .admin = a->admin};
    int rc = 1;
    if (!pw || read_password(a, pw, pw + PW_BUF) < 0 || check_fields(a, &u, pw) < 0)
        goto out;
    if (new_id(u.id) < 0 || passwd_hash(pw, strlen(pw), u.phc) < 0) {
        fprintf(stderr, "iotcloud user add: cannot hash the password\n");
        goto out;
    }
    rc = create(a, &u);
out:
    if (pw)
        OPENSSL_cleanse(pw, 2 * PW_BUF);
    free(pw);
    return rc;
}

int app_cmd_user(int argc, char **argv)
{
    user_args a = {0};
    int rc = 2;
    if (argc < 2 || strcmp(argv[1], "add") != 0 || parse_args(&a, argc, argv) < 0) {
        fputs(usage_text, stderr);
        goto out;
    }
    if (a.help) {
        fputs(usage_text, stdout);
        fputs(help_text, stdout);
        rc = 0;
        goto out;
    }
    log_set_level(LOG_WARN); /* the store's start-up lines are noise for a CLI */
    rc = add(&a);
out:
    free(a.cfg_argv);
    return rc;
}
