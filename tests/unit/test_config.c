#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/config.h"

static iot_config c;
static char err[512];

static void setup(void)
{
    config_defaults(&c);
    err[0] = '\0';
}

TestSuite(config, .init = setup);

static int parse(const char *text)
{
    return config_parse_text(&c, text, strlen(text), "t.conf", err, sizeof err);
}

static void expect_error(const char *text, const char *msg)
{
    config_defaults(&c);
    cr_assert_eq(parse(text), -1, "accepted: %s", text);
    cr_assert(strstr(err, msg) != NULL, "for <%s> got <%s>, want <%s>", text, err, msg);
}

static int args(int argc, char **argv, bool *help)
{
    return config_parse_args(&c, argc, argv, help, err, sizeof err);
}

/* Writes @text to a fresh temp file; the path is returned in a static buffer. */
static const char *temp_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_config_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    size_t n = strlen(text);
    cr_assert_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

Test(config, defaults)
{
    cr_assert_str_eq(c.data_dir, "./data");
    cr_assert_eq(c.workers, 0);
    cr_assert_eq(c.allow_anonymous, false);
    cr_assert_eq(c.n_listen, 4);
    cr_assert_eq(c.listen[2].scheme, CONFIG_HTTPS);
    cr_assert_str_eq(c.listen[2].host, "0.0.0.0");
    cr_assert_eq(c.listen[2].port, 8443);
    cr_assert_eq(c.listen[3].scheme, CONFIG_HTTP);
    cr_assert_str_eq(c.listen[3].host, "127.0.0.1");
    cr_assert_eq(c.listen[3].port, 8080);
    cr_assert_eq(c.http_max_body, 1048576);
    cr_assert_eq(c.access_token_ttl_s, 900);
    cr_assert_eq(c.refresh_token_ttl_s, 2592000);
    cr_assert_eq(c.code_ttl_s, 900);
    cr_assert_str_eq(c.smtp_url, "");
    cr_assert_eq(c.listen[0].scheme, CONFIG_MQTTS);
    cr_assert_str_eq(c.listen[0].host, "0.0.0.0");
    cr_assert_eq(c.listen[0].port, 8883);
    cr_assert_eq(c.listen[1].scheme, CONFIG_MQTT);
    cr_assert_str_eq(c.listen[1].host, "127.0.0.1");
    cr_assert_eq(c.listen[1].port, 1883);
    cr_assert_str_eq(c.cert, "");
    cr_assert_str_eq(c.key, "");
    cr_assert_str_eq(c.cafile, "");
    cr_assert_eq(c.max_packet_size, 1048576);
    cr_assert_eq(c.max_inflight, 128);
    cr_assert_eq(c.max_queued, 1000);
    cr_assert_eq(c.max_keepalive, 65535);
    cr_assert_eq(c.connect_timeout_ms, 10000);
    cr_assert_eq(c.handshake_timeout_ms, 10000);
    cr_assert_eq(c.max_output_bytes, 8388608);
    cr_assert_str_eq(c.log_level, "info");
}

Test(config, every_key)
{
    const char *text = "data-dir /var/lib/iot\n"
                       "workers 4\n"
                       "allow-anonymous yes\n"
                       "listen mqtt://[::1]:1884\n"
                       "cert /etc/iot/s.crt\n"
                       "key /etc/iot/s.key\n"
                       "cafile /etc/iot/ca.crt\n"
                       "max-packet-size 2048\n"
                       "max-inflight 65535\n"
                       "max-queued 0\n"
                       "max-keepalive 0\n"
                       "connect-timeout 5000\n"
                       "handshake-timeout 3000\n"
                       "max-output-buffer 1099511627776\n"
                       "log-level debug\n";
    cr_assert_eq(parse(text), 0, "%s", err);
    cr_assert_str_eq(c.data_dir, "/var/lib/iot");
    cr_assert_eq(c.workers, 4);
    cr_assert_eq(c.allow_anonymous, true);
    cr_assert_eq(c.n_listen, 1);
    cr_assert_str_eq(c.listen[0].host, "::1");
    cr_assert_eq(c.listen[0].port, 1884);
    cr_assert_str_eq(c.cert, "/etc/iot/s.crt");
    cr_assert_str_eq(c.key, "/etc/iot/s.key");
    cr_assert_str_eq(c.cafile, "/etc/iot/ca.crt");
    cr_assert_eq(c.max_packet_size, 2048);
    cr_assert_eq(c.max_inflight, 65535);
    cr_assert_eq(c.max_queued, 0);
    cr_assert_eq(c.max_keepalive, 0);
    cr_assert_eq(c.connect_timeout_ms, 5000);
    cr_assert_eq(c.handshake_timeout_ms, 3000);
    cr_assert_eq(c.max_output_bytes, 1099511627776ull);
    cr_assert_str_eq(c.log_level, "debug");
}

