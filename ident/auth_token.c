/*
 * auth_token — the text of tokens, codes and ids, and their hashes. Pure apart from the
 * RNG (RAND_bytes, thread-safe).
 *
 *   token  43 chars  base64url (RFC 4648 §5, no padding) of 32 random bytes
 *   stored           SHA-256 of the 43 characters
 *   code   6 digits  uniform in 000000..999999 (rejection sampling)
 *   stored           HMAC-SHA-256(server secret, user_id ":" code)
 *   id     32 hex    12 digits of ms since the epoch, 20 random: lists come out in
 *                    creation order
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ident/auth_int.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int auth__b64url(const uint8_t *in, size_t n, char *out, size_t cap)
{
    size_t need = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
    if (cap < need + 1)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t left = n - i;
        if (left > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (left > 2)
            v |= in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (left > 1)
            out[o++] = b64url[(v >> 6) & 63];
        if (left > 2)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
    return 0;
}

void auth__token_hash(const char *s, size_t len, uint8_t hash[STORE_TOKEN_HASH])
{
    SHA256((const unsigned char *)s, len, hash);
}

int auth__token_new(char out[AUTH_TOKEN_LEN + 1], uint8_t hash[STORE_TOKEN_HASH])
{
    uint8_t raw[AUTH_TOKEN_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    int rc = auth__b64url(raw, sizeof raw, out, AUTH_TOKEN_LEN + 1);
    OPENSSL_cleanse(raw, sizeof raw);
    if (rc == 0)
        auth__token_hash(out, AUTH_TOKEN_LEN, hash);
    return rc;
}

bool auth__token_ok(const char *s, size_t len)
{
    if (!s || len != AUTH_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    /* 32 bytes leave the last character with 4 unused low bits, always zero when we
     * encode: any other value is not a token of ours. */
    const char *last = strchr(b64url, s[len - 1]);
    return ((last - b64url) & 3) == 0;
}

int auth__bearer(const char *hdr, const char **tok, size_t *len)
{
    if (!hdr || strncasecmp(hdr, "Bearer ", 7) != 0)
        return -1;
    const char *t = hdr + 7;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    if (!auth__token_ok(t, n))
        return -1;
    *tok = t;
    *len = n;
    return 0;
}

int auth__code_new(char out[AUTH_CODE_LEN + 1])
{
    uint32_t v;
    do {
        if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
            return -1;
    } while (v >= 4294000000u); /* largest multiple of 10^6 below 2^32: no modulo bias */
    v %= 1000000u;
    for (int i = AUTH_CODE_LEN - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
    out[AUTH_CODE_LEN] = '\0';
    return 0;
}

bool auth__code_ok(const char *s)
{
    if (!s || strlen(s) != AUTH_CODE_LEN)
        return false;
    for (int i = 0; i < AUTH_CODE_LEN; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

void auth__code_hash(const uint8_t key[AUTH_SECRET_LEN], const char *user_id, const char *code,
                     uint8_t hash[32])
{
    char text[STORE_ID_MAX + 1 + AUTH_CODE_LEN + 1];
    int n = snprintf(text, sizeof text, "%s:%s", user_id, code);
    if (n < 0 || (size_t)n >= sizeof text)
        n = 0; /* ids are at most STORE_ID_MAX: cannot happen, and would never match */
    unsigned int len = 32;
    if (!HMAC(EVP_sha256(), key, AUTH_SECRET_LEN, (const unsigned char *)text, (size_t)n, hash,
              &len))
        RAND_bytes(hash, 32); /* cannot happen; a random value matches nothing */
    OPENSSL_cleanse(text, sizeof text);
}

int auth__id_new(char out[AUTH_ID_LEN + 1], int64_t now_ms)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t r[10];
    if (RAND_bytes(r, sizeof r) != 1)
        return -1;
    uint64_t t = (uint64_t)now_ms;
    for (int i = 11; i >= 0; i--) {
        out[i] = hex[t & 15];
        t >>= 4;
    }
    for (int i = 0; i < 10; i++) {
        out[12 + 2 * i] = hex[r[i] >> 4];
        out[13 + 2 * i] = hex[r[i] & 15];
    }
    out[AUTH_ID_LEN] = '\0';
    return 0;
}
