/*
 * ca_serial — the one text form of a certificate serial number: lower-case hex without
 * leading zeros, as ca_issued.serial, the store and the revoked set hold it.
 */
#include "ca/ca.h"

#include <ctype.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

#include "ca/ca_int.h"

int ca__serial_hex(const ASN1_INTEGER *ai, char out[CA_SERIAL_HEX + 1])
{
    int rc = -1;
    BIGNUM *bn = ai ? ASN1_INTEGER_to_BN(ai, NULL) : NULL;
    char *hex = bn && !BN_is_negative(bn) ? BN_bn2hex(bn) : NULL;
    if (hex && strlen(hex) <= CA_SERIAL_HEX) {
        size_t i = 0;
        /* BN_bn2hex writes whole bytes, so one leading zero nibble may remain. */
        while (hex[i] == '0' && hex[i + 1] != '\0')
            i++;
        size_t j = 0;
        for (; hex[i]; i++, j++)
            out[j] = (char)tolower((unsigned char)hex[i]);
        out[j] = '\0';
        rc = 0;
    }
    OPENSSL_free(hex);
    BN_free(bn);
    ERR_clear_error();
    return rc;
}

int ca_cert_serial(const char *pem, size_t len, char out[CA_SERIAL_HEX + 1])
{
    int rc = CA_EFORMAT;
    out[0] = '\0';
    if (!pem || len > INT_MAX)
        return CA_EFORMAT;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    if (x && ca__serial_hex(X509_get0_serialNumber(x), out) == 0)
        rc = 0;
    X509_free(x);
    BIO_free(b);
    ERR_clear_error();
    return rc;
}
