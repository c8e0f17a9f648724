/**
 * shadows/shadow — device shadows (docs/shadows.md): the document rules as pure functions
 * over BSON, and the service that runs them in the store and answers over MQTT.
 *
 * A stored shadow:
 *   {state: {desired: {...}, reported: {...}}, metadata: {desired: {...}, reported: {...}},
 *    version: N, timestamp: T}
 * metadata mirrors state with {timestamp: T} at every leaf (an array is one leaf); T is
 * epoch seconds, as AWS IoT sends it.
 *
 * Rules (AWS IoT device shadow semantics):
 *   - an update merges state.desired / state.reported into the stored sections: objects
 *     merge key by key, any other value (arrays included) replaces, null deletes the key,
 *     a null section (`"desired": null`) deletes the whole section;
 *   - `version` in a request must equal the stored version, else 409; every accepted
 *     update adds one (a new shadow's first version is 1);
 *   - delta = the desired keys whose value differs from reported (objects compared key by
 *     key, arrays and scalars whole; numbers by value);
 *   - limits (shd_limits): request and resulting state at most max_size bytes of JSON,
 *     objects nested at most max_depth levels under desired/reported, at most max_keys
 *     keys per section; a violation is a rejection (400 / 413), never a partial write.
 *
 * Threading: the pure functions are reentrant. shd_run runs in a store transaction (store
 * thread); shd_mqtt_* run on loop threads (see shd_mqtt.c).
 */
#ifndef IOT_SHADOWS_SHADOW_H
#define IOT_SHADOWS_SHADOW_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SHD_NAME_MAX  64 /* a named shadow's name, bytes ([a-zA-Z0-9:_-]) */
#define SHD_TOKEN_MAX 64 /* clientToken, bytes (AWS IoT's limit) */

typedef struct shd_limits {
    size_t max_size;    /* bytes of JSON, request and resulting state; 8192 */
    unsigned max_depth; /* object levels under desired/reported; 6 */
    unsigned max_keys;  /* keys per section (all levels); 500 */
    unsigned max_named; /* named shadows per device; 100 */
    unsigned history;   /* versions kept per shadow (shadow history); 10, 0 = none */
} shd_limits;

enum shd_op { SHD_GET = 1, SHD_UPDATE, SHD_DELETE };

/** What an operation answers. code 0: accepted (accepted holds the /accepted document);
 *  else the AWS error code (400, 404, 409, 413, 500) and message (rejected holds the
 *  /rejected document). Update may add a /delta and a /documents document. */
typedef struct shd_result {
    int code;
    char message[128];
    char token[SHD_TOKEN_MAX + 1]; /* the request's clientToken, "" when none */
    bson_t reply;                  /* accepted or rejected document */
    bool has_delta, has_documents;
    bson_t delta, documents;
    int64_t version; /* the version after the operation (0: no shadow) */
} shd_result;

void shd_result_init(shd_result *r);
void shd_result_fini(shd_result *r);

/** Whether @name is a valid named shadow name (non-empty, <= SHD_NAME_MAX, [a-zA-Z0-9:_-]). */
bool shd_name_ok(const char *name, size_t len);

/** Update: @cur is the stored shadow (NULL: none), @req/@len the request's JSON. On
 *  accept, *@next is initialised with the new stored shadow (bson_destroy it) and 0
 *  returned; on reject, <0 with @res->code set and *@next not initialised. @res->reply
 *  holds the /accepted or /rejected document, @now_s is the timestamp. */
int shd_update(const bson_t *cur, const uint8_t *req, size_t len, int64_t now_s,
               const shd_limits *lim, bson_t *next, shd_result *res);
/** Get: the /accepted document (state with delta, metadata, version) or a 404. */
int shd_get(const bson_t *cur, const uint8_t *req, size_t len, int64_t now_s, shd_result *res);
/** Delete: the /accepted document ({version, timestamp}) or a 404. The caller deletes. */
int shd_delete(const bson_t *cur, const uint8_t *req, size_t len, int64_t now_s, shd_result *res);

/** The stored shadow's version (0 when @cur is NULL or has none). */
int64_t shd_version(const bson_t *cur);

/** Runs @op on shadow (@dev, @name; "" = classic) inside the store transaction @tx: reads,
 *  applies, writes. 0 with @res filled (accepted or rejected), or a STORE_E* (the
 *  transaction must fail). */
int shd_run(store_tx *tx, enum shd_op op, const char *dev, const char *name, const uint8_t *req,
            size_t len, const shd_limits *lim, shd_result *res);

#endif