Test(config, booleans)
{
    const char *yes[] = {"true", "yes", "1", "TRUE", "Yes"};
    const char *no[] = {"false", "no", "0", "FALSE", "No"};
    char line[64];
    for (size_t i = 0; i < 5; i++) {
        snprintf(line, sizeof line, "allow-anonymous %s", yes[i]);
        c.allow_anonymous = false;
        cr_assert_eq(parse(line), 0, "%s", err);
        cr_assert_eq(c.allow_anonymous, true, "%s", yes[i]);
        snprintf(line, sizeof line, "allow-anonymous %s", no[i]);
        cr_assert_eq(parse(line), 0, "%s", err);
        cr_assert_eq(c.allow_anonymous, false, "%s", no[i]);
    }
    expect_error("allow-anonymous maybe", "t.conf:1: allow-anonymous: 'maybe' is not a boolean");
    expect_error("allow-anonymous 2", "not a boolean");
}

Test(config, comments_whitespace_underscores_crlf)
{
    const char *text = "\xEF\xBB\xBF# iotcloud\n"
                       "\n"
                       "   \t\n"
                       "  # indented comment\n"
                       "\t workers \t  3  \t\r\n"
                       "max_inflight 7\r\n"
                       "data-dir   /path with spaces/x  \n"
                       "log_level warn";
    cr_assert_eq(parse(text), 0, "%s", err);
    cr_assert_eq(c.workers, 3);
    cr_assert_eq(c.max_inflight, 7);
    cr_assert_str_eq(c.data_dir, "/path with spaces/x");
    cr_assert_str_eq(c.log_level, "warn");
}

Test(config, empty_text_keeps_defaults)
{
    cr_assert_eq(config_parse_text(&c, "", 0, "t.conf", err, sizeof err), 0);
    cr_assert_eq(c.n_listen, 4);
    cr_assert_eq(parse("# only a comment\n\n"), 0);
    cr_assert_eq(c.n_listen, 4);
}

Test(config, listen_replaces_defaults_and_repeats)
{
    const char *text = "listen mqtts://0.0.0.0:0\n"
                       "listen mqtt://localhost\n"
                       "listen mqtts://[fe80::1]\n";
    cr_assert_eq(parse(text), 0, "%s", err);
    cr_assert_eq(c.n_listen, 3);
    cr_assert_eq(c.listen[0].scheme, CONFIG_MQTTS);
    cr_assert_eq(c.listen[0].port, 0);
    cr_assert_str_eq(c.listen[1].host, "localhost");
    cr_assert_eq(c.listen[1].port, 1883, "mqtt default port");
    cr_assert_eq(c.listen[2].port, 8883, "mqtts default port");
    cr_assert_str_eq(c.listen[2].host, "fe80::1");
}

Test(config, too_many_listeners)
{
    char text[2048] = "";
    size_t n = 0;
    for (int i = 0; i < CONFIG_MAX_LISTEN; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "listen mqtt://h:%d\n", 1000 + i);
    cr_assert_eq(parse(text), 0, "%s", err);
    cr_assert_eq(c.n_listen, CONFIG_MAX_LISTEN);
    snprintf(text + n, sizeof text - n, "listen mqtt://h:1\n");
    expect_error(text, "t.conf:17: listen: too many listeners");
    cr_assert(c.n_listen <= CONFIG_MAX_LISTEN);
}

Test(config, parse_listen_good)
{
    config_listen l;
    cr_assert_eq(config_parse_listen("mqtt://127.0.0.1:65535", &l, err, sizeof err), 0);
    cr_assert_eq(l.scheme, CONFIG_MQTT);
    cr_assert_eq(l.port, 65535);
    cr_assert_eq(config_parse_listen("mqtts://[::]:8883", &l, err, sizeof err), 0);
    cr_assert_str_eq(l.host, "::");
    cr_assert_eq(config_parse_listen("mqtts://my-host.example.com:1", &l, err, sizeof err), 0);
    cr_assert_str_eq(l.host, "my-host.example.com");
}

