/*
 * The topic policy (broker/policy.c): table-driven, with filters and topics that try to
 * widen a principal's reach through wildcards, empty levels, '$' topics and the id
 * "server".
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "broker/broker.h"

/* User "u1" owns "d1" and "d2"; user "u2" owns "d3". Device "server" exists in no list. */
static bool owns(void *arg, const char *user_id, const uint8_t *dev, size_t len)
{
    int *calls = arg;
    if (calls)
        (*calls)++;
    static const struct {
        const char *user, *dev;
    } own[] = {{"u1", "d1"}, {"u1", "d2"}, {"u2", "d3"}, {"u1", "server"}};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (strcmp(own[i].user, user_id) == 0 && strlen(own[i].dev) == len &&
            memcmp(own[i].dev, dev, len) == 0)
            return true;
    return false;
}

typedef struct row {
    enum broker_who who;
    const char *id;
    const char *topic;
    bool sub; /* expected for SUBSCRIBE of this filter */
    bool pub; /* expected for PUBLISH on this topic (filters with wildcards: false) */
} row;

static const row rows[] = {
    /* ANON: no policy */
    {BROKER_WHO_ANON, "", "#", true, true},
    {BROKER_WHO_ANON, "", "$SYS/x", true, true},
    {BROKER_WHO_ANON, "", "a//b", true, true},
    /* DEVICE d1: subscribes under d1, publishes under server/d1 */
    {BROKER_WHO_DEVICE, "d1", "d1", true, false},
    {BROKER_WHO_DEVICE, "d1", "d1/get_gpio", true, false},
    {BROKER_WHO_DEVICE, "d1", "d1/#", true, false},
    {BROKER_WHO_DEVICE, "d1", "d1/+", true, false},
    {BROKER_WHO_DEVICE, "d1", "d1/+/x/#", true, false},
    {BROKER_WHO_DEVICE, "d1", "server/d1", false, true},
    {BROKER_WHO_DEVICE, "d1", "server/d1/status", false, true},
    {BROKER_WHO_DEVICE, "d1", "server/d1/#", false, false},
    {BROKER_WHO_DEVICE, "d1", "server/#", false, false},
    {BROKER_WHO_DEVICE, "d1", "server/+/status", false, false},
    {BROKER_WHO_DEVICE, "d1", "server/d2", false, false},
    {BROKER_WHO_DEVICE, "d1", "server/d1x", false, false},
    {BROKER_WHO_DEVICE, "d1", "server", false, false},
    {BROKER_WHO_DEVICE, "d1", "#", false, false},
    {BROKER_WHO_DEVICE, "d1", "+", false, false},
    {BROKER_WHO_DEVICE, "d1", "+/get_gpio", false, false},
    {BROKER_WHO_DEVICE, "d1", "+/#", false, false},
    {BROKER_WHO_DEVICE, "d1", "d1x/#", false, false},
    {BROKER_WHO_DEVICE, "d1", "d", false, false},
    {BROKER_WHO_DEVICE, "d1", "d2/x", false, false},
    {BROKER_WHO_DEVICE, "d1", "/d1", false, false},
    {BROKER_WHO_DEVICE, "d1", "d1/", false, false},
    {BROKER_WHO_DEVICE, "d1", "d1//x", false, false},
    {BROKER_WHO_DEVICE, "d1", "server//d1", false, false},
    {BROKER_WHO_DEVICE, "d1", "server/d1/", false, false},
    {BROKER_WHO_DEVICE, "d1", "$SYS/#", false, false},
    {BROKER_WHO_DEVICE, "d1", "$d1/x", false, false},
    {BROKER_WHO_DEVICE, "d1", "d1#", false, false},   /* malformed filter */
    {BROKER_WHO_DEVICE, "d1", "d1/a+", false, false}, /* malformed filter */
    {BROKER_WHO_DEVICE, "d1", "", false, false},
    /* DEVICE d1: its own AWS IoT shadow topics (docs/shadows.md), nobody else's */
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/update", true, true},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/get", true, true},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/delete", true, true},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/name/cfg/update", true, true},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/update/accepted", true, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/update/delta", true, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/#", true, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/name/+/get/+", true, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/name/cfg", true, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/other", true, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/name//update", false, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow/", false, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/shadow", false, false},
    /* DEVICE d1: its own AWS IoT Jobs topics (docs/jobs.md) */
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/jobs/get", true, true},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/jobs/start-next", true, true},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/jobs/j-1/get", true, true},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/jobs/j-1/update", true, true},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/jobs/$next/get", true, true},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/jobs/notify-next", true, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/jobs/j-1/update/accepted", true, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/jobs/#", true, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/jobs/j-1/delete", true, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1/jobs//update", false, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d2/jobs/get", false, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/+/jobs/#", false, false},
    {BROKER_WHO_USER, "u1", "$aws/things/d1/jobs/get", false, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d2/shadow/update", false, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/d1x/shadow/update", false, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/+/shadow/update", false, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/things/#", false, false},
    {BROKER_WHO_DEVICE, "d1", "$aws/#", false, false},
    {BROKER_WHO_DEVICE, "server", "$aws/things/server/shadow/update", false, false},
    {BROKER_WHO_USER, "u1", "$aws/things/d1/shadow/update", false, false},
    {BROKER_WHO_USER, "u1", "$aws/things/d1/shadow/#", false, false},
    /* a device called "server" would see every device's uplink: it gets nothing */
    {BROKER_WHO_DEVICE, "server", "server/#", false, false},
    {BROKER_WHO_DEVICE, "server", "server/server", false, false},
    {BROKER_WHO_DEVICE, "server", "server", false, false},
    /* devices whose id could not be a literal level get nothing */
    {BROKER_WHO_DEVICE, "+", "+/x", false, false},
    {BROKER_WHO_DEVICE, "#", "#", false, false},
    {BROKER_WHO_DEVICE, "", "/x", false, false},
    {BROKER_WHO_DEVICE, "", "server//x", false, false},
    {BROKER_WHO_DEVICE, "a/b", "a/b/#", false, false},
    {BROKER_WHO_DEVICE, "a/b", "server/a/b", false, false},
    {BROKER_WHO_DEVICE, "$SYS", "$SYS/#", false, false},
    /* USER u1 (owns d1, d2): subscribes under server/{dev}, publishes under {dev} */
    {BROKER_WHO_USER, "u1", "server/d1", true, false},
    {BROKER_WHO_USER, "u1", "server/d1/#", true, false},
    {BROKER_WHO_USER, "u1", "server/d2/+/x", true, false},
    {BROKER_WHO_USER, "u1", "server/d3/#", false, false},
    {BROKER_WHO_USER, "u1", "server/+/#", false, false},
    {BROKER_WHO_USER, "u1", "server/#", false, false},
    {BROKER_WHO_USER, "u1", "server/+", false, false},
    {BROKER_WHO_USER, "u1", "+/d1/#", false, false},
    {BROKER_WHO_USER, "u1", "#", false, false},
    {BROKER_WHO_USER, "u1", "server//d1", false, false},
    {BROKER_WHO_USER, "u1", "server/d1//x", false, false},
    {BROKER_WHO_USER, "u1", "d1", false, true},
    {BROKER_WHO_USER, "u1", "d1/get_gpio", false, true},
    {BROKER_WHO_USER, "u1", "d2/a/b", false, true},
    {BROKER_WHO_USER, "u1", "d1/#", false, false},
    {BROKER_WHO_USER, "u1", "d3/get_gpio", false, false},
    {BROKER_WHO_USER, "u1", "d1x/get_gpio", false, false},
    {BROKER_WHO_USER, "u1", "/d1", false, false},
    {BROKER_WHO_USER, "u1", "d1/", false, false},
    {BROKER_WHO_USER, "u1", "$SYS/d1", false, false},
    /* u1 "owns" a device called server, yet may not forge every device's uplink */
    {BROKER_WHO_USER, "u1", "server/d1/status", true, false},
    {BROKER_WHO_USER, "u1", "server/server/#", false, false},
    {BROKER_WHO_USER, "u1", "server", false, false},
    /* USER u2 owns d3 only */
    {BROKER_WHO_USER, "u2", "server/d3/#", true, false},
    {BROKER_WHO_USER, "u2", "server/d1/#", false, false},
    {BROKER_WHO_USER, "u2", "d3/x", false, true},
    {BROKER_WHO_USER, "u2", "d1/x", false, false},
    /* a user without id gets nothing */
    {BROKER_WHO_USER, "", "server/d1", false, false},
};

