/**
 * api/json — JSON request bodies and JSON error answers for REST handlers: the
 * request-facing half of common/json.h (which stays pure: fuzzed and unit-tested without
 * a server). Loop of the request only.
 */
#ifndef IOT_API_JSON_H
#define IOT_API_JSON_H

#include "common/json.h"
#include "http/http.h"

/** The request body through json_parse. A missing/empty body is refused; a Content-Type
 *  other than application/json (parameters allowed) gets 415. */
int json_body(http_req *r, bson_t *out, json_err *e);
/** Answers @e (status e->status, default 400). */
void json_respond_err(http_req *r, const json_err *e);
/** json_body then json_decode against @f: 0 with @doc initialised, or <0 after answering
 *  the error (then @doc needs nothing). */
int json_body_decode(http_req *r, bson_t *doc, json_field *f, size_t n);

#endif