Test(config, parse_listen_websocket)
{
    config_listen l;
    cr_assert_eq(config_parse_listen("wss://0.0.0.0:8084/mqtt", &l, err, sizeof err), 0);
    cr_assert_eq(l.scheme, CONFIG_WSS);
    cr_assert_eq(l.port, 8084);
    cr_assert_str_eq(l.path, "/mqtt");
    cr_assert_eq(config_parse_listen("ws://127.0.0.1:8083/a/b-c_d.e", &l, err, sizeof err), 0);
    cr_assert_eq(l.scheme, CONFIG_WS);
    cr_assert_str_eq(l.path, "/a/b-c_d.e");
    cr_assert_eq(config_parse_listen("ws://[::1]", &l, err, sizeof err), 0);
    cr_assert_eq(l.port, 8083, "default port");
    cr_assert_str_eq(l.path, "/mqtt", "default path");
    cr_assert_eq(config_parse_listen("wss://h/x", &l, err, sizeof err), 0);
    cr_assert_eq(l.port, 8084);
    cr_assert_str_eq(l.path, "/x");
}

Test(config, parse_listen_bad)
{
    static const struct {
        const char *url, *why;
    } bad[] = {
        {"http://0.0.0.0:80", "loopback"},
        {"wss:/a:1", "scheme"},
        {"ws://a:1/mq tt", "path may only"},
        {"ws://a:1mqtt", "port"},
        {"ws://a:1?x=1", "port"},
        {"wss://a/mqtt?x", "path may only"},
        {"mqtts://a:1/mqtt", "port"},
        {"MQTT://a:1", "scheme"},
        {"0.0.0.0:1883", "scheme"},
        {"mqtt://", "host is required"},
        {"mqtt://:1883", "host is required"},
        {"mqtt://[]:1883", "host is required"},
        {"mqtt://::1:1883", "brackets"},
        {"mqtt://[::1:1883", "missing ']'"},
        {"mqtt://[nothex]:1", "IPv6"},
        {"mqtt://[127.0.0.1]:1", "IPv6"},
        {"mqtt://a:65536", "port"},
        {"mqtt://a:-1", "port"},
        {"mqtt://a:", "port"},
        {"mqtt://a:123456", "port"},
        {"mqtt://a:1883/", "port"},
        {"mqtt://[::1]x", "port"},
        {"mqtt://a b:1", "host may only"},
        {"mqtt://a/b", "host may only"},
    };
    config_listen l = {.port = 42};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(config_parse_listen(bad[i].url, &l, err, sizeof err), -1, "%s", bad[i].url);
        cr_assert(strstr(err, bad[i].why), "%s: got <%s>", bad[i].url, err);
        cr_assert_eq(l.port, 42, "output untouched on error");
    }
    char longhost[300];
    memset(longhost, 'a', sizeof longhost);
    memcpy(longhost, "mqtt://", 7);
    longhost[sizeof longhost - 1] = '\0';
    cr_assert_eq(config_parse_listen(longhost, &l, err, sizeof err), -1);
    cr_assert(strstr(err, "too long"));
}

Test(config, errors_carry_line_numbers)
{
    expect_error("workers 1\n\n# c\nbogus 1\n", "t.conf:4: unknown key 'bogus'");
    expect_error("workers\n", "t.conf:1: missing value for 'workers'");
    expect_error("\n  cert   \t\n", "t.conf:2: missing value for 'cert'");
    expect_error("workers 12x\n", "t.conf:1: workers: '12x' is not a decimal number");
    expect_error("workers -1\n", "not a decimal number");
    expect_error("workers +1\n", "not a decimal number");
    expect_error("workers 0x10\n", "not a decimal number");
    expect_error("workers 2000\n", "t.conf:1: workers: 2000 is out of range (0..1024)");
    expect_error("max-inflight 0\n", "out of range (1..65535)");
    expect_error("max-inflight 65536\n", "out of range");
    expect_error("max-keepalive 65536\n", "out of range");
    expect_error("max-packet-size 268435461\n", "out of range");
    expect_error("max-packet-size 99999999999999999999999\n", "not a decimal number");
    expect_error("connect-timeout 0\n", "out of range");
    expect_error("handshake-timeout 3600001\n", "out of range");
    expect_error("max-queued 4294967296\n", "out of range");
    expect_error("max-output-buffer 10\n", "out of range");
    expect_error("log-level verbose\n", "t.conf:1: log-level: 'verbose' is not one of");
    expect_error("a\nb\nlisten tcp://x:1\n", "t.conf:1: unknown key 'a'");
    expect_error("workers 1\r\nlisten tcp://x:1\r\n", "t.conf:2: listen: 'tcp://x:1': scheme");
    expect_error("config other.conf\n", "unknown key 'config'");
}

