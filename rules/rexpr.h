/**
 * rules/rexpr — the rule expression language (docs/rules.md "Language"): a rule's text is
 * compiled ONCE into a flat node array, then evaluated against each message with no
 * allocation and no text left to interpret. Pure functions over bytes: no loop, no store,
 * no global (fuzz/fuzz_rule_expr.c).
 *
 *   rule   := SELECT sel FROM 'filter' [WHERE expr]       (keywords in any case)
 *   sel    := '*' | item (',' item)*        item := expr [AS name]
 *   expr   := or;  or := and (OR and)*;  and := not (AND not)*;  not := NOT not | cmp
 *   cmp    := sum [('=' | '==' | '!=' | '<>' | '<' | '<=' | '>' | '>=') sum]
 *   sum    := prod (('+' | '-') prod)*;  prod := unary (('*' | '/' | '%') unary)*
 *   unary  := '-' unary | primary
 *   primary:= number | 'text' | "text" | true | false | null | '(' expr ')'
 *           | abs(e) | round(e [, digits]) | startswith(s, p) | contains(s, p)
 *           | topic(n) | deviceid() | timestamp() | path
 *   path   := name ('.' name | '[' index ']')*
 *
 * A condition alone (the "condition" of a JSON rule) is `expr`.
 *
 * Values: null, boolean, number (double), string. A missing field is null. Arithmetic on
 * anything but two numbers (or a division by zero) is null; a comparison of different
 * types is false (= and <) or true (!=); strings compare bytewise. AND/OR/NOT and WHERE
 * take only `true` as true. A field that holds an object or array compares as null but is
 * copied whole by SELECT.
 *
 * Threading: a compiled rexpr is immutable; any thread may evaluate it at once.
 */
#ifndef IOT_RULES_REXPR_H
#define IOT_RULES_REXPR_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REXPR_MAX_LEN_DEF   4096 /* bytes of rule text */
#define REXPR_MAX_DEPTH_DEF 32   /* nesting of sub-expressions */
#define REXPR_MAX_NODES     512  /* nodes of one compiled rule (a hard cap) */
#define REXPR_FILTER_MAX    256  /* bytes of the FROM filter */
#define REXPR_NAME_MAX      64   /* bytes of one output name (AS, path segment) */

typedef struct rexpr rexpr;

typedef struct rexpr_limits {
    size_t max_len;     /* 0 = REXPR_MAX_LEN_DEF */
    unsigned max_depth; /* 0 = REXPR_MAX_DEPTH_DEF */
} rexpr_limits;

/** A refusal: the byte offset it happened at (0-based) and a message naming it. */
typedef struct rexpr_err {
    size_t pos;
    char msg[128];
} rexpr_err;

/** Compiles `SELECT ... FROM '...' [WHERE ...]`. 0 with *@out set (rexpr_free it), or -1
 *  with @e filled. @lim may be NULL. The FROM filter is checked as an MQTT topic filter. */
int rexpr_compile_sql(const char *text, size_t len, const rexpr_limits *lim, rexpr **out,
                      rexpr_err *e);
/** Compiles a bare condition (`expr`) with the filter @source and SELECT *. Same answers;
 *  a bad @source is reported at position 0 with a message naming "source". */
int rexpr_compile_cond(const char *source, const char *cond, size_t len, const rexpr_limits *lim,
                       rexpr **out, rexpr_err *e);
void rexpr_free(rexpr *x);

/** The FROM filter (NUL-terminated, owned by @x). */
const char *rexpr_filter(const rexpr *x);

/** What a rule sees of one message. @payload: the message as a document, or NULL when it
 *  was not a JSON object (every field is then null). */
typedef struct rexpr_ctx {
    const char *topic;  /* the whole topic */
    const char *device; /* the publishing device's id */
    int64_t ts_ms;      /* arrival, wall-clock ms */
    const bson_t *payload;
} rexpr_ctx;

/** Whether @c passes the WHERE (true when there is none). */
bool rexpr_match(const rexpr *x, const rexpr_ctx *c);
/** Appends the SELECT's fields for @c to @out (`*`: every field of the payload). 0 or -1
 *  when @out could not take them (size). */
int rexpr_select(const rexpr *x, const rexpr_ctx *c, bson_t *out);

#endif
