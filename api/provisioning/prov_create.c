/*
 * prov_create — POST /v1/provisioning/templates (api/provisioning/provisioning.h). One
 * store job: under the quota? name free? device type known? → issue the claim certificate
 * (key made here) → certificate row + template row. The key is in the 201 only and its
 * buffer is wiped right after (ca_issued_clear).
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "api/provisioning/prov_int.h"
#include "ca/ca.h"
#include "common/container_of.h"
#include "provisioning/prov_template.h"

enum verdict { V_OK, V_QUOTA, V_CLASH, V_NO_TYPE };

typedef struct create_op {
    http_job j;
    api *a;
    char owner[STORE_ID_MAX + 1];
    char id[PROV_ID_LEN + 1];
    prov_template t;
    enum verdict verdict;
    ca_issued iss;
    bson_t doc; /* the template as stored */
} create_op;

static void op_free(create_op *o)
{
    bson_destroy(&o->t.attributes);
    bson_destroy(&o->doc);
    ca_issued_clear(&o->iss);
    free(o);
}

static int new_id(char out[PROV_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[(PROV_ID_LEN - 1) / 2];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    out[0] = 'p';
    for (size_t i = 0; i < sizeof b; i++) {
        out[1 + 2 * i] = hex[b[i] >> 4];
        out[2 + 2 * i] = hex[b[i] & 15];
    }
    out[PROV_ID_LEN] = '\0';
    return 0;
}

/* The checks before anything is issued; a refusal sets o->verdict. */
static int check(store_tx *tx, create_op *o)
{
    uint64_t n = 0;
    bson_t *d = NULL;
    int rc = store_prov_template_count(tx, o->owner, &n);
    if (rc < 0)
        return rc;
    if (n >= o->a->quota.prov_templates) {
        o->verdict = V_QUOTA;
        return 0;
    }
    rc = store_prov_template_get(tx, o->owner, o->t.name, &d);
    bson_destroy(d);
    if (rc != STORE_ENOTFOUND) {
        o->verdict = rc == 0 ? V_CLASH : V_OK;
        return rc == 0 ? 0 : rc;
    }
    if (!o->t.device_type[0])
        return 0;
    rc = store_devtype_get(tx, o->owner, o->t.device_type, &d);
    bson_destroy(d);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL)
        o->verdict = V_NO_TYPE;
    return rc == 0 || o->verdict ? 0 : rc;
}

static void build(create_op *o, int64_t now)
{
    if (o->t.device_type[0])
        BSON_APPEND_UTF8(&o->doc, "device_type", o->t.device_type);
    else
        BSON_APPEND_NULL(&o->doc, "device_type");
    BSON_APPEND_INT64(&o->doc, "max_devices", o->t.max_devices);
    BSON_APPEND_INT64(&o->doc, "expires_days", o->t.expires_days);
    BSON_APPEND_INT64(&o->doc, "expires_at", o->iss.not_after);
    BSON_APPEND_BOOL(&o->doc, "claim_by_code", o->t.claim_by_code);
    BSON_APPEND_DOCUMENT(&o->doc, "attributes", &o->t.attributes);
    BSON_APPEND_UTF8(&o->doc, "claim_serial", o->iss.serial);
    BSON_APPEND_INT64(&o->doc, "created_at", now);
}

static int create_run(store_tx *tx, http_job *hj)
{
    create_op *o = container_of(hj, create_op, j);
    char why[256];
    int rc = check(tx, o);
    if (rc < 0 || o->verdict)
        return rc;
    if (new_id(o->id) < 0)
        return STORE_EIO;
    /* the claim certificate lives as long as the template: expires_days */
    if (ca_issue_keygen(o->a->ca, o->id, (uint32_t)o->t.expires_days, &o->iss, why, sizeof why) < 0)
        return STORE_EIO;
    build(o, prov__now_ms());
    if ((rc = store_cert_put(tx, o->iss.serial, o->id, o->iss.not_after, o->iss.cert_pem, NULL)) <
        0)
        return rc;
    rc = store_prov_template_create(tx, o->id, o->owner, o->t.name, &o->doc);
    if (rc == STORE_EEXISTS) /* the id: 96 random bits, but never a silent overwrite */
        rc = STORE_EIO;
    return rc;
}

static void answer(http_req *r, create_op *o)
{
    bson_t view = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&view, "id", o->id);
    BSON_APPEND_UTF8(&view, "name", o->t.name);
    bson_concat(&view, &o->doc);
    prov__respond_claim(r, &view, &o->iss);
    bson_destroy(&view);
}

static void create_done(http_job *hj, int rc)
{
    create_op *o = container_of(hj, create_op, j);
    http_req *r = hj->req;
    if (rc < 0)
        http_job_respond_fail(r, rc, "provisioning template");
    else if (o->verdict == V_QUOTA)
        http_respond_quota(r, "provisioning_templates", o->a->quota.prov_templates);
    else if (o->verdict == V_CLASH)
        http_respond_error(r, 409, "name_taken", "a provisioning template with this name exists");
    else if (o->verdict == V_NO_TYPE)
        http_respond_field(r, "device_type", "no device type of this name");
    else
        answer(r, o);
    op_free(o);
}

void prov__create(http_req *r)
{
    api *a = api_of(r);
    size_t len = 0;
    const uint8_t *body = http_req_body(r, &len);
    json_err e = {0};
    if (!a->ca) {
        http_respond_error(r, 503, "unavailable", "no certificate authority");
        return;
    }
    create_op *o = calloc(1, sizeof *o);
    if (!o) {
        http_respond_error(r, 503, "unavailable", "out of memory");
        return;
    }
    bson_init(&o->doc);
    if (prov_template_parse(body, len, &o->t, &e) < 0) {
        json_respond_err(r, &e);
        op_free(o);
        return;
    }
    o->a = a;
    snprintf(o->owner, sizeof o->owner, "%s", http_req_principal(r)->user_id);
    http_job_submit(&o->j, r, create_run, create_done);
}
