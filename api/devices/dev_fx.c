/*
 * dev_fx — revocation: inside a store job the certificates are revoked (and the device
 * rows changed by the caller); after the commit, on the request's loop, the serials go to
 * the revset (TLS refuses them from then on), deleted devices leave the device directory,
 * their live MQTT sessions are purged and the CRL builder is told (ca/crlgen.h: it
 * re-signs off the store thread, at most once per interval). Nothing here happens before
 * the commit, so a failed job changes nothing anyone sees. A job's work is O(the device's
 * live certificates), whatever the number of revoked ones.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/crlgen.h"
#include "ca/revset.h"
#include "common/log.h"
#include "api/devices/dev_int.h"
#include "ident/devdir.h"

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

static int add_serial(dev__fx *fx, const char *serial, int64_t not_after)
{
    if (strlen(serial) > CA_SERIAL_HEX)
        return STORE_ECORRUPT;
    int rc = grow((void **)&fx->revs, &fx->cap_revs, fx->n_revs, sizeof *fx->revs);
    if (rc == 0) {
        dev__rev *v = &fx->revs[fx->n_revs++];
        snprintf(v->serial, sizeof v->serial, "%s", serial);
        v->not_after = not_after;
    }
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
    size_t from; /* fx->revs index where this device's serials start */
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
    return add_serial(l->fx, serial, json_doc_i64(doc, "not_after"));
}

/* The device's current certificate (named by its document) into @fx unless it is revoked
 * already or is @keep. A missing row is nothing to revoke. */
static int current_cert(store_tx *tx, live_certs *l, const char *serial)
{
    bson_t *c = NULL;
    int rc = store_cert_get(tx, serial, &c);
    if (rc == STORE_ENOTFOUND)
        return 0;
    if (rc == 0)
        rc = collect_live(l, c);
    bson_destroy(c);
    return rc;
}

int dev__revoke_device(store_tx *tx, dev__fx *fx, const bson_t *dev, const char *keep_serial,
                       int reason, int64_t now)
{
    const char *id = json_doc_str(dev, "_id"), *cur = json_doc_str(dev, "cert_serial");
    if (!id || strlen(id) > STORE_ID_MAX)
        return STORE_ECORRUPT;
    live_certs l = {.fx = fx, .keep = keep_serial, .from = fx->n_revs};
    /* A device has one live certificate, the one its document names: registration makes
     * it, and a rotation revokes every other one in the same transaction. So this is one
     * row, however long the device's revoked history; the walk over the device's live
     * rows is for a document that names none. */
    int rc = cur ? current_cert(tx, &l, cur) : store_cert_each_live(tx, id, collect_live, &l);
    if (rc < 0)
        return rc;
    fx->reason = reason;
    fx->revoked_at = now;
    /* revoked after the walk: the walk's statement must be done before the writes */
    for (size_t i = l.from; i < fx->n_revs; i++)
        if ((rc = store_cert_revoke(tx, fx->revs[i].serial, reason, now)) < 0 &&
            rc != STORE_EEXISTS)
            return rc;
    return add_id(fx, id);
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
    for (size_t i = 0; rc == 0 && i < devs.n; i++) {
        bson_t *doc = NULL;
        if ((rc = store_device_get(tx, owner_id, devs.ids[i], &doc)) == 0 &&
            (rc = dev__revoke_device(tx, fx, doc, NULL, 5, now)) == 0)
            rc = store_device_delete(tx, owner_id, devs.ids[i]);
        bson_destroy(doc);
    }
    fx->deleted = true;
    if (rc == 0)
        rc = store_devtype_each(tx, owner_id, collect_type, &types);
    for (size_t i = 0; rc == 0 && i < types.n; i++)
        rc = store_devtype_delete(tx, owner_id, types.ids[i]);
    free(devs.ids);
    free(types.ids);
    return rc;
}

/* ---- after the commit ------------------------------------------------------------------ */

void dev__fx_apply(api *a, dev__fx *fx)
{
    for (size_t i = 0; i < fx->n_revs; i++) {
        revset_entry e = {.serial = fx->revs[i].serial,
                          .revoked_at = fx->revoked_at,
                          .not_after = fx->revs[i].not_after,
                          .reason = fx->reason};
        if (a->rs && revset_put(a->rs, &e) < 0)
            log_warn("devices: revoked serial not cached (memory)");
    }
    for (size_t i = 0; i < fx->n_ids; i++) {
        if (fx->deleted && a->dd)
            devdir_del(a->dd, fx->ids[i]);
        if (a->purge)
            a->purge(a->br, fx->ids[i]);
    }
    if (fx->n_revs)
        crlgen_kick(a->cg);
}

void dev__fx_free(dev__fx *fx)
{
    free(fx->revs);
    free(fx->ids);
    memset(fx, 0, sizeof *fx);
}
