/*
 * passwd — Argon2id PHC strings (libargon2). Parameters follow OWASP's password storage
 * cheat sheet: m = 19 MiB, t = 2, p = 1, 16-byte salt, 32-byte hash.
 */
#include "ident/passwd.h"

#include <argon2.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#define SALT_LEN 16
#define HASH_LEN 32

int passwd_hash(const char *pw, size_t len, char out[PASSWD_PHC_MAX])
{
    uint8_t salt[SALT_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -1;
    int rc = argon2id_hash_encoded(PASSWD_T, PASSWD_M_KIB, PASSWD_P, pw, len, salt, sizeof salt,
                                   HASH_LEN, out, PASSWD_PHC_MAX);
    return rc == ARGON2_OK ? 0 : -1;
}

bool passwd_verify(const char *phc, const char *pw, size_t len)
{
    /* Only our own parameters are accepted: a stored string asking for gigabytes of memory
     * (a tampered row) must not take the server down. */
    if (!phc || strncmp(phc, "$argon2id$v=19$m=19456,t=2,p=1$", 31) != 0)
        return false;
    return argon2id_verify(phc, pw, len) == ARGON2_OK;
}

static char dummy[PASSWD_PHC_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

/* A hash of a random password nobody knows, made once with our parameters. */
static void dummy_init(void)
{
    uint8_t pw[32];
    if (RAND_bytes(pw, sizeof pw) != 1 || passwd_hash((const char *)pw, sizeof pw, dummy) < 0)
        dummy[0] = '\0';
}

void passwd_init(void) { pthread_once(&dummy_once, dummy_init); }

void passwd_dummy_verify(const char *pw, size_t len)
{
    passwd_init();
    if (dummy[0])
        (void)argon2id_verify(dummy, pw, len);
}
