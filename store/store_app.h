/**
 * store_app — application entities: users, one-time codes, tokens, devices, device types,
 * device certificates and the outbox. The HTTPS REST API and device identity use these.
 *
 * Think in entities, not tables. Each entity is one BSON document, the same document a
 * MongoDB backend would store natively:
 *   { _id: key, v: int32 document version (1), <keys the store owns>, <caller's fields> }
 * The caller passes its own fields as a bson_t; the store strips the keys it owns (_id, v
 * and the ones listed per entity) from it and writes its own values, so a document read
 * with a get function can be changed and handed straight back to the update function.
 * In SQLite each collection is a table with the key, a few typed columns for unique keys,
 * lookups and expiry, and the whole document in a BLOB. Codes and tokens have no free-form
 * fields and are plain typed rows.
 *
 * Threading, ownership and errors as in store.h: every function takes a store_tx and runs on
 * the thread owning the transaction (a job's run() or a store_sync() function). Inputs are
 * only read during the call. A bson_t returned through bson_t **out is owned by the caller
 * (bson_destroy); *out is NULL on error. Callbacks get pointers valid during the callback
 * only, must not call the same list function again, and stop the walk by returning non-zero
 * (that value is returned). Functions return 0 or a negative STORE_E*:
 *   STORE_EINVAL    bad argument (NULL, empty or too long key, malformed serial, ...)
 *   STORE_EEXISTS   a unique key is taken (username, email, device name, token, serial...)
 *   STORE_ENOTFOUND no such entity (or not visible to the owner asking)
 *   STORE_ECORRUPT  the row's BSON is invalid or its `v` is unknown: reported through
 *                   store__row_skipped (counted in store_stats.rows_skipped); list and each
 *                   functions skip such rows instead of failing.
 * Times are int64 milliseconds since the Unix epoch, always passed in by the caller (`now`),
 * so the store never reads a clock and tests control time.
 * Keys (ids, owner ids, families) are non-empty strings of at most STORE_ID_MAX bytes, names
 * (username, email, device and type names, kinds) of at most STORE_NAME_MAX, chosen by the
 * caller (random or time-ordered ids; lists are ordered by id).
 *
 * Room for later entities (no code yet): device commands become a collection keyed by
 * command id with typed (device_id, state, expires_at) columns and the command document;
 * shadows are one document per device (_id = device id, desired/reported sub-documents,
 * a `version` column for optimistic updates); telemetry is append-only typed rows
 * (device_id, ts, BSON payload) in a table of their own, or a time-series collection in
 * MongoDB. Each arrives as a new migration in schema_app.c and a file in store/.
 */
#ifndef IOT_STORE_STORE_APP_H
#define IOT_STORE_STORE_APP_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_ID_MAX     64  /* longest id / owner id / family / serial, bytes */
#define STORE_NAME_MAX   256 /* longest username, email, name, type, kind, bytes */
#define STORE_HASH_MAX   64  /* longest code hash, bytes */
#define STORE_TOKEN_HASH 32  /* tokens are stored as their SHA-256 only */
#define STORE_DOC_V      1   /* the document version this build writes and reads */

/* ---- users -----------------------------------------------------------------------------
 * Document: { _id, v, username, email, <caller's fields> } where the caller's fields are,
 * by convention of the REST API: password (PHC string), given_name, family_name,
 * confirmed (bool), created_at (int64), failed_logins (int32), locked_until (int64).
 * username is unique as given (the API normalises it); email is unique ignoring ASCII case.
 */

/** Creates a user. STORE_EEXISTS if @id, @username or @email (any case) is taken. */
int store_user_create(store_tx *tx, const char *id, const char *username, const char *email,
                      const bson_t *doc);
/** The user document by id / username / email (email compared ignoring ASCII case). */
int store_user_get(store_tx *tx, const char *id, bson_t **out);
int store_user_get_by_username(store_tx *tx, const char *username, bson_t **out);
int store_user_get_by_email(store_tx *tx, const char *email, bson_t **out);
/** Calls @cb for each user with id > @after (NULL: from the start), in id order, at most
 *  @limit (1..STORE_PAGE_MAX, 0 = STORE_PAGE_MAX) of them; fills @page (may be NULL; see
 *  store_page below: corrupt rows are skipped, the cursor passes them). For the admin list. */
typedef struct store_page store_page;
int store_user_list(store_tx *tx, const char *after, unsigned limit,
                    int (*cb)(void *arg, const bson_t *doc), void *arg, store_page *page);
/** Replaces the caller's fields of user @id with @doc; @username / @email change the keys
 *  (NULL keeps the current one). STORE_ENOTFOUND, STORE_EEXISTS (new key taken). Works on a
 *  user whose document is corrupt (the keys are kept in typed columns), which repairs it. */
int store_user_update(store_tx *tx, const char *id, const char *username, const char *email,
                      const bson_t *doc);
/** Deletes the user and, in the same transaction, all its codes and tokens. Devices, device
 *  types and certificates are NOT deleted: the API decides what happens to them first. */
int store_user_delete(store_tx *tx, const char *id);

/* ---- one-time codes (e-mail confirmation, password reset) ------------------------------
 * At most one code per (user, kind); only a hash of the code is stored. */

enum store_code_kind { STORE_CODE_CONFIRM = 1, STORE_CODE_RESET = 2 };

typedef struct store_code {
    uint8_t hash[STORE_HASH_MAX];
    size_t hash_len;
    int64_t expires_at;
    int32_t attempts; /* wrong guesses so far */
} store_code;

/** Sets the code of (@user_id, @kind), replacing any previous one (attempts restart at 0).
 *  1 <= hash_len <= STORE_HASH_MAX. */
