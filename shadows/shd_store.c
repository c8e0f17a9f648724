/*
 * shd_store — an operation against the stored shadow, inside one store transaction
 * (shadow.h shd_run): read, apply the pure rules, write. The store thread runs jobs one
 * at a time, so read-apply-write is atomic per shadow and versions never interleave; the
 * caller acknowledges (MQTT accepted / HTTP 200) only after the job's commit.
 */
#include "common/clock.h"
#include "shadows/shd_int.h"
#include "store/store_app.h"

/* A new named shadow must stay under max_named per device. */
static int room_for(store_tx *tx, const char *dev, const char *name, const bson_t *cur,
                    const shd_limits *lim, shd_result *res, int64_t now)
{
    uint64_t n = 0;
    if (cur || !name[0])
        return 0;
    int rc = store_shadow_count(tx, dev, &n);
    if (rc < 0)
        return rc;
    if (n >= lim->max_named) {
        shd__reject(res, 400, "Too many named shadows for this thing", now);
        return 1;
    }
    return 0;
}

static int do_update(store_tx *tx, const char *dev, const char *name, const bson_t *cur,
                     const uint8_t *req, size_t len, const shd_limits *lim, shd_result *res,
                     int64_t now)
{
    int rc = room_for(tx, dev, name, cur, lim, res, now);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    bson_t next;
    if (shd_update(cur, req, len, now, lim, &next, res) < 0)
        return 0; /* rejected: nothing written */
    rc = store_shadow_put(tx, dev, name, res->version, now, &next);
    if (rc == 0) /* the same transaction: a version is in the history iff accepted */
        rc = store_shadow_history_add(tx, dev, name, res->version, now, &next, lim->history);
    bson_destroy(&next);
    return rc;
}

int shd_run(store_tx *tx, enum shd_op op, const char *dev, const char *name, const uint8_t *req,
            size_t len, const shd_limits *lim, shd_result *res)
{
    int64_t now = clock_wall_ms() / 1000;
    bson_t *cur = NULL;
    int rc = store_shadow_get(tx, dev, name, &cur);
    if (rc < 0 && rc != STORE_ENOTFOUND)
        return rc;
    rc = 0;
    switch (op) {
    case SHD_GET:
        shd_get(cur, req, len, now, res);
        break;
    case SHD_DELETE:
        if (shd_delete(cur, req, len, now, res) == 0)
            rc = store_shadow_delete(tx, dev, name);
        if (rc == 0 && res->code == 0) /* a new shadow restarts at version 1 */
            rc = store_shadow_history_delete(tx, dev, name);
        break;
    case SHD_UPDATE:
        rc = do_update(tx, dev, name, cur, req, len, lim, res, now);
        break;
    }
    if (cur)
        bson_destroy(cur);
    return rc;
}
