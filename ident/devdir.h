/**
 * ident/devdir — the device directory: every registered device's id, owner and secret hash
 * in memory, for the MQTT connect and topic-policy paths that must not wait for the store.
 *
 * The store is the truth (devices collection); this is its copy, loaded at start-up with
 * devdir_load and kept current by the REST API right after each commit that creates,
 * deletes or re-keys a device. A device secret is 256 random bits, so its SHA-256 is a
 * fine verifier (no Argon2 on the connect path); it is compared in constant time.
 *
 * Threading: devdir_new/devdir_free/devdir_load on the main thread before the loops run;
 * everything else from any thread at once (read-write lock; lookups are hash lookups).
 */
#ifndef IOT_IDENT_DEVDIR_H
#define IOT_IDENT_DEVDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_app.h"

#define DEVDIR_SECRET_HASH 32 /* SHA-256 */

typedef struct devdir devdir;

devdir *devdir_new(void);
void devdir_free(devdir *d);
/** Reads every device of the store into @d (in @tx: a store_sync function). 0 or <0. */
int devdir_load(devdir *d, store_tx *tx);

/** Adds or replaces device @id of @owner_id; @secret_hash NULL = no secret. 0 or <0. */
int devdir_put(devdir *d, const char *id, const char *owner_id,
               const uint8_t secret_hash[DEVDIR_SECRET_HASH]);
/** Sets (or with NULL clears) the secret hash of a known device. 0, or <0 if unknown. */
int devdir_set_secret(devdir *d, const char *id, const uint8_t secret_hash[DEVDIR_SECRET_HASH]);
void devdir_del(devdir *d, const char *id);

/** Device @id (@len bytes, not NUL-terminated) is registered. */
bool devdir_exists(devdir *d, const uint8_t *id, size_t len);
/** Device @id is registered and belongs to @owner_id. */
bool devdir_owned_by(devdir *d, const uint8_t *id, size_t len, const char *owner_id);
/** Copies the owner id of device @id into @out (@cap bytes); false when @id is unknown or
 *  the id does not fit. */
bool devdir_owner(devdir *d, const char *id, char *out, size_t cap);
/** Device @id is registered, has a secret, and SHA-256(@pw) equals it (constant time). */
bool devdir_secret_ok(devdir *d, const char *id, const uint8_t *pw, size_t pw_len);

/** Device ids are "d" + 24 lower-case hex digits (DEVDIR_ID_LEN bytes): a name of that
 *  shape is a device's, never a user's (signup refuses it; MQTT treats it as a device). */
#define DEVDIR_ID_LEN 25
/** @s (@len bytes) has the shape of a device id. Pure. */
bool devdir_id_shaped(const char *s, size_t len);

/** The SHA-256 of a secret's text (what the device document and devdir keep). */
void devdir_secret_hash(const char *secret, size_t len, uint8_t out[DEVDIR_SECRET_HASH]);

/** Device document field holding the secret hash: "sha256:" + 64 lower-case hex digits. */
#define DEVDIR_SECRET_FIELD "secret"
/** Parses a DEVDIR_SECRET_FIELD value; 0, or <0 when it is not one. */
int devdir_secret_parse(const char *s, uint8_t out[DEVDIR_SECRET_HASH]);
/** Formats @hash as a DEVDIR_SECRET_FIELD value into @out (72 bytes + NUL). */
void devdir_secret_format(const uint8_t hash[DEVDIR_SECRET_HASH], char out[7 + 64 + 1]);

#endif