int store_code_put(store_tx *tx, const char *user_id, int kind, const uint8_t *hash,
                   size_t hash_len, int64_t expires_at);
/** The code of (@user_id, @kind); STORE_ENOTFOUND if there is none or it expired
 *  (expires_at <= @now), so an expired code can never be accepted. */
int store_code_get(store_tx *tx, const char *user_id, int kind, int64_t now, store_code *out);
/** Counts one wrong guess; the new count in *@attempts (may be NULL). STORE_ENOTFOUND. */
int store_code_fail(store_tx *tx, const char *user_id, int kind, int32_t *attempts);
/** Removes the code (it was used: codes are single use). STORE_ENOTFOUND if absent. */
int store_code_delete(store_tx *tx, const char *user_id, int kind);
/** Removes every code with expires_at <= @now; how many in *@n (may be NULL). */
int store_code_purge(store_tx *tx, int64_t now, unsigned *n);

/* ---- tokens (opaque access / refresh tokens) -------------------------------------------
 * Only the SHA-256 of a token is stored. Refresh tokens rotate within a family: presenting
 * a revoked refresh token means it was stolen, and the API revokes the whole family. */

enum store_token_kind { STORE_TOKEN_ACCESS = 1, STORE_TOKEN_REFRESH = 2 };

typedef struct store_token {
    char user_id[STORE_ID_MAX + 1];
    char family[STORE_ID_MAX + 1];
    int kind; /* enum store_token_kind */
    int64_t expires_at;
    bool revoked;
} store_token;

/** Stores a token. STORE_EEXISTS if the hash is already stored. */
int store_token_put(store_tx *tx, const uint8_t hash[STORE_TOKEN_HASH], const char *user_id,
                    const char *family, int kind, int64_t expires_at);
/** The token with this hash, revoked or expired ones included (the caller checks both:
 *  reuse of a revoked refresh token must be seen). STORE_ENOTFOUND. */
int store_token_get(store_tx *tx, const uint8_t hash[STORE_TOKEN_HASH], store_token *out);
/** Revokes one token. STORE_ENOTFOUND if the hash is not stored. */
int store_token_revoke(store_tx *tx, const uint8_t hash[STORE_TOKEN_HASH]);
/** Revokes every token of @family / of @user_id; how many changed in *@n (may be NULL).
 *  None is not an error. */
int store_token_revoke_family(store_tx *tx, const char *family, unsigned *n);
int store_token_revoke_user(store_tx *tx, const char *user_id, unsigned *n);
/** Removes every token with expires_at <= @now (revoked or not). */
int store_token_purge(store_tx *tx, int64_t now, unsigned *n);

/* ---- devices ---------------------------------------------------------------------------
 * Document: { _id, v, owner_id, name, type, attrs: { ... }, <caller's fields> } where the
 * caller's fields hold, by convention, secret (PHC hash of the device secret), online
 * (bool), last_seen (int64), created_at (int64). name is unique per owner.
 * Functions taking @owner_id answer STORE_ENOTFOUND for another owner's device, so the
 * REST API cannot leak whether an id exists. */

/** Creates a device. @attrs may be NULL (empty). STORE_EEXISTS if @id or (@owner_id, @name)
 *  is taken. */
int store_device_create(store_tx *tx, const char *id, const char *owner_id, const char *name,
                        const char *type, const bson_t *attrs, const bson_t *doc);
/** The device @id if it belongs to @owner_id. */
int store_device_get(store_tx *tx, const char *owner_id, const char *id, bson_t **out);
/** The device @id whoever owns it: for the broker / certificate checks, never for a
 *  request made on behalf of a user. */
int store_device_get_any(store_tx *tx, const char *id, bson_t **out);
int store_device_get_by_name(store_tx *tx, const char *owner_id, const char *name, bson_t **out);

typedef struct store_device_filter {
    const char *name_prefix; /* NULL: any name */
    const char *type;        /* NULL: any type */
    const char *after;       /* cursor: only ids > after (NULL: from the start) */
    unsigned offset;         /* rows to skip after the cursor */
    unsigned limit;          /* page size, 1..STORE_PAGE_MAX (0 = STORE_PAGE_MAX) */
} store_device_filter;

#define STORE_PAGE_MAX 1000

struct store_page {
    unsigned n;                     /* documents handed to the callback */
    unsigned skipped;               /* corrupt rows skipped in this page */
    bool more;                      /* further rows match after this page */
    char last_id[STORE_ID_MAX + 1]; /* id of the last row read (corrupt or not): the next
                                     * page's `after`; "" when the page is empty */
};

/** Calls @cb for each device of @owner_id matching @f (NULL: all), in id order, at most
 *  f->limit of them; fills @page (may be NULL). Paging by `after` = page.last_id is stable
 *  under concurrent inserts and deletes; offset is for clients that page by number. */
int store_device_list(store_tx *tx, const char *owner_id, const store_device_filter *f,
                      int (*cb)(void *arg, const bson_t *doc), void *arg, store_page *page);
/** How many devices of @owner_id match @f's name_prefix and type (after/offset/limit are
 *  ignored; @f may be NULL). */
int store_device_count(store_tx *tx, const char *owner_id, const store_device_filter *f,
                       uint64_t *out);
/** The same over every owner's devices: for administrators and for loading the device
 *  directory at start-up, never for a request made on behalf of a user. */
int store_device_list_all(store_tx *tx, const store_device_filter *f,
                          int (*cb)(void *arg, const bson_t *doc), void *arg, store_page *page);
