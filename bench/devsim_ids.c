/* devsim: who the simulated devices are.
 *
 *   --certdir DIR   every DIR/ID.crt with a DIR/ID.key beside it is one device (sorted by id)
 *   --secrets FILE  one device per line "ID SECRET"; blank lines and '#' comments skipped
 *   --anonymous     ids PREFIX-1 .. PREFIX-N, no credentials (a broker with allow-anonymous)
 *
 * Files are read once, before the loop runs. Secrets stay in memory and are never printed. */
#include "bench/devsim.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

static int grow(devsim *sim, size_t *cap)
{
    devsim_dev *p;
    size_t n = *cap ? *cap * 2 : 64;

    if (sim->ndevs < *cap)
        return 0;
    if (!(p = realloc(sim->devs, n * sizeof *p)))
        return -1;
    sim->devs = p;
    *cap = n;
    return 0;
}

static devsim_dev *add(devsim *sim, size_t *cap, const char *id, size_t idlen)
{
    devsim_dev *d;

    if (idlen == 0 || idlen > DEVSIM_ID_MAX || memchr(id, '/', idlen) || memchr(id, '+', idlen) ||
        memchr(id, '#', idlen)) {
        fprintf(stderr, "devsim: bad device id \"%.*s\"\n", (int)(idlen > 64 ? 64 : idlen), id);
        return NULL;
    }
    if (grow(sim, cap) < 0)
        return NULL;
    d = &sim->devs[sim->ndevs];
    memset(d, 0, sizeof *d);
    memcpy(d->id, id, idlen);
    d->sim = sim;
    d->index = (uint32_t)sim->ndevs++;
    return d;
}

static bool full(const devsim *sim)
{
    return sim->o.count > 0 && sim->ndevs >= (size_t)sim->o.count;
}

/* ---- --secrets ---------------------------------------------------------------------------- */

static int load_secret_line(devsim *sim, size_t *cap, char *line, unsigned lineno)
{
    char *id = line + strspn(line, " \t");
    size_t idlen = strcspn(id, " \t\r\n");
    char *secret = id + idlen + strspn(id + idlen, " \t");
    size_t slen = strcspn(secret, " \t\r\n");
    devsim_dev *d;

    if (*id == '\0' || *id == '\n' || *id == '\r' || *id == '#')
        return 0;
    if (slen == 0 || slen > DEVSIM_SECRET_MAX) {
        fprintf(stderr, "devsim: secrets line %u: expected \"ID SECRET\"\n", lineno);
        return -1;
    }
    if (!(d = add(sim, cap, id, idlen)))
        return -1;
    memcpy(d->secret, secret, slen);
    return 0;
}

static int load_secrets(devsim *sim, size_t *cap)
{
    FILE *f = fopen(sim->o.secrets, "r");
    char line[DEVSIM_ID_MAX + DEVSIM_SECRET_MAX + 16];
    unsigned lineno = 0;
    int rc = 0;

    if (!f) {
        fprintf(stderr, "devsim: %s: %s\n", sim->o.secrets, strerror(errno));
        return -1;
    }
    while (rc == 0 && !full(sim) && fgets(line, sizeof line, f))
        rc = load_secret_line(sim, cap, line, ++lineno);
    fclose(f);
    return rc;
}

/* ---- --certdir ---------------------------------------------------------------------------- */

static int load_pair(devsim_dev *d, const char *dir)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s.crt", dir, d->id);
    if ((f = fopen(path, "r"))) {
        d->cert = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/%s.key", dir, d->id);
    if ((f = fopen(path, "r"))) {
        d->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (d->cert && d->key && X509_check_private_key(d->cert, d->key) == 1)
        return 0;
    fprintf(stderr, "devsim: %s/%s.crt/.key: unreadable or not a pair\n", dir, d->id);
    ERR_clear_error();
    return -1;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Ids of DIR/ID.crt that have a DIR/ID.key, sorted. */
static char **list_ids(const char *dir, size_t *n)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char **ids = NULL, **p, key[4096];
    size_t cap = 0;

    *n = 0;
    if (!dp)
        return NULL;
    while ((e = readdir(dp))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".crt") != 0)
            continue;
        snprintf(key, sizeof key, "%s/%.*s.key", dir, (int)(len - 4), e->d_name);
        if (access(key, R_OK) != 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            if (!(p = realloc(ids, cap * sizeof *ids)))
                break;
            ids = p;
        }
        if (!(ids[*n] = strndup(e->d_name, len - 4)))
            break;
        (*n)++;
    }
    closedir(dp);
    if (*n)
        qsort(ids, *n, sizeof *ids, cmp_name);
    return ids;
}

static int load_certdir(devsim *sim, size_t *cap)
{
    size_t n, i;
    char **ids = list_ids(sim->o.certdir, &n);
    int rc = 0;

    if (!ids && n == 0) {
        fprintf(stderr, "devsim: %s: no ID.crt + ID.key pairs\n", sim->o.certdir);
        free(ids);
        return -1;
    }
    for (i = 0; i < n && rc == 0 && !full(sim); i++) {
        devsim_dev *d = add(sim, cap, ids[i], strlen(ids[i]));
        rc = d ? load_pair(d, sim->o.certdir) : -1;
    }
    for (i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

/* ---- --anonymous -------------------------------------------------------------------------- */

static int make_ids(devsim *sim, size_t *cap)
{
    char id[DEVSIM_ID_MAX + 1];

    for (long i = 1; i <= sim->o.count; i++) {
        int n = snprintf(id, sizeof id, "%s-%ld", sim->o.prefix, i);
        if (n < 0 || n >= (int)sizeof id || !add(sim, cap, id, (size_t)n))
            return -1;
    }
    return 0;
}

int devsim__load_devices(devsim *sim)
{
    size_t cap = 0;
    int rc;

    switch (sim->o.auth) {
    case DEVSIM_AUTH_CERT:
        rc = load_certdir(sim, &cap);
        break;
    case DEVSIM_AUTH_SECRET:
        rc = load_secrets(sim, &cap);
        break;
    default:
        rc = make_ids(sim, &cap);
        break;
    }
    if (rc == 0 && sim->ndevs == 0) {
        fprintf(stderr, "devsim: no devices to run\n");
        rc = -1;
    }
    return rc;
}

void devsim__free_devices(devsim *sim)
{
    for (size_t i = 0; i < sim->ndevs; i++) {
        X509_free(sim->devs[i].cert);
        EVP_PKEY_free(sim->devs[i].key);
        OPENSSL_cleanse(sim->devs[i].secret, sizeof sim->devs[i].secret);
    }
    free(sim->devs);
    sim->devs = NULL;
    sim->ndevs = 0;
}