static broker_principal principal(enum broker_who who, const char *id)
{
    broker_principal p = {.who = who};
    size_t n = strlen(id);
    cr_assert_leq(n, BROKER_PRINCIPAL_ID_MAX);
    memcpy(p.id, id, n + 1);
    return p;
}

Test(policy, table)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        broker_principal p = principal(r->who, r->id);
        const uint8_t *t = (const uint8_t *)r->topic;
        size_t n = strlen(r->topic);
        cr_expect_eq(broker_policy_sub(&p, t, n, owns, NULL), r->sub, "sub %d '%s' '%s'",
                     (int)r->who, r->id, r->topic);
        cr_expect_eq(broker_policy_pub(&p, t, n, owns, NULL), r->pub, "pub %d '%s' '%s'",
                     (int)r->who, r->id, r->topic);
    }
}

Test(policy, user_without_owns_hook_is_refused)
{
    broker_principal p = principal(BROKER_WHO_USER, "u1");
    cr_assert_not(broker_policy_sub(&p, (const uint8_t *)"server/d1", 9, NULL, NULL));
    cr_assert_not(broker_policy_pub(&p, (const uint8_t *)"d1/x", 4, NULL, NULL));
}

Test(policy, owns_asked_once_with_the_device_level)
{
    int calls = 0;
    broker_principal p = principal(BROKER_WHO_USER, "u1");
    cr_assert(broker_policy_sub(&p, (const uint8_t *)"server/d1/a/#", 13, owns, &calls));
    cr_assert_eq(calls, 1);
    cr_assert(broker_policy_pub(&p, (const uint8_t *)"d2/x/y", 6, owns, &calls));
    cr_assert_eq(calls, 2);
    /* refused on shape alone: the hook is not even asked */
    cr_assert_not(broker_policy_sub(&p, (const uint8_t *)"server/+/#", 10, owns, &calls));
    cr_assert_eq(calls, 2);
}