int store_device_count_all(store_tx *tx, const store_device_filter *f, uint64_t *out);
/** How many devices @owner_id has (the per-user quota; an index walk over the owner's rows
 *  only). */
int store_device_count_owned(store_tx *tx, const char *owner_id, uint64_t *out);
/** Updates device @id of @owner_id: a non-NULL @name renames it (STORE_EEXISTS if the owner
 *  has that name), non-NULL @attrs replaces the attributes, non-NULL @doc replaces the
 *  caller's fields. owner and type never change. */
int store_device_update(store_tx *tx, const char *owner_id, const char *id, const char *name,
                        const bson_t *attrs, const bson_t *doc);
/** Deletes device @id of @owner_id and, in the same transaction, its activity (events,
 *  history) and notification records. Its certificates stay (they must remain on the CRL
 *  until they expire): revoke them first. */
int store_device_delete(store_tx *tx, const char *owner_id, const char *id);

/* ---- device types ----------------------------------------------------------------------
 * Document: { _id, v, owner_id (absent when global), name, required: [ attribute names ],
 * <caller's fields> }. A type is global (@owner_id NULL) or an owner's own; the name is
 * unique within its scope and an owner's type hides a global type of the same name. */

/** Creates a type. STORE_EEXISTS if @id or the name in that scope is taken. */
int store_devtype_create(store_tx *tx, const char *id, const char *owner_id, const char *name,
                         const char *const *required, size_t n_required, const bson_t *doc);
/** The type called @name as seen by @owner_id: its own, else the global one. @owner_id
 *  NULL looks at global types only. */
int store_devtype_get(store_tx *tx, const char *owner_id, const char *name, bson_t **out);
/** Calls @cb for the types @owner_id sees (its own and the global ones; NULL: global only),
 *  ordered by name, own before global for equal names. Corrupt rows skipped. */
int store_devtype_each(store_tx *tx, const char *owner_id, int (*cb)(void *arg, const bson_t *doc),
                       void *arg);
/** Deletes the type @name of @owner_id's scope (NULL: the global one). */
int store_devtype_delete(store_tx *tx, const char *owner_id, const char *name);
/** How many types of its own @owner_id has (global ones not counted): the per-user quota. */
int store_devtype_count_owned(store_tx *tx, const char *owner_id, uint64_t *out);

/* ---- device certificates ---------------------------------------------------------------
 * Document: { _id: serial, v, device_id, not_after, pem, revoked_at?, reason?,
 * <caller's fields> }. The serial is hex (stored lower case, at most 40 digits = 20 bytes
 * [RFC 5280 4.1.2.2]). There is no place for a private key: a PEM holding one, or a field
 * named key / private_key, is refused with STORE_EINVAL. */

/** Stores an issued certificate. STORE_EEXISTS if the serial is taken. */
int store_cert_put(store_tx *tx, const char *serial, const char *device_id, int64_t not_after,
                   const char *pem, const bson_t *doc);
int store_cert_get(store_tx *tx, const char *serial, bson_t **out);
/** Calls @cb for each certificate of @device_id, by not_after then serial. */
int store_cert_each_device(store_tx *tx, const char *device_id,
                           int (*cb)(void *arg, const bson_t *doc), void *arg);
/** store_cert_each_device for the unrevoked certificates only (what a rotation or an
 *  unregistration must revoke): documents are read for those alone, so the cost does not
 *  grow with the device's revoked history beyond one column test per row. */
int store_cert_each_live(store_tx *tx, const char *device_id,
                         int (*cb)(void *arg, const bson_t *doc), void *arg);
/** Deletes every revoked certificate with not_after <= @now: it is on no CRL any more and
 *  TLS refuses it as expired. *@n (may be NULL) = rows deleted. */
int store_cert_prune_expired(store_tx *tx, int64_t now, unsigned *n);
/** Revokes a certificate with an RFC 5280 CRLReason code at @when. STORE_ENOTFOUND;
 *  STORE_EEXISTS if already revoked (the first revocation is kept). Works even when the
 *  document is corrupt (the typed columns the CRL reads are updated). */
int store_cert_revoke(store_tx *tx, const char *serial, int reason, int64_t when);

typedef struct store_cert_revoked {
    const char *serial; /* lower-case hex */
    int64_t revoked_at;
    int reason;
    int64_t not_after;
} store_cert_revoked;

/** Calls @cb for every revoked certificate with not_after > @now (expired ones need not be
 *  on a CRL; @now 0 lists all), by serial. Reads typed columns only. */
int store_cert_each_revoked(store_tx *tx, int64_t now,
                            int (*cb)(void *arg, const store_cert_revoked *r), void *arg);

/* ---- outbox (notification e-mails, later webhooks) -------------------------------------
 * Document: { v, kind, <caller's fields> }; the int64 id is the row's key beside it (a
 * MongoDB backend would use a counter or an ObjectId). An item is due when due_at <= now.
 * Claiming leases items: their due_at moves to now + lease, so an item whose sender died
 * comes back after the lease without a separate recovery step. */

/** Queues a @kind item (e.g. "mail.confirm") due at @due_at; its id in *@id (may be NULL). */
int store_outbox_add(store_tx *tx, const char *kind, const bson_t *doc, int64_t due_at,
                     int64_t *id);
/** Leases up to @max due items for @lease_ms and calls @cb for each (any order) with the
 *  number of earlier failed attempts. Corrupt rows are reported and deleted (they can never
 *  be sent). Items left when @cb stops the walk stay leased until the lease ends. */
int store_outbox_claim(store_tx *tx, int64_t now, int64_t lease_ms, unsigned max,
                       int (*cb)(void *arg, int64_t id, const char *kind, int32_t attempts,
                                 const bson_t *doc),
                       void *arg);
