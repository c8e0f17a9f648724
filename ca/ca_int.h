/**
 * ca internals shared by ca.c (bootstrap policy), ca_x509.c (building certificates) and
 * ca_file.c (PEM files). Not part of the public contract; the unit tests use it to forge
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

/** Atomically replaces @path (temp file + rename); keys 0600, certificates 0644. */
int ca__write_key(const char *path, EVP_PKEY *key, char *err, size_t errlen);
int ca__write_cert(const char *path, X509 *x, char *err, size_t errlen);

/** Reads one PEM object; -1 with a message naming @path (never the contents). */
int ca__read_key(const char *path, EVP_PKEY **out, char *err, size_t errlen);
int ca__read_cert(const char *path, X509 **out, char *err, size_t errlen);

/** True when @path exists (any type). */
bool ca__exists(const char *path);

#endif
