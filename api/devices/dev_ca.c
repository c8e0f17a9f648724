/*
 * dev_ca — the two public routes of the CA: GET /v1/ca/certificate (the root, PEM,
 * application/x-pem-file) and GET /v1/ca/crl (the last CRL built by api.cg, ca/crlgen.h, as
 * PEM text, labelled application/pkix-crl as api/devices/devices.h says).
 */
#include <stdlib.h>
#include <string.h>

#include "api/devices/dev_int.h"
#include "ca/crlgen.h"

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
    if (!a->ca || !a->cg) {
        dev__respond_no_ca(r);
        return;
    }
    char *pem = crlgen_pem(a->cg, NULL);
    if (pem)
        http_respond_raw(r, 200, "application/pkix-crl", pem, strlen(pem));
    else
        http_respond_error(r, 503, "no_crl", "the CRL is not available");
    free(pem);
}