/** A failed attempt: the item becomes due again at @due_at with attempts + 1 (the new
 *  count in *@attempts, may be NULL), so the sender can give up after N. STORE_ENOTFOUND. */
int store_outbox_retry(store_tx *tx, int64_t id, int64_t due_at, int32_t *attempts);
/** Removes the item: sent (done) or given up. STORE_ENOTFOUND. */
int store_outbox_delete(store_tx *tx, int64_t id);

/* ---- device notifications (notify/devnotify.h) -----------------------------------------
 * Typed rows only (schema_notify.c). A user's allow-list of recipients (e-mail addresses
 * compared ignoring ASCII case, E.164 phone numbers), and per device the notifications it
 * asked for: queued (an outbox item exists), sent, failed, or refused (never queued; the
 * reason says why). Never the message text. */

#define STORE_RECIPIENT_MAX 254 /* longest recipient, bytes (an e-mail address) */

/** Replaces the allow-list of @user_id with @list (@n entries, 0 clears it; each 1..
 *  STORE_RECIPIENT_MAX bytes; duplicates ignoring case are kept once). */
int store_recipients_set(store_tx *tx, const char *user_id, const char *const *list, size_t n);
/** Calls @cb for each recipient on @user_id's allow-list, in order of the text. */
int store_recipients_each(store_tx *tx, const char *user_id,
                          int (*cb)(void *arg, const char *recipient), void *arg);
/** 0 when @recipient is on @user_id's allow-list (ignoring ASCII case), else
 *  STORE_ENOTFOUND. */
int store_recipient_allowed(store_tx *tx, const char *user_id, const char *recipient);

typedef struct store_notification {
    int64_t id;            /* set by the store */
    const char *device_id; /* key */
    const char *owner_id;  /* key: the device's owner when it was recorded */
    const char *channel;   /* "mail" | "sms" (a name) */
    const char *recipient; /* may be "" (a refused payload without a usable one) */
    const char *status;    /* "queued" | "sent" | "failed" | "refused" (a name) */
    const char *reason;    /* refused: why (a name); NULL otherwise */
    const char *rid;       /* the device's request id, or NULL */
    int32_t attempts;
    const char *last_error; /* the last delivery error (NULL: none) */
    int64_t created_at;
    int64_t sent_at; /* 0: not sent */
} store_notification;

/** Records @n (id ignored) and keeps only the @keep (>= 1) newest rows of its device; the
 *  new id in *@id (may be NULL). */
int store_notification_add(store_tx *tx, const store_notification *n, unsigned keep, int64_t *id);
/** Sets the delivery outcome of notification @id: @status, @attempts, @last_error (NULL
 *  clears), @sent_at (0: not sent). STORE_ENOTFOUND when it was trimmed meanwhile. */
int store_notification_finish(store_tx *tx, int64_t id, const char *status, int32_t attempts,
                              const char *last_error, int64_t sent_at);
/** Calls @cb for the notifications of @device_id recorded for @owner_id, newest first,
 *  with id < @before (0: from the newest), at most @limit (1..STORE_PAGE_MAX); *@more
 *  (may be NULL) tells whether older ones follow. Strings are valid during @cb only. */
int store_notification_list(store_tx *tx, const char *owner_id, const char *device_id,
                            int64_t before, unsigned limit,
                            int (*cb)(void *arg, const store_notification *n), void *arg,
                            bool *more);
/** Deletes every notification of @device_id (device deleted); how many in *@n (may be
 *  NULL). */
int store_notification_delete_device(store_tx *tx, const char *device_id, unsigned *n);

/* ---- queued device commands (?mode=queue, devices/cmdq.h) ---------------------------------
 * Document: { _id, v, device_id, owner_id, api, state, created_at, updated_at, expires_at,
 * transitions: [ {state, at}, ... ], <caller's fields> } where the caller's fields are, by
 * convention of the REST API: params (object), timeout_ms (int32), and once it ended
 * status (int32), result (object: the device's value) or error {code, message}.
 * The store owns the state machine's bookkeeping: every state change rewrites the typed
 * columns (state, updated_at) and the document (state, updated_at, one more transition),
 * so GET shows each state a command passed through with its time. States are names
 * (STORE_CMD_*); the store does not judge which transitions are legal, except that a
 * change may require the current state (@from). Lists by id: the API chooses time-ordered
 * ids, so id order is creation order. */

#define STORE_CMD_QUEUED    "QUEUED"
#define STORE_CMD_SENT      "SENT"
#define STORE_CMD_DELIVERED "DELIVERED"
#define STORE_CMD_SUCCEEDED "SUCCEEDED"
#define STORE_CMD_FAILED    "FAILED"
#define STORE_CMD_TIMED_OUT "TIMED_OUT"
#define STORE_CMD_EXPIRED   "EXPIRED"
#define STORE_CMD_CANCELED  "CANCELED"

/** Creates command @id for @device_id of @owner_id in state QUEUED at @now (one transition)
 *  expiring at @expires_at. @doc (may be NULL): the caller's fields. STORE_EEXISTS. */
int store_command_create(store_tx *tx, const char *id, const char *device_id, const char *owner_id,
                         const char *api, int64_t now, int64_t expires_at, const bson_t *doc);
/** The command @id if it belongs to @owner_id (another owner's: STORE_ENOTFOUND). */
int store_command_get(store_tx *tx, const char *owner_id, const char *id, bson_t **out);
/** Moves command @id to state @to at @now (updated_at, one more transition) and sets the
 *  caller's fields of @extra (may be NULL; each replaces a field of that name). With
 *  @from non-NULL the command must be in state @from: else STORE_ENOTFOUND, like a
 *  missing command (the caller reads the state when it must tell the two apart). */
