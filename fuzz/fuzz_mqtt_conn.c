/*
 * Whole-connection fuzzer: two MQTT connections on one in-memory broker, fed arbitrary
 * bytes in arbitrary chunks. Exercises framing, the CONNECT state machine, sessions,
 * routing between the two connections, retained messages, wills and teardown.
 *
 * Input format: repeated [control byte][chunk]; control bit 0 picks the connection,
 * bits 1-7 the chunk length (0-127). ASan/LSan catch what breaks.
 */
#include <stddef.h>
#include <stdint.h>

#include "broker/bloop.h"
#include "broker/mconn.h"
#include "mqtt/mqtt_codec.h"
#include "net/memio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    broker_opts o = {
        .allow_anonymous = true,
        .max_packet_size = 4096,
        .max_inflight = 4,
        .max_queued = 8,
        .max_keepalive = 65535,
        .connect_timeout_ms = 10000,
        .topic_alias_max = 4, /* MQTT 5.0 topic aliases both ways */
    };
    broker *br = broker_new(&o);
    bloop *lp = bloop__new(br, NULL);
    net_memio io[2] = {{0}, {0}};
    mconn *c[2];
    for (int i = 0; i < 2; i++)
        c[i] = mconn__new(br, lp, &net_memio_ops, &io[i]);
    size_t pos = 0;
    while (pos < size) {
        uint8_t ctl = data[pos++];
        size_t len = ctl >> 1;
        if (len > size - pos)
            len = size - pos;
        int k = ctl & 1;
        if (!io[k].closed && mconn__feed(c[k], data + pos, len) < 0)
            io[k].closed = true;
        pos += len;
        /* Keep captured output small: a client that never reads. */
        net_memio_consume(&io[k], io[k].len);
    }
    for (int i = 0; i < 2; i++) {
        mconn__closed(c[i], false);
        net_memio_free(&io[i]);
    }
    broker_free(br);
    bloop__free(lp);
    return 0;
}
