/**
 * ca internals shared by ca.c (bootstrap policy), ca_x509.c (building certificates),
 * ca_file.c (PEM files) and the issuing half (ca_open.c, ca_csr.c, ca_issue.c, ca_crl.c,
 * revset.c). Not part of the public contract; the unit tests use it to forge
 * states such as a nearly expired server certificate.
 */
#ifndef IOT_CA_CA_INT_H
#define IOT_CA_CA_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>

#include "ca/ca.h"

#define CA__ROOT_DAYS   3650
#define CA__SERVER_DAYS 365
/* Re-issue the server certificate when fewer than this many days remain. */
#define CA__RENEW_DAYS 30

/** New ECDSA P-256 key; NULL on failure. */
EVP_PKEY *ca__keygen(void);

/** Self-signed root: CA:TRUE (critical), keyCertSign|cRLSign (critical), SKI. */
int ca__make_root(EVP_PKEY *key, long days, X509 **out);

/** Server certificate for @key signed by @ca/@ca_key: CA:FALSE, digitalSignature,
 *  serverAuth, SAN localhost/127.0.0.1/::1/host name, SKI, AKI. */
int ca__make_server(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, long days, X509 **out);

/** Adds extension @nid from its config-string @value (e.g. "critical,CA:FALSE"), with
 *  @issuer as the issuer for AKI. 0 or -1. */
int ca__add_ext(X509 *x, X509 *issuer, int nid, const char *value);
/** Appends CN=@cn (taken as bytes, never parsed as a DN string). 0 or -1. */
int ca__set_cn(X509_NAME *name, const char *cn);

/* The loaded CA of ca_open. Read-only after ca_open returns, hence shareable by threads:
 * the root's extension cache is filled there (X509_check_ca) so no later call writes it. */
struct ca {
    X509 *root;
    EVP_PKEY *key;
    char *root_pem;
};

/** @ai as lower-case hex without leading zeros ("0" for zero) into @out. 0, or -1 when it
 *  is negative or longer than CA_SERIAL_HEX digits. */
int ca__serial_hex(const ASN1_INTEGER *ai, char out[CA_SERIAL_HEX + 1]);

/** snprintf into @why when it is not NULL (the `why` of ca_csr_check / ca_issue_*). */
void ca__why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** A memory BIO's contents as a malloc'd NUL-terminated string; NULL on failure. */
char *ca__bio_string(BIO *b);
/** @x as PEM, malloc'd and NUL-terminated; NULL on failure. */
char *ca__cert_pem(X509 *x);

/** Atomically replaces @path (temp file + rename); keys 0600, certificates 0644. */
int ca__write_key(const char *path, EVP_PKEY *key, char *err, size_t errlen);
int ca__write_cert(const char *path, X509 *x, char *err, size_t errlen);

/** Reads one PEM object; -1 with a message naming @path (never the contents). */
int ca__read_key(const char *path, EVP_PKEY **out, char *err, size_t errlen);
int ca__read_cert(const char *path, X509 **out, char *err, size_t errlen);

/** True when @path exists (any type). */
bool ca__exists(const char *path);

#endif