int store_command_set_state(store_tx *tx, const char *id, const char *from, const char *to,
                            int64_t now, const bson_t *extra);
/** Calls @cb for the commands of @device_id owned by @owner_id, in state @state (NULL:
 *  any), with id > @after (NULL: from the start), in id order, at most @limit
 *  (1..STORE_PAGE_MAX, 0 = STORE_PAGE_MAX); fills @page (may be NULL). */
int store_command_list(store_tx *tx, const char *owner_id, const char *device_id, const char *state,
                       const char *after, unsigned limit, int (*cb)(void *arg, const bson_t *doc),
                       void *arg, store_page *page);
/** Calls @cb for at most @limit (1..STORE_PAGE_MAX) QUEUED commands of @device_id in
 *  creation order (created_at, then id). @cb must not change commands: collect, then
 *  change. */
int store_command_each_queued(store_tx *tx, const char *device_id, unsigned limit,
                              int (*cb)(void *arg, const bson_t *doc), void *arg);
/** How many commands of @device_id are QUEUED (the per-device cap). */
int store_command_count_queued(store_tx *tx, const char *device_id, uint64_t *out);
/** Moves at most @max (1..STORE_PAGE_MAX) QUEUED commands with expires_at <= @now to
 *  EXPIRED, calling @cb (may be NULL) with each one's id and device id; how many in *@n
 *  (may be NULL). */
int store_command_expire(store_tx *tx, int64_t now, unsigned max,
                         void (*cb)(void *arg, const char *id, const char *device_id), void *arg,
                         unsigned *n);
/** Start-up recovery: every SENT or DELIVERED command (the process stopped before its
 *  outcome was stored) goes back to QUEUED at @now and is sent again when its device
 *  connects: delivery is at least once, like MQTT QoS 1. How many in *@n (may be NULL).
 *  Before the loops run (store_sync). */
int store_command_requeue(store_tx *tx, int64_t now, unsigned *n);
/** Deletes every command of @device_id (the device is deleted); how many in *@n (may be
 *  NULL). */
int store_command_delete_device(store_tx *tx, const char *device_id, unsigned *n);

/* ---- device activity (store/activity.c, schema_activity.c) ------------------------------
 * What happened to a device over time, as typed rows: its MQTT connections coming and
 * going (events) and every exchange with it (history: a REST call or a queued command).
 * Both are capped per device by the insert (see activity.c for how the cap stays cheap: it
 * may hold up to about STORE_ACTIVITY_SLACK rows more than @keep between trims). Lists
 * are newest first and page by id: @before 0 starts at the newest, the next page's
 * @before is the last id handed out (page->last_id). Deleting the device
 * (store_device_delete) deletes both. */

#define STORE_ACTIVITY_SLACK 64 /* rows a device may hold beyond @keep between trims */

typedef struct store_activity_page {
    unsigned n;      /* rows handed to the callback */
    bool more;       /* older rows follow */
    int64_t last_id; /* id of the last row handed out (0: none): the next page's @before */
} store_activity_page;

typedef struct store_device_event {
    int64_t id;            /* set by the store */
    const char *device_id; /* key */
    const char *kind;      /* "connected" | "disconnected" (a name) */
    const char *reason;    /* why it ended (a name: "disconnect", "keepalive", ...) or NULL */
    int64_t at;            /* ms */
} store_device_event;

/** Records event @kind (a name) of @device_id at @at and keeps about the @keep (>= 1)
 *  newest of the device. @reason may be NULL. */
int store_device_event_add(store_tx *tx, const char *device_id, const char *kind,
                           const char *reason, int64_t at, unsigned keep);
/** Calls @cb for the events of @device_id with id < @before (0: from the newest), newest
 *  first, at most @limit (1..STORE_PAGE_MAX); fills @page (may be NULL). */
int store_device_event_list(store_tx *tx, const char *device_id, int64_t before, unsigned limit,
                            int (*cb)(void *arg, const store_device_event *e), void *arg,
                            store_activity_page *page);
/** The time of @device_id's newest event (its last connect or disconnect) in *@at:
 *  last_seen after a restart. STORE_ENOTFOUND when it has none. */
int store_device_last_seen(store_tx *tx, const char *device_id, int64_t *at);
/** Deletes every event of @device_id; how many in *@n (may be NULL). */
int store_device_event_delete_device(store_tx *tx, const char *device_id, unsigned *n);

typedef struct store_history {
    int64_t id;             /* set by the store */
    const char *device_id;  /* key */
    const char *api;        /* the device API called (a name) */
    const char *source;     /* "rest" | "queue" (a name) */
    const char *actor;      /* the user who asked (a key), or NULL */
    const char *command_id; /* the queued command (a key), or NULL */
    int status;             /* the HTTP status the exchange ended with (200, 422, 504...) */
    const char *outcome;    /* "ok" | "device_error" | "bad_answer" | "offline" | "timeout"
                             * | "busy" | "internal" ... (a name) */
    int64_t latency_us;     /* publish -> answer; 0 when nothing was sent */
    int64_t at;             /* ms, when the exchange ended */
    const bson_t *params;   /* the request's params, or NULL */
    const bson_t *reply;    /* 200: the answer's value, or NULL */
    const char *error_code; /* otherwise: the error, or NULL */
    const char *error_message;
} store_history;

/** Optional conditions of a history list; zero / NULL members match anything. */
typedef struct store_history_filter {
    const char *api;
    const char *outcome;
    int status;
    int64_t since; /* at >= since */
    int64_t until; /* at < until */
} store_history_filter;

