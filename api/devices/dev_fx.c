/*
 * dev_fx — revocation: inside a store job the certificates are revoked (and the device
 * rows changed by the caller), the CRL as of that transaction is signed; after the commit,
 * on the request's loop, the serials go to the revset, deleted devices leave the device
 * directory, their live MQTT sessions are purged and the new CRL replaces the old one.
 * Nothing here happens before the commit, so a failed job changes nothing anyone sees.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/revset.h"
#include "common/log.h"
#include "api/devices/dev_int.h"
#include "ident/devdir.h"

#define CRL_NEXT_UPDATE_S (7 * 24 * 3600) /* clients refetch at least weekly */

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *q = realloc(*p, nc * size);
    if (!q)
        return STORE_ENOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

static int add_serial(dev__fx *fx, const char *serial)
{
    if (strlen(serial) > CA_SERIAL_HEX)
        return STORE_ECORRUPT;
    int rc = grow((void **)&fx->serials, &fx->cap_serials, fx->n_serials, sizeof *fx->serials);
    if (rc == 0)
        snprintf(fx->serials[fx->n_serials++], CA_SERIAL_HEX + 1, "%s", serial);
    return rc;
}

static int add_id(dev__fx *fx, const char *id)
{
    int rc = grow((void **)&fx->ids, &fx->cap_ids, fx->n_ids, sizeof *fx->ids);
    if (rc == 0)
        snprintf(fx->ids[fx->n_ids++], STORE_ID_MAX + 1, "%s", id);
    return rc;
}

typedef struct live_certs {
    dev__fx *fx;
    const char *keep;
    size_t from; /* fx->serials index where this device's serials start */
} live_certs;

static int collect_live(void *arg, const bson_t *doc)
{
    live_certs *l = arg;
    bson_iter_t it;
    const char *serial = json_doc_str(doc, "_id");
    if (!serial || bson_iter_init_find(&it, doc, "revoked_at"))
        return 0;
    if (l->keep && !strcmp(serial, l->keep))
        return 0;
    return add_serial(l->fx, serial);
}

int dev__revoke_device(store_tx *tx, dev__fx *fx, const char *device_id, const char *keep_serial,
                       int reason, int64_t now)
{
    live_certs l = {.fx = fx, .keep = keep_serial, .from = fx->n_serials};
    int rc = store_cert_each_device(tx, device_id, collect_live, &l);
    if (rc < 0)
        return rc;
    /* revoked after the walk: the walk's statement must be done before the writes */
    for (size_t i = l.from; i < fx->n_serials; i++)
        if ((rc = store_cert_revoke(tx, fx->serials[i], reason, now)) < 0 && rc != STORE_EEXISTS)
            return rc;
    return add_id(fx, device_id);
}

/* ---- account deletion ---------------------------------------------------------------------- */

typedef struct id_list {
    char (*ids)[STORE_NAME_MAX + 1];
    size_t n, cap;
    const char *owner; /* types: only the owner's own, not the global ones */
} id_list;

static int list_add(id_list *l, const char *s)
{
    if (!s || strlen(s) > STORE_NAME_MAX)
        return 0;
    int rc = grow((void **)&l->ids, &l->cap, l->n, sizeof *l->ids);
    if (rc == 0)
        snprintf(l->ids[l->n++], STORE_NAME_MAX + 1, "%s", s);
    return rc;
}

static int collect_device(void *arg, const bson_t *doc)
{
    return list_add(arg, json_doc_str(doc, "_id"));
}

static int collect_type(void *arg, const bson_t *doc)
{
    id_list *l = arg;
    const char *owner = json_doc_str(doc, "owner_id");
    return owner && !strcmp(owner, l->owner) ? list_add(l, json_doc_str(doc, "name")) : 0;
}

static int owner_devices(store_tx *tx, const char *owner_id, id_list *l)
{
    store_device_filter f = {.limit = STORE_PAGE_MAX};
    store_page pg;
    char after[STORE_ID_MAX + 1] = "";
    do {
        f.after = after[0] ? after : NULL;
        int rc = store_device_list(tx, owner_id, &f, collect_device, l, &pg);
        if (rc < 0)
            return rc;
        memcpy(after, pg.last_id, sizeof after);
    } while (pg.more);
    return 0;
}

