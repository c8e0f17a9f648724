/**
 * devnotify — notifications a device asks for: a device publishes
 *
 *   topic   server/{device id}/trigger_notification   (also "trigger_notifications")
 *   payload {"recipient": "alice@example.com" | "+441234567890", "message": "...",
 *            "rid": "optional request id, echoed into the record"}
 *
 * and its owner's recipient gets an e-mail (recipient holds '@') or an SMS. The owner
 * (POST /v1/devices/{id}/notifications) can ask the same on the device's behalf.
 *
 * A compromised device must not become a spam relay, so, in this order:
 *   1. rate limit per device in memory (token bucket: rate_per_min, burst); only the first
 *      refusal of a run of refusals is recorded ("rate_limited"), the rest are dropped;
 *   2. the payload is checked (devnotify_recipient_kind, devnotify_message_ok); a bad one
 *      is recorded as refused ("invalid_payload") without its text;
 *   3. in a store job (never on the loop): the recipient must be the owner's own confirmed
 *      e-mail address or on the owner's allow-list (store_recipients_*), else it is
 *      recorded as refused ("recipient_not_allowed"); an allowed one is recorded as queued
 *      and its outbox item added in the same transaction (notify_device_add), then the
 *      notifier is kicked. The notifier sets the row to sent / failed (attempts,
 *      last_error) when the item finishes.
 * A device keeps only its keep_per_device newest records (refused ones included).
 *
 * Threading: devnotify_new / devnotify_detach / devnotify_free on the main thread;
 * devnotify_on_message and devnotify_take on any thread (the broker calls the first on the
 * publishing device's loop); devnotify_record inside a store transaction.
 */
#ifndef IOT_NOTIFY_DEVNOTIFY_H
#define IOT_NOTIFY_DEVNOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"
#include "notify/notify.h"
#include "store/store_app.h"

struct devdir;
typedef struct devnotify devnotify;

#define DEVNOTIFY_MESSAGE_MAX 1000 /* characters (code points) of a message */
#define DEVNOTIFY_RID_MAX     64   /* bytes of a request id */

typedef struct devnotify_opts {
    uint32_t rate_per_min;    /* tokens added per minute per device; default 10 */
    uint32_t burst;           /* bucket size; default 5 */
    uint32_t keep_per_device; /* records kept per device; default 100 */
    uint32_t max_devices;     /* rate-limit buckets kept in memory; default 100000 */
} devnotify_opts;

/** @st and @nt (may be NULL: nothing is kicked, the notifier's poll finds the items) and
 *  @dd (may be NULL: no early drop of unknown devices) must outlive it. @o may be NULL.
 *  NULL when memory runs out. */
devnotify *devnotify_new(store *st, notify *nt, struct devdir *dd, const devnotify_opts *o);
/** The notifier is about to stop: completions from now on no longer kick it (their items
 *  wait in the outbox). Call before notify_stop. */
void devnotify_detach(devnotify *dn);
/** After the store closed (every job it submitted has completed). NULL is ignored. */
void devnotify_free(devnotify *dn);

/** The DEV_EV_MESSAGE subscriber of the device-event bus (devices/events.h; app/main.c
 *  subscribes it, @arg = the devnotify). Ignores every @api but
 *  "trigger_notification" and "trigger_notifications". Never blocks: the store work is a
 *  job whose completion runs on the store thread. @l may be NULL. */
void devnotify_on_message(void *arg, net_loop *l, const char *dev, const char *api,
                          const uint8_t *p, size_t n);

/* ---- the pieces, for the REST API and tests -------------------------------------------- */

enum devnotify_kind { DEVNOTIFY_MAIL = 1, DEVNOTIFY_SMS = 2 };

/** DEVNOTIFY_MAIL for a sane e-mail address (at most 254 bytes, one '@', a local part of
 *  1..64 printable characters without spaces, quotes, brackets, commas or ';', and a
 *  dotted domain of letters, digits and '-'), DEVNOTIFY_SMS for an E.164 number ("+" and
 *  8..15 digits, the first not 0), else -1. */
int devnotify_recipient_kind(const char *r);
/** 1..DEVNOTIFY_MESSAGE_MAX characters of valid UTF-8 (@len bytes), no NUL and no control
 *  characters but tab, CR and LF. */
bool devnotify_message_ok(const char *m, size_t len);

/** One rate-limit token for device @dev. true: go on. false: refused; *@record (may be
 *  NULL) tells whether this is the first refusal since the last success (the one worth a
 *  record). Thread-safe. */
bool devnotify_take(devnotify *dn, const char *dev, bool *record);

/** What to record for a device's request. recipient and message NULL (or reason set) for
 *  a refusal decided before the store. */
typedef struct devnotify_req {
    const char *device_id;
    const char *owner_id;  /* NULL: the device's owner from the store */
    const char *recipient; /* checked with devnotify_recipient_kind */
    const char *message;   /* checked with devnotify_message_ok */
    const char *rid;       /* may be NULL */
    const char *reason;    /* non-NULL: record a refusal for this reason, send nothing */
    int64_t now;           /* wall-clock ms */
} devnotify_req;

typedef struct devnotify_result {
    int64_t id;         /* the notification record */
    const char *status; /* "queued" or "refused" (static) */
    const char *reason; /* refused: why (static) */
} devnotify_result;

/** Store thread: checks the recipient against the owner's confirmed e-mail and allow-list
 *  and records the notification (and, when allowed, its outbox item). STORE_ENOTFOUND when
 *  the device does not exist (or is not @owner_id's). @keep: records kept per device. */
int devnotify_record(store_tx *tx, const devnotify_req *rq, unsigned keep, devnotify_result *out);
/** The records kept per device (for devnotify_record from the REST API). */
unsigned devnotify_keep(const devnotify *dn);
/** Kicks the notifier unless detached. Any thread. */
void devnotify_kick(devnotify *dn);

#endif