#define STORE_HISTORY_ERR_MAX 1024 /* longest error_message kept, bytes (longer: cut) */

/** Records @h (id ignored) and keeps about the @keep (>= 1) newest rows of its device; the
 *  new id in *@id (may be NULL). */
int store_history_add(store_tx *tx, const store_history *h, unsigned keep, int64_t *id);
/** Calls @cb for the history rows of @device_id matching @f (NULL: all), id < @before (0:
 *  from the newest), newest first, at most @limit (1..STORE_PAGE_MAX); fills @page (may be
 *  NULL). A row whose params or reply is not valid BSON is handed out with NULL there. */
int store_history_list(store_tx *tx, const char *device_id, const store_history_filter *f,
                       int64_t before, unsigned limit, int (*cb)(void *arg, const store_history *h),
                       void *arg, store_activity_page *page);
/** Deletes every history row of @device_id; how many in *@n (may be NULL). */
int store_history_delete_device(store_tx *tx, const char *device_id, unsigned *n);

/* ---- shadows ------------------------------------------------------------------------------
 * Device shadows (docs/shadows.md): (device_id, name) -> the shadow document, an opaque
 * BSON blob that shadows/ reads and writes whole; name "" is the classic shadow. */

/** The shadow document of (@dev, @name) in *@out (bson_destroy it); STORE_ENOTFOUND. */
int store_shadow_get(store_tx *tx, const char *dev, const char *name, bson_t **out);
/** Creates or replaces the shadow (@version and @updated_at, seconds, are its columns). */
int store_shadow_put(store_tx *tx, const char *dev, const char *name, int64_t version,
                     int64_t updated_at, const bson_t *doc);
/** Deletes the shadow; STORE_ENOTFOUND if it is absent. */
int store_shadow_delete(store_tx *tx, const char *dev, const char *name);
/** Deletes every shadow of @dev (the device is deleted). */
int store_shadow_delete_device(store_tx *tx, const char *dev);
/** Calls @cb for every shadow of @dev, by name ("" first); a non-zero value stops and is
 *  returned. */
typedef int (*store_shadow_cb)(void *arg, const char *name, int64_t version, int64_t updated_at);
int store_shadow_list(store_tx *tx, const char *dev, store_shadow_cb cb, void *arg);
/** How many named shadows @dev has (the classic one not counted). */
int store_shadow_count(store_tx *tx, const char *dev, uint64_t *out);

/* ---- shadow history (schema_shadow_history.c, docs/shadows.md) ---------------------------
 * The last versions of each shadow: (device_id, name, version) -> at (seconds) and the
 * whole shadow document of that version. */

/** Records version @version of (@dev, @name) and drops its versions older than the newest
 *  @keep (0: records nothing). In the transaction that writes the shadow. */
int store_shadow_history_add(store_tx *tx, const char *dev, const char *name, int64_t version,
                             int64_t at, const bson_t *doc, unsigned keep);
/** Deletes the history of one shadow (it is deleted). */
int store_shadow_history_delete(store_tx *tx, const char *dev, const char *name);
/** Deletes the history of every shadow of @dev (store_shadow_delete_device calls it). */
int store_shadow_history_delete_device(store_tx *tx, const char *dev);
/** Calls @cb for the versions of (@dev, @name) below @before (0: from the newest), newest
 *  first, at most @limit (1..); @doc is borrowed for the call. A non-zero value from @cb
 *  stops and is returned. @pg: n, more, last_id = the last version handed out. */
typedef int (*store_shadow_version_cb)(void *arg, int64_t version, int64_t at, const bson_t *doc);
int store_shadow_history_list(store_tx *tx, const char *dev, const char *name, int64_t before,
                              unsigned limit, store_shadow_version_cb cb, void *arg,
                              store_activity_page *pg);

/* ---- provisioning (schema_provisioning.c, docs/provisioning.md) -------------------------
 * Fleet provisioning templates: id -> owner_id, name (unique per owner) and the template
 * document {_id, v, owner_id, name, <the caller's fields>}. Owner-scoped: another owner's
 * template is STORE_ENOTFOUND. */

/** Creates a template; STORE_EEXISTS when @owner_id has one named @name (or @id is taken). */
int store_prov_template_create(store_tx *tx, const char *id, const char *owner_id, const char *name,
                               const bson_t *doc);
int store_prov_template_get(store_tx *tx, const char *owner_id, const char *name, bson_t **out);
/** The template whose id is @id (a claim certificate's CN), whoever owns it: the MQTT
 *  claim connection's lookup (ident/mqtt_claim.c). STORE_ENOTFOUND. */
int store_prov_template_by_id(store_tx *tx, const char *id, bson_t **out);
/** Replaces the document of @owner_id's template @name with @doc (as read by _get, changed;
 *  its _id kept, owner_id and name the row's). STORE_ENOTFOUND. */
int store_prov_template_replace(store_tx *tx, const char *owner_id, const char *name,
                                const bson_t *doc);
/** Calls @cb for every template of @owner_id, by name; corrupt rows are skipped. */
int store_prov_template_each(store_tx *tx, const char *owner_id,
                             int (*cb)(void *arg, const bson_t *doc), void *arg);
int store_prov_template_count(store_tx *tx, const char *owner_id, uint64_t *out);
/** STORE_ENOTFOUND when @owner_id has no template @name. */
int store_prov_template_delete(store_tx *tx, const char *owner_id, const char *name);

