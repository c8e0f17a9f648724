/*
 * shd_mqtt_int — private to shadows/: the MQTT side (shd_topic.c, shd_mqtt.c).
 */
#ifndef IOT_SHADOWS_SHD_MQTT_INT_H
#define IOT_SHADOWS_SHD_MQTT_INT_H

#include <stdatomic.h>

#include "shadows/shd_svc.h"

#define SHD_TOPIC_MAX 512

typedef struct shd_topic {
    enum shd_op op;
    bool aws;                    /* $aws/things/... (else the native form) */
    char name[SHD_NAME_MAX + 1]; /* "" = classic */
} shd_topic;

struct shd_svc {
    store *st;
    struct broker *br;
    shd_limits lim;
    atomic_bool detached; /* shd_svc_detach: completions publish nothing */
};

/* The tap's {api} of a device @dev as a shadow request; -1 when it is none. */
int shd__topic_parse(const char *dev, const char *api, shd_topic *t);
/* The reply topic @kind ("accepted", "delta", ...) of @op on (@dev, @name). */
int shd__topic_reply(const char *dev, bool aws, const char *name, enum shd_op op, const char *kind,
                     char *out, size_t cap);

#endif
