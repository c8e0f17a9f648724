/**
 * ca — the internal certificate authority.
 *
 * This issue: bootstrap only. On first start, when DATA_DIR/ca/ holds no CA, create a root
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

#endif
