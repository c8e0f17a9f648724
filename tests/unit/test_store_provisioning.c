/*
 * Provisioning templates in a real store file (store/provisioning.c): create / get /
 * list / count / delete, names unique per owner only, owner scoping, bad arguments.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common/json.h"
#include "store/store_app.h"
#include "store_util.h"

static store *st;

static void setup(void)
{
    tmp_setup();
    st = open_store();
}

static void teardown(void)
{
    store_close(st);
    tmp_teardown();
}

TestSuite(store_provisioning, .init = setup, .fini = teardown, .timeout = 60);

typedef struct arg {
    const char *id, *owner, *name;
    bson_t *got;
    uint64_t count;
    char seen[256];
} arg;

static int create_fn(store_tx *tx, void *p)
{
    arg *a = p;
    bson_t d = BSON_INITIALIZER;
    BSON_APPEND_INT64(&d, "max_devices", 7);
    BSON_APPEND_UTF8(&d, "owner_id", "forged"); /* the store's own field wins */
    int rc = store_prov_template_create(tx, a->id, a->owner, a->name, &d);
    bson_destroy(&d);
    return rc;
}

static int get_fn(store_tx *tx, void *p)
{
    arg *a = p;
    return store_prov_template_get(tx, a->owner, a->name, &a->got);
}

static int one(void *p, const bson_t *doc)
{
    arg *a = p;
    size_t n = strlen(a->seen);
    snprintf(a->seen + n, sizeof a->seen - n, "[%s]", json_doc_str(doc, "name"));
    return 0;
}

static int list_fn(store_tx *tx, void *p)
{
    arg *a = p;
    int rc = store_prov_template_each(tx, a->owner, one, a);
    return rc < 0 ? rc : store_prov_template_count(tx, a->owner, &a->count);
}

static int del_fn(store_tx *tx, void *p)
{
    arg *a = p;
    return store_prov_template_delete(tx, a->owner, a->name);
}

static int create(const char *id, const char *owner, const char *name)
{
    arg a = {.id = id, .owner = owner, .name = name};
    return store_sync(st, create_fn, &a);
}

Test(store_provisioning, create_get_list_delete)
{
    cr_assert_eq(create("p1", "u1", "zeta"), 0);
    cr_assert_eq(create("p2", "u1", "alpha"), 0);
    cr_assert_eq(create("p3", "u2", "alpha"), 0, "names are unique per owner only");
    cr_assert_eq(create("p4", "u1", "alpha"), STORE_EEXISTS);
    cr_assert_eq(create("p1", "u3", "other"), STORE_EEXISTS, "the id is taken");
    arg g = {.owner = "u1", .name = "alpha"};
    cr_assert_eq(store_sync(st, get_fn, &g), 0);
    cr_assert_str_eq(json_doc_str(g.got, "_id"), "p2");
    cr_assert_str_eq(json_doc_str(g.got, "owner_id"), "u1");
    cr_assert_eq(json_doc_i64(g.got, "max_devices"), 7);
    bson_destroy(g.got);
    arg l = {.owner = "u1"};
    cr_assert_eq(store_sync(st, list_fn, &l), 0);
    cr_assert_str_eq(l.seen, "[alpha][zeta]");
    cr_assert_eq(l.count, 2);
    arg other = {.owner = "u2", .name = "zeta"};
    cr_assert_eq(store_sync(st, get_fn, &other), STORE_ENOTFOUND, "owner-scoped");
    cr_assert_eq(store_sync(st, del_fn, &other), STORE_ENOTFOUND);
    arg d = {.owner = "u1", .name = "zeta"};
    cr_assert_eq(store_sync(st, del_fn, &d), 0);
    cr_assert_eq(store_sync(st, get_fn, &d), STORE_ENOTFOUND);
    arg l2 = {.owner = "u2"};
    cr_assert_eq(store_sync(st, list_fn, &l2), 0);
    cr_assert_str_eq(l2.seen, "[alpha]");
}

