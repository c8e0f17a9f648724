/*
 * dev_register — POST /v1/devices (registration) and POST /v1/devices/{id}/certificate
 * (rotation). Both take a CSR or {"generate_key": true}; the certificate is issued inside
 * the store job (the CA's crypto never runs on a loop) and stored without any key. A
 * generated key is in the 201 response only, and its buffers are wiped right after.
 *
 * Registration:  under the device quota? type exists? required attributes present? name
 *                free? → issue → device
 *                row + certificate row → after commit: device directory.
 * Rotation:      device of the owner? → issue → certificate row, the old ones revoked
 *                (superseded) → after commit: revset, live session purged, CRL builder
 *                kicked (the CRL is signed off the store thread, coalesced).
 *
 * Both are limited per user before anything is parsed further (dev_limit.c): each leaves
 * something the server holds for the certificate's whole validity (a revoked serial on the
 * CRL and in the revset), so the rate times the validity bounds what one user can add.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/devices/dev_int.h"
#include "ident/devdir.h"

#define REASON_SUPERSEDED 4

enum reg_verdict {
    REG_OK,
    REG_NO_TYPE,
    REG_MISSING,
    REG_CLASH,
    REG_NOT_FOUND,
    REG_BAD_CSR,
    REG_QUOTA
};

typedef struct reg_op {
    http_job j;
    api *a;
    bool rotate, keygen, has_attrs;
    char owner[STORE_ID_MAX + 1];
    char key[STORE_NAME_MAX + 1]; /* rotation: the path's id or name */
    char id[STORE_ID_MAX + 1];
    char name[DEV_NAME_MAX + 1];
    char type[DEV_TYPE_MAX + 1];
    bson_t attrs;
    char *csr;
    size_t csr_len;
    enum reg_verdict verdict;
    char why[256];
    ca_issued iss;
    bson_t *dev; /* the device document after the job */
    dev__fx fx;
} reg_op;

static void reg_free(reg_op *o)
{
    if (o->has_attrs)
        bson_destroy(&o->attrs);
    if (o->csr)
        OPENSSL_cleanse(o->csr, o->csr_len);
    free(o->csr);
    ca_issued_clear(&o->iss);
    bson_destroy(o->dev);
    dev__fx_free(&o->fx);
    free(o);
}

/* The CA's crypto (store thread). 0, a verdict (0 returned), or <0. */
static int issue(reg_op *o)
{
    int rc = o->keygen
                 ? ca_issue_keygen(o->a->ca, o->id, o->a->cert_days, &o->iss, o->why, sizeof o->why)
                 : ca_issue_csr(o->a->ca, o->csr, o->csr_len, o->id, o->a->cert_days, &o->iss,
                                o->why, sizeof o->why);
    if (rc == CA_EINTERNAL || rc == CA_EINVAL)
        return STORE_EIO;
    if (rc < 0)
        o->verdict = REG_BAD_CSR;
    return 0;
}

static int check_type(store_tx *tx, reg_op *o)
{
    bson_t *t = NULL;
    int rc = store_devtype_get(tx, o->owner, o->type, &t);
    if (rc == STORE_ENOTFOUND) {
        o->verdict = REG_NO_TYPE;
        return 0;
    }
    if (rc < 0)
        return rc;
    const char *miss = dev__required_missing(o->has_attrs ? &o->attrs : NULL, t);
    if (miss) {
        o->verdict = REG_MISSING;
        snprintf(o->why, sizeof o->why, "required attribute '%s' of type '%s' is missing", miss,
                 o->type);
    }
    bson_destroy(t);
    return 0;
}

/* The per-user device quota (api/quota.h), counted in the job that creates: the store
 * thread runs jobs one at a time, so two registrations cannot both take the last place. */
static int check_quota(store_tx *tx, reg_op *o)
{
    uint64_t n = 0;
    int rc = store_device_count_owned(tx, o->owner, &n);
    if (rc == 0 && n >= o->a->quota.devices)
        o->verdict = REG_QUOTA;
    return rc;
}

static int register_run(store_tx *tx, http_job *hj)
{
    reg_op *o = DEV_CONTAINER(hj, reg_op, j);
    bson_t *same = NULL, doc = BSON_INITIALIZER;
    int rc = check_quota(tx, o);
    if (rc == 0 && !o->verdict && o->type[0])
        rc = check_type(tx, o);
    if (rc < 0 || o->verdict)
        goto out;
    if ((rc = store_device_get_by_name(tx, o->owner, o->name, &same)) != STORE_ENOTFOUND) {
        o->verdict = rc == 0 ? REG_CLASH : o->verdict;
        goto out;
    }
    if (dev__id_new(o->id) < 0) {
        rc = STORE_EIO;
        goto out;
    }
    if ((rc = issue(o)) < 0 || o->verdict)
        goto out;
    int64_t now = dev__now_ms();
    BSON_APPEND_INT64(&doc, "created_at", now);
    BSON_APPEND_UTF8(&doc, "cert_serial", o->iss.serial);
    BSON_APPEND_INT64(&doc, "cert_not_after", o->iss.not_after);
    rc = store_device_create(tx, o->id, o->owner, o->name, o->type[0] ? o->type : DEV_NO_TYPE,
                             o->has_attrs ? &o->attrs : NULL, &doc);
    if (rc == STORE_EEXISTS) {
        o->verdict = REG_CLASH;
        rc = 0;
        goto out;
    }
    if (rc < 0 || (rc = store_cert_put(tx, o->iss.serial, o->id, o->iss.not_after, o->iss.cert_pem,
                                       NULL)) < 0)
        goto out;
    rc = store_device_get(tx, o->owner, o->id, &o->dev);
out:
    bson_destroy(same);
    bson_destroy(&doc);
    return rc;
}

