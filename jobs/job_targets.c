/*
 * job_targets — which devices a job goes to: the owner's devices named in targets.devices
 * (id or name) and the members of targets.groups, resolved once when the job is created
 * (AWS IoT's "snapshot" target selection; docs/jobs.md). A static group lists device ids
 * (a member deleted since is skipped); a dynamic group is a query: the owner's devices of
 * query.type (when given) whose attributes equal every query.attrs pair.
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "jobs/jobs_int.h"

/* The id of @doc (a device or group document) into @out. */
static int id_of(const bson_t *doc, char out[STORE_ID_MAX + 1])
{
    const char *id = json_doc_str(doc, "_id");
    if (!id || strlen(id) > STORE_ID_MAX)
        return STORE_ECORRUPT;
    snprintf(out, STORE_ID_MAX + 1, "%s", id);
    return 0;
}

static int device_id(store_tx *tx, const char *owner, const char *key, char out[STORE_ID_MAX + 1])
{
    bson_t *doc = NULL;
    int rc = STORE_ENOTFOUND;
    if (strlen(key) <= STORE_ID_MAX)
        rc = store_device_get(tx, owner, key, &doc);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL)
        rc = store_device_get_by_name(tx, owner, key, &doc);
    if (rc < 0)
        return rc == STORE_EINVAL || rc == STORE_ECORRUPT ? STORE_ENOTFOUND : rc;
    rc = id_of(doc, out);
    bson_destroy(doc);
    return rc;
}

typedef struct dyn {
    job__ids *ids;
    bson_t attrs; /* query.attrs, empty when absent */
    unsigned max;
} dyn;

/* Whether every pair of @want is a string attribute of @dev with that value. */
static bool attrs_match(const bson_t *dev, const bson_t *want)
{
    bson_iter_t w, a;
    if (!bson_iter_init(&w, want))
        return false;
    while (bson_iter_next(&w)) {
        char path[300];
        snprintf(path, sizeof path, "attrs.%s", bson_iter_key(&w));
        if (!bson_iter_init(&a, dev) || !bson_iter_find_descendant(&a, path, &a) ||
            !BSON_ITER_HOLDS_UTF8(&a) || !BSON_ITER_HOLDS_UTF8(&w) ||
            strcmp(bson_iter_utf8(&a, NULL), bson_iter_utf8(&w, NULL)) != 0)
            return false;
    }
    return true;
}

static int on_device(void *arg, const bson_t *doc)
{
    dyn *d = arg;
    char id[STORE_ID_MAX + 1];
    if (!attrs_match(doc, &d->attrs) || id_of(doc, id) < 0)
        return 0;
    if (d->ids->n >= d->max)
        return 1; /* over the limit: the caller refuses */
    return job__ids_add(d->ids, id);
}

static int dynamic(store_tx *tx, const char *owner, const bson_t *group, job__ids *ids,
                   unsigned max)
{
    bson_iter_t it;
    const char *type = NULL;
    dyn d = {.ids = ids, .max = max};
    bson_init(&d.attrs);
    if (bson_iter_init(&it, group) && bson_iter_find_descendant(&it, "query.type", &it) &&
        BSON_ITER_HOLDS_UTF8(&it))
        type = bson_iter_utf8(&it, NULL);
    if (bson_iter_init(&it, group) && bson_iter_find_descendant(&it, "query.attrs", &it) &&
        BSON_ITER_HOLDS_DOCUMENT(&it)) {
        const uint8_t *p;
        uint32_t n;
        bson_iter_document(&it, &n, &p);
        bson_destroy(&d.attrs);
        bson_init_static(&d.attrs, p, n);
    }
    store_page pg = {0};
    int rc = 0;
    do {
        store_device_filter f = {.type = type, .after = pg.last_id[0] ? pg.last_id : NULL};
        memset(&pg.n, 0, sizeof pg.n);
        rc = store_device_list(tx, owner, &f, on_device, &d, &pg);
    } while (rc == 0 && pg.more);
    return rc;
}

static int group_members(store_tx *tx, const char *owner, const char *key, job__ids *ids,
                         unsigned max, char *err, size_t errlen)
{
    bson_t *g = NULL;
    int rc = store_group_get(tx, owner, key, &g);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL) {
        snprintf(err, errlen, "no such group: %s", key);
        return 404;
    }
    if (rc < 0)
        return rc;
    bson_iter_t it, el;
    if (strcmp(json_doc_str(g, "kind") ? json_doc_str(g, "kind") : "", "dynamic") == 0) {
        rc = dynamic(tx, owner, g, ids, max);
    } else if (bson_iter_init_find(&it, g, "devices") && BSON_ITER_HOLDS_ARRAY(&it) &&
               bson_iter_recurse(&it, &el)) {
        while (rc == 0 && bson_iter_next(&el)) {
            char id[STORE_ID_MAX + 1];
            if (!BSON_ITER_HOLDS_UTF8(&el))
                continue;
            int r = device_id(tx, owner, bson_iter_utf8(&el, NULL), id);
            if (r == 0)
                rc = job__ids_add(ids, id);
            else if (r != STORE_ENOTFOUND)
                rc = r;
        }
    }
    bson_destroy(g);
    return rc;
}

int job__targets(store_tx *tx, const char *owner, const jobs_spec *spec, unsigned max,
                 job__ids *ids, char *err, size_t errlen)
{
    bson_iter_t el;
    int rc = 0;
    if (spec->has_devices && bson_iter_recurse(&spec->devices, &el)) {
        while (rc == 0 && bson_iter_next(&el)) {
            char id[STORE_ID_MAX + 1];
            const char *key = bson_iter_utf8(&el, NULL);
            rc = device_id(tx, owner, key, id);
            if (rc == STORE_ENOTFOUND) {
                snprintf(err, errlen, "no such device: %s", key);
                return 404;
            }
            if (rc == 0)
                rc = job__ids_add(ids, id);
        }
    }
    if (spec->has_groups && bson_iter_recurse(&spec->groups, &el)) {
        while (rc == 0 && bson_iter_next(&el))
            rc = group_members(tx, owner, bson_iter_utf8(&el, NULL), ids, max + 1, err, errlen);
    }
    if (rc != 0)
        return rc == 1 ? (snprintf(err, errlen, "more than %u target devices", max), 400) : rc;
    job__ids_uniq(ids);
    if (ids->n > max) {
        snprintf(err, errlen, "more than %u target devices", max);
        return 400;
    }
    if (ids->n == 0) {
        snprintf(err, errlen, "the targets hold no device");
        return 400;
    }
    return 0;
}
