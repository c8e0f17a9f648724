/**
 * common/json — JSON text ↔ BSON, in one place: request bodies checked against a field
 * table (json_parse, json_decode), stored documents read back (json_doc_*), and BSON
 * written out as JSON text (json_text). The HTTP side (json_body, json_respond_err) is in
 * api/json.h.
 *
 * A handler declares the fields it accepts:
 *
 *   const char *user, *pass;
 *   json_field f[] = {
 *       {"username", JSON_STR, JSON_REQUIRED, .max_len = 64, .str = &user},
 *       {"password", JSON_STR, JSON_REQUIRED, .max_len = 1024, .str = &pass},
 *   };
 *   bson_t doc;
 *   json_err e;
 *   if (json_body(r, &doc, &e) < 0 || json_decode(&doc, f, 2, &e) < 0)
 *       return json_respond_err(r, &e);   (then bson_destroy(&doc) where parsed)
 *
 * Pure functions (no loop, no socket): json_parse and json_decode are fuzzed directly.
 * Strings handed out point into the bson_t and live as long as it. Unknown fields are an
 * error (a typo must not be silently ignored), as are wrong types, strings longer than
 * max_len or holding a NUL, integers out of [min, max].
 */
#ifndef IOT_COMMON_JSON_H
#define IOT_COMMON_JSON_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32 /* nesting allowed in a body */

enum json_type {
    JSON_STR,  /* out: .str (const char *), .len optional */
    JSON_INT,  /* out: .i64; accepts int32/int64 and doubles with an integral value */
    JSON_BOOL, /* out: .b */
    JSON_OBJ,  /* out: .doc (bson_iter_t positioned on the field) */
    JSON_ARR,  /* out: .doc */
    JSON_ANY,  /* out: .doc; any type including null */
};

enum json_need { JSON_OPTIONAL = 0, JSON_REQUIRED = 1 };

typedef struct json_field {
    const char *name;
    enum json_type type;
    enum json_need need;
    size_t max_len;   /* JSON_STR: bytes, 0 = 4096; JSON_OBJ/ARR: ignored */
    int64_t min, max; /* JSON_INT bounds; both 0 = any int64 */
    const char **str; /* JSON_STR */
    size_t *len;      /* JSON_STR, optional */
    int64_t *i64;     /* JSON_INT */
    bool *b;          /* JSON_BOOL */
    bson_iter_t *doc; /* JSON_OBJ, JSON_ARR, JSON_ANY */
    bool present;     /* set by json_decode */
} json_field;

/** Why a body was refused; becomes a 400 {"error":{"code","message","field"}}. */
typedef struct json_err {
    char code[32];     /* "bad_json", "missing_field", "invalid_field", "unknown_field",
                        * "unsupported_media_type" */
    char field[128];   /* the field's name ("" when not about one field) */
    char message[256]; /* for people: names the field and what was expected */
    int status;        /* 400, or 415 for a wrong Content-Type */
} json_err;

/** Parses @len bytes of JSON text; the top level must be an object. On success *out is
 *  initialised (bson_destroy it) and 0 returned; else <0 with @e filled and *out not
 *  initialised. Duplicate keys are refused (which one wins is ambiguous), and so are
 *  anything but whitespace after the object and NaN/Infinity [RFC 8259 2, 6]. */
int json_parse(const uint8_t *p, size_t len, bson_t *out, json_err *e);
/** Checks @doc against @f (each field at most once, unknown fields refused) and fills the
 *  outputs of present fields. 0 or <0 with @e filled. */
int json_decode(const bson_t *doc, json_field *f, size_t n, json_err *e);

/** Top-level field @key of a stored document (@d may be NULL): its UTF-8 string, else
 *  NULL; its number as int64, else 0. */
const char *json_doc_str(const bson_t *d, const char *key);
int64_t json_doc_i64(const bson_t *d, const char *key);

/** @doc as relaxed extended JSON text (plain numbers), NUL-terminated, its length in *@len
 *  when @len is not NULL; free with bson_free. NULL when it cannot be encoded. */
char *json_text(const bson_t *doc, size_t *len);
/** Device payloads as they come: libbson's extended-JSON reader without json_parse's
 *  checks (duplicates, '$' keys, depth). true with *@out initialised (bson_destroy it). */
bool json_parse_loose(const uint8_t *p, size_t len, bson_t *out);

#endif
