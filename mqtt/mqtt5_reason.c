/*
 * MQTT 5.0 reason codes (2.4): one table row per code, with the packets that may carry it.
 *
 *   code  name                                  CONNACK PUBACK PUBREC PUBREL PUBCOMP SUBACK
 *                                               UNSUBACK DISCONNECT AUTH
 *
 * A sender MUST use a code its packet allows ([MQTT-3.2.2-8] CONNACK, [MQTT-3.4.2-1]
 * PUBACK, [MQTT-3.5.2-1] PUBREC, [MQTT-3.6.2-1] PUBREL, [MQTT-3.7.2-1] PUBCOMP,
 * [MQTT-3.9.3-2] SUBACK, [MQTT-3.11.3-2] UNSUBACK, [MQTT-3.14.2-1] DISCONNECT,
 * [MQTT-3.15.2-1] AUTH); a receiver treats any other as a malformed packet.
 */
#include <stddef.h>

#include "mqtt/mqtt5.h"

#define B(t)  (1u << (t))
#define CA    B(MQTT_CONNACK)
#define PA    B(MQTT_PUBACK)
#define PREC  B(MQTT_PUBREC)
#define PREL  B(MQTT_PUBREL)
#define PCOMP B(MQTT_PUBCOMP)
#define SA    B(MQTT_SUBACK)
#define UA    B(MQTT_UNSUBACK)
#define DI    B(MQTT_DISCONNECT)
#define AU    B(MQTT5_AUTH)
#define PUBX  (PA | PREC) /* PUBACK and PUBREC share their codes (3.4.2.1, 3.5.2.1) */