static int replace_fn(store_tx *tx, void *p)
{
    arg *a = p;
    bson_t *cur = NULL;
    int rc = store_prov_template_get(tx, a->owner, a->name, &cur);
    if (rc < 0)
        return rc;
    bson_t next = BSON_INITIALIZER;
    bson_copy_to_excluding_noinit(cur, &next, "max_devices", NULL);
    BSON_APPEND_INT64(&next, "max_devices", 9);
    BSON_APPEND_UTF8(&next, "name", "renamed-in-doc"); /* the row's name wins */
    rc = store_prov_template_replace(tx, a->owner, a->name, &next);
    bson_destroy(&next);
    bson_destroy(cur);
    return rc;
}

Test(store_provisioning, replace_keeps_id_owner_and_name)
{
    cr_assert_eq(create("p1", "u1", "alpha"), 0);
    arg a = {.owner = "u1", .name = "alpha"};
    cr_assert_eq(store_sync(st, replace_fn, &a), 0);
    cr_assert_eq(store_sync(st, get_fn, &a), 0);
    cr_assert_str_eq(json_doc_str(a.got, "_id"), "p1");
    cr_assert_str_eq(json_doc_str(a.got, "owner_id"), "u1");
    cr_assert_str_eq(json_doc_str(a.got, "name"), "alpha");
    cr_assert_eq(json_doc_i64(a.got, "max_devices"), 9);
    bson_destroy(a.got);
    arg other = {.owner = "u2", .name = "alpha"};
    cr_assert_eq(store_sync(st, replace_fn, &other), STORE_ENOTFOUND, "owner-scoped");
}

static int bad_fn(store_tx *tx, void *p)
{
    (void)p;
    bson_t *out;
    uint64_t n;
    cr_assert_eq(store_prov_template_create(tx, "", "u", "n", NULL), STORE_EINVAL);
    cr_assert_eq(store_prov_template_create(tx, "p", NULL, "n", NULL), STORE_EINVAL);
    cr_assert_eq(store_prov_template_create(tx, "p", "u", "", NULL), STORE_EINVAL);
    cr_assert_eq(store_prov_template_get(tx, "u", NULL, &out), STORE_EINVAL);
    cr_assert_eq(store_prov_template_each(tx, "u", NULL, NULL), STORE_EINVAL);
    cr_assert_eq(store_prov_template_count(tx, "", &n), STORE_EINVAL);
    cr_assert_eq(store_prov_template_delete(tx, "u", ""), STORE_EINVAL);
    cr_assert_eq(store_prov_template_replace(tx, "u", "n", NULL), STORE_EINVAL);
    return 0;
}

Test(store_provisioning, bad_arguments) { cr_assert_eq(store_sync(st, bad_fn, NULL), 0); }

static int by_id_fn(store_tx *tx, void *p)
{
    arg *a = p;
    return store_prov_template_by_id(tx, a->id, &a->got);
}

/* The claim connection's lookup (ident/mqtt_claim.c): by id, whoever owns it. */
Test(store_provisioning, by_id_across_owners)
{
    cr_assert_eq(create("p1", "u1", "alpha"), 0);
    cr_assert_eq(create("p2", "u2", "alpha"), 0);
    arg a = {.id = "p2"};
    cr_assert_eq(store_sync(st, by_id_fn, &a), 0);
    cr_assert_str_eq(json_doc_str(a.got, "owner_id"), "u2");
    cr_assert_str_eq(json_doc_str(a.got, "name"), "alpha");
    bson_destroy(a.got);
    arg none = {.id = "p9"};
    cr_assert_eq(store_sync(st, by_id_fn, &none), STORE_ENOTFOUND);
    cr_assert_null(none.got);
    arg bad = {.id = ""};
    cr_assert_eq(store_sync(st, by_id_fn, &bad), STORE_EINVAL);
    arg d = {.owner = "u2", .name = "alpha"};
    cr_assert_eq(store_sync(st, del_fn, &d), 0);
    cr_assert_eq(store_sync(st, by_id_fn, &a), STORE_ENOTFOUND, "deleted");
}
