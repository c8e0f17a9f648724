/**
 * shadows/shd_svc — the shadow service: device requests over MQTT (both namespaces, see
 * docs/shadows.md) run as store jobs and are answered after the commit; and the
 * publication of an accepted change's delta / documents to the device.
 *
 * Threading: shd_svc_new / shd_svc_free on the main thread (before the loops run / after
 * they stopped); shd_svc_on_event is a device-event bus subscriber (devices/events.h,
 * DEV_EV_MESSAGE) and runs on the device's loop; shd_svc_publish on a loop thread.
 */
#ifndef IOT_SHADOWS_SHD_SVC_H
#define IOT_SHADOWS_SHD_SVC_H

#include "devices/events.h"
#include "shadows/shadow.h"

struct broker;
typedef struct shd_svc shd_svc;

/** The service over @st and @br with the limits @lim (copied). NULL: out of memory. */
shd_svc *shd_svc_new(store *st, struct broker *br, const shd_limits *lim);
void shd_svc_free(shd_svc *s);
/** From now on, completions publish nothing (the loops are stopping); NULL is fine. */
void shd_svc_detach(shd_svc *s);
const shd_limits *shd_svc_limits(const shd_svc *s);

/** Device-event bus subscriber (@arg = the service): shadow requests among DEV_EV_MESSAGE
 *  events. Anything else is ignored. */
void shd_svc_on_event(void *arg, const dev_event *e);

/** Publishes what an accepted @op on (@dev, @name) tells the device: for an update its
 *  /delta (if any) and /documents, for a delete nothing, in both namespaces. Loop thread.
 *  Devices offline with a persistent session get them on reconnect (QoS 1). */
void shd_svc_publish(shd_svc *s, const char *dev, const char *name, enum shd_op op,
                     const shd_result *res);

#endif