Test(config, nul_and_long_lines)
{
    const char text[] = "workers 1\nworkers \0 2\n";
    cr_assert_eq(config_parse_text(&c, text, sizeof text - 1, "t.conf", err, sizeof err), -1);
    cr_assert(strstr(err, "t.conf:2: NUL byte"), "%s", err);
    char *big = malloc(5000);
    memset(big, 'x', 5000);
    memcpy(big, "cert ", 5);
    cr_assert_eq(config_parse_text(&c, big, 5000, "t.conf", err, sizeof err), -1);
    cr_assert(strstr(err, "t.conf:1: line is too long"), "%s", err);
    free(big);
}

Test(config, path_too_long_is_error_not_truncation)
{
    char text[CONFIG_PATH_MAX + 32];
    int n = snprintf(text, sizeof text, "cafile ");
    memset(text + n, 'p', CONFIG_PATH_MAX - 1);
    text[n + CONFIG_PATH_MAX - 1] = '\0';
    cr_assert_eq(parse(text), 0, "511 bytes fit: %s", err);
    cr_assert_eq(strlen(c.cafile), CONFIG_PATH_MAX - 1);
    text[n + CONFIG_PATH_MAX - 1] = 'p';
    text[n + CONFIG_PATH_MAX] = '\0';
    config_defaults(&c);
    cr_assert_eq(parse(text), -1);
    cr_assert(strstr(err, "t.conf:1: cafile: value is too long"), "%s", err);
    cr_assert_str_eq(c.cafile, "", "field untouched");
}

Test(config, flags_both_forms)
{
    char *argv[] = {"iotcloud",
                    "--workers",
                    "2",
                    "--max-inflight=9",
                    "--allow-anonymous",
                    "--listen",
                    "mqtt://[::1]:0",
                    "--listen=mqtts://x:1",
                    "--log_level=error",
                    NULL};
    bool help = true;
    cr_assert_eq(args(9, argv, &help), 0, "%s", err);
    cr_assert_eq(help, false);
    cr_assert_eq(c.workers, 2);
    cr_assert_eq(c.max_inflight, 9);
    cr_assert_eq(c.allow_anonymous, true);
    cr_assert_eq(c.n_listen, 2);
    cr_assert_str_eq(c.listen[1].host, "x");
    cr_assert_str_eq(c.log_level, "error");
}

Test(config, bool_flag_value_forms)
{
    char *a1[] = {"iotcloud", "--allow-anonymous", "false", NULL};
    c.allow_anonymous = true;
    cr_assert_eq(args(3, a1, &(bool){false}), 0, "%s", err);
    cr_assert_eq(c.allow_anonymous, false);
    char *a2[] = {"iotcloud", "--allow-anonymous", "--workers", "1", NULL};
    cr_assert_eq(args(4, a2, &(bool){false}), 0, "%s", err);
    cr_assert_eq(c.allow_anonymous, true);
    cr_assert_eq(c.workers, 1);
    char *a3[] = {"iotcloud", "--allow_anonymous=no", NULL};
    cr_assert_eq(args(2, a3, &(bool){false}), 0, "%s", err);
    cr_assert_eq(c.allow_anonymous, false);
    char *a4[] = {"iotcloud", "--allow-anonymous=perhaps", NULL};
    cr_assert_eq(args(2, a4, &(bool){false}), -1);
    cr_assert(strstr(err, "--allow-anonymous: allow-anonymous: 'perhaps'"), "%s", err);
}

