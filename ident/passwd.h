/**
 * ident/passwd — Argon2id password hashes as PHC strings
 * ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", OWASP parameters).
 *
 * BLOCKING (~20-50 ms, 19 MiB): call only on the thread pool or a CLI, never on a loop.
 * Thread-safe.
 */
#ifndef IOT_HTTP_PASSWD_H
#define IOT_HTTP_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWD_PHC_MAX 128
#define PASSWD_M_KIB   19456
#define PASSWD_T       2
#define PASSWD_P       1

/** Hashes @pw with a fresh 16-byte random salt into @out. 0 or <0. */
int passwd_hash(const char *pw, size_t len, char out[PASSWD_PHC_MAX]);
/** true when @pw matches the PHC string @phc (constant-time compare inside argon2). */
bool passwd_verify(const char *phc, const char *pw, size_t len);
/** Prepares passwd_dummy_verify (one hash). Call once at start-up, so the first unknown
 *  user does not pay for it (and stand out by taking twice as long). Thread-safe. */
void passwd_init(void);
/** Burns the same time as a verification (unknown user), so timing does not tell. */
void passwd_dummy_verify(const char *pw, size_t len);

#endif
