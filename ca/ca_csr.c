/*
 * ca_csr — the policy a certificate signing request must meet before we sign its key.
 *
 *   check                        refused with
 *   at most CA_CSR_MAX bytes     CA_ETOOBIG
 *   exactly one PEM block,       CA_EFORMAT  (labels of RFC 7468 section 7, plus the legacy
 *   labelled CERTIFICATE REQUEST              "NEW CERTIFICATE REQUEST" of old tools), no
 *   whose DER is one PKCS#10                  PEM headers, no bytes after the DER
 *   key: ECDSA P-256 or P-384,   CA_EKEY     (anything else: other curves, explicit curve
 *   or RSA of >= 2048 bits                    parameters, RSA-PSS, Ed25519, DSA, ...)
 *   signature verifies with      CA_ESIG     (RFC 2986: proof that the requester holds the
 *   the CSR's own key                         private key)
 *
 * Only the key is taken from a CSR. Its subject, attributes and requested extensions are
 * never read, so a request for CA:TRUE or a foreign name has no effect on what we issue.
 * Everything here is a pure function of the input bytes (fuzz/fuzz_csr.c).
 */
#include "ca/ca.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ca/ca_int.h"

#define KEY_POLICY   "ECDSA P-256/P-384 or RSA >= 2048 bits"
#define RSA_MIN_BITS 2048

void ca__why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    if (!why || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

static bool csr_label(const char *name)
{
    return strcmp(name, "CERTIFICATE REQUEST") == 0 || strcmp(name, "NEW CERTIFICATE REQUEST") == 0;
}

typedef struct pem_block {
    char *name;
    char *header;
    unsigned char *data;
    long len;
} pem_block;

static void block_free(pem_block *b)
{
    OPENSSL_free(b->name);
    OPENSSL_free(b->header);
    OPENSSL_free(b->data);
    memset(b, 0, sizeof *b);
}

/* The single PEM block of @pem into @first; CA_EFORMAT when there are none, several, or a
 * malformed one. Text around the block (comments such as openssl's "-----" free lines) is
 * allowed, as PEM readers everywhere do. */
static int one_block(const char *pem, size_t len, pem_block *first, char *why, size_t whylen)
{
    int count = 0, rc = CA_EFORMAT;
    pem_block b = {0};
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return CA_EINTERNAL;
    ERR_clear_error();
    while (PEM_read_bio(bio, &b.name, &b.header, &b.data, &b.len) == 1) {
        if (++count == 1)
            *first = b;
        else
            block_free(&b);
        memset(&b, 0, sizeof b);
    }
    unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
        ca__why(why, whylen, "malformed PEM block");
    else if (count == 0)
        ca__why(why, whylen, "no PEM block: expected one CERTIFICATE REQUEST");
    else if (count > 1)
        ca__why(why, whylen, "%d PEM blocks: expected exactly one CERTIFICATE REQUEST", count);
    else if (!csr_label(first->name))
        ca__why(why, whylen, "PEM block is not a CERTIFICATE REQUEST");
    else if (first->header && first->header[0] != '\0')
        ca__why(why, whylen, "PEM headers (encryption) are not allowed in a CSR");
    else
        rc = 0;
    ERR_clear_error();
    BIO_free(bio);
    if (rc < 0)
        block_free(first);
    return rc;
}

static int parse_der(const pem_block *b, X509_REQ **out, char *why, size_t whylen)
{
    const unsigned char *p = b->data;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, b->len);
    ERR_clear_error();
    if (!req || p != b->data + b->len) {
        X509_REQ_free(req);
        ca__why(why, whylen, "CSR is not valid PKCS#10 DER");
        return CA_EFORMAT;
    }
    *out = req;
    return 0;
}

static int check_ec(EVP_PKEY *k, char *why, size_t whylen)
{
    char group[80];
    size_t n = 0;
    if (EVP_PKEY_get_group_name(k, group, sizeof group, &n) != 1) {
        ca__why(why, whylen, "EC key without a named curve not allowed: P-256 or P-384");
        return CA_EKEY;
    }
    int nid = OBJ_sn2nid(group);
    if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1)
        return 0;
    ca__why(why, whylen, "EC curve %s not allowed: P-256 or P-384", group);
    return CA_EKEY;
}

static int check_key(EVP_PKEY *k, char *why, size_t whylen)
{
    if (!k) {
        ca__why(why, whylen, "CSR public key is malformed or of an unknown type: need " KEY_POLICY);
        return CA_EKEY;
    }
    if (EVP_PKEY_get_id(k) == EVP_PKEY_EC)
        return check_ec(k, why, whylen);
    if (EVP_PKEY_get_id(k) == EVP_PKEY_RSA) {
        int bits = EVP_PKEY_get_bits(k);
        if (bits >= RSA_MIN_BITS)
            return 0;
        ca__why(why, whylen, "RSA %d-bit key: need >= %d", bits, RSA_MIN_BITS);
        return CA_EKEY;
    }
    const char *type = EVP_PKEY_get0_type_name(k);
    ca__why(why, whylen, "%s key not allowed: need " KEY_POLICY, type ? type : "this");
    return CA_EKEY;
}

static int check_req(X509_REQ *req, void **pub, char *why, size_t whylen)
{
    EVP_PKEY *k = X509_REQ_get0_pubkey(req);
    int rc = check_key(k, why, whylen);
    if (rc == 0 && X509_REQ_verify(req, k) != 1) {
        ca__why(why, whylen, "CSR signature does not verify");
        rc = CA_ESIG;
    }
    ERR_clear_error();
    if (rc == 0 && pub) {
        if (EVP_PKEY_up_ref(k) != 1)
            return CA_EINTERNAL;
        *pub = k;
    }
    return rc;
}

int ca_csr_check(const char *pem, size_t len, void **pub, char *why, size_t whylen)
{
    pem_block b = {0};
    X509_REQ *req = NULL;
    int rc;
    ca__why(why, whylen, "ok");
    if (pub)
        *pub = NULL;
    if (len > CA_CSR_MAX) {
        ca__why(why, whylen, "CSR is %zu bytes: at most %d accepted", len, CA_CSR_MAX);
        return CA_ETOOBIG;
    }
    if (!pem) {
        ca__why(why, whylen, "no CSR");
        return CA_EFORMAT;
    }
    rc = one_block(pem, len, &b, why, whylen);
    if (rc == 0)
        rc = parse_der(&b, &req, why, whylen);
    if (rc == 0)
        rc = check_req(req, pub, why, whylen);
    X509_REQ_free(req);
    block_free(&b);
    return rc;
}