Test(config, flag_errors)
{
    bool help;
    char *a1[] = {"iotcloud", "--frobnicate", "1", NULL};
    cr_assert_eq(args(3, a1, &help), -1);
    cr_assert(strstr(err, "unknown option '--frobnicate'"), "%s", err);
    char *a2[] = {"iotcloud", "--workers", NULL};
    cr_assert_eq(args(2, a2, &help), -1);
    cr_assert(strstr(err, "--workers: missing value"), "%s", err);
    char *a3[] = {"iotcloud", "stray", NULL};
    cr_assert_eq(args(2, a3, &help), -1);
    cr_assert(strstr(err, "unexpected argument 'stray'"), "%s", err);
    char *a4[] = {"iotcloud", "-v", NULL};
    cr_assert_eq(args(2, a4, &help), -1);
    cr_assert(strstr(err, "'-v'"), "%s", err);
    char *a5[] = {"iotcloud", "--workers=abc", NULL};
    cr_assert_eq(args(2, a5, &help), -1);
    cr_assert(strstr(err, "--workers: workers: 'abc' is not a decimal number"), "%s", err);
    char *a6[] = {"iotcloud", "--cert=", NULL};
    cr_assert_eq(args(2, a6, &help), -1);
    cr_assert(strstr(err, "missing value"), "%s", err);
    char *a7[] = {"iotcloud", "--cert", "/x.crt", NULL};
    cr_assert_eq(args(3, a7, &help), -1);
    cr_assert(strstr(err, "cert and key must be given together"), "%s", err);
}

Test(config, config_file_then_flags_override)
{
    const char *path = temp_file("workers 3\nmax-queued 5\nlisten mqtt://filehost:1\n"
                                 "listen mqtt://filehost:2\n");
    char *argv[] = {"iotcloud", "--workers", "7", "--config", (char *)path, NULL};
    bool help;
    cr_assert_eq(args(5, argv, &help), 0, "%s", err);
    cr_assert_eq(c.workers, 7, "flag wins even when it comes before --config");
    cr_assert_eq(c.max_queued, 5);
    cr_assert_eq(c.n_listen, 2);
    cr_assert_str_eq(c.listen[0].host, "filehost");

    /* A listen flag replaces the file's listeners: the command line is a new source. */
    config_defaults(&c);
    char *argv2[] = {"iotcloud", "--config=x", "--listen", "mqtt://flaghost:3", NULL};
    argv2[1] = malloc(strlen(path) + 10);
    snprintf(argv2[1], strlen(path) + 10, "--config=%s", path);
    cr_assert_eq(args(4, argv2, &help), 0, "%s", err);
    cr_assert_eq(c.n_listen, 1);
    cr_assert_str_eq(c.listen[0].host, "flaghost");
    free(argv2[1]);
    unlink(path);
}

