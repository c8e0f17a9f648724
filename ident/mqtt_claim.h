/**
 * ident/mqtt_claim — the broker_auth decision for a claim certificate (a provisioning
 * template's, docs/provisioning.md). Its CN is the template's id; the connection is
 * accepted as BROKER_WHO_CLAIMCERT (id = template id, tmpl = template name, cred = the
 * claim certificate's serial, expires_ms = the template's end) when the template exists
 * and has not expired; refused with 0x05 otherwise (0x03 when the store fails). The client
 * id is free (as in AWS IoT); mqtt_auth refuses one that is a device's id.
 *
 * Threading: mqtt_claim_connect on the connection's loop; the answer comes back on it
 * after one store job.
 */
#ifndef IOT_IDENT_MQTT_CLAIM_H
#define IOT_IDENT_MQTT_CLAIM_H

#include <stdbool.h>

#include "broker/broker.h"
#include "store/store.h"

/** True when @cn has the shape of a template id: "p" + 24 lower-case hex digits. Pure. */
bool mqtt_claim_cn(const char *cn);
/** Decides @q (whose cert_cn passed mqtt_claim_cn) through one store lookup. */
void mqtt_claim_connect(store *st, const broker_auth_req *q, broker_auth_ticket *t);

#endif
