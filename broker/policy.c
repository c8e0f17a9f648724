/*
 * policy — which topics a principal may subscribe to and publish on (broker.h).
 *
 *   principal  SUBSCRIBE filter                        PUBLISH topic (and will)
 *   ANON       anything                                anything
 *   DEVICE id  "{id}" | "{id}/..."                     "server/{id}" | "server/{id}/..."
 *   USER  uid  "server/{dev}" | "server/{dev}/..."     "{dev}" | "{dev}/..."
 *              with owns(uid, dev)                     with owns(uid, dev)
 *
 *   DEVICE id  "$aws/things/{id}/shadow/..."            "$aws/things/{id}/shadow/{op}" |
 *                                                      "$aws/things/{id}/shadow/name/{n}/{op}"
 *              (AWS IoT device shadow topics, docs/shadows.md; {op}: get, update, delete)
 *   DEVICE id  "$aws/things/{id}/jobs/..."              "$aws/things/{id}/jobs/get" | ".../start-next" |
 *                                                      ".../jobs/{jobId}/get" | ".../jobs/{jobId}/update"
 *              (AWS IoT Jobs topics, docs/jobs.md)
 *
 *   CLAIMCERT  "{R}/accepted" | "{R}/rejected"            "{R}" for R one of
 *              (literal, no wildcard)                  "$aws/certificates/create/json",
 *                                                      "$aws/certificates/create-from-csr/json",
 *                                                      "$aws/provisioning-templates/{tmpl}/provision/json"
 *              (AWS IoT fleet provisioning, docs/provisioning.md; {tmpl}: its own template's
 *              name; nothing else at all)
 *
 * "..." are further levels (wildcards allowed in a filter). The levels that name a
 * device ({id}, {dev}) must be literal: no '+', no '#', not empty, not "server", not
 * starting with '$'. No level may be empty and no topic may start with '$' [MQTT-4.7.2-1]
 * (the broker's own namespace) but a device's own "$aws/things/{id}/shadow/" topics. A device whose id is "server" gets nothing: its id
 * level would otherwise be the prefix of every device's uplink.
 *
 * Pure: no allocation, no global state; @owns is called at most once per check.
 */
#include <string.h>

#include "broker/broker.h"
#include "mqtt/mqtt_topic.h"

typedef bool (*owns_fn)(void *arg, const char *user_id, const uint8_t *dev, size_t len);

static const uint8_t SERVER[] = "server";
#define SERVER_LEN (sizeof SERVER - 1)

/* Length of the first level of @p (@n bytes). */
static size_t level_len(const uint8_t *p, size_t n)
{
    const uint8_t *slash = memchr(p, '/', n);
    return slash ? (size_t)(slash - p) : n;
}

static bool is_server(const uint8_t *p, size_t n)
{
    return n == SERVER_LEN && memcmp(p, SERVER, SERVER_LEN) == 0;
}

/* A level that names a device: literal, non-empty, not "server", not '$'. */
static bool device_level_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || p[0] == '$' || is_server(p, n))
        return false;
    return !memchr(p, '+', n) && !memchr(p, '#', n) && !memchr(p, '/', n);
}

/* No empty level anywhere and no '$' start; the syntax itself is checked by the caller's
 * validator (name or filter). */
static bool shape_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || p[0] == '$' || p[0] == '/' || p[n - 1] == '/')
        return false;
    for (size_t i = 1; i < n; i++)
        if (p[i] == '/' && p[i - 1] == '/')
            return false;
    return true;
}

/* The principal's id and its length; 0 when unusable. */
static size_t id_of(const broker_principal *p)
{
    const char *z = memchr(p->id, '\0', sizeof p->id);
    return z ? (size_t)(z - p->id) : 0;
}

/* Second level of @p (whose first level is @k bytes long) in *@lv; its length. */
static size_t second_level(const uint8_t *p, size_t n, size_t k, const uint8_t **lv)
{
    if (k >= n)
        return 0;
    *lv = p + k + 1;
    return level_len(*lv, n - k - 1);
}

/* "server/{dev}[/...]": the device level, or 0 when @p is not of that form. */
static size_t server_device(const uint8_t *p, size_t n, const uint8_t **dev)
{
    size_t k = level_len(p, n);
    if (!is_server(p, k))
        return 0;
    size_t d = second_level(p, n, k, dev);
    return d && device_level_ok(*dev, d) ? d : 0;
}

