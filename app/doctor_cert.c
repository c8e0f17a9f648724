/*
 * doctor_cert — the certificate part of `iotcloud doctor` (see doctor_int.h).
 * Names are matched the way a TLS client will: X509_check_host for a DNS name (RFC 6125,
 * wildcards in the left-most label), X509_check_ip_asc for an address literal.
 */
#include "app/doctor_int.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <unistd.h>

#define SOON_DAYS 30

static X509 *load_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static EVP_PKEY *load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

static void check_dates(doctor *d, X509 *x, const char *path)
{
    int days = 0, secs = 0;
    if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
        doctor__say(d, DOCTOR_FIX, "certificate %s: not valid yet (check the clock)", path);
        return;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
        doctor__say(d, DOCTOR_FIX, "certificate %s: expired; renew it (--cert/--key)", path);
        return;
    }
    if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) && days < SOON_DAYS)
        doctor__say(d, DOCTOR_WARN, "certificate %s: expires in %d day(s); renew it soon", path,
                    days);
    else
        doctor__say(d, DOCTOR_OK, "certificate %s: valid for %d more days", path, days);
}

static bool is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void check_name(doctor *d, X509 *x, const iot_config *cfg, const char *path)
{
    char host[256];
    const char *name = cfg->public_host;
    if (!name[0]) {
        if (gethostname(host, sizeof host - 1) < 0)
            return;
        host[sizeof host - 1] = '\0';
        name = host;
    }
    int ok = is_ip(name) ? X509_check_ip_asc(x, name, 0) : X509_check_host(x, name, 0, 0, NULL);
    if (ok == 1)
        doctor__say(d, DOCTOR_OK, "certificate %s: covers public-host %s", path, name);
    else
        doctor__say(d, DOCTOR_FIX,
                    "certificate %s: no subjectAltName matches public-host %s; devices will "
                    "refuse it: issue a certificate for %s or set public-host to a name it has",
                    path, name, name);
}

void doctor__cert(doctor *d, const iot_config *cfg)
{
    char gen_cert[CONFIG_PATH_MAX + 32], gen_key[CONFIG_PATH_MAX + 32];
    snprintf(gen_cert, sizeof gen_cert, "%s/ca/server.crt", cfg->data_dir);
    snprintf(gen_key, sizeof gen_key, "%s/ca/server.key", cfg->data_dir);
    bool tls = false;
    for (size_t i = 0; i < cfg->n_listen; i++)
        tls |= cfg->listen[i].scheme == CONFIG_MQTTS || cfg->listen[i].scheme == CONFIG_HTTPS;
    if (!tls) {
        doctor__say(d, DOCTOR_OK, "certificate: no TLS listener");
        return;
    }
    const char *cert = cfg->cert[0] ? cfg->cert : gen_cert;
    const char *key = cfg->key[0] ? cfg->key : gen_key;
    if ((cfg->cert[0] != '\0') != (cfg->key[0] != '\0')) {
        doctor__say(d, DOCTOR_FIX, "cert and key must be given together");
        return;
    }
    if (!cfg->cert[0] && access(gen_cert, F_OK) != 0) {
        doctor__say(d, DOCTOR_OK, "certificate: none yet; the first start generates one");
        return;
    }
    X509 *x = load_cert(cert);
    EVP_PKEY *k = load_key(key);
    if (!x)
        doctor__say(d, DOCTOR_FIX, "certificate %s: cannot be read as PEM", cert);
    if (!k)
        doctor__say(d, DOCTOR_FIX, "key %s: cannot be read as a PEM private key", key);
    if (x) {
        check_dates(d, x, cert);
        check_name(d, x, cfg, cert);
    }
    if (x && k) {
        if (X509_check_private_key(x, k) == 1)
            doctor__say(d, DOCTOR_OK, "key %s: matches the certificate", key);
        else
            doctor__say(d, DOCTOR_FIX, "key %s: does not match certificate %s", key, cert);
    }
    X509_free(x);
    EVP_PKEY_free(k);
}