static const struct {
    uint8_t code;
    uint16_t packets;
    const char *name;
} reasons[] = {
    {MQTT5_RC_SUCCESS, CA | PUBX | PREL | PCOMP | SA | UA | DI | AU, "Success"},
    {MQTT5_RC_GRANTED_QOS1, SA, "Granted QoS 1"},
    {MQTT5_RC_GRANTED_QOS2, SA, "Granted QoS 2"},
    {MQTT5_RC_DISCONNECT_WITH_WILL, DI, "Disconnect with Will Message"},
    {MQTT5_RC_NO_MATCHING_SUBSCRIBERS, PUBX, "No matching subscribers"},
    {MQTT5_RC_NO_SUBSCRIPTION_EXISTED, UA, "No subscription existed"},
    {MQTT5_RC_CONTINUE_AUTH, AU, "Continue authentication"},
    {MQTT5_RC_REAUTHENTICATE, AU, "Re-authenticate"},
    {MQTT5_RC_UNSPECIFIED, CA | PUBX | SA | UA | DI, "Unspecified error"},
    {MQTT5_RC_MALFORMED, CA | DI, "Malformed Packet"},
    {MQTT5_RC_PROTOCOL_ERROR, CA | DI, "Protocol Error"},
    {MQTT5_RC_IMPLEMENTATION_SPECIFIC, CA | PUBX | SA | UA | DI, "Implementation specific error"},
    {MQTT5_RC_UNSUPPORTED_VERSION, CA, "Unsupported Protocol Version"},
    {MQTT5_RC_CLIENT_ID_INVALID, CA, "Client Identifier not valid"},
    {MQTT5_RC_BAD_CREDENTIALS, CA, "Bad User Name or Password"},
    {MQTT5_RC_NOT_AUTHORIZED, CA | PUBX | SA | UA | DI, "Not authorized"},
    {MQTT5_RC_SERVER_UNAVAILABLE, CA, "Server unavailable"},
    {MQTT5_RC_SERVER_BUSY, CA | DI, "Server busy"},
    {MQTT5_RC_BANNED, CA, "Banned"},
    {MQTT5_RC_SERVER_SHUTTING_DOWN, DI, "Server shutting down"},
    {MQTT5_RC_BAD_AUTH_METHOD, CA | DI, "Bad authentication method"},
    {MQTT5_RC_KEEP_ALIVE_TIMEOUT, DI, "Keep Alive timeout"},
    {MQTT5_RC_SESSION_TAKEN_OVER, DI, "Session taken over"},
    {MQTT5_RC_TOPIC_FILTER_INVALID, SA | UA | DI, "Topic Filter invalid"},
    {MQTT5_RC_TOPIC_NAME_INVALID, CA | PUBX | DI, "Topic Name invalid"},
    {MQTT5_RC_PACKET_ID_IN_USE, PUBX | SA | UA, "Packet Identifier in use"},
    {MQTT5_RC_PACKET_ID_NOT_FOUND, PREL | PCOMP, "Packet Identifier not found"},
    {MQTT5_RC_RECEIVE_MAX_EXCEEDED, DI, "Receive Maximum exceeded"},
    {MQTT5_RC_TOPIC_ALIAS_INVALID, DI, "Topic Alias invalid"},
    {MQTT5_RC_PACKET_TOO_LARGE, CA | DI, "Packet too large"},
    {MQTT5_RC_MESSAGE_RATE_TOO_HIGH, DI, "Message rate too high"},
    {MQTT5_RC_QUOTA_EXCEEDED, CA | PUBX | SA | DI, "Quota exceeded"},
    {MQTT5_RC_ADMINISTRATIVE_ACTION, DI, "Administrative action"},
    {MQTT5_RC_PAYLOAD_FORMAT_INVALID, CA | PUBX | DI, "Payload format invalid"},
    {MQTT5_RC_RETAIN_NOT_SUPPORTED, CA | DI, "Retain not supported"},
    {MQTT5_RC_QOS_NOT_SUPPORTED, CA | DI, "QoS not supported"},
    {MQTT5_RC_USE_ANOTHER_SERVER, CA | DI, "Use another server"},
    {MQTT5_RC_SERVER_MOVED, CA | DI, "Server moved"},
    {MQTT5_RC_SHARED_SUBS_NOT_SUPPORTED, SA | DI, "Shared Subscriptions not supported"},
    {MQTT5_RC_CONNECTION_RATE_EXCEEDED, CA | DI, "Connection rate exceeded"},
    {MQTT5_RC_MAX_CONNECT_TIME, DI, "Maximum connect time"},
    {MQTT5_RC_SUB_IDS_NOT_SUPPORTED, SA | DI, "Subscription Identifiers not supported"},
    {MQTT5_RC_WILDCARD_SUBS_NOT_SUPPORTED, SA | DI, "Wildcard Subscriptions not supported"},
};

#define NREASONS (sizeof reasons / sizeof reasons[0])

static int find(uint8_t code)
{
    for (size_t i = 0; i < NREASONS; i++)
        if (reasons[i].code == code)
            return (int)i;
    return -1;
}

const char *mqtt5_reason_name(uint8_t code)
{
    int i = find(code);
    return i < 0 ? NULL : reasons[i].name;
}

bool mqtt5_reason_valid(uint8_t type, uint8_t code)
{
    int i = find(code);
    return type <= 15 && i >= 0 && (reasons[i].packets & B(type));
}

uint8_t mqtt5_err_reason(int err)
{
    switch (err) {
    case MQTT_EMALFORMED:
        return MQTT5_RC_MALFORMED;
    case MQTT_EPROTOCOL:
        return MQTT5_RC_PROTOCOL_ERROR;
    case MQTT_ETOOBIG:
        return MQTT5_RC_PACKET_TOO_LARGE;
    case MQTT_EPROTOCOL_LEVEL:
    case MQTT_EPROTOCOL_NAME:
        return MQTT5_RC_UNSUPPORTED_VERSION; /* 3.1.2.1, 3.1.2.2 */
    case MQTT_EIDENTIFIER:
        return MQTT5_RC_CLIENT_ID_INVALID;
    default:
        return MQTT5_RC_UNSPECIFIED;
    }
}
