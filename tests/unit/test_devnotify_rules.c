/*
 * The pure parts of device notifications: recipient and message rules
 * (notify/devnotify_rules.c) and the token-bucket rate limiter (notify/ratelimit.c).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "notify/devnotify.h"
#include "notify/ratelimit.h"

Test(devnotify_rules, emails)
{
    static const char *const good[] = {"a@b.co", "alice.smith+iot@mail.example.org",
                                       "x_y-z@sub-domain.example.com", "A@EXAMPLE.COM"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_expect_eq(devnotify_recipient_kind(good[i]), DEVNOTIFY_MAIL, "%s", good[i]);
    static const char *const bad[] = {
        "",          "plain",           "@example.com", "a@",       "a@b",
        "a@@b.co",   "a@b@c.co",        "a b@c.co",     "a@b .co",  "<a@b.co>",
        "a,b@c.co",  "a;b@c.co",        "\"a\"@b.co",   ".a@b.co",  "a.@b.co",
        "a..b@c.co", "a@-b.co",         "a@b-.co",      "a@b..co",  "a@.b.co",
        "a@b.co.",   "a\r\nBcc: x@y.z", "a@b.co\nx",    "a@b_c.co", "a@[1.2.3.4]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(devnotify_recipient_kind(bad[i]), -1, "%s", bad[i]);
    cr_expect_eq(devnotify_recipient_kind(NULL), -1);
}

Test(devnotify_rules, email_lengths)
{
    char local[70], addr[300];
    memset(local, 'a', 64);
    local[64] = 0;
    snprintf(addr, sizeof addr, "%s@example.com", local);
    cr_expect_eq(devnotify_recipient_kind(addr), DEVNOTIFY_MAIL, "64-byte local part");
    local[64] = 'a';
    local[65] = 0;
    snprintf(addr, sizeof addr, "%s@example.com", local);
    cr_expect_eq(devnotify_recipient_kind(addr), -1, "65-byte local part");
    /* 254 bytes in all is the limit: a@ + labels of 63 */
    char dom[260] = "";
    size_t n = 0;
    while (n < 240)
        n += (size_t)snprintf(dom + n, sizeof dom - n, "bbbbbbbbb.");
    snprintf(dom + n, sizeof dom - n, "com");
    snprintf(addr, sizeof addr, "a@%s", dom);
    cr_expect_eq(devnotify_recipient_kind(addr), strlen(addr) <= 254 ? DEVNOTIFY_MAIL : -1);
    snprintf(addr, sizeof addr, "aaaaaaaaaaaaaaaaa@%s", dom);
    cr_assert_gt(strlen(addr), 254);
    cr_expect_eq(devnotify_recipient_kind(addr), -1, "longer than 254 bytes");
}

