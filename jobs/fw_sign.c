/*
 * fw_sign — HMAC-SHA-256 over a firmware download grant.
 *
 * The signed message is unambiguous whatever bytes the ids hold (no separator to forge):
 *
 *   "iotcloud-fw-v1" | u32 BE len(fw) | fw | u32 BE len(dev) | dev | u64 BE exp
 *
 * The tag binds the key to this use only, so a signature can never be replayed as some
 * other HMAC the server computes. A signature is exactly 64 hex digits (either case); the
 * comparison of the digests is CRYPTO_memcmp, so timing tells nothing about a near miss.
 * The expiry is checked after the signature: a forged URL is "bad", never "expired".
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/fw_sign.h"

#define TAG "iotcloud-fw-v1"

static void be32(uint8_t b[4], uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
}

static void be64(uint8_t b[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
}

/* Appends u32 BE len(@s) | @s at @b; returns the end. */
static uint8_t *put_str(uint8_t *b, const char *s, size_t n)
{
    be32(b, (uint32_t)n);
    memcpy(b + 4, s, n);
    return b + 4 + n;
}

static int digest(const uint8_t key[JOBS_FW_KEY_LEN], const char *fw, const char *dev, int64_t exp,
                  uint8_t md[32])
{
    size_t nf = strlen(fw), nd = strlen(dev);
    unsigned mdlen = 0;
    int rc = -1;
    if (nf > UINT32_MAX || nd > UINT32_MAX || nf + nd > SIZE_MAX / 2)
        return -1;
    size_t len = sizeof TAG - 1 + 4 + nf + 4 + nd + 8;
    uint8_t *msg = malloc(len), *p = msg;
    if (!msg)
        return -1;
    memcpy(p, TAG, sizeof TAG - 1);
    p = put_str(p + sizeof TAG - 1, fw, nf);
    p = put_str(p, dev, nd);
    be64(p, (uint64_t)exp);
    if (HMAC(EVP_sha256(), key, JOBS_FW_KEY_LEN, msg, len, md, &mdlen) && mdlen == 32)
        rc = 0;
    free(msg);
    return rc;
}

int jobs_fw_sign(const uint8_t key[JOBS_FW_KEY_LEN], const char *fw, const char *dev, int64_t exp,
                 char hex[JOBS_FW_SIG_HEX + 1])
{
    static const char digit[] = "0123456789abcdef";
    uint8_t md[32];
    if (digest(key, fw, dev, exp, md))
        return -1;
    for (size_t i = 0; i < sizeof md; i++) {
        hex[2 * i] = digit[md[i] >> 4];
        hex[2 * i + 1] = digit[md[i] & 15];
    }
    hex[JOBS_FW_SIG_HEX] = '\0';
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int jobs_fw_verify(const uint8_t key[JOBS_FW_KEY_LEN], const char *fw, const char *dev, int64_t exp,
                   const char *sig, size_t n, int64_t now)
{
    uint8_t want[32], got[32];
    if (n != JOBS_FW_SIG_HEX)
        return JOBS_FW_SIG_BAD;
    for (size_t i = 0; i < sizeof got; i++) {
        int hi = hexval(sig[2 * i]), lo = hexval(sig[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return JOBS_FW_SIG_BAD;
        got[i] = (uint8_t)(hi << 4 | lo);
    }
    if (digest(key, fw, dev, exp, want) || CRYPTO_memcmp(want, got, sizeof got) != 0)
        return JOBS_FW_SIG_BAD;
    return now >= exp ? JOBS_FW_SIG_EXPIRED : JOBS_FW_SIG_OK;
}
