/*
 * fw_sign — the signature of a firmware download URL, for one device and one expiry.
 *
 *   GET /v1/firmware/{fw}/download?dev={dev}&exp={exp}&sig={sig}
 *
 * Pure over its arguments (the key is passed in); any thread may call it.
 */
#ifndef IOT_JOBS_FW_SIGN_H
#define IOT_JOBS_FW_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define JOBS_FW_KEY_LEN 32 /* HMAC-SHA-256 key bytes */
#define JOBS_FW_SIG_HEX 64 /* hex digits of a signature */

/** Outcome of jobs_fw_verify. */
enum {
    JOBS_FW_SIG_OK = 0,
    JOBS_FW_SIG_BAD = -1,    /* not 64 hex digits, or not the signature of these fields */
    JOBS_FW_SIG_EXPIRED = -2 /* a valid signature whose expiry (unix seconds) has passed */
};

/** Writes the signature of (@fw, @dev, @exp) under @key to @hex: 64 lower-case hex digits
 *  and a NUL. @exp is the expiry in unix seconds. 0, or -1 when the HMAC fails. */
int jobs_fw_sign(const uint8_t key[JOBS_FW_KEY_LEN], const char *fw, const char *dev, int64_t exp,
                 char hex[JOBS_FW_SIG_HEX + 1]);

/** Checks the @n-byte signature @sig of (@fw, @dev, @exp) at time @now (unix seconds),
 *  in constant time over the digest. Returns a JOBS_FW_SIG_* value. */
int jobs_fw_verify(const uint8_t key[JOBS_FW_KEY_LEN], const char *fw, const char *dev, int64_t exp,
                   const char *sig, size_t n, int64_t now);

#endif
