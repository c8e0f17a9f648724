/**
 * rules/rule_def — a rule's definition (docs/rules.md "Rules" and "Actions"): checked and
 * compiled from the owner's JSON (as a BSON document) once, at creation, update and
 * start-up. Pure: no store, no loop (the store-side check that republish targets are the
 * owner's devices is the caller's, over rule_def_targets).
 *
 *   {"name": "...", "sql": "SELECT ... FROM '...' WHERE ..."}         or
 *   {"name": "...", "source": "server/+/telemetry", "condition": "temp > 30"}
 *   + "enabled": bool (default true), "description": "...",
 *   + "actions": [ 1..RULE_ACTIONS_MAX of
 *       {"type": "republish", "topic": "server/{dev}/...", "payload": template, "qos": 0|1}
 *       {"type": "telemetry", "keys": {"stored key": "selected field", ...}}
 *       {"type": "notify", "recipient": "a@b.c" | "+4412...", "message": template}
 *       {"type": "shadow", "section": "reported" | "desired", "keys": ["field", ...]}
 *       {"type": "alarm_raise", "alarm": "type", "severity": "critical|major|minor|warning|
 *        indeterminate", "details": template, "notify": recipient}
 *       {"type": "alarm_clear", "alarm": "type"}
 *       {"type": "webhook", "url": "https://...", "body": template, "secret": "...",
 *        "timeout_ms": 100..30000 (5000), "retries": 0..10 (5)} ]
 *
 * Templates: "${field}" is the SELECT output's field (a dotted path), "${deviceid()}",
 * "${topic()}" and "${timestamp()}" the message's context; a missing field is "null".
 *
 * Threading: a rule_def is immutable once parsed; any thread may read it.
 */
#ifndef IOT_RULES_RULE_DEF_H
#define IOT_RULES_RULE_DEF_H

#include <bson/bson.h>
#include <stdbool.h>

#include "common/json.h"
#include "rules/rexpr.h"

#define RULE_ACTIONS_MAX  8    /* actions of one rule */
#define RULE_NAME_MAX     128  /* bytes of a rule's name */
#define RULE_TEMPLATE_MAX 2048 /* bytes of a template */
#define RULE_KEYS_MAX     32   /* keys of a telemetry or shadow action */
#define RULE_URL_MAX      2048 /* bytes of a webhook URL */

enum rule_act {
    RULE_REPUBLISH = 1,
    RULE_TELEMETRY,
    RULE_NOTIFY,
    RULE_SHADOW,
    RULE_ALARM_RAISE,
    RULE_ALARM_CLEAR,
    RULE_WEBHOOK,
};

typedef struct rule_action {
    enum rule_act kind;
    const char *topic;                 /* republish: template */
    const char *payload;               /* republish payload / notify message / alarm details (NULL:
                            * the selection as JSON) */
    int qos;                           /* republish */
    const char *recipient;             /* notify; alarm_raise's notification (NULL: none) */
    const char *alarm;                 /* alarm type */
    const char *severity;              /* alarm_raise */
    const char *section;               /* shadow: "reported" or "desired" */
    const char *keys[RULE_KEYS_MAX];   /* telemetry: stored names; shadow: fields */
    const char *fields[RULE_KEYS_MAX]; /* telemetry: selected fields */
    int n_keys;                        /* 0: every top-level field of the selection */
    const char *url;                   /* webhook: https://... */
    const char *secret;                /* webhook: HMAC key of the signature (NULL: none) */
    int timeout_ms;                    /* webhook: one attempt */
    int retries;                       /* webhook: attempts after the first */
} rule_action;

typedef struct rule_def {
    bson_t doc; /* the definition, owned; the strings below point into it */
    const char *name;
    bool enabled;
    rexpr *x;
    rule_action act[RULE_ACTIONS_MAX];
    int n_act;
} rule_def;

/** Checks and compiles @doc (copied). 0 with *@out set (rule_def_free it), or <0 with @e
 *  filled: e->field names the field ("sql", "condition", "actions[1].topic"), and for
 *  the language the message names the position. */
int rule_def_parse(const bson_t *doc, const rexpr_limits *lim, rule_def **out, json_err *e);
void rule_def_free(rule_def *d);

/** Calls @cb with every device id a republish action names literally (the second level
 *  of "server/{dev}/..."; "${deviceid()}" is the publishing device itself). */
void rule_def_targets(const rule_def *d, void (*cb)(void *arg, const char *dev), void *arg);

/** Renders template @t for one message: @sel the SELECT output, @c its context. The text
 *  (NUL-terminated) in @out, at most @cap - 1 bytes; -1 when it does not fit. */
int rule_render(const char *t, const bson_t *sel, const rexpr_ctx *c, char *out, size_t cap);

#endif
