/* log: text and JSON lines (log_format.c), the component, escaping, cuts; the log file and
 * its reopen after a rename (log.c). */
#include <bson/bson.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/log_int.h"

static bson_t *parse_line(const char *line, size_t len)
{
    cr_assert_gt(len, 0);
    cr_assert_eq(line[len - 1], '\n', "a line ends with a newline");
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)line, (ssize_t)len - 1, &e);
    cr_assert_not_null(b, "not JSON (%s): %.*s", e.message, (int)len, line);
    return b;
}

static const char *str_of(const bson_t *b, const char *key)
{
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, b, key), "no %s", key);
    cr_assert(BSON_ITER_HOLDS_UTF8(&it), "%s is not a string", key);
    return bson_iter_utf8(&it, NULL);
}

Test(log, component_from_the_message_prefix)
{
    char c[32];
    const char *cases[][2] = {
        {"net: conn 3 closed", "net"},
        {"device identity: 2 revoked", "device identity"},
        {"mqtt 10.0.0.1:4242: authentication refused: x", "mqtt"},
        {"listening on mqtt://127.0.0.1:1883", "iotcloud"},
        {"iotcloud running with 2 worker loop(s)", "iotcloud"},
        {"", "iotcloud"},
        {": nothing", "iotcloud"},
        {"Net: capital", "iotcloud"},
        {"a very long component name indeed: x", "iotcloud"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        log__component(cases[i][0], c, sizeof c);
        cr_assert_str_eq(c, cases[i][1], "%s", cases[i][0]);
    }
}

Test(log, json_line_has_the_members_and_fields)
{
    char out[512];
    log_field f[] = {{"request_id", "abc"}, {"peer", NULL}, {"client_id", "dev-1"}};
    log__event e = {"2026-01-02T03:04:05.678Z", "warn", "net: hello", f, 3};
    size_t n = log__format_json(&e, out, sizeof out);
    bson_t *b = parse_line(out, n);
    cr_assert_str_eq(str_of(b, "time"), "2026-01-02T03:04:05.678Z");
    cr_assert_str_eq(str_of(b, "level"), "warn");
    cr_assert_str_eq(str_of(b, "component"), "net");
    cr_assert_str_eq(str_of(b, "message"), "net: hello");
    cr_assert_str_eq(str_of(b, "request_id"), "abc");
    cr_assert_str_eq(str_of(b, "client_id"), "dev-1");
    cr_assert_not(bson_has_field(b, "peer"), "a NULL field is left out");
    bson_destroy(b);
}

Test(log, json_escapes_quotes_controls_and_bad_utf8)
{
    char out[512];
    /* quote, backslash, newline (a forged second line), tab, DEL, a lone continuation
     * byte, an overlong '/', a surrogate, then valid é and 😀 */
    const char *msg = "x: a\"b\\c\nfake {\"level\":\"error\"}\t\x7f\x80\xc0\xaf\xed\xa0\x80 "
                      "\xc3\xa9\xf0\x9f\x98\x80";
    log_field f[] = {{"client_id", "q\"\n\xff"}};
    log__event e = {"t", "info", msg, f, 1};
    size_t n = log__format_json(&e, out, sizeof out);
    cr_assert_null(memchr(out, '\n', n - 1), "one line");
    bson_t *b = parse_line(out, n);
    cr_assert_str_eq(str_of(b, "message"),
                     "x: a\"b\\c\nfake {\"level\":\"error\"}\t\x7f\xef\xbf\xbd\xef\xbf\xbd"
                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xc3\xa9\xf0\x9f\x98\x80");
    cr_assert_str_eq(str_of(b, "client_id"), "q\"\n\xef\xbf\xbd");
    bson_destroy(b);
}

Test(log, json_cut_stays_valid)
{
    char msg[3000], out[1024];
    for (size_t i = 0; i < sizeof msg - 1; i++)
        msg[i] = i % 7 == 0 ? '"' : 'a';
    msg[sizeof msg - 1] = '\0';
    char big[400];
    memset(big, 'f', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_field f[] = {{"peer", big}};
    for (size_t cap = 256; cap <= sizeof out; cap += 13) {
        log__event e = {"2026-01-02T03:04:05.678Z", "info", msg, f, 1};
        size_t n = log__format_json(&e, out, cap);
        cr_assert_leq(n, cap);
        bson_t *b = parse_line(out, n);
        cr_assert_str_eq(str_of(b, "level"), "info");
        bson_destroy(b);
    }
}

Test(log, text_line_appends_fields)
{
    char out[256];
    log_field f[] = {{"component", "http"}, {"request_id", "r1"}, {"peer", "1.2.3.4"}};
    log__event e = {"T", "info", "http GET / 200", f, 3};
    size_t n = log__format_text(&e, out, sizeof out);
    cr_assert_eq(n, strlen("T info  http GET / 200 request_id=r1 peer=1.2.3.4\n"));
    cr_assert_eq(memcmp(out, "T info  http GET / 200 request_id=r1 peer=1.2.3.4\n", n), 0);
}

Test(log, format_names)
{
    enum log_format f;
    cr_assert_eq(log_format_parse("json", &f), 0);
    cr_assert_eq(f, LOG_FORMAT_JSON);
    cr_assert_eq(log_format_parse("text", &f), 0);
    cr_assert_eq(f, LOG_FORMAT_TEXT);
    cr_assert_lt(log_format_parse("JSON", &f), 0);
    cr_assert_lt(log_format_parse("", &f), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

Test(log, file_and_reopen_after_rename)
{
    char dir[] = "/tmp/iot-log-XXXXXX", path[128], moved[128], err[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/iotcloud.log", dir);
    snprintf(moved, sizeof moved, "%s/iotcloud.log.1", dir);
    cr_assert_eq(log_reopen(), 1, "no file yet: nothing to reopen");
    cr_assert_lt(log_open_file("/nonexistent-dir/x.log", err, sizeof err), 0);
    cr_assert(strstr(err, "/nonexistent-dir/x.log"), "%s", err);
    cr_assert_eq(log_open_file(path, err, sizeof err), 0, "%s", err);
    log_set_format(LOG_FORMAT_JSON);
    log_info("test: before");
    cr_assert_eq(rename(path, moved), 0);
    log_info("test: still the old file");
    cr_assert_eq(log_reopen(), 0);
    log_info("test: after");
    char *old = slurp(moved), *now = slurp(path);
    cr_assert_not_null(old);
    cr_assert_not_null(now, "reopen created the file again");
    cr_assert(strstr(old, "before") && strstr(old, "still the old file"));
    cr_assert_null(strstr(old, "after"));
    cr_assert(strstr(now, "\"message\":\"test: after\""), "%s", now);
    cr_assert_eq(rmdir(dir) < 0, 1, "directory not empty");
    free(old);
    free(now);
    unlink(path);
    unlink(moved);
    rmdir(dir);
}
