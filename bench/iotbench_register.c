/* iotbench register: registers N devices with per-device certificates, fast.
 *
 *   iotbench register --port N (--token-file FILE | --token T) --count N --certdir DIR
 *                     --ids FILE [--host IP] [--cafile CA] [--conns C] [--name-prefix P]
 *
 * Each of C keep-alive HTTPS connections loops: make an ECDSA P-256 key and a CSR here,
 * POST /v1/devices {"name": P<i>, "csr": PEM} (docs/devices.md), and on 201 write
 * DIR/ID.key (0600) and DIR/ID.crt from the answer — the layout `devsim --certdir`
 * reads — and the id to the --ids file. The server signs on its store thread, so a few
 * connections suffice; more only queue there. The private key never leaves this process
 * except into DIR/ID.key. Exit 0 when all N were registered, 1 otherwise, 2 bad options. */
#include "bench/iotbench.h"
#include "bench/iotbench_https.h"
#include "bench/iotbench_rtt.h"

#include <bson/bson.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY_MAX  1024 /* PEM of a P-256 PKCS#8 key is ~240 bytes */
#define CSR_MAX  2048 /* PEM of its CSR is ~450 bytes */
#define BODY_MAX 4096
#define REQ_MAX  (IOTBENCH_TOKEN_MAX + BODY_MAX + 512)

typedef struct reg_opts {
    char host[64];
    int port;
    const char *cafile;
    char token[IOTBENCH_TOKEN_MAX];
    long count;
    int conns;
    const char *certdir;
    const char *ids_path;
    char prefix[64];
} reg_opts;

struct reg;

struct rconn {
    struct reg *g;
    iotbench_https *h;
    char key[KEY_MAX]; /* the key of the device being registered */
    size_t key_len;
    bool busy;
};

struct reg {
    const reg_opts *o;
    uv_loop_t loop;
    iotbench_https_ctx x;
    struct rconn *conns;
    FILE *ids;
    long next, done, failed;
    int open;
    uv_timer_t tick;
    uint64_t t0;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- key and CSR ------------------------------------------------------------------- */

static int pem_out(BIO *b, char *out, size_t cap, size_t *len)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);

    if (n <= 0 || (size_t)n >= cap)
        return -1;
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    *len = (size_t)n;
    return 0;
}

/* A fresh P-256 key (PKCS#8 PEM into @key) and a CSR for it (PEM into @csr). */
static int make_csr(char *key, size_t *key_len, char *csr, size_t *csr_len)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509_REQ *req = X509_REQ_new();
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
    int rc = -1;

    if (!pk || !req || !kb || !cb || X509_REQ_set_version(req, 0) != 1 ||
        X509_REQ_set_pubkey(req, pk) != 1 || X509_REQ_sign(req, pk, EVP_sha256()) <= 0)
        goto out;
    /* the subject is ignored by the CA: the certificate's CN is the id it assigns */
    if (PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_bio_X509_REQ(cb, req) != 1)
        goto out;
    if (pem_out(kb, key, KEY_MAX, key_len) < 0 || pem_out(cb, csr, CSR_MAX, csr_len) < 0)
        goto out;
    rc = 0;
out:
    BIO_free(kb);
    BIO_free(cb);
    X509_REQ_free(req);
    EVP_PKEY_free(pk);
    return rc;
}

/* PEM as a JSON string body: only newlines need escaping in base64 PEM. */
static int json_pem(const char *pem, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (o + 3 > cap)
            return -1;
        if (pem[i] == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = pem[i];
        }
    }
    out[o] = '\0';
    return (int)o;
}

/* ---- files ------------------------------------------------------------------------- */

static int write_file(const char *dir, const char *id, const char *ext, const char *data, size_t n,
                      int mode)
{
    char path[4096];
    int fd, rc = 0;

    snprintf(path, sizeof path, "%s/%s.%s", dir, id, ext);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    if (write(fd, data, n) != (ssize_t)n)
        rc = -1;
    if (close(fd) != 0)
        rc = -1;
    return rc;
}

/* From a 201 answer: "id" and "certificate": {"pem"}; writes ID.key and ID.crt. */
static int save_device(struct rconn *c, const char *body, size_t len)
{
    bson_error_t err;
    bson_t *doc = bson_new_from_json((const uint8_t *)body, (ssize_t)len, &err);
    bson_iter_t it, pem;
    char id[IOTBENCH_ID_MAX];
    const char *p;
    uint32_t n;
    int rc = -1;

    if (!doc)
        return -1;
    if (!bson_iter_init_find(&it, doc, "id") || !BSON_ITER_HOLDS_UTF8(&it))
        goto out;
    p = bson_iter_utf8(&it, &n);
    if (n == 0 || n >= sizeof id || strchr(p, '/'))
        goto out;
    memcpy(id, p, n + 1);
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, "certificate.pem", &pem) ||
        !BSON_ITER_HOLDS_UTF8(&pem))
        goto out;
    p = bson_iter_utf8(&pem, &n);
    if (write_file(c->g->o->certdir, id, "key", c->key, c->key_len, 0600) < 0 ||
        write_file(c->g->o->certdir, id, "crt", p, n, 0644) < 0)
        goto out;
    fprintf(c->g->ids, "%s\n", id);
    rc = 0;