static int rotate_run(store_tx *tx, http_job *hj)
{
    reg_op *o = DEV_CONTAINER(hj, reg_op, j);
    bson_t *d = NULL, upd;
    int rc = dev__find(tx, o->owner, o->key, &d);
    if (rc == STORE_ENOTFOUND) {
        o->verdict = REG_NOT_FOUND;
        return 0;
    }
    const char *id = rc == 0 ? json_doc_str(d, "_id") : NULL;
    if (rc < 0 || !id || strlen(id) > STORE_ID_MAX) {
        bson_destroy(d);
        return rc < 0 ? rc : STORE_ECORRUPT;
    }
    snprintf(o->id, sizeof o->id, "%s", id);
    if ((rc = issue(o)) < 0 || o->verdict) {
        bson_destroy(d);
        return rc;
    }
    int64_t now = dev__now_ms();
    dev__doc_with_cert(d, o->iss.serial, o->iss.not_after, &upd);
    if ((rc = store_cert_put(tx, o->iss.serial, o->id, o->iss.not_after, o->iss.cert_pem, NULL)) <
            0 ||
        (rc = dev__revoke_device(tx, &o->fx, d, o->iss.serial, REASON_SUPERSEDED, now)) < 0 ||
        (rc = store_device_update(tx, o->owner, o->id, NULL, NULL, &upd)) < 0)
        goto out;
    rc = store_device_get(tx, o->owner, o->id, &o->dev);
out:
    bson_destroy(d);
    bson_destroy(&upd);
    return rc;
}

static void respond_verdict(http_req *r, reg_op *o)
{
    switch (o->verdict) {
    case REG_NO_TYPE:
        http_respond_field(r, "type", "no such device type");
        break;
    case REG_MISSING:
        http_respond_field(r, "attributes", o->why);
        break;
    case REG_CLASH:
        http_respond_error(r, 409, "name_taken", "you already have a device with this name");
        break;
    case REG_NOT_FOUND:
        dev__respond_404(r);
        break;
    case REG_QUOTA:
        http_respond_quota(r, HTTP_QUOTA_DEVICES, o->a->quota.devices);
        break;
    default:
        http_respond_error(r, 400, "bad_csr", "%s", o->why[0] ? o->why : "the CSR was refused");
        break;
    }
}

static void respond_issued(http_req *r, reg_op *o)
{
    bson_t out = BSON_INITIALIZER, m, sub, pub;
    char topic[STORE_ID_MAX + 16];
    dev__view(o->dev, o->iss.cert_pem, false, &out);
    BSON_APPEND_UTF8(&out, "ca_certificate", ca_cert_pem(o->a->ca));
    BSON_APPEND_DOCUMENT_BEGIN(&out, "mqtt", &m);
    BSON_APPEND_UTF8(&m, "host", o->a->mqtt.host);
    BSON_APPEND_INT32(&m, "port", o->a->mqtt.port);
    BSON_APPEND_BOOL(&m, "tls", true);
    BSON_APPEND_UTF8(&m, "client_id", o->id);
    BSON_APPEND_UTF8(&m, "username", o->id);
    BSON_APPEND_ARRAY_BEGIN(&m, "subscribe", &sub);
    snprintf(topic, sizeof topic, "%s/#", o->id);
    BSON_APPEND_UTF8(&sub, "0", topic);
    bson_append_array_end(&m, &sub);
    BSON_APPEND_ARRAY_BEGIN(&m, "publish", &pub);
    snprintf(topic, sizeof topic, "server/%s/#", o->id);
    BSON_APPEND_UTF8(&pub, "0", topic);
    bson_append_array_end(&m, &pub);
    bson_append_document_end(&out, &m);
    if (o->iss.key_pem)
        BSON_APPEND_UTF8(&out, "private_key", o->iss.key_pem);
    dev__respond_secret_json(r, 201, &out);
    OPENSSL_cleanse((void *)bson_get_data(&out), out.len); /* the key's copy */
    bson_destroy(&out);
}

