/*
 * dev_ca — the two public routes of the CA: GET /v1/ca/certificate (the root, PEM,
 * application/x-pem-file) and GET /v1/ca/crl (the current CRL as PEM text, labelled
 * application/pkix-crl as api/devices/devices.h says; rebuilt by every revocation, held in
 * api.crl behind its mutex, set up by devices.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api/devices/dev_int.h"

void dev__ca_cert(http_req *r)
{
    api *a = api_of(r);
    if (!a->ca) {
        dev__respond_no_ca(r);
        return;
    }
    const char *pem = ca_cert_pem(a->ca);
    http_respond_raw(r, 200, "application/x-pem-file", pem, strlen(pem));
}

void dev__ca_crl(http_req *r)
{
    api *a = api_of(r);
    struct api_crl *c = a->crl;
    if (!a->ca || !c) {
        dev__respond_no_ca(r);
        return;
    }
    pthread_mutex_lock(&c->mu);
    char *pem = c->pem ? strdup(c->pem) : NULL;
    pthread_mutex_unlock(&c->mu);
    if (pem)
        http_respond_raw(r, 200, "application/pkix-crl", pem, strlen(pem));
    else
        http_respond_error(r, 503, "no_crl", "the CRL is not available");
    free(pem);
}
