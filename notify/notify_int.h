/*
 * notify_int — what the notifier thread (notify.c), the mail document (mail.c) and the
 * channels (smtp.c, log_channel.c) share. Private to notify/.
 */
#ifndef IOT_NOTIFY_NOTIFY_INT_H
#define IOT_NOTIFY_NOTIFY_INT_H

#include <bson/bson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify/notify.h"

#define NOTIFY_SUBJECT_MAX 512        /* bytes; a subject is one short header line */
#define NOTIFY_TEXT_MAX    (64 << 10) /* bytes of body text: our mails are short */

/* How a send ended: the notifier deletes, retries or gives up accordingly. */
enum notify_send_rc {
    NOTIFY_SENT = 0,
    NOTIFY_ETEMP = -1, /* try again later (connection refused, 4xx, timeout, ...) */
    NOTIFY_EPERM = -2, /* never succeeds (5xx, malformed item): record as failed */
};

/* One e-mail or SMS (subject NULL), pointing into the outbox document it was read from. */
typedef struct notify_mail {
    const char *to;
    const char *subject;
    const char *text;
} notify_mail;

#define NOTIFY_SMS_TEXT_MAX 4096 /* bytes of an SMS text (devices send at most 1000 chars) */

/* A delivery channel. send() runs on the notifier thread and may block (bounded by the
 * channel's own timeouts); it writes a short reason into @why on failure, which is
 * logged and stored with a failed item, so it must never hold the text or credentials. */
typedef struct notify_channel {
    const char *name;
    int (*send)(void *ctx, const notify_mail *m, char *why, size_t whylen);
    void (*free)(void *ctx);
    void *ctx;
} notify_channel;

/** Reads {to, subject, text} of a "mail" document; the header fields must be free of CR,
 *  LF and other control characters. 0 or STORE_EINVAL. */
int notify__mail_read(const bson_t *doc, notify_mail *m);
/** true when @s is a usable header value: non-empty, at most @max bytes, no control
 *  characters (CR/LF would let a value add headers of its own). */
bool notify__header_ok(const char *s, size_t max);

/** Reads {to, text} of an "sms" document: to must be E.164 ("+" and digits). 0 or
 *  STORE_EINVAL. */
int notify__sms_read(const bson_t *doc, notify_mail *m);
/** The notification record an item belongs to ("nid"), 0 when none. */
int64_t notify__item_nid(const bson_t *doc);

/** true when @a is one plain address (envelope and header): a header value with an '@'
 *  and a domain, without spaces, brackets or commas. */
bool notify__addr_ok(const char *a);

/** The log channel (never fails); @sms: it logs SMS rather than mails. */
int notify__log_channel(notify_channel *c);
int notify__log_channel_sms(notify_channel *c);
/** The SMS gateway channel for @o (sms_url set). 0 or <0 with @err. */
int notify__sms_channel(notify_channel *c, const notify_opts *o, char *err, size_t errlen);
/** The SMTP channel for @o (smtp_url set). 0 or <0 with @err. */
int notify__smtp_channel(notify_channel *c, const notify_opts *o, char *err, size_t errlen);

/* ---- the notifier (notify.c owns the thread, round.c does one claim-and-send round) --- */

#define NOTIFY_LEASE_MS    60000   /* a claimed item comes back after this if we die */
#define NOTIFY_BATCH       8       /* items claimed per round */
#define NOTIFY_POLL_MS     5000    /* longest sleep: catches leases that ended, other writers */
#define NOTIFY_BACKOFF_CAP 3600000 /* longest retry delay, ms */

struct notify_settings {
    notify_channel ch;  /* mail */
    notify_channel sms; /* SMS */
};

struct notify {
    store *st;
    notify_channel ch;  /* mail */
    notify_channel sms; /* SMS */
    unsigned max_attempts;
    uint32_t backoff_ms;
    pthread_t thread;
    pthread_mutex_t mu; /* guards stop, kicked, stats */
    pthread_cond_t cv;  /* CLOCK_MONOTONIC */
    bool stop, kicked;
    notify_settings *pending; /* guarded by mu: applied by a reload, taken before a delivery */
    int64_t next_due; /* earliest retry this thread scheduled, wall ms (0: none); thread only */
    notify_stats stats;
};

/** Switches to settings a reload applied, if any. Notifier thread, between deliveries. */
void notify__take_settings(notify *n);
/** Claims a batch of due items and delivers each (stopping early when n->stop is set).
 *  true when a full batch was claimed, so more may be due at once. Notifier thread. */
bool notify__round(notify *n);
/** The delay before retry number @attempts + 1: backoff_ms doubled @attempts times,
 *  capped at NOTIFY_BACKOFF_CAP. */
int64_t notify__backoff(uint32_t backoff_ms, int32_t attempts);

/* ---- channel credentials (creds.c) ---------------------------------------------------- */

typedef struct notify__creds {
    char *url, *user, *pass, *from; /* NULL when not configured */
} notify__creds;

/* Copies the non-empty strings. 0, or -1 when memory ran out (then clear it anyway). */
int notify__creds_set(notify__creds *c, const char *url, const char *user, const char *pass,
                      const char *from);
/* Wipes the password and the URL, frees everything, zeroes @c. */
void notify__creds_clear(notify__creds *c);

#endif
