/*
 * fuzz_config — config_parse_text() on arbitrary bytes.
 *
 * Besides "never crash", checks the invariants main() relies on after any parse, good or
 * bad: the listener count stays within the array, every string field is NUL-terminated,
 * and the error message is NUL-terminated and non-empty exactly when parsing failed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"

static void check_str(const char *s, size_t cap)
{
    if (!memchr(s, '\0', cap))
        abort();
}

static void check_invariants(const iot_config *c)
{
    if (c->n_listen > CONFIG_MAX_LISTEN)
        abort();
    for (size_t i = 0; i < c->n_listen; i++) {
        check_str(c->listen[i].host, sizeof c->listen[i].host);
        if (c->listen[i].scheme > CONFIG_METRICS)
            abort();
    }
    check_str(c->data_dir, sizeof c->data_dir);
    check_str(c->cert, sizeof c->cert);
    check_str(c->key, sizeof c->key);
    check_str(c->cafile, sizeof c->cafile);
    check_str(c->log_level, sizeof c->log_level);
    check_str(c->log_format, sizeof c->log_format);
    check_str(c->log_file, sizeof c->log_file);
    check_str(c->smtp_url, sizeof c->smtp_url);
    check_str(c->smtp_password, sizeof c->smtp_password);
    check_str(c->smtp_from, sizeof c->smtp_from);
    if (c->max_inflight < 1 || c->max_inflight > 65535 || c->max_keepalive > 65535)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iot_config c;
    char err[256];
    memset(err, 0, sizeof err);
    config_defaults(&c);
    int rc = config_parse_text(&c, (const char *)data, size, "fuzz.conf", err, sizeof err);
    check_invariants(&c);
    if (err[sizeof err - 1] != '\0' || (rc == 0) != (err[0] == '\0'))
        abort();
    if (rc < 0 && strncmp(err, "fuzz.conf:", 10) != 0)
        abort();
    return 0;
}
