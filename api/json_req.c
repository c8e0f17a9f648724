/*
 * json_req — JSON bodies of requests and JSON error answers (the request-facing half of
 * common/json.h, which stays pure so it is fuzzed and unit-tested without a server).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/json.h"

static bool is_json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct || strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    char c = ct[sizeof want - 1];
    return c == '\0' || c == ';' || c == ' ';
}

int json_body(http_req *r, bson_t *out, json_err *e)
{
    size_t len = 0;
    const uint8_t *p = http_req_body(r, &len);
    e->code[0] = '\0';
    if (len > 0 && !is_json_type(http_req_header(r, "content-type"))) {
        e->status = 415;
        snprintf(e->code, sizeof e->code, "unsupported_media_type");
        e->field[0] = '\0';
        snprintf(e->message, sizeof e->message, "Content-Type must be application/json");
        return -1;
    }
    return json_parse(p ? p : (const uint8_t *)"", len, out, e);
}

void json_respond_err(http_req *r, const json_err *e)
{
    bson_t doc, err;
    bson_init(&doc);
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "error", &err);
    BSON_APPEND_UTF8(&err, "code", e->code[0] ? e->code : "bad_request");
    BSON_APPEND_UTF8(&err, "message", e->message[0] ? e->message : "bad request");
    if (e->field[0])
        BSON_APPEND_UTF8(&err, "field", e->field);
    bson_append_document_end(&doc, &err);
    http_respond_json(r, e->status ? e->status : 400, &doc);
    bson_destroy(&doc);
}

int json_body_decode(http_req *r, bson_t *doc, json_field *f, size_t n)
{
    json_err e;
    if (json_body(r, doc, &e) < 0) {
        json_respond_err(r, &e);
        return -1;
    }
    if (json_decode(doc, f, n, &e) < 0) {
        bson_destroy(doc);
        json_respond_err(r, &e);
        return -1;
    }
    return 0;
}