static bool same(const uint8_t *a, size_t an, const char *b, size_t bn)
{
    return an == bn && memcmp(a, b, an) == 0;
}

static bool device_sub(const broker_principal *p, const uint8_t *f, size_t n)
{
    size_t idn = id_of(p);
    size_t k = level_len(f, n);
    return device_level_ok((const uint8_t *)p->id, idn) && same(f, k, p->id, idn);
}

static bool device_pub(const broker_principal *p, const uint8_t *t, size_t n)
{
    size_t idn = id_of(p);
    const uint8_t *dev = NULL;
    size_t d = server_device(t, n, &dev);
    return device_level_ok((const uint8_t *)p->id, idn) && d && same(dev, d, p->id, idn);
}

static const char AWS[] = "$aws/things/";
#define AWS_LEN (sizeof AWS - 1)
static const char SHADOW[] = "/shadow/";
#define SHADOW_LEN (sizeof SHADOW - 1)

/* The part of @t after "$aws/things/{id}/shadow/" (non-empty, no empty level) in *@rest,
 * when @t is the device's own shadow namespace. */
static bool aws_own_in(const broker_principal *p, const uint8_t *t, size_t n, const char *area,
                       size_t alen, const uint8_t **rest, size_t *rn)
{
    size_t idn = id_of(p);
    size_t head = AWS_LEN + idn + alen;
    if (!device_level_ok((const uint8_t *)p->id, idn) || n <= head ||
        memcmp(t, AWS, AWS_LEN) != 0 || memcmp(t + AWS_LEN, p->id, idn) != 0 ||
        memcmp(t + AWS_LEN + idn, area, alen) != 0 || t[n - 1] == '/')
        return false;
    for (size_t i = head; i < n; i++)
        if (t[i] == '/' && t[i - 1] == '/')
            return false;
    *rest = t + head;
    *rn = n - head;
    return true;
}

static bool aws_own(const broker_principal *p, const uint8_t *t, size_t n, const uint8_t **rest,
                    size_t *rn)
{
    return aws_own_in(p, t, n, SHADOW, SHADOW_LEN, rest, rn);
}

static const char JOBS[] = "/jobs/";
#define JOBS_LEN (sizeof JOBS - 1)

/* After "$aws/things/{id}/jobs/": "get", "start-next", "{jobId}/get", "{jobId}/update"
 * (AWS IoT Jobs requests, docs/jobs.md). */
static bool aws_jobs_pub(const broker_principal *p, const uint8_t *t, size_t n)
{
    const uint8_t *r;
    size_t rn;
    if (!aws_own_in(p, t, n, JOBS, JOBS_LEN, &r, &rn))
        return false;
    if ((rn == 3 && memcmp(r, "get", 3) == 0) || (rn == 10 && memcmp(r, "start-next", 10) == 0))
        return true;
    size_t k = level_len(r, rn);
    const uint8_t *op = r + k + 1;
    size_t on = k < rn ? rn - k - 1 : 0;
    return k > 0 &&
           ((on == 3 && memcmp(op, "get", 3) == 0) || (on == 6 && memcmp(op, "update", 6) == 0));
}

static bool is_op(const uint8_t *s, size_t n)
{
    return (n == 3 && memcmp(s, "get", 3) == 0) || (n == 6 && memcmp(s, "update", 6) == 0) ||
           (n == 6 && memcmp(s, "delete", 6) == 0);
}

/* "{op}" or "name/{n}/{op}" after "$aws/things/{id}/shadow/". */
static bool aws_device_pub(const broker_principal *p, const uint8_t *t, size_t n)
{
    const uint8_t *r;
    size_t rn;
    if (!aws_own(p, t, n, &r, &rn))
        return false;
    if (is_op(r, rn))
        return true;
    if (rn <= 5 || memcmp(r, "name/", 5) != 0)
        return false;
    r += 5;
    rn -= 5;
    size_t k = level_len(r, rn);
    return k < rn && is_op(r + k + 1, rn - k - 1);
}

static bool aws_device_sub(const broker_principal *p, const uint8_t *f, size_t n)
{
    const uint8_t *r;
    size_t rn;
    return aws_own(p, f, n, &r, &rn) || aws_own_in(p, f, n, JOBS, JOBS_LEN, &r, &rn);
}

