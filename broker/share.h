/*
 * share — shared subscriptions "$share/{group}/{filter}" (share.c): groups of sessions of
 * which each message reaches one. Protocol-neutral: a group knows sessions and QoS only,
 * so MQTT 5 subscriptions join the same groups.
 * Internal header of broker/ (not for other folders). Convention: every internal name a
 * broker header declares starts with that header's name and two underscores
 * (broker/session.h: session__*, broker/route.h: route__*); types are the concern's nouns.
 */
#ifndef IOT_BROKER_SHARE_H
#define IOT_BROKER_SHARE_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/bloop.h"
#include "broker/bmsg.h"

typedef struct sgroup sgroup;

/* How a group picks its member (broker_opts.share_policy). */
enum { SHARE_ROUND_ROBIN = 0, SHARE_STICKY = 1 };

/* broker_new: the group index. 0 or -1 (out of memory). */
int share__init(broker *br);
/* 1 when @f is a shared filter, 0 when ordinary, -1 when malformed (mqtt_share_split). */
int share__kind(const uint8_t *f, uint16_t n);
/* The filter inside a shared one (policy checks); @f itself when it is not shared. */
void share__inner(const uint8_t **f, uint16_t *n);

/* Adds @s (QoS @qos) to the group of shared filter @f, creating it; a repeated join
 * updates the QoS. Any thread that may touch @s (its owner loop, or restore before the
 * loops run). 0 or -ENOMEM. */
int share__join(broker *br, session *s, const uint8_t *f, uint16_t n, uint8_t qos);
/* Removes @s from that group; the last member out deletes it. */
void share__leave(broker *br, session *s, const uint8_t *f, uint16_t n);

/* Routing (route.c): every group whose filter matches @topic, each with one reference
 * the caller drops with share__unref. Returns the count, <0 on OOM. */
int share__match(broker *br, const uint8_t *topic, uint16_t n, mqtt_trie_hits *out);
/* The member of @g that gets @m, with a reference, and its QoS; NULL when none can take
 * it. Online members first (round robin, or by publisher with SHARE_STICKY), else an
 * offline persistent one; never @not. */
session *share__pick(sgroup *g, const bmsg *m, const session * not, uint8_t *qos);
sgroup *share__ref(sgroup *g);
void share__unref(sgroup *g);
/* Number of groups' (member, filter) pairs, for $SYS. */
size_t share__count(broker *br);
/* broker_free: the groups left (none once every session was destroyed). */
void share__free_all(broker *br);

#endif