out:
    bson_destroy(doc);
    return rc;
}

/* ---- the loop --------------------------------------------------------------------- */

static void reg_next(struct rconn *c)
{
    struct reg *g = c->g;
    char csr[CSR_MAX], csr_json[CSR_MAX * 2], body[BODY_MAX], req[REQ_MAX];
    size_t csr_len;
    int blen, rlen;

    if (g->next >= g->o->count || !c->h)
        return;
    if (make_csr(c->key, &c->key_len, csr, &csr_len) < 0 ||
        json_pem(csr, csr_len, csr_json, sizeof csr_json) < 0) {
        fprintf(stderr, "iotbench: register: cannot make a key and CSR\n");
        g->failed++;
        g->next++;
        return;
    }
    blen = snprintf(body, sizeof body, "{\"name\": \"%s%ld\", \"csr\": \"%s\"}", g->o->prefix,
                    g->next, csr_json);
    rlen = snprintf(req, sizeof req,
                    "POST /v1/devices HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                    g->x.host, g->o->token, blen, body);
    g->next++;
    c->busy = true;
    if (blen < 0 || (size_t)blen >= sizeof body || rlen < 0 || (size_t)rlen >= sizeof req ||
        iotbench_https_send(c->h, req, (size_t)rlen) < 0) {
        g->failed++;
        c->busy = false;
    }
    explicit_bzero(req, sizeof req);
}

static void on_ready(iotbench_https *h, void *arg)
{
    (void)h;
    reg_next(arg);
}

static void on_response(iotbench_https *h, int status, const char *body, size_t len, bool truncated,
                        void *arg)
{
    struct rconn *c = arg;
    struct reg *g = c->g;

    (void)h;
    c->busy = false;
    if (status == 201 && !truncated && save_device(c, body, len) == 0) {
        g->done++;
    } else {
        if (g->failed++ < 3)
            fprintf(stderr, "iotbench: register: HTTP %d: %.*s\n", status,
                    (int)(len > 200 ? 200 : len), body);
    }
    explicit_bzero(c->key, sizeof c->key);
    reg_next(c);
}

static void on_closed(iotbench_https *h, int err, const char *why, void *arg)
{
    struct rconn *c = arg;

    (void)h;
    (void)err;
    fprintf(stderr, "iotbench: register: connection lost: %s\n", why);
    if (c->busy)
        c->g->failed++;
    c->h = NULL;
    c->g->open--;
}

static void on_tick(uv_timer_t *t)
{
    struct reg *g = t->data;
    bool idle = true;

    for (int i = 0; i < g->o->conns; i++)
        if (g->conns[i].h && (g->conns[i].busy || g->next < g->o->count))
            idle = false;
    fprintf(stderr, "[%6.1fs] registered %ld/%ld  failed %ld\n",
            (double)(now_ms() - g->t0) / 1000.0, g->done, g->o->count, g->failed);
    if (!idle && g->open > 0)
        return;
    for (int i = 0; i < g->o->conns; i++)
        if (g->conns[i].h)
            iotbench_https_close(g->conns[i].h, false);
    uv_close((uv_handle_t *)&g->tick, NULL);
}

static int reg_run(struct reg *g)
{
    static const iotbench_https_cbs cbs = {on_ready, on_response, on_closed};
    int rc = iotbench_https_ctx_init(&g->x, &g->loop, g->o->host, g->o->port, g->o->cafile);

    if (rc < 0)
        return rc;
    g->conns = calloc((size_t)g->o->conns, sizeof *g->conns);
    if (!g->conns)
        return UV_ENOMEM;
    for (int i = 0; i < g->o->conns; i++) {
        g->conns[i].g = g;
        g->conns[i].h = iotbench_https_open(&g->x, &cbs, &g->conns[i], &rc);
        if (g->conns[i].h)
            g->open++;
    }
    g->t0 = now_ms();
    uv_timer_init(&g->loop, &g->tick);
    g->tick.data = g;
    uv_timer_start(&g->tick, on_tick, 200, 1000);
    uv_run(&g->loop, UV_RUN_DEFAULT);
    return 0;
}

/* ---- options ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f, "usage: iotbench register --port N (--token-file FILE | --token T) --count N\n"
               "                         --certdir DIR --ids FILE [--host IP] [--cafile CA]\n"
               "                         [--conns C] [--name-prefix P]\n"
               "  --count N          devices to register\n"
               "  --certdir DIR      writes DIR/ID.key and DIR/ID.crt (devsim --certdir)\n"
               "  --ids FILE         writes the ids, one per line (iotbench rtt --devices)\n"
               "  --conns C          keep-alive connections, default 4\n"
               "  --name-prefix P    device names P0, P1, ..., default bench-PID-\n");
}

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_CAFILE,
    OPT_TOKEN,
    OPT_TOKEN_FILE,
    OPT_COUNT,
    OPT_CERTDIR,
    OPT_IDS,
    OPT_CONNS,
    OPT_PREFIX,
    OPT_HELP
};

static int apply_opt(reg_opts *o, int opt, const char *arg)
{
    long v;

    switch (opt) {
    case OPT_HOST:
        return iotbench_parse_host(arg, o->host, sizeof o->host);
    case OPT_PORT:
        if (iotbench_parse_long(arg, 1, 65535, &v))
            return -1;
        o->port = (int)v;
        return 0;
    case OPT_CAFILE:
        o->cafile = arg;
        return 0;
    case OPT_TOKEN:
        if (strlen(arg) >= sizeof o->token || strpbrk(arg, " \r\n\t"))
            return -1;
        snprintf(o->token, sizeof o->token, "%s", arg);
        return 0;
    case OPT_TOKEN_FILE:
        return iotbench_read_token(arg, o->token, sizeof o->token);
    case OPT_COUNT:
        return iotbench_parse_long(arg, 1, 10000000, &o->count);
    case OPT_CERTDIR:
        o->certdir = arg;
        return 0;
    case OPT_IDS:
        o->ids_path = arg;
        return 0;
    case OPT_CONNS:
        if (iotbench_parse_long(arg, 1, 1000, &v))
            return -1;
        o->conns = (int)v;
        return 0;
    case OPT_PREFIX:
        /* goes into a JSON string unescaped: keep it to name-safe characters */
        if (strlen(arg) >= sizeof o->prefix || strpbrk(arg, "\"\\/+#") || !*arg)
            return -1;
        snprintf(o->prefix, sizeof o->prefix, "%s", arg);
        return 0;
    default:
        return -1;
    }
}

