/*
 * Fuzzes the MQTT 5.0 property decoder (mqtt5_props_decode) and its iterator, and checks
 * that a block that decodes rebuilds (mqtt5_props_build) to the same bytes: variable byte
 * integers are minimal [MQTT-1.5.5-1], so each property list has one encoding.
 *
 * Input: data[0] & 0x0F = the packet type whose rules apply (0 = will properties),
 * data+1 = the length field and the block, as in a packet.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt5.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static int in(const mqtt_str *s, const uint8_t *p, size_t n)
{
    return s->len == 0 || (s->p >= p && s->p + s->len <= p + n);
}

static void walk(const mqtt5_props *props, uint8_t type)
{
    /* Each property takes at least 2 bytes, so len / 2 + 1 entries always fit. */
    mqtt5_prop *list = calloc(props->len / 2 + 1, sizeof *list);
    uint8_t *out = malloc(props->len + 1);
    mqtt5_props view;
    size_t pos = 0, count = 0;
    uint64_t ids = 0;

    check(list && out);
    while (mqtt5_prop_next(props, &pos, &list[count])) {
        mqtt5_prop first;
        check(mqtt5_prop_allowed(list[count].id, type));
        check(in(&list[count].str, props->p, props->len));
        check(in(&list[count].val, props->p, props->len));
        check(mqtt5_prop_get(props, list[count].id, &first) && first.id == list[count].id);
        check(mqtt5_props_has(props, list[count].id));
        ids |= 1ull << list[count].id;
        count++;
    }
    check(ids == props->present);
    check(pos == props->len);
    check(mqtt5_props_size(list, count) == props->len);
    int len = mqtt5_props_build(out, props->len + 1, list, count, &view);
    check(len >= 0 && (uint32_t)len == props->len && view.len == props->len);
    check(view.present == props->present);
    check(props->len == 0 || memcmp(out, props->p, props->len) == 0);
    free(list);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mqtt5_props props;
    size_t used;

    if (size < 1 || size > 65536)
        return 0;
    uint8_t type = data[0] & 0x0F;
    if (mqtt5_props_decode(data + 1, size - 1, type, &props, &used) != MQTT_OK)
        return 0;
    check(used <= size - 1 && props.p >= data + 1 && props.p + props.len == data + 1 + used);
    walk(&props, type);
    return 0;
}