Test(policy, unknown_kind_and_unterminated_id_refused)
{
    broker_principal p = {.who = (enum broker_who)7};
    memcpy(p.id, "d1", 3);
    cr_assert_not(broker_policy_sub(&p, (const uint8_t *)"d1", 2, owns, NULL));
    cr_assert_not(broker_policy_pub(&p, (const uint8_t *)"server/d1", 9, owns, NULL));
    broker_principal q = {.who = BROKER_WHO_DEVICE};
    memset(q.id, 'a', sizeof q.id); /* no NUL anywhere */
    cr_assert_not(broker_policy_sub(&q, (const uint8_t *)"aaaa", 4, owns, NULL));
}

Test(policy, bytes_after_the_id_are_compared_not_assumed)
{
    broker_principal p = principal(BROKER_WHO_DEVICE, "d1");
    /* the filter is not NUL-terminated: only n bytes count */
    cr_assert(broker_policy_sub(&p, (const uint8_t *)"d1/#XYZ", 4, owns, NULL));
    cr_assert_not(broker_policy_sub(&p, (const uint8_t *)"d1/#XYZ", 1, owns, NULL));
    /* an embedded NUL is not valid UTF-8 for MQTT [MQTT-1.5.3-2] */
    cr_assert_not(broker_policy_sub(&p, (const uint8_t *)"d1\0/#", 5, owns, NULL));
}

/* CLAIMCERT of template "batch-1": its provisioning requests and their replies, nothing
 * else (docs/provisioning.md). */
static bool claim_may(const char *t, bool sub)
{
    broker_principal p = {.who = BROKER_WHO_CLAIMCERT};
    snprintf(p.id, sizeof p.id, "p0123456789abcdef01234567");
    snprintf(p.tmpl, sizeof p.tmpl, "batch-1");
    return sub ? broker_policy_sub(&p, (const uint8_t *)t, strlen(t), owns, NULL)
               : broker_policy_pub(&p, (const uint8_t *)t, strlen(t), owns, NULL);
}

Test(policy, claim_connection_only_provisions)
{
    static const char *const reqs[] = {"$aws/certificates/create/json",
                                       "$aws/certificates/create-from-csr/json",
                                       "$aws/provisioning-templates/batch-1/provision/json"};
    for (size_t i = 0; i < 3; i++) {
        char acc[128], rej[128];
        snprintf(acc, sizeof acc, "%s/accepted", reqs[i]);
        snprintf(rej, sizeof rej, "%s/rejected", reqs[i]);
        cr_expect(claim_may(reqs[i], false), "%s", reqs[i]);
        cr_expect(!claim_may(reqs[i], true), "%s", reqs[i]);
        cr_expect(claim_may(acc, true) && claim_may(rej, true), "%s", reqs[i]);
        cr_expect(!claim_may(acc, false) && !claim_may(rej, false), "%s", reqs[i]);
    }
    static const char *const no[] = {
        "#",
        "$aws/#",
        "$aws/certificates/create/json/+",
        "$aws/certificates/+/json/accepted",
        "$aws/provisioning-templates/batch-2/provision/json",
        "$aws/provisioning-templates/batch-2/provision/json/accepted",
        "$aws/provisioning-templates/+/provision/json/accepted",
        "$aws/provisioning-templates/batch-1/provision/json/x",
        "$aws/provisioning-templates/batch-1/provision/json/accepted/x",
        "$aws/provisioning-templates/batch-1x/provision/json",
        "$aws/provisioning-templates/batch-/provision/json",
        "$aws/certificates/create/json/other",
        "server/p0123456789abcdef01234567",
        "p0123456789abcdef01234567",
        "$aws/things/p0123456789abcdef01234567/shadow/update",
        "$SYS/broker/uptime",
        "d1",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        cr_expect(!claim_may(no[i], true) && !claim_may(no[i], false), "%s", no[i]);
}

Test(policy, claim_connection_without_template_gets_nothing)
{
    broker_principal p = {.who = BROKER_WHO_CLAIMCERT};
    const char *t = "$aws/provisioning-templates//provision/json";
    cr_expect(!broker_policy_pub(&p, (const uint8_t *)t, strlen(t), owns, NULL));
    t = "$aws/certificates/create/json";
    cr_expect(broker_policy_pub(&p, (const uint8_t *)t, strlen(t), owns, NULL));
}