int dev__unregister_owner(store_tx *tx, dev__fx *fx, const char *owner_id, int64_t now)
{
    id_list devs = {0}, types = {.owner = owner_id};
    int rc = owner_devices(tx, owner_id, &devs);
    for (size_t i = 0; rc == 0 && i < devs.n; i++)
        if ((rc = dev__revoke_device(tx, fx, devs.ids[i], NULL, 5, now)) == 0)
            rc = store_device_delete(tx, owner_id, devs.ids[i]);
    fx->deleted = true;
    if (rc == 0)
        rc = store_devtype_each(tx, owner_id, collect_type, &types);
    for (size_t i = 0; rc == 0 && i < types.n; i++)
        rc = store_devtype_delete(tx, owner_id, types.ids[i]);
    free(devs.ids);
    free(types.ids);
    return rc;
}

/* ---- the CRL --------------------------------------------------------------------------------- */

uint64_t dev__crl_next(struct api_crl *c, int64_t now)
{
    pthread_mutex_lock(&c->mu);
    uint64_t n = now > 0 && (uint64_t)now > c->last_used ? (uint64_t)now : c->last_used + 1;
    c->last_used = n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

typedef struct rev_list {
    ca_revoked *v;
    char (*serials)[CA_SERIAL_HEX + 1];
    size_t n, cap;
} rev_list;

static int collect_revoked(void *arg, const store_cert_revoked *r)
{
    rev_list *l = arg;
    if (strlen(r->serial) > CA_SERIAL_HEX)
        return 0;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        ca_revoked *v = realloc(l->v, nc * sizeof *v);
        if (v)
            l->v = v;
        void *s = realloc(l->serials, nc * sizeof *l->serials);
        if (s)
            l->serials = s;
        if (!v || !s)
            return STORE_ENOMEM;
        l->cap = nc;
    }
    snprintf(l->serials[l->n], CA_SERIAL_HEX + 1, "%s", r->serial);
    l->v[l->n] = (ca_revoked){.revoked_at = r->revoked_at, .reason = r->reason};
    l->n++;
    return 0;
}

int dev__crl_build(store_tx *tx, api *a, int64_t now, uint64_t number, char **out)
{
    rev_list l = {0};
    *out = NULL;
    int rc = store_cert_each_revoked(tx, now, collect_revoked, &l);
    for (size_t i = 0; i < l.n; i++) /* after the walk: realloc may have moved them */
        l.v[i].serial = l.serials[i];
    if (rc == 0 && ca_crl_pem(a->ca, l.v, l.n, now, CRL_NEXT_UPDATE_S, number, out) < 0)
        rc = STORE_EIO;
    free(l.v);
    free(l.serials);
    return rc;
}

void dev__crl_offer(struct api_crl *c, char *pem, uint64_t number)
{
    pthread_mutex_lock(&c->mu);
    if (number > c->number || !c->pem) {
        char *old = c->pem;
        c->pem = pem;
        c->number = number;
        pem = old;
    }
    pthread_mutex_unlock(&c->mu);
    free(pem);
}

int dev__fx_crl(store_tx *tx, api *a, dev__fx *fx, int64_t now)
{
    if (!fx->n_serials || !a->ca || !a->crl)
        return 0;
    fx->crl_number = dev__crl_next(a->crl, now);
    return dev__crl_build(tx, a, now, fx->crl_number, &fx->crl);
}

void dev__fx_apply(api *a, dev__fx *fx)
{
    for (size_t i = 0; i < fx->n_serials; i++)
        if (a->rs && revset_add(a->rs, fx->serials[i]) < 0)
            log_warn("devices: revoked serial not cached (memory)");
    for (size_t i = 0; i < fx->n_ids; i++) {
        if (fx->deleted && a->dd)
            devdir_del(a->dd, fx->ids[i]);
        if (a->purge)
            a->purge(a->br, fx->ids[i]);
    }
    if (fx->crl && a->crl) {
        dev__crl_offer(a->crl, fx->crl, fx->crl_number);
        fx->crl = NULL;
    }
}

void dev__fx_free(dev__fx *fx)
{
    free(fx->serials);
    free(fx->ids);
    free(fx->crl);
    memset(fx, 0, sizeof *fx);
}