/* ---- telemetry (schema_telemetry.c, docs/telemetry.md) ---------------------------------
 * Points of (device, key, ts) with a number, a boolean or a string; numeric ones (booleans
 * count as 0/1) also feed the 1-minute and 1-hour rollups and every point the per-key
 * latest value, in the same call. A point whose (device, key, ts) is already stored is
 * ignored (first write wins): a batch re-sent after a lost acknowledgement counts once. */

#define STORE_TM_RES_MIN  60000LL /* rollup resolutions, ms */
#define STORE_TM_RES_HOUR 3600000LL

enum store_tm_type { STORE_TM_NUM = 0, STORE_TM_BOOL = 1, STORE_TM_STR = 2 };

typedef struct store_tm_point {
    const char *device_id; /* key */
    const char *key;       /* the series name (1..64 bytes) */
    int64_t ts;            /* ms */
    int type;              /* enum store_tm_type */
    double num;            /* NUM; BOOL: 0 or 1 */
    const char *str;       /* STR */
} store_tm_point;

typedef struct store_tm_rollup {
    int64_t bucket; /* start of the bucket, ms (a multiple of res) */
    int64_t cnt;
    double sum, min, max, last; /* last: the value of the newest point */
    int64_t last_ts;
} store_tm_rollup;

enum store_tm_added { STORE_TM_STORED = 0, STORE_TM_DUPLICATE = 1, STORE_TM_OVER_KEYS = 2 };

/** Stores @p. *@out (may be NULL) says whether it was stored, ignored as a duplicate, or
 *  refused because the device already has @max_keys series (0: no limit). */
int store_telemetry_add(store_tx *tx, const store_tm_point *p, unsigned max_keys, int *out);
/** Calls @cb for the points of (@device_id, @key) with @from <= ts < @to, oldest first
 *  (newest first when @desc), at most @limit. */
int store_telemetry_raw(store_tx *tx, const char *device_id, const char *key, int64_t from,
                        int64_t to, bool desc, unsigned limit,
                        int (*cb)(void *arg, const store_tm_point *p), void *arg);
/** Calls @cb for the rollups of resolution @res (STORE_TM_RES_*) of (@device_id, @key)
 *  whose bucket is in [@from, @to), oldest first. */
int store_telemetry_rollups(store_tx *tx, const char *device_id, const char *key, int64_t res,
                            int64_t from, int64_t to,
                            int (*cb)(void *arg, const store_tm_rollup *r), void *arg);
/** Calls @cb with the newest point of every series of @device_id, by key. */
int store_telemetry_latest(store_tx *tx, const char *device_id,
                           int (*cb)(void *arg, const store_tm_point *p), void *arg);
/** Deletes the points of @device_id with @from <= ts < @to (every key; the number in *@n,
 *  may be NULL) and recomputes the rollups of the buckets the range touches from the
 *  points that remain (the latest values too). */
int store_telemetry_delete(store_tx *tx, const char *device_id, int64_t from, int64_t to,
                           unsigned *n);
/** Retention of one series: drops its points older than @raw_before and its rollups whose
 *  bucket starts before @rollup_before. Both are range deletes on the primary key. */
int store_telemetry_trim(store_tx *tx, const char *device_id, const char *key, int64_t raw_before,
                         int64_t rollup_before);
/** Deletes everything of @device_id (a device that is unregistered): its series, rollups,
 *  latest values and its log lines. */
int store_telemetry_delete_device(store_tx *tx, const char *device_id);

/* ---- device logs (schema_telemetry.c, docs/telemetry.md "Device logs") ------------------
 * Lines a device published, newest first by id. Capped per device by the insert (about
 * @keep lines, STORE_ACTIVITY_SLACK more between trims) and by age (@before). */

typedef struct store_device_log {
    int64_t id;            /* set by the store */
    const char *device_id; /* key */
    int64_t ts;            /* ms, the device's or the arrival time */
    int level;             /* 0 debug, 1 info, 2 warn, 3 error */
    const char *msg;
} store_device_log;

/** Adds @l; when a trim is due, keeps about @keep lines of the device and none with ts <
 *  @before (0: no age limit). */
int store_device_log_add(store_tx *tx, const store_device_log *l, unsigned keep, int64_t before);
/** Calls @cb for the lines of @device_id with id < @before_id (0: from the newest), level
 *  >= @level, ts >= @since, msg containing @q (NULL: any), newest first, at most @limit. */
int store_device_log_list(store_tx *tx, const char *device_id, int64_t before_id, int level,
                          int64_t since, const char *q, unsigned limit,
                          int (*cb)(void *arg, const store_device_log *l), void *arg);

/* ---- rules (store/rules.c, schema_rules.c, docs/rules.md "Storage") ---------------------
 * A rule: (id) -> owner, enabled, its definition (BSON as the owner gave it; the engine
 * compiles it) and counters. Every call is scoped by the owner: a rule of another owner
 * is STORE_ENOTFOUND. */

#define STORE_RULE_ERR_MAX 200 /* bytes of a rule's last error kept */

typedef struct store_rule {
    const char *id;
    const char *owner_id;
    bool enabled;
    int64_t created_at, updated_at; /* ms */
    const bson_t *def;
    int64_t matched, actions_ok, actions_failed, dropped;
    const char *last_error; /* NULL: none */
    int64_t last_error_at;
} store_rule;

/** Creates the rule (id, owner, enabled, created_at = updated_at, def; counters zero);
 *  STORE_EEXISTS when the id is taken. */
int store_rule_add(store_tx *tx, const store_rule *r);
/** Replaces the definition and enabled flag of @owner's rule @id (counters kept). */
int store_rule_update(store_tx *tx, const char *owner, const char *id, bool enabled,
                      const bson_t *def, int64_t now);
