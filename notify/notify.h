/**
 * notify — the notifier: delivers what the outbox (store_outbox_*) holds.
 *
 * Producers add items inside their own store transaction (so a code is never mailed for a
 * sign-up that rolled back, and never lost once committed) with notify_mail_add(), then
 * call notify_kick() after the commit. The notifier thread claims due items (with a
 * lease, so a crash mid-send only delays), sends them, and deletes them on success or
 * schedules a retry with exponential backoff; after max_attempts, or on a permanent SMTP
 * failure (5xx), the item is recorded as failed (kept, never retried; logged without its
 * text).
 *
 * Channels: SMS (outbox kind "sms") go through an HTTP gateway when sms_url is set (2xx
 * sent, 4xx but 408/429 failed for good, 5xx and network errors retried), else to the log.
 * Mail channels: SMTP through libcurl when smtp_url is set ("smtp://host:25", "smtps://host:465";
 * STARTTLS is required for smtp:// unless smtp_insecure is set); otherwise the "log"
 * channel prints the message to the server log (for a fresh machine without a mail server:
 * the confirmation code appears in the log by design, and only there).
 *
 * Threading: notify_start/notify_stop on the main thread; notify_kick, notify_settings_apply
 * and notify_mail_add (inside a store job) from any thread. The notifier never runs on a worker loop.
 */
#ifndef IOT_NOTIFY_NOTIFY_H
#define IOT_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct notify notify;

typedef struct notify_opts {
    store *st;
    const char *smtp_url;  /* NULL or "" → log channel */
    const char *smtp_user; /* optional */
    const char *smtp_pass; /* optional; never logged */
    const char *from;      /* envelope + header From; default "iotcloud@localhost" */
    bool smtp_insecure;    /* allow smtp:// without STARTTLS (local test servers) */
    unsigned max_attempts; /* default 8 */
    uint32_t backoff_ms;   /* first retry delay, doubling, capped at 1 h; default 2000 */
    /* SMS through an HTTP gateway (notify/sms.c): one POST per message to sms_url,
     * application/x-www-form-urlencoded fields to, from, text; HTTP basic auth with
     * sms_user / sms_pass when set. NULL or "" sms_url: SMS go to the log. */
    const char *sms_url;  /* http:// or https:// */
    const char *sms_user; /* optional */
    const char *sms_pass; /* optional; never logged */
    const char *sms_from; /* the "from" field; default "iotcloud" */
} notify_opts;

/** Starts the notifier thread. NULL with @err on failure. */
notify *notify_start(const notify_opts *o, char *err, size_t errlen);
/** Thread-safe: new items are due; wakes the notifier at once. NULL is ignored. */
void notify_kick(notify *n);
/** Stops the thread (an item being sent finishes first) and frees. NULL is ignored. */
void notify_stop(notify *n);

/** Queues an e-mail inside @tx (outbox kind "mail", document {to, subject, text}). Due at
 *  @now. 0 or a negative STORE_E*. */
int notify_mail_add(store_tx *tx, const char *to, const char *subject, const char *text,
                    int64_t now);

/** Queues a device notification inside @tx, linked to notification record @nid (store_app.h)
 *  whose status the notifier sets when the item is sent or given up: an e-mail (kind
 *  "mail", document {to, subject, text, nid}) when @to holds '@', else an SMS (kind "sms",
 *  {to, text, nid}; @subject ignored, may be NULL). Due at @now. 0 or a negative STORE_E*. */
int notify_device_add(store_tx *tx, int64_t nid, const char *to, const char *subject,
                      const char *text, int64_t now);

/* Channel settings built ahead of a reload (app/reload.c): building checks them (and may
 * refuse) without touching the running notifier; applying hands them over. */
typedef struct notify_settings notify_settings;

/** Builds the mail and SMS channels @o names (o->st and the retry fields are ignored). NULL
 *  with @err when a value is refused. Any thread. */
notify_settings *notify_settings_new(const notify_opts *o, char *err, size_t errlen);
/** Thread-safe: hands @s (owned from then on) to @n. The next delivery uses it; one in
 *  progress finishes with the settings it started with. */
void notify_settings_apply(notify *n, notify_settings *s);
/** Frees settings that were never applied (wiping their secrets). NULL is ignored. */
void notify_settings_free(notify_settings *s);

typedef struct notify_stats {
    unsigned long long sent, retried, failed;
} notify_stats;
void notify_stats_get(notify *n, notify_stats *out);

#endif
