/*
 * inject — broker_publish: the server publishes into the router without a connection;
 * broker_publish_req adds the MQTT 5.0 request properties (response topic, correlation
 * data) that 5.0 subscribers receive.
 *
 * The message is built and routed exactly like a client's PUBLISH (handle_publish.c):
 * one shared buffer, deliveries to sessions of this loop at once and to other loops in
 * this iteration's batches, copies for persistent sessions recorded in this iteration's
 * store job. There is no publisher to hold back, so back-pressure from a congested
 * subscriber is ignored (the subscriber's queue bound still applies).
 *
 * Which loop routes: the caller's (net_loop_current()); without net (unit tests) a
 * stand-alone loop state created on first use and freed by broker_free.
 */
#include <errno.h>
#include <string.h>

#include "broker/bloop.h"
#include "broker/bmsg.h"
#include "broker/route.h"
#include "broker/session.h"
#include "broker/v5.h"
#include "mqtt/mqtt_codec.h"
#include "mqtt/mqtt_topic.h"

static bloop *caller_loop(broker *b)
{
    net_loop *nl = net_loop_current();
    if (nl)
        return net_loop_user(nl);
    if (!b->inject_lp)
        b->inject_lp = bloop__new(b, NULL);
    return b->inject_lp;
}

/* @props: MQTT 5.0 PUBLISH properties for 5.0 subscribers (3.1.1 ones never see them),
 * or NULL. */
static int inject(broker *b, const char *topic, const uint8_t *payload, size_t len, uint8_t qos,
                  const mqtt5_props *props)
{
    size_t n = strlen(topic);
    /* broker.h: a valid topic name [MQTT-4.7.3-1]/[MQTT-3.3.2-2], never "$..." but the
     * AWS IoT namespace the shadow service answers in */
    if (qos > 1 || n == 0 || n > UINT16_MAX ||
        (topic[0] == '$' && strncmp(topic, "$aws/things/", 12) != 0) ||
        !mqtt_topic_name_valid((const uint8_t *)topic, n))
        return -EINVAL;
    if (len > MQTT_MAX_REMAINING)
        return -EMSGSIZE;
    bloop *lp = caller_loop(b);
    if (!lp || lp->br != b)
        return -EINVAL; /* a loop of another server, or out of memory (tests) */
    bmsg *m = bmsg__new((const uint8_t *)topic, (uint16_t)n, payload, len, qos, false);
    if (m && props && v5__msg_props(m, props, 0) < 0) {
        bmsg__unref(m);
        m = NULL;
    }
    if (!m)
        return -ENOMEM;
    BROKER_STAT_ADD(b, msgs_in, 1);
    route_result r = route__publish(lp, m);
    session__unref_opt(r.congested);
    bmsg__unref(m);
    route__mark_dirty(lp); /* batches and store rows go out in this iteration */
    return (int)r.routed;
}

int broker_publish(broker *b, const char *topic, const uint8_t *payload, size_t len, uint8_t qos)
{
    return inject(b, topic, payload, len, qos, NULL);
}

int broker_publish_req(broker *b, const char *topic, const uint8_t *payload, size_t len,
                       uint8_t qos, const char *response_topic, const uint8_t *corr,
                       size_t corr_len)
{
    size_t rn = strlen(response_topic);
    /* [MQTT-3.3.2-14] a topic name; 1.5.6: binary data of at most 65535 bytes */
    if (rn == 0 || rn > 1024 || corr_len > 1024 ||
        !mqtt_topic_name_valid((const uint8_t *)response_topic, rn))
        return -EINVAL;
    mqtt5_prop l[2] = {
        {.id = MQTT5_RESPONSE_TOPIC, .str = {(const uint8_t *)response_topic, (uint16_t)rn}},
        {.id = MQTT5_CORRELATION_DATA, .str = {corr, (uint16_t)corr_len}},
    };
    uint8_t blk[2 * (1 + 2 + 1024)];
    mqtt5_props props;
    if (mqtt5_props_build(blk, sizeof blk, l, corr_len ? 2 : 1, &props) < 0)
        return -EINVAL;
    return inject(b, topic, payload, len, qos, &props);
}
