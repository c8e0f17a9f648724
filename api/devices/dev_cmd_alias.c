/*
 * dev_cmd_alias — the device-control routes (api/devices/devices.h): the generic
 * POST .../commands/{api} and one alias per device API of docs/device-protocol.md, each
 * checking its body and building the request's params.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/devices/dev_cmd.h"
#include "api/devices/dev_int.h"

#define UART_MAX     4096
#define RTC_MAX      253402300799LL /* 9999-12-31T23:59:59Z */
#define GPIO_MAX_NUM 1000000        /* the device checks its own range (0..31) */
#define NOTE_MAX     4096

static void one(http_req *r, const char *api_name, bson_t *params)
{
    dev_cmd_part p = {api_name, NULL};
    dev__cmd_run(r, &p, 1, params);
}

/* Body {"value": ...} of @type into @params as "value" (after "number" when @number >= 0).
 * 0 or <0 after answering. */
static int value_body(http_req *r, enum json_type type, int64_t lo, int64_t hi, size_t max_len,
                      bson_t *params)
{
    bson_t doc;
    const char *s = NULL;
    size_t len = 0;
    int64_t v = 0;
    json_field f[] = {{"value", type, JSON_REQUIRED, .max_len = max_len, .min = lo, .max = hi,
                       .str = &s, .len = &len, .i64 = &v}};
    if (json_body_decode(r, &doc, f, 1) < 0)
        return -1;
    if (type == JSON_STR)
        bson_append_utf8(params, "value", 5, s, (int)len);
    else
        BSON_APPEND_INT64(params, "value", v);
    bson_destroy(&doc);
    return 0;
}

/* Path parameter {n} as a GPIO number into @params. 0 or <0 after a 400. */
static int gpio_number(http_req *r, bson_t *params)
{
    const char *v = http_req_param(r, "n");
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : -1;
    if (!v || v[0] < '0' || v[0] > '9' || *end || n > GPIO_MAX_NUM) {
        http_respond_field(r, "n", "a GPIO number expected");
        return -1;
    }
    BSON_APPEND_INT32(params, "number", (int32_t)n);
    return 0;
}

void dev__cmd_gpio_get(http_req *r)
{
    bson_t p = BSON_INITIALIZER;
    if (gpio_number(r, &p) < 0) {
        bson_destroy(&p);
        return;
    }
    one(r, "get_gpio", &p);
}

void dev__cmd_gpio_put(http_req *r)
{
    bson_t p = BSON_INITIALIZER;
    if (gpio_number(r, &p) < 0 || value_body(r, JSON_INT, 0, 1, 0, &p) < 0) {
        bson_destroy(&p);
        return;
    }
    one(r, "set_gpio", &p);
}

void dev__cmd_rtc_get(http_req *r) { one(r, "get_rtc", NULL); }

void dev__cmd_rtc_put(http_req *r)
{
    bson_t p = BSON_INITIALIZER;
    /* min 0 and max RTC_MAX; json_field treats min = max = 0 as "any", so 0 is fine */
    if (value_body(r, JSON_INT, 0, RTC_MAX, 0, &p) < 0) {
        bson_destroy(&p);
        return;
    }
    one(r, "set_rtc", &p);
}

void dev__cmd_mac(http_req *r) { one(r, "get_mac", NULL); }

void dev__cmd_ip(http_req *r) { one(r, "get_ip", NULL); }

void dev__cmd_subnet(http_req *r) { one(r, "get_subnet", NULL); }

void dev__cmd_gateway(http_req *r) { one(r, "get_gateway", NULL); }

void dev__cmd_network(http_req *r)
{
    static const dev_cmd_part parts[] = {
        {"get_mac", "mac"},
        {"get_ip", "ip"},
        {"get_subnet", "subnet"},
        {"get_gateway", "gateway"},
    };
    dev__cmd_run(r, parts, 4, NULL);
}

void dev__cmd_status_get(http_req *r) { one(r, "get_status", NULL); }

void dev__cmd_status_put(http_req *r)
{
    bson_t p = BSON_INITIALIZER;
    if (value_body(r, JSON_STR, 0, 0, 64, &p) < 0) {
        bson_destroy(&p);
        return;
    }
    one(r, "set_status", &p);
}

void dev__cmd_uart(http_req *r)
{
    bson_t p = BSON_INITIALIZER;
    if (value_body(r, JSON_STR, 0, 0, UART_MAX, &p) < 0) {
        bson_destroy(&p);
        return;
    }
    one(r, "write_uart", &p);
}

void dev__cmd_notify(http_req *r)
{
    bson_t doc, p = BSON_INITIALIZER;
    const char *to = NULL, *msg = NULL;
    size_t to_len = 0, msg_len = 0;
    json_field f[] = {
        {"recipient", JSON_STR, JSON_REQUIRED, .max_len = 320, .str = &to, .len = &to_len},
        {"message", JSON_STR, JSON_REQUIRED, .max_len = NOTE_MAX, .str = &msg, .len = &msg_len},
    };
    if (json_body_decode(r, &doc, f, 2) < 0) {
        bson_destroy(&p);
        return;
    }
    bson_append_utf8(&p, "recipient", 9, to, (int)to_len);
    bson_append_utf8(&p, "message", 7, msg, (int)msg_len);
    bson_destroy(&doc);
    one(r, "trigger_notification", &p);
}

/* An api name: 1..64 of [A-Za-z0-9_.-] (it becomes a topic level). */
static bool api_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}

/* Body {"params": {...}} (optional; no body = {}). */
void dev__cmd_generic(http_req *r)
{
    const char *api_name = http_req_param(r, "api");
    size_t len = 0;
    bson_t doc, p = BSON_INITIALIZER;
    bson_iter_t it;
    if (!api_name_ok(api_name)) {
        http_respond_field(r, "api", "1..64 characters of A-Z a-z 0-9 _ . - expected");
        return;
    }
    http_req_body(r, &len);
    if (len > 0) {
        json_field f[] = {{"params", JSON_OBJ, JSON_OPTIONAL, .doc = &it}};
        if (json_body_decode(r, &doc, f, 1) < 0)
            return;
        if (f[0].present) {
            uint32_t dl;
            const uint8_t *data;
            bson_t view;
            bson_iter_document(&it, &dl, &data);
            if (bson_init_static(&view, data, dl))
                bson_concat(&p, &view);
        }
        bson_destroy(&doc);
    }
    one(r, api_name, &p);
}