Test(config, config_file_errors)
{
    bool help;
    char *a1[] = {"iotcloud", "--config", "/nonexistent/iotcloud.conf", NULL};
    cr_assert_eq(args(3, a1, &help), -1);
    cr_assert(strstr(err, "/nonexistent/iotcloud.conf: cannot open"), "%s", err);
    char *a2[] = {"iotcloud", "--config", NULL};
    cr_assert_eq(args(2, a2, &help), -1);
    cr_assert(strstr(err, "--config: missing file name"), "%s", err);
    char *a3[] = {"iotcloud", "--config", "/tmp", NULL};
    cr_assert_eq(args(3, a3, &help), -1);
    cr_assert(strstr(err, "not a regular file"), "%s", err);

    const char *path = temp_file("workers 1\nworkers x\n");
    char *a4[] = {"iotcloud", "--config", (char *)path, NULL};
    cr_assert_eq(args(3, a4, &help), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:2: workers: 'x'", path);
    cr_assert(strstr(err, want), "%s", err);
    char *a5[] = {"iotcloud", "--config", (char *)path, "--config", (char *)path, NULL};
    cr_assert_eq(args(5, a5, &help), -1);
    cr_assert(strstr(err, "more than once"), "%s", err);
    unlink(path);
}

Test(config, config_file_over_1mib)
{
    char path[] = "/tmp/test_config_big_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(ftruncate(fd, 1024 * 1024 + 1), 0); /* zero bytes would also be NULs */
    close(fd);
    char *argv[] = {"iotcloud", "--config", path, NULL};
    bool help;
    cr_assert_eq(args(3, argv, &help), -1);
    cr_assert(strstr(err, "larger than 1048576 bytes"), "%s", err);
    unlink(path);
}

Test(config, help_short_circuits)
{
    char *a1[] = {"iotcloud", "--workers", "5", "--help", "--bogus", NULL};
    bool help = false;
    cr_assert_eq(args(5, a1, &help), 0);
    cr_assert_eq(help, true);
    cr_assert_eq(c.workers, 0, "nothing applied with --help");
    char *a2[] = {"iotcloud", "-h", NULL};
    help = false;
    cr_assert_eq(args(2, a2, &help), 0);
    cr_assert_eq(help, true);
}

Test(config, help_lists_every_key_with_default)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    config_print_help(f);
    fclose(f);
    const char *expect[] = {
        "--config FILE",
        "--data-dir DIR",
        "default: ./data)",
        "--workers N",
        "--allow-anonymous",
        "default: false)",
        "--listen URL",
        "mqtts://0.0.0.0:8883 mqtt://127.0.0.1:1883",
        "--cert FILE",
        "--key FILE",
        "--cafile FILE",
        "--max-packet-size",
        "default: 1048576)",
        "--max-inflight",
        "default: 128)",
        "--max-queued",
        "default: 1000)",
        "--max-keepalive",
        "default: 65535)",
        "--connect-timeout",
        "default: 10000)",
        "--handshake-timeout",
        "--max-output-buffer",
        "default: 8388608)",
        "--log-level",
        "default: info)",
        "--help",
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        cr_assert(strstr(out, expect[i]), "help lacks <%s>:\n%s", expect[i], out);
    free(out);
}

Test(config, http_schemes_and_plain_http_loopback_only)
{
    config_listen l;
    cr_assert_eq(config_parse_listen("https://0.0.0.0", &l, err, sizeof err), 0, "%s", err);
    cr_assert_eq(l.scheme, CONFIG_HTTPS);
    cr_assert_eq(l.port, 8443);
    cr_assert_eq(config_parse_listen("http://127.0.0.1", &l, err, sizeof err), 0, "%s", err);
    cr_assert_eq(l.scheme, CONFIG_HTTP);
    cr_assert_eq(l.port, 8080);
    cr_assert_eq(config_parse_listen("http://[::1]:0", &l, err, sizeof err), 0, "%s", err);
    cr_assert_eq(config_parse_listen("http://localhost:81", &l, err, sizeof err), 0, "%s", err);
    cr_assert_eq(config_parse_listen("http://127.1.2.3:81", &l, err, sizeof err), 0, "%s", err);
    cr_assert_lt(config_parse_listen("http://0.0.0.0:8080", &l, err, sizeof err), 0);
    cr_assert(strstr(err, "loopback"), "%s", err);
    cr_assert_lt(config_parse_listen("http://example.com", &l, err, sizeof err), 0);
    cr_assert_str_eq(config_scheme_name(CONFIG_HTTPS), "https");
}

Test(config, metrics_scheme_loopback_only)
{
    config_listen l;
    cr_assert_eq(config_parse_listen("metrics://127.0.0.1", &l, err, sizeof err), 0, "%s", err);
    cr_assert_eq(l.scheme, CONFIG_METRICS);
    cr_assert_eq(l.port, 9464);
    cr_assert_eq(config_parse_listen("metrics://[::1]:0", &l, err, sizeof err), 0, "%s", err);
    cr_assert_eq(l.port, 0);
    cr_assert_lt(config_parse_listen("metrics://0.0.0.0:9464", &l, err, sizeof err), 0);
    cr_assert(strstr(err, "loopback") && strstr(err, "/v1/admin/metrics"), "%s", err);
    cr_assert_lt(config_parse_listen("metric://127.0.0.1", &l, err, sizeof err), 0);
    cr_assert(strstr(err, "metrics://"), "%s", err);
    cr_assert_str_eq(config_scheme_name(CONFIG_METRICS), "metrics");
}

Test(config, log_and_shutdown_keys)
{
    iot_config k;
    config_defaults(&k);
    cr_assert_str_eq(k.log_format, "text");
    cr_assert_str_eq(k.log_file, "");
    cr_assert_eq(k.shutdown_timeout_ms, 30000);
    const char *t = "log-format json\nlog-file /var/log/iotcloud.log\nshutdown-timeout 5000\n";
    cr_assert_eq(config_parse_text(&k, t, strlen(t), "t.conf", err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(k.log_format, "json");
    cr_assert_str_eq(k.log_file, "/var/log/iotcloud.log");
    cr_assert_eq(k.shutdown_timeout_ms, 5000);
    const char *bad = "shutdown-timeout 0\n";
    cr_assert_lt(config_parse_text(&k, bad, strlen(bad), "t.conf", err, sizeof err), 0);
}

Test(config, smtp_and_token_keys)
{
    cr_assert_eq(parse("smtp-url smtp://127.0.0.1:2525\nsmtp-insecure true\n"
                       "code-ttl 2\naccess-token-ttl 60\n"),
                 0, "%s", err);
    cr_assert_str_eq(c.smtp_url, "smtp://127.0.0.1:2525");
    cr_assert(c.smtp_insecure);
    cr_assert_eq(c.code_ttl_s, 2);
    cr_assert_eq(c.access_token_ttl_s, 60);
    cr_assert_lt(parse("code-ttl 0\n"), 0);
}

Test(config, device_activity_caps)
{
    cr_assert_eq(c.device_history_max, 1000);
    cr_assert_eq(c.device_events_max, 200);
    cr_assert_eq(parse("device-history-max 0\ndevice-events-max 5\n"), 0, "%s", err);
    cr_assert_eq(c.device_history_max, 0);
    cr_assert_eq(c.device_events_max, 5);
    cr_assert_neq(parse("device-history-max -1\n"), 0);
    cr_assert_neq(parse("device-events-max 1000001\n"), 0);
}

Test(config, per_user_quotas)
{
    cr_assert_eq(c.quota_devices, 1000);
    cr_assert_eq(c.quota_device_types, 100);
    cr_assert_eq(c.quota_recipients, 50);
    cr_assert_eq(c.quota_sessions, 2000);
    cr_assert_eq(c.quota_queued, 100000);
    cr_assert_eq(parse("max-devices-per-user 2\nmax-device-types-per-user 3\n"
                       "max-recipients-per-user 4\nmax-sessions-per-user 5\n"
                       "max-queued-per-user 6\n"),
                 0, "%s", err);
    cr_assert_eq(c.quota_devices, 2);
    cr_assert_eq(c.quota_device_types, 3);
    cr_assert_eq(c.quota_recipients, 4);
    cr_assert_eq(c.quota_sessions, 5);
    cr_assert_eq(c.quota_queued, 6);
    cr_assert_neq(parse("max-devices-per-user 0\n"), 0, "a quota of nothing is refused");
    cr_assert_neq(parse("max-queued-per-user 100000001\n"), 0);
}

/* config_each_changed: the reload's list of changed keys (app/reload.c). */
typedef struct changed_keys {
    char names[512];
    size_t n;
} changed_keys;

static void note_key(void *arg, const char *key)
{
    changed_keys *k = arg;
    size_t len = strlen(k->names);
    snprintf(k->names + len, sizeof k->names - len, "%s%s", k->n++ ? "," : "", key);
}

Test(config, each_changed_names_what_differs)
{
    static iot_config b;
    changed_keys k = {0};
    config_defaults(&b);
    cr_assert_eq(config_each_changed(&c, &b, note_key, &k), 0);
    cr_assert(parse("workers 3\nlog-level debug\ncert /a.pem\nlisten mqtt://127.0.0.1:1\n") == 0,
              "%s", err);
    cr_assert_eq(config_each_changed(&b, &c, note_key, &k), 4);
    cr_assert_str_eq(k.names, "workers,listen,cert,log-level");
    /* the same listeners parsed again compare equal; another port does not */
    const char *t = "workers 3\nlog-level debug\ncert /a.pem\nlisten mqtt://127.0.0.1:1\n";
    cr_assert(config_parse_text(&b, t, strlen(t), "b.conf", err, sizeof err) == 0, "%s", err);
    cr_assert_eq(config_each_changed(&b, &c, NULL, NULL), 0);
    t = "listen mqtt://127.0.0.1:2\n";
    cr_assert(config_parse_text(&b, t, strlen(t), "b.conf", err, sizeof err) == 0, "%s", err);
    cr_assert_eq(config_each_changed(&b, &c, NULL, NULL), 1);
}