Test(devnotify_rules, phones)
{
    cr_expect_eq(devnotify_recipient_kind("+12345678"), DEVNOTIFY_SMS, "8 digits");
    cr_expect_eq(devnotify_recipient_kind("+441234567890"), DEVNOTIFY_SMS);
    cr_expect_eq(devnotify_recipient_kind("+123456789012345"), DEVNOTIFY_SMS, "15 digits");
    static const char *const bad[] = {
        "+1234567",        "+1234567890123456", "+0123456789", "441234567890",
        "+44 1234 567890", "+44-1234567890",    "+",           "++441234567890",
        "+44123456789a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(devnotify_recipient_kind(bad[i]), -1, "%s", bad[i]);
}

Test(devnotify_rules, messages)
{
    cr_expect(devnotify_message_ok("hello", 5));
    cr_expect(devnotify_message_ok("line 1\nline 2\r\n\tindented", 24));
    cr_expect_not(devnotify_message_ok("", 0), "empty");
    cr_expect_not(devnotify_message_ok(NULL, 3));
    cr_expect_not(devnotify_message_ok("a\0b", 3), "NUL");
    cr_expect_not(devnotify_message_ok("bell\a", 5), "control character");
    cr_expect_not(devnotify_message_ok("del\x7f", 4), "DEL");
    cr_expect_not(devnotify_message_ok("\xc3", 1), "truncated UTF-8");
    cr_expect_not(devnotify_message_ok("\xc0\xaf", 2), "overlong");
    cr_expect_not(devnotify_message_ok("\xed\xa0\x80", 3), "surrogate");
    cr_expect_not(devnotify_message_ok("\xf4\x90\x80\x80", 4), "above U+10FFFF");
    cr_expect(devnotify_message_ok("Gr\xc3\xbc\xc3\x9f"
                                   "e \xf0\x9f\x94\xa5",
                                   12));
}

Test(devnotify_rules, message_length_counts_characters)
{
    static char m[4 * 1001 + 1];
    for (int i = 0; i < 1000; i++)
        memcpy(m + 3 * i, "\xe2\x82\xac", 3); /* € */
    cr_expect(devnotify_message_ok(m, 3000), "1000 three-byte characters");
    memcpy(m + 3000, "\xe2\x82\xac", 3);
    cr_expect_not(devnotify_message_ok(m, 3003), "1001 characters");
    memset(m, 'x', 1001);
    cr_expect(devnotify_message_ok(m, 1000));
    cr_expect_not(devnotify_message_ok(m, 1001));
}

/* ---- rate limiter ---------------------------------------------------------------------- */

Test(ratelimit, burst_then_refill)
{
    ratelimit *rl = ratelimit_new(10, 3, 100); /* one token per 6 s */
    cr_assert_not_null(rl);
    bool first;
    for (int i = 0; i < 3; i++)
        cr_expect(ratelimit_take(rl, "dev", 1000, &first), "take %d", i);
    cr_expect_not(ratelimit_take(rl, "dev", 1000, &first));
    cr_expect(first, "the first refusal is flagged");
    cr_expect_not(ratelimit_take(rl, "dev", 1001, &first));
    cr_expect_not(first, "later refusals are not");
    cr_expect_not(ratelimit_take(rl, "dev", 6999, &first), "5.999 s: not a whole token yet");
    cr_expect(ratelimit_take(rl, "dev", 7000, &first), "6 s: one token");
    cr_expect_not(ratelimit_take(rl, "dev", 7000, &first));
    cr_expect(first, "a new run of refusals is flagged again");
    cr_expect(ratelimit_take(rl, "other", 7000, NULL), "keys are separate");
    /* a long idle refills to the burst, not beyond */
    for (int i = 0; i < 3; i++)
        cr_expect(ratelimit_take(rl, "dev", 10000000, NULL));
    cr_expect_not(ratelimit_take(rl, "dev", 10000000, NULL));
    ratelimit_free(rl);
}

Test(ratelimit, table_is_bounded)
{
    ratelimit *rl = ratelimit_new(60, 1, 2);
    cr_assert(ratelimit_take(rl, "a", 0, NULL));
    cr_assert(ratelimit_take(rl, "b", 0, NULL));
    cr_expect_not(ratelimit_take(rl, "c", 0, NULL), "full of busy buckets: fail closed");
    cr_expect_eq(ratelimit_size(rl), 2);
    cr_expect(ratelimit_take(rl, "c", 1000, NULL), "idle buckets are dropped for new keys");
    cr_expect_leq(ratelimit_size(rl), 2);
    cr_expect_not(ratelimit_take(rl, "", 0, NULL));
    cr_expect_not(ratelimit_take(rl, NULL, 0, NULL));
    ratelimit_free(rl);
    cr_expect_null(ratelimit_new(0, 1, 1));
    cr_expect_null(ratelimit_new(1, 0, 1));
}

typedef struct thr_arg {
    ratelimit *rl;
    int allowed;
} thr_arg;

static void *taker(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < 1000; i++)
        a->allowed += ratelimit_take(a->rl, "shared", 5, NULL);
    return NULL;
}

Test(ratelimit, threads_share_one_bucket)
{
    ratelimit *rl = ratelimit_new(1, 50, 10);
    pthread_t t[4];
    thr_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thr_arg){rl, 0};
        pthread_create(&t[i], NULL, taker, &a[i]);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += a[i].allowed;
    }
    cr_expect_eq(total, 50, "exactly the burst, whoever took it");
    ratelimit_free(rl);
}
