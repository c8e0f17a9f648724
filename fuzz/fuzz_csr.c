/*
 * fuzz_csr — ca_csr_check() and ca_cert_serial() on arbitrary bytes.
 *
 * These take PEM straight from a REST request body (POST /v1/devices/{id}/certificate)
 * or from a presented certificate, before anything else has looked at it. Besides "never
 * crash or leak", checks what callers rely on:
 *   - the result is 0 or one of the enum ca_err values a CSR check can give;
 *   - `why` is NUL-terminated and, on failure, non-empty (it becomes a 400 body);
 *   - on success the public key is handed out, and only then;
 *   - the check is pure: a second run gives the same answer;
 *   - a serial is 1..CA_SERIAL_HEX lower-case hex digits without leading zeros.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ca/ca.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_csr(const uint8_t *data, size_t size)
{
    char why[256];
    void *pub = (void *)1;
    memset(why, 'x', sizeof why);
    int rc = ca_csr_check((const char *)data, size, &pub, why, sizeof why);
    check(rc == 0 || rc == CA_ETOOBIG || rc == CA_EFORMAT || rc == CA_EKEY || rc == CA_ESIG);
    check(memchr(why, '\0', sizeof why) != NULL);
    check(rc == 0 || why[0] != '\0');
    check((rc == 0) == (pub != NULL));
    EVP_PKEY_free(pub);
    check(ca_csr_check((const char *)data, size, NULL, NULL, 0) == rc);
}

static void check_serial(const uint8_t *data, size_t size)
{
    char serial[CA_SERIAL_HEX + 1];
    int rc = ca_cert_serial((const char *)data, size, serial);
    check(rc == 0 || rc == CA_EFORMAT);
    if (rc != 0)
        return;
    size_t n = strnlen(serial, sizeof serial);
    check(n >= 1 && n <= CA_SERIAL_HEX);
    check(n == 1 || serial[0] != '0');
    for (size_t i = 0; i < n; i++)
        check((serial[i] >= '0' && serial[i] <= '9') || (serial[i] >= 'a' && serial[i] <= 'f'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly @size bytes, so reading past the input is an ASan report: the
     * functions must honour the length and not look for a NUL. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    check_csr(copy, size);
    check_serial(copy, size);
    free(copy);
    return 0;
}
