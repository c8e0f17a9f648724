/* Token, code and id text (api/accounts/auth_token.c): encoding, validation, hashing. */
#include <criterion/criterion.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <string.h>

#include "ident/auth_int.h"

Test(auth_token, b64url_rfc4648_vectors_without_padding)
{
    char out[16];
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
             {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cr_assert_eq(auth__b64url((const uint8_t *)v[i].in, strlen(v[i].in), out, sizeof out), 0);
        cr_assert_str_eq(out, v[i].out);
    }
    const uint8_t url[] = {0xfb, 0xff, 0xbf};
    cr_assert_eq(auth__b64url(url, 3, out, sizeof out), 0);
    cr_assert_str_eq(out, "-_-_", "the URL alphabet, not + and /");
    cr_assert_lt(auth__b64url((const uint8_t *)"foobar", 6, out, 8), 0, "no room for the NUL");
}

Test(auth_token, new_tokens_are_43_chars_valid_distinct_and_hashed)
{
    char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];
    uint8_t ha[32], hb[32], want[32];
    cr_assert_eq(auth__token_new(a, ha), 0);
    cr_assert_eq(auth__token_new(b, hb), 0);
    cr_assert_eq(strlen(a), AUTH_TOKEN_LEN);
    cr_assert(auth__token_ok(a, strlen(a)));
    cr_assert_str_neq(a, b);
    SHA256((const uint8_t *)a, strlen(a), want);
    cr_assert_eq(memcmp(ha, want, 32), 0, "the stored hash is SHA-256 of the text");
    cr_assert_neq(memcmp(ha, hb, 32), 0);
}

Test(auth_token, token_ok_refuses_wrong_length_alphabet_and_tail)
{
    char t[AUTH_TOKEN_LEN + 1];
    uint8_t h[32];
    cr_assert_eq(auth__token_new(t, h), 0);
    cr_assert_not(auth__token_ok(t, AUTH_TOKEN_LEN - 1));
    cr_assert_not(auth__token_ok(NULL, 0));
    char bad[AUTH_TOKEN_LEN + 1];
    memcpy(bad, t, sizeof bad);
    bad[5] = '+';
    cr_assert_not(auth__token_ok(bad, AUTH_TOKEN_LEN), "'+' is not base64url");
    memcpy(bad, t, sizeof bad);
    bad[AUTH_TOKEN_LEN - 1] = 'B'; /* value 1: a low bit set that 32 bytes never set */
    cr_assert_not(auth__token_ok(bad, AUTH_TOKEN_LEN));
    bad[AUTH_TOKEN_LEN - 1] = 'E'; /* value 4: fine */
    cr_assert(auth__token_ok(bad, AUTH_TOKEN_LEN));
}

Test(auth_token, bearer_header_parsing)
{
    char t[AUTH_TOKEN_LEN + 1], hdr[80];
    uint8_t h[32];
    const char *tok;
    size_t len;
    cr_assert_eq(auth__token_new(t, h), 0);
    snprintf(hdr, sizeof hdr, "bearer  %s ", t);
    cr_assert_eq(auth__bearer(hdr, &tok, &len), 0, "scheme is case-insensitive");
    cr_assert_eq(len, AUTH_TOKEN_LEN);
    cr_assert_eq(strncmp(tok, t, len), 0);
    snprintf(hdr, sizeof hdr, "Basic %s", t);
    cr_assert_lt(auth__bearer(hdr, &tok, &len), 0);
    cr_assert_lt(auth__bearer(NULL, &tok, &len), 0);
    cr_assert_lt(auth__bearer("Bearer", &tok, &len), 0);
    cr_assert_lt(auth__bearer("Bearer abc", &tok, &len), 0);
    snprintf(hdr, sizeof hdr, "Bearer %s x", t);
    cr_assert_lt(auth__bearer(hdr, &tok, &len), 0, "trailing junk");
}

Test(auth_token, codes_are_six_digits_and_hashes_bind_the_user)
{
    char c[AUTH_CODE_LEN + 1];
    int differ = 0;
    char first[AUTH_CODE_LEN + 1];
    cr_assert_eq(auth__code_new(first), 0);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(auth__code_new(c), 0);
        cr_assert(auth__code_ok(c), "%s", c);
        differ += strcmp(c, first) != 0;
    }
    cr_assert_gt(differ, 0);
    cr_assert_not(auth__code_ok("12345"));
    cr_assert_not(auth__code_ok("1234567"));
    cr_assert_not(auth__code_ok("12a456"));
    cr_assert_not(auth__code_ok(NULL));
    static const uint8_t key[AUTH_SECRET_LEN] = "0123456789abcdef0123456789abcde";
    static const uint8_t key2[AUTH_SECRET_LEN] = "x123456789abcdef0123456789abcde";
    uint8_t a[32], b[32], k2[32], plain[32], want[32];
    unsigned int wlen = 32;
    auth__code_hash(key, "u1", "123456", a);
    auth__code_hash(key, "u2", "123456", b);
    auth__code_hash(key2, "u1", "123456", k2);
    HMAC(EVP_sha256(), key, AUTH_SECRET_LEN, (const uint8_t *)"u1:123456", 9, want, &wlen);
    cr_assert_eq(memcmp(a, want, 32), 0, "HMAC-SHA-256 under the server secret");
    SHA256((const uint8_t *)"u1:123456", 9, plain);
    cr_assert_neq(memcmp(a, plain, 32), 0, "not the unkeyed SHA-256 of before");
    cr_assert_neq(memcmp(a, b, 32), 0, "the same code of another user hashes differently");
    cr_assert_neq(memcmp(a, k2, 32), 0, "another server secret gives another value");
}

Test(auth_token, ids_are_time_ordered_hex)
{
    char a[AUTH_ID_LEN + 1], b[AUTH_ID_LEN + 1];
    cr_assert_eq(auth__id_new(a, 1000), 0);
    cr_assert_eq(auth__id_new(b, 1001), 0);
    cr_assert_eq(strlen(a), AUTH_ID_LEN);
    cr_assert_eq(strncmp(a, "0000000003e8", 12), 0);
    cr_assert_lt(strcmp(a, b), 0);
    cr_assert_eq(strspn(a, "0123456789abcdef"), AUTH_ID_LEN);
}