/** Deletes @owner's rule @id and its dead letters. */
int store_rule_delete(store_tx *tx, const char *owner, const char *id);
typedef int (*store_rule_cb)(void *arg, const store_rule *r);
/** Calls @cb for @owner's rule @id (once) or STORE_ENOTFOUND. */
int store_rule_get(store_tx *tx, const char *owner, const char *id, store_rule_cb cb, void *arg);
/** Calls @cb for every rule of @owner (NULL: of everyone, for start-up), oldest first; a
 *  corrupt definition is skipped and reported. */
int store_rule_list(store_tx *tx, const char *owner, store_rule_cb cb, void *arg);
/** How many rules @owner has. */
int store_rule_count(store_tx *tx, const char *owner, uint64_t *out);
/** Adds to rule @id's counters; @err (NULL: none) becomes its last error at @at. A rule
 *  deleted meanwhile is no error. */
int store_rule_counts_add(store_tx *tx, const char *id, int64_t matched, int64_t ok, int64_t failed,
                          int64_t dropped, const char *err, int64_t at);

typedef struct store_rule_dead {
    int64_t id;
    int64_t at;
    const char *reason;
    const bson_t *msg; /* what the action was given */
} store_rule_dead;
/** Records a dead letter of rule @rule_id, keeping about @keep per rule. */
int store_rule_dead_add(store_tx *tx, const char *rule_id, int64_t at, const char *reason,
                        const bson_t *msg, unsigned keep);
/** Calls @cb for rule @rule_id's dead letters, newest first, at most @limit. */
int store_rule_dead_list(store_tx *tx, const char *rule_id, unsigned limit,
                         int (*cb)(void *arg, const store_rule_dead *d), void *arg);

/* ---- the webhook outbox (store/rule_hooks.c, docs/rules.md "Webhooks") -----------------
 * POSTs still to deliver, due by next_at; the worker takes due ones, then deletes them
 * (delivered, or dead after max_attempts) or moves next_at (a retry). */

typedef struct store_rule_hook {
    int64_t id; /* set by the store */
    const char *rule_id;
    const char *url;
    const char *body;
    size_t body_len;
    const char *signature; /* the signature header's value, NULL: none */
    int64_t timeout_ms;
    int64_t max_attempts, attempts;
    int64_t next_at, created_at;
    const char *last_error; /* NULL: none */
} store_rule_hook;

/** Adds @h (due at h->next_at) unless @max items wait already (then *@full, nothing
 *  added, 0). */
int store_rule_hook_add(store_tx *tx, const store_rule_hook *h, unsigned max, bool *full);
/** Calls @cb for at most @limit items due at @now (next_at <= @now), oldest due first. */
int store_rule_hook_due(store_tx *tx, int64_t now, unsigned limit,
                        int (*cb)(void *arg, const store_rule_hook *h), void *arg);
/** The earliest next_at of the outbox in *@at; STORE_ENOTFOUND when it is empty. */
int store_rule_hook_next(store_tx *tx, int64_t *at);
/** Deletes item @id (delivered or dead). */
int store_rule_hook_done(store_tx *tx, int64_t id);
/** Records a failed attempt of item @id: attempts + 1, next_at, last_error. */
int store_rule_hook_retry(store_tx *tx, int64_t id, int64_t next_at, const char *err);
/** Items waiting. */
int store_rule_hook_count(store_tx *tx, uint64_t *out);

/* ---- alarms (store/alarms.c, schema_alarms.c, docs/rules.md "Alarms") -------------------
 * At most one active alarm per (owner, device, type); cleared ones are the history. */

typedef struct store_alarm {
    int64_t id;
    const char *owner_id, *device_id, *type, *severity;
    bool active, acked;
    const char *rule_id;                                 /* NULL: none */
    const bson_t *details;                               /* NULL: none */
    int64_t count;                                       /* raises while active */
    int64_t raised_at, updated_at, acked_at, cleared_at; /* ms; 0: not yet */
    const char *acked_by, *cleared_by;                   /* NULL: not yet */
} store_alarm;

/** Raises (owner, device, type): a new active alarm, or the active one's count, severity,
 *  details and updated_at refreshed. *@id set; *@created tells which. */
int store_alarm_raise(store_tx *tx, const store_alarm *a, int64_t now, int64_t *id, bool *created);
/** Clears the active alarm (@owner, @dev, @type) or, when @type is NULL, the alarm @id of
 *  @owner; STORE_ENOTFOUND when there is none active. Keeps at most @keep cleared alarms of
 *  the owner (0: all). *@id set to the cleared alarm. */
int store_alarm_clear(store_tx *tx, const char *owner, const char *dev, const char *type,
                      int64_t *id, const char *by, int64_t now, unsigned keep);
/** Acknowledges @owner's alarm @id (again: no change). STORE_ENOTFOUND. */
int store_alarm_ack(store_tx *tx, const char *owner, int64_t id, const char *by, int64_t now);

typedef struct store_alarm_filter {
    int state;            /* 0 any, 1 active, 2 cleared */
    int acked;            /* 0 any, 1 acknowledged, 2 not acknowledged */
    const char *severity; /* NULL: any */
    const char *device;   /* NULL: any */
    int64_t before_id;    /* 0: from the newest */
    unsigned limit;
} store_alarm_filter;
/** Calls @cb for @owner's alarms matching @f, newest first (@id > 0: that one only). */
int store_alarm_list(store_tx *tx, const char *owner, int64_t id, const store_alarm_filter *f,
                     int (*cb)(void *arg, const store_alarm *a), void *arg);

#endif
