/*
 * dev_int — private to the api/devices files: the device module's pure rules, the device
 * and type views, and the CRL holder (the revocation effects a store job gathers and the
 * request's loop applies after the commit are in devices.h, for account deletion too).
 *
 * Files: dev_rules.c (pure validation, ids, secrets), dev_view.c (JSON views, query
 * parsing, shared replies), dev_fx.c (revocation inside a job, effects after the commit),
 * dev_register.c (POST /v1/devices, rotation), dev_list.c (lists and
 * counts), dev_object.c (one device: get, patch, delete, secret), dev_types.c (device
 * types), devices.c (route table, init/free), dev_ca.c (CA certificate, CRL), dev_activity.c (a
 * device's history and connection events).
 *
 * Device document (store_device_*; the caller's fields): created_at (int64 ms),
 * cert_serial (hex), cert_not_after (int64 ms) of the current certificate, and
 * DEVDIR_SECRET_FIELD ("sha256:<hex>") once a secret was made. A device without a type is
 * stored with type DEV_NO_TYPE (the store needs a non-empty type; no type name can be it).
 */
#ifndef IOT_HTTP_DEV_INT_H
#define IOT_HTTP_DEV_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ca/ca.h"
#include "common/container_of.h"
#include "api/api.h"
#include "api/devices/devices.h"
#include "api/job.h"
#include "api/json.h"
#include "store/store_app.h"

#define DEV_CONTAINER(p, type, member) container_of(p, type, member)

/* ---- rules (dev_rules.c, pure) ----------------------------------------------------------- */

#define DEV_ID_LEN        25  /* 'd' + 24 lower-case hex digits */
#define DEV_NAME_MAX      128 /* device name, bytes */
#define DEV_TYPE_MAX      64  /* type name, bytes */
#define DEV_ATTR_KEY_MAX  64
#define DEV_ATTR_STR_MAX  1024
#define DEV_ATTRS_MAX     64 /* attributes per device */
#define DEV_REQUIRED_MAX  64 /* required attributes per type */
#define DEV_DESC_MAX      1024
#define DEV_SECRET_LEN    64 /* hex of 32 random bytes */
#define DEV_NO_TYPE       "-"
#define DEV_CSR_FIELD_MAX (4 * CA_CSR_MAX) /* longer is refused by the CA with a clear why */

/* A fresh device id: 'd' + 24 hex digits of randomness (never / + #). 0 or <0 (RNG). */
int dev__id_new(char out[DEV_ID_LEN + 1]);
/* Device names: 1..DEV_NAME_MAX bytes of printable UTF-8 (no control characters), not
 * starting or ending with a space, no '/', '+' or '#' (they appear in topics and paths).
 * 0 or <0 with *@why. */
int dev__name_check(const char *s, const char **why);
/* Type names and attribute names: [A-Za-z0-9][A-Za-z0-9_.-]* up to @max bytes. */
int dev__ident_check(const char *s, size_t max, const char **why);
/* Attributes: an object of at most DEV_ATTRS_MAX scalars (string up to DEV_ATTR_STR_MAX,
 * number, bool, null) under identifier keys. 0, or <0 with *@key (the offending key, or
 * NULL) and *@why. */
int dev__attrs_check(const bson_t *attrs, const char **key, const char **why);
/* The first name of the type document's `required` array that @attrs (may be NULL) lacks
 * or holds as null; NULL when none is missing. Points into @type_doc. */
const char *dev__required_missing(const bson_t *attrs, const bson_t *type_doc);
/* A fresh device secret (hex text) and its SHA-256. 0 or <0 (RNG). */
int dev__secret_new(char text[DEV_SECRET_LEN + 1], uint8_t hash[32]);

/* ---- views and replies (dev_view.c) -------------------------------------------------------- */

/* The public device object: id, name, type (null when none), attributes, created_at,
 * certificate {serial, not_after[, pem]}, has_secret; owner_id when @with_owner. @cert_pem
 * NULL leaves pem out. */