static const char PROV_HEAD[] = "$aws/provisioning-templates/";
#define PROV_HEAD_LEN (sizeof PROV_HEAD - 1)
static const char PROV_TAIL[] = "/provision/json";
#define PROV_TAIL_LEN (sizeof PROV_TAIL - 1)

static bool is_str(const uint8_t *t, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(t, s, n) == 0;
}

/* "$aws/provisioning-templates/{tmpl}/provision/json" with the principal's own {tmpl}. */
static bool claim_provision(const broker_principal *p, const uint8_t *t, size_t n)
{
    const char *z = memchr(p->tmpl, '\0', sizeof p->tmpl);
    size_t tn = z ? (size_t)(z - p->tmpl) : 0;
    return tn > 0 && n == PROV_HEAD_LEN + tn + PROV_TAIL_LEN &&
           memcmp(t, PROV_HEAD, PROV_HEAD_LEN) == 0 &&
           memcmp(t + PROV_HEAD_LEN, p->tmpl, tn) == 0 &&
           memcmp(t + PROV_HEAD_LEN + tn, PROV_TAIL, PROV_TAIL_LEN) == 0;
}

/* A claim connection's requests (AWS IoT fleet provisioning MQTT API). */
static bool claim_pub(const broker_principal *p, const uint8_t *t, size_t n)
{
    return is_str(t, n, "$aws/certificates/create/json") ||
           is_str(t, n, "$aws/certificates/create-from-csr/json") || claim_provision(p, t, n);
}

/* A claim connection's replies: "{request}/accepted" or "{request}/rejected". */
static bool claim_sub(const broker_principal *p, const uint8_t *f, size_t n)
{
    static const char *const ends[] = {"/accepted", "/rejected"};
    for (size_t i = 0; i < 2; i++) {
        size_t en = strlen(ends[i]);
        if (n > en && memcmp(f + n - en, ends[i], en) == 0 && claim_pub(p, f, n - en))
            return true;
    }
    return false;
}

static bool user_owns(const broker_principal *p, const uint8_t *dev, size_t d, owns_fn owns,
                      void *arg)
{
    return d && id_of(p) > 0 && owns && owns(arg, p->id, dev, d);
}

bool broker_policy_sub(const broker_principal *p, const uint8_t *filter, size_t n, owns_fn owns,
                       void *arg)
{
    if (p->who == BROKER_WHO_ANON)
        return true;
    if (p->who == BROKER_WHO_CLAIMCERT) /* literal topics only: no wildcard matches them */
        return claim_sub(p, filter, n);
    if (p->who == BROKER_WHO_DEVICE && n > 0 && filter[0] == '$')
        return n <= UINT16_MAX && mqtt_topic_filter_valid(filter, n) &&
               aws_device_sub(p, filter, n);
    if (!shape_ok(filter, n) || n > UINT16_MAX || !mqtt_topic_filter_valid(filter, n))
        return false;
    if (p->who == BROKER_WHO_DEVICE)
        return device_sub(p, filter, n);
    if (p->who != BROKER_WHO_USER)
        return false;
    const uint8_t *dev = NULL;
    size_t d = server_device(filter, n, &dev);
    return user_owns(p, dev, d, owns, arg);
}

bool broker_policy_pub(const broker_principal *p, const uint8_t *topic, size_t n, owns_fn owns,
                       void *arg)
{
    if (p->who == BROKER_WHO_ANON)
        return true;
    if (p->who == BROKER_WHO_CLAIMCERT)
        return claim_pub(p, topic, n);
    if (p->who == BROKER_WHO_DEVICE && n > 0 && topic[0] == '$')
        return n <= UINT16_MAX && mqtt_topic_name_valid(topic, n) &&
               (aws_device_pub(p, topic, n) || aws_jobs_pub(p, topic, n));
    if (!shape_ok(topic, n) || n > UINT16_MAX || !mqtt_topic_name_valid(topic, n))
        return false;
    if (p->who == BROKER_WHO_DEVICE)
        return device_pub(p, topic, n);
    if (p->who != BROKER_WHO_USER)
        return false;
    size_t d = level_len(topic, n);
    return device_level_ok(topic, d) && user_owns(p, topic, d, owns, arg);
}
