/**
 * ca — the internal certificate authority.
 *
 * Bootstrap: on first start, when DATA_DIR/ca/ holds no CA, create a root
 * CA (ECDSA P-256, self-signed, CA:TRUE, keyCertSign|cRLSign, 10 years) and a server
 * certificate (ECDSA P-256, SAN = localhost, 127.0.0.1, ::1 and the host name, serverAuth
 * EKU, 1 year) signed by it; key files mode 0600. On later starts reuse them (and re-issue
 * the server certificate when it is missing or expires within 30 days).
 *
 * Blocking file and crypto work: call from main() before the loops start.
 */
#ifndef IOT_CA_CA_H
#define IOT_CA_CA_H

#include <stddef.h>
#include <stdint.h>

#define CA_PATH_MAX 600

typedef struct ca_paths {
    char ca_cert[CA_PATH_MAX];     /* DATA_DIR/ca/ca.crt */
    char ca_key[CA_PATH_MAX];      /* DATA_DIR/ca/ca.key (0600) */
    char server_cert[CA_PATH_MAX]; /* DATA_DIR/ca/server.crt */
    char server_key[CA_PATH_MAX];  /* DATA_DIR/ca/server.key (0600) */
} ca_paths;

/** Ensures the CA and server certificate exist under @data_dir (creating @data_dir and
 *  @data_dir/ca with mode 0700 as needed) and fills @out. 0, or -1 with @err filled. */
int ca_bootstrap(const char *data_dir, ca_paths *out, char *err, size_t errlen);

/* ---- issuing device certificates (ca_issue.c, ca_csr.c, ca_crl.c) ----------------------
 * A loaded CA (root certificate + key in memory) signs device certificates and CRLs.
 * Threading: ca_open/ca_free on the main thread while nothing else uses it; every other
 * function is safe from any thread at the same time (the OpenSSL objects are only read;
 * each call builds its own). Crypto costs ~0.1-2 ms: call from a store job, the libuv pool
 * or start-up, never from a loop's thread directly. No function here logs a key, a CSR or
 * a certificate, and none writes a device key anywhere. */

typedef struct ca ca;

/** Loads the root pair written by ca_bootstrap. NULL with @err filled (never the key). */
ca *ca_open(const ca_paths *p, char *err, size_t errlen);
void ca_free(ca *c);
/** The root certificate, PEM, NUL-terminated; valid until ca_free. */
const char *ca_cert_pem(const ca *c);

#define CA_CSR_MAX      8192 /* bytes of PEM accepted */
#define CA_SERIAL_HEX   40   /* longest serial, lower-case hex digits */
#define CA_DEFAULT_DAYS 365
#define CA_MAX_DAYS     3650

/** Errors of ca_csr_check / ca_issue_*: @why always says what was wrong, for a 400. */
enum ca_err {
    CA_ETOOBIG = -1,   /* CSR over CA_CSR_MAX bytes */
    CA_EFORMAT = -2,   /* not one PEM "CERTIFICATE REQUEST" block, or bad DER inside */
    CA_EKEY = -3,      /* key type/size not allowed: ECDSA P-256/P-384 or RSA >= 2048 only */
    CA_ESIG = -4,      /* CSR signature does not verify (no proof of possession) */
    CA_EINVAL = -5,    /* bad argument (device id empty/too long/not printable, days 0 or
                        * above CA_MAX_DAYS) */
    CA_EINTERNAL = -6, /* OpenSSL or memory failure */
};

/** Checks a PEM CSR of @len bytes (need not be NUL-terminated) against the policy above.
 *  Pure: no CA needed (fuzzed). On success returns 0 and, when @pub is not NULL, the CSR's
 *  public key in *@pub (caller frees with EVP_PKEY_free; declared void to keep OpenSSL out
 *  of this header). Nothing of the CSR but its key is ever used: subject, attributes and
 *  requested extensions are ignored. */
int ca_csr_check(const char *pem, size_t len, void **pub, char *why, size_t whylen);

typedef struct ca_issued {
    char serial[CA_SERIAL_HEX + 1]; /* lower-case hex, no leading zeros, >= 64 random bits */
    int64_t not_before;             /* ms since the epoch */
    int64_t not_after;
    char *cert_pem; /* malloc'd, NUL-terminated */
    char *key_pem;  /* ca_issue_keygen only: the new private key (PKCS#8 PEM), malloc'd;
                     * NULL otherwise. Hand it to the user once, then ca_issued_clear. */
} ca_issued;

/** Issues a device certificate for the key of @csr_pem: X.509 v3, random serial,
 *  subject CN = @device_id (nothing else), basicConstraints CA:FALSE, keyUsage
 *  digitalSignature (critical), extendedKeyUsage clientAuth, SKI/AKI, notBefore one hour
 *  back, notAfter = now + @days. 0 and *@out filled, or an enum ca_err with @why. */
int ca_issue_csr(ca *c, const char *csr_pem, size_t len, const char *device_id, uint32_t days,
                 ca_issued *out, char *why, size_t whylen);
/** The same for a fresh ECDSA P-256 key made here (the "generate_key" convenience): the
 *  key is only ever in out->key_pem. */
int ca_issue_keygen(ca *c, const char *device_id, uint32_t days, ca_issued *out, char *why,
                    size_t whylen);
/** Frees both PEMs, wiping the key's bytes first; *@x is zeroed. NULL-safe. */
void ca_issued_clear(ca_issued *x);

/** The serial of a PEM certificate as lower-case hex (what ca_issued.serial holds), for
 *  matching a presented certificate. 0 or CA_EFORMAT. */
int ca_cert_serial(const char *pem, size_t len, char out[CA_SERIAL_HEX + 1]);

typedef struct ca_revoked {
    const char *serial; /* lower-case hex */
    int64_t revoked_at; /* ms */
    int reason;         /* RFC 5280 CRLReason: 0 unspecified, 1 keyCompromise,
                         * 4 superseded, 5 cessationOfOperation, ... */
} ca_revoked;

/** A CRL v2 signed by the root: thisUpdate = @now, nextUpdate = @now + @next_update_s,
 *  crlNumber = @number (monotonic, e.g. @now in ms), AKI, one entry per @list item with its
 *  reasonCode (omitted for 0). PEM in *@out (malloc'd, NUL-terminated). 0 or an ca_err. */
int ca_crl_pem(ca *c, const ca_revoked *list, size_t n, int64_t now, uint32_t next_update_s,
               uint64_t number, char **out);

#endif
