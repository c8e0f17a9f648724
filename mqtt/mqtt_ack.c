/*
 * Packet-id acknowledgements and the keep-alive answer:
 *
 *   packet     byte 0  byte 1  body
 *   PUBACK     0x40    0x02    u16 packet id (3.4)
 *   PUBREC     0x50    0x02    u16 packet id (3.5)
 *   PUBREL     0x62    0x02    u16 packet id (3.6)  flags 0x2 [MQTT-3.6.1-1]
 *   PUBCOMP    0x70    0x02    u16 packet id (3.7)
 *   UNSUBACK   0xB0    0x02    u16 packet id (3.11)
 *   PINGRESP   0xD0    0x00    -             (3.13)
 *
 * A packet id is never 0 [MQTT-2.3.1-1].
 */
#include "mqtt/mqtt_codec.h"
#include "mqtt/mqtt_wire.h"

int mqtt_decode_ack(const uint8_t *body, size_t n, uint16_t *packet_id)
{
    uint16_t id;

    if (n != 2)
        return MQTT_EMALFORMED;
    id = (uint16_t)(body[0] << 8 | body[1]);
    if (id == 0) /* [MQTT-2.3.1-1] */
        return MQTT_EMALFORMED;
    *packet_id = id;
    return MQTT_OK;
}

/* Returns 0 (writes nothing) for a @type that is not one of the five acks above. */
size_t mqtt_encode_ack(uint8_t out[4], uint8_t type, uint16_t packet_id)
{
    switch (type) {
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBCOMP:
    case MQTT_UNSUBACK:
        out[0] = (uint8_t)(type << 4);
        break;
    case MQTT_PUBREL:
        out[0] = MQTT_PUBREL << 4 | 0x2; /* [MQTT-3.6.1-1] */
        break;
    default:
        return 0;
    }
    out[1] = 2;
    mqtt__put_u16(out + 2, packet_id);
    return 4;
}

size_t mqtt_encode_pingresp(uint8_t out[2])
{
    out[0] = MQTT_PINGRESP << 4;
    out[1] = 0;
    return 2;
}