void dev__view(const bson_t *doc, const char *cert_pem, bool with_owner, bson_t *out);
/* online, connected_at (null when offline), last_seen (ms; null when never seen) of the
 * device document @doc, from ctl_presence (@c may be NULL: offline, never seen); when this
 * process has not seen the device, last_seen is @stored (dev__stored_last_seen; 0: none).
 * Any thread. */
struct ctl;
void dev__view_presence(struct ctl *c, const bson_t *doc, int64_t stored, bson_t *out);
/* Store thread: the device's newest connect / disconnect event time (store_device_last_seen)
 * when ctl has not seen @id in this process (so a view needs it), else 0. Never fails. */
int64_t dev__stored_last_seen(store_tx *tx, struct ctl *c, const char *id);
/* A type object: name, required, description, global, created_at. */
void dev__type_view(const bson_t *doc, bson_t *out);
/* The present "attributes" field @attrs copied into @out and checked: 0, or <0 after a
 * 400. *@copied is set once @out holds a copy (it then needs bson_destroy). */
int dev__take_attrs(http_req *r, const json_field *attrs, bson_t *out, bool *copied);
void dev__respond_404(http_req *r);
void dev__respond_no_ca(http_req *r);
int64_t dev__now_ms(void);
/* Path parameter @name into @out (a device id or name); <0 after answering 404 when it
 * cannot name anything. */
int dev__param_key(http_req *r, const char *name, char out[STORE_NAME_MAX + 1]);
/* Store thread: the device @key of @owner_id: by id, else by name. STORE_ENOTFOUND. */
int dev__find(store_tx *tx, const char *owner_id, const char *key, bson_t **out);
/* dev__find for the device's id only, into @out. STORE_ENOTFOUND, STORE_ECORRUPT (no
 * usable _id). */
int dev__find_id(store_tx *tx, const char *owner_id, const char *key, char out[STORE_ID_MAX + 1]);
/* The device's caller fields with the current certificate set to @serial / @not_after. */
void dev__doc_with_cert(const bson_t *doc, const char *serial, int64_t not_after, bson_t *out);
/* Answers 201/200 with @doc as JSON and wipes the encoded text (it may hold a key). */
void dev__respond_secret_json(http_req *r, int status, const bson_t *doc);

/* ---- per-user rate limits (dev_limit.c) ----------------------------------------------------- */

/* Token buckets of @per_hour tokens per user, refilled at @per_hour an hour, in a fixed
 * table (memory does not grow with users). NULL for @per_hour 0 (no limit) or no memory.
 * Any thread. */
typedef struct dev__limit dev__limit;
dev__limit *dev__limit_new(uint32_t per_hour);
void dev__limit_free(dev__limit *l);
/* Takes a token of @user at @now_ms (monotonic): 0, or the ms until one is there (nothing
 * taken). @l NULL: always 0. */
int64_t dev__limit_take(dev__limit *l, const char *user, int64_t now_ms);
/* dev__limit_take for the request's user: 0, or <0 after answering 429 rate_limited with
 * Retry-After (seconds, rounded up); @what names the action in the message. */
int dev__limit_check(http_req *r, dev__limit *l, const char *what);

/* ---- handlers ------------------------------------------------------------------------------ */

void dev__register(http_req *r);
void dev__rotate(http_req *r);
void dev__list(http_req *r);
void dev__count(http_req *r);
void dev__admin_list(http_req *r);
void dev__get(http_req *r);
void dev__patch(http_req *r);
void dev__delete(http_req *r);
void dev__secret(http_req *r);
void dev__type_create(http_req *r);
void dev__type_list(http_req *r);
void dev__type_get(http_req *r);
void dev__type_delete(http_req *r);
void dev__ca_cert(http_req *r);
void dev__ca_crl(http_req *r);
void dev__history(http_req *r); /* dev_activity.c */
void dev__events(http_req *r);

#endif