static int parse_args(int argc, char **argv, reg_opts *o)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"cafile", required_argument, NULL, OPT_CAFILE},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
        {"count", required_argument, NULL, OPT_COUNT},
        {"certdir", required_argument, NULL, OPT_CERTDIR},
        {"ids", required_argument, NULL, OPT_IDS},
        {"conns", required_argument, NULL, OPT_CONNS},
        {"name-prefix", required_argument, NULL, OPT_PREFIX},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == OPT_HELP) {
            usage(stdout);
            exit(0);
        }
        if (opt == '?' || apply_opt(o, opt, optarg) < 0) {
            if (opt != '?')
                fprintf(stderr, "iotbench: bad value for --%s\n", longopts[opt - OPT_HOST].name);
            return -1;
        }
    }
    if (optind != argc || !o->port || !o->token[0] || !o->count || !o->certdir || !o->ids_path) {
        fprintf(stderr, "iotbench: register needs --port, --token(-file), --count, --certdir "
                        "and --ids\n");
        return -1;
    }
    return 0;
}

int iotbench_register_main(int argc, char **argv)
{
    reg_opts *o = calloc(1, sizeof *o);
    struct reg g = {0};
    int rc = 2;

    if (!o)
        return 2;
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    snprintf(o->prefix, sizeof o->prefix, "bench-%d-", (int)getpid());
    o->conns = 4;
    if (parse_args(argc, argv, o) < 0) {
        usage(stderr);
        goto out;
    }
    rc = 1;
    g.o = o;
    g.ids = fopen(o->ids_path, "w");
    if (!g.ids || uv_loop_init(&g.loop) < 0) {
        perror(o->ids_path);
        goto out;
    }
    if (reg_run(&g) < 0)
        fprintf(stderr, "iotbench: register: cannot start\n");
    uv_run(&g.loop, UV_RUN_DEFAULT);
    uv_loop_close(&g.loop);
    iotbench_https_ctx_free(&g.x);
    printf("registered %ld of %ld devices (%ld failed) in %.1f s\n", g.done, o->count, g.failed,
           (double)(now_ms() - g.t0) / 1000.0);
    rc = g.done == o->count ? 0 : 1;
out:
    if (g.ids && fclose(g.ids) != 0)
        rc = 1;
    free(g.conns);
    explicit_bzero(o->token, sizeof o->token);
    free(o);
    return rc;
}