static void reg_done(http_job *hj, int rc)
{
    reg_op *o = DEV_CONTAINER(hj, reg_op, j);
    http_req *r = hj->req;
    if (rc < 0) {
        http_job_respond_fail(r, rc, "devices");
    } else if (o->verdict) {
        respond_verdict(r, o);
    } else if (!o->rotate && o->a->dd && devdir_put(o->a->dd, o->id, o->owner, NULL) < 0) {
        http_job_respond_fail(r, STORE_ENOMEM,
                              "devices"); /* registered, yet MQTT would not know it */
    } else {
        if (o->rotate)
            dev__fx_apply(o->a, &o->fx);
        respond_issued(r, o);
    }
    reg_free(o);
}

/* The credential half of both bodies: exactly one of csr / generate_key. */
static int take_credential(http_req *r, reg_op *o, const char *csr, size_t csr_len, bool gen_set,
                           bool gen)
{
    if (!csr == !(gen_set && gen)) {
        http_respond_field(r, csr ? "csr" : "generate_key",
                           "give either a PEM csr or \"generate_key\": true");
        return -1;
    }
    if (!o->a->ca) {
        dev__respond_no_ca(r);
        return -1;
    }
    o->keygen = !csr;
    if (csr && !(o->csr = malloc(csr_len + 1))) {
        http_job_respond_fail(r, STORE_ENOMEM, "devices");
        return -1;
    }
    if (csr) {
        memcpy(o->csr, csr, csr_len + 1);
        o->csr_len = csr_len;
    }
    return 0;
}

static reg_op *reg_new(http_req *r, bool rotate)
{
    reg_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_job_respond_fail(r, STORE_ENOMEM, "devices");
        return NULL;
    }
    o->a = api_of(r);
    o->rotate = rotate;
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    return o;
}

/* Name, type and attributes of a registration; 0 or <0 after answering. */
static int take_fields(http_req *r, reg_op *o, const char *name, const char *type,
                       json_field *attrs)
{
    const char *why = NULL;
    if (dev__name_check(name, &why) < 0) {
        http_respond_field(r, "name", why);
        return -1;
    }
    if (type && dev__ident_check(type, DEV_TYPE_MAX, &why) < 0) {
        http_respond_field(r, "type", why);
        return -1;
    }
    snprintf(o->name, sizeof o->name, "%s", name);
    snprintf(o->type, sizeof o->type, "%s", type ? type : "");
    if (!attrs->present)
        return 0;
    return dev__take_attrs(r, attrs, &o->attrs, &o->has_attrs);
}

void dev__register(http_req *r)
{
    const char *name = NULL, *type = NULL, *csr = NULL;
    size_t csr_len = 0;
    bool gen = false;
    bson_iter_t attrs_it;
    json_field f[] = {
        {"name", JSON_STR, JSON_REQUIRED, .max_len = DEV_NAME_MAX, .str = &name},
        {"type", JSON_STR, JSON_OPTIONAL, .max_len = DEV_TYPE_MAX, .str = &type},
        {"attributes", JSON_OBJ, JSON_OPTIONAL, .doc = &attrs_it},
        {"csr", JSON_STR, JSON_OPTIONAL, .max_len = DEV_CSR_FIELD_MAX, .str = &csr,
         .len = &csr_len},
        {"generate_key", JSON_BOOL, JSON_OPTIONAL, .b = &gen},
    };
    bson_t body;
    if (dev__limit_check(r, api_of(r)->lim_register, "device registrations") < 0 ||
        json_body_decode(r, &body, f, 5) < 0)
        return;
    reg_op *o = reg_new(r, false);
    if (o && (take_fields(r, o, name, type, &f[2]) < 0 ||
              take_credential(r, o, csr, csr_len, f[4].present, gen) < 0)) {
        reg_free(o);
        o = NULL;
    }
    bson_destroy(&body);
    if (o)
        http_job_submit(&o->j, r, register_run, reg_done);
}

void dev__rotate(http_req *r)
{
    const char *csr = NULL;
    size_t csr_len = 0;
    bool gen = false;
    json_field f[] = {
        {"csr", JSON_STR, JSON_OPTIONAL, .max_len = DEV_CSR_FIELD_MAX, .str = &csr,
         .len = &csr_len},
        {"generate_key", JSON_BOOL, JSON_OPTIONAL, .b = &gen},
    };
    bson_t body;
    if (dev__limit_check(r, api_of(r)->lim_rotate, "certificate rotations") < 0 ||
        json_body_decode(r, &body, f, 2) < 0)
        return;
    reg_op *o = reg_new(r, true);
    if (o) {
        if (dev__param_key(r, "id", o->key) < 0 ||
            take_credential(r, o, csr, csr_len, f[1].present, gen) < 0) {
            reg_free(o);
            o = NULL;
        }
    }
    bson_destroy(&body);
    if (o)
        http_job_submit(&o->j, r, rotate_run, reg_done);
}
