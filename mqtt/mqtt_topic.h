/**
 * mqtt_topic — UTF-8 and topic syntax rules of MQTT 3.1.1 (pure functions, any thread).
 */
#ifndef IOT_MQTT_MQTT_TOPIC_H
#define IOT_MQTT_MQTT_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Well-formed UTF-8 per [MQTT-1.5.3-1] (no surrogates D800-DFFF, no overlong forms,
 *  nothing above U+10FFFF) and no U+0000 [MQTT-1.5.3-2]. */
bool mqtt_utf8_valid(const uint8_t *p, size_t n);

/** Topic name (PUBLISH, will): non-empty [MQTT-4.7.3-1], no '+' or '#' [MQTT-3.3.2-2],
 *  valid UTF-8, at most MQTT_MAX_TOPIC_LEVELS levels. */
bool mqtt_topic_name_valid(const uint8_t *p, size_t n);

/** Topic filter (SUBSCRIBE/UNSUBSCRIBE): non-empty, '#' only alone as the last level
 *  [MQTT-4.7.1-2], '+' only as a whole level [MQTT-4.7.1-3], valid UTF-8, at most
 *  MQTT_MAX_TOPIC_LEVELS levels. */
bool mqtt_topic_filter_valid(const uint8_t *p, size_t n);

/** Does valid filter @f match valid topic name @t? Wildcards at the first level do not
 *  match topics beginning with '$' [MQTT-4.7.2-1]. Reference semantics for the trie. */
bool mqtt_topic_match(const uint8_t *f, size_t fn, const uint8_t *t, size_t tn);

/** A shared subscription "$share/{group}/{filter}" (MQTT 5.0 4.8.2, also offered to 3.1.1
 *  clients): the group name and the filter inside, both within @f. */
typedef struct mqtt_share {
    const uint8_t *group;
    size_t group_len;
    const uint8_t *filter;
    size_t filter_len;
} mqtt_share;

/** 1 when valid filter @f is a well-formed shared subscription (fills @out), 0 when it does
 *  not start with "$share/" (an ordinary filter), -1 when it does but is malformed: an
 *  empty group, a group with '+' or '#' [MQTT-4.8.2-2], or no filter after it. */
int mqtt_share_split(const uint8_t *f, size_t n, mqtt_share *out);

#endif
