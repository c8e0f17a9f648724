/* ident/mqtt_auth.c: the pure part, the address key of the per-address limit. The hook
 * itself is exercised with real clients in tests/integration/test_mqtt_credentials.py and
 * test_device_mqtt.py. */
#include <criterion/criterion.h>
#include <string.h>

#include "ident/mqtt_auth.h"
#include "ident/mqtt_claim.h"

static const char *ip_of(const char *peer, size_t cap)
{
    static char out[64];
    memset(out, 'x', sizeof out);
    mqtt_auth_peer_ip(peer, out, cap);
    return out;
}

Test(mqtt_auth, peer_ip_of_v4_and_v6)
{
    cr_assert_str_eq(ip_of("127.0.0.1:5000", 64), "127.0.0.1");
    cr_assert_str_eq(ip_of("[::1]:8883", 64), "::1");
    cr_assert_str_eq(ip_of("[2001:db8::2]:1", 64), "2001:db8::2");
}

Test(mqtt_auth, peer_ip_refuses_what_is_no_address)
{
    cr_assert_str_eq(ip_of(NULL, 64), "");
    cr_assert_str_eq(ip_of("", 64), "");
    cr_assert_str_eq(ip_of("noport", 64), "");
    cr_assert_str_eq(ip_of(":1", 64), "");
    cr_assert_str_eq(ip_of("[::1:8883", 64), "", "no closing bracket");
    cr_assert_str_eq(ip_of("[]:1", 64), "");
    cr_assert_str_eq(ip_of("127.0.0.1:5000", 9), "", "does not fit: not truncated");
    cr_assert_str_eq(ip_of("127.0.0.1:5000", 10), "127.0.0.1");
}

Test(mqtt_auth, sdk_metrics_query_is_no_user_name)
{
    cr_assert_null(mqtt_auth_username("?SDK=JavaScript&Version=2.2.13"));
    cr_assert_null(mqtt_auth_username("?"));
    cr_assert_null(mqtt_auth_username(NULL));
    cr_assert_str_eq(mqtt_auth_username("alice"), "alice");
    cr_assert_str_eq(mqtt_auth_username("a?SDK=1"), "a?SDK=1", "only a leading '?'");
}

/* A claim certificate's CN is a template id: "p" + 24 lower-case hex digits; a device's
 * ("d" + 24) or anything else goes the device way. */
Test(mqtt_auth, claim_cn_is_a_template_id)
{
    cr_expect(mqtt_claim_cn("p0123456789abcdef01234567"));
    cr_expect(!mqtt_claim_cn("d0123456789abcdef01234567"));
    cr_expect(!mqtt_claim_cn("p0123456789ABCDEF01234567"));
    cr_expect(!mqtt_claim_cn("p0123456789abcdef0123456"));
    cr_expect(!mqtt_claim_cn("p0123456789abcdef012345678"));
    cr_expect(!mqtt_claim_cn("p0123456789abcdef0123456g"));
    cr_expect(!mqtt_claim_cn("p"));
    cr_expect(!mqtt_claim_cn(""));
    cr_expect(!mqtt_claim_cn(NULL));
}
