/*
 * handle_subscribe — SUBSCRIBE in / SUBACK out, UNSUBSCRIBE in / UNSUBACK out.
 *
 * The whole packet is validated before any filter takes effect, so a malformed entry
 * never leaves half a subscription behind. Granted QoS = requested QoS (we support 2)
 * [MQTT-3.9.3-1]; 0x80 when the subscription cannot be stored. Retained messages
 * matching each granted filter follow the SUBACK [MQTT-3.3.1-6], also when the filter
 * replaced an existing subscription [MQTT-3.8.4-3].
 */
#include <stdlib.h>

#include "broker/broker_int.h"

int handle__subscribe(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    mqtt_sublist l;
    if (mqtt_decode_subscribe(body, n, &l) < 0)
        return -1;
    uint8_t *codes = malloc(l.count);
    size_t cap = mqtt_suback_len(l.count);
    uint8_t *out = malloc(cap);
    int rc = -1;
    if (!codes || !out)
        goto out;
    size_t pos = 0, i = 0;
    mqtt_str f;
    uint8_t qos;
    while (mqtt_subscribe_next(&l, &pos, &f, &qos) == 1) {
        codes[i++] = session__subscribe(c->s, f.p, f.len, qos) == 0 ? qos : 0x80;
    }
    int len = mqtt_encode_suback(out, cap, l.packet_id, codes, l.count);
    if (len < 0)
        goto out;
    /* [MQTT-3.8.4-1] SUBACK with the same packet id [MQTT-3.8.4-2], one code per
     * filter in order [MQTT-3.8.4-5] */
    mconn__write(c, out, (size_t)len);
    pos = i = 0;
    while (mqtt_subscribe_next(&l, &pos, &f, &qos) == 1) {
        if (codes[i++] != 0x80)
            route__deliver_retained(c->lp, c->s, f.p, f.len, qos);
    }
    rc = 0;
out:
    free(codes);
    free(out);
    return rc;
}

int handle__unsubscribe(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    mqtt_sublist l;
    if (mqtt_decode_unsubscribe(body, n, &l) < 0)
        return -1;
    size_t pos = 0;
    mqtt_str f;
    while (mqtt_unsubscribe_next(&l, &pos, &f) == 1)
        session__unsubscribe(c->s, f.p, f.len); /* absent filters are fine [MQTT-3.10.4-1] */
    uint8_t out[4];
    /* [MQTT-3.10.4-4] UNSUBACK even when nothing matched [MQTT-3.10.4-5] */
    mconn__write(c, out, mqtt_encode_ack(out, MQTT_UNSUBACK, l.packet_id));
    return 0;
}

int handle__pingreq(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    if (n != 0)
        return -1;
    uint8_t out[2];
    mconn__write(c, out, mqtt_encode_pingresp(out)); /* [MQTT-3.12.4-1] */
    return 0;
}

int handle__disconnect(mconn *c, uint8_t flags, const uint8_t *body, size_t n)
{
    if (n != 0)
        return -1;
    /* [MQTT-3.14.4-3] discard the will without publishing it */
    c->clean_disconnect = true;
    bmsg__unref(c->will);
    c->will = NULL;
    mconn__close(c); /* [MQTT-3.14.4-1] */
    return 0;
}
