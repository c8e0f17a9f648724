/*
 * doctor_int — `iotcloud doctor`: the report (doctor.c) and the certificate checks
 * (doctor_cert.c).
 */
#ifndef IOT_APP_DOCTOR_INT_H
#define IOT_APP_DOCTOR_INT_H

#include <stdio.h>

#include "app/config.h"

enum doctor_verdict { DOCTOR_OK = 0, DOCTOR_WARN = 1, DOCTOR_FIX = 2 };

typedef struct doctor {
    FILE *out;
    unsigned checks, warnings, problems;
} doctor;

/** One report line: "ok   ", "warn " or "FIX  ", then the formatted text. */
void doctor__say(doctor *d, enum doctor_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** The server certificate (cert/key, or the one generated under DATA-DIR/ca): it loads,
 *  is valid now and for 30 more days, its key matches, and its SANs cover public-host. */
void doctor__cert(doctor *d, const iot_config *cfg);

#endif
