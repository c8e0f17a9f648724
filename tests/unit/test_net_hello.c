/*
 * hello.c: the bytes of a TLS connection before its first record is complete. Pure
 * buffer logic over a bare net_conn (no loop, no socket).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

/* A handshake record header announcing @len payload bytes, then @len filler bytes. */
static size_t record(uint8_t *out, size_t len)
{
    out[0] = 22;
    out[1] = 3;
    out[2] = 1;
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
    for (size_t i = 0; i < len; i++)
        out[5 + i] = (uint8_t)i;
    return 5 + len;
}

Test(net_hello, whole_record_in_one_read_is_passed_through_without_a_copy)
{
    net_conn c = {0};
    uint8_t rec[5 + 300];
    size_t n = record(rec, 300);
    const uint8_t *out = NULL;
    size_t outn = 0;
    cr_assert_eq(net__hello_feed(&c, rec, n, &out, &outn), NET_HELLO_DONE);
    cr_assert_eq(out, rec);
    cr_assert_eq(outn, n);
    cr_assert_null(c.hello, "nothing kept");
}

Test(net_hello, record_in_pieces_is_gathered_then_handed_over_whole)
{
    net_conn c = {0};
    static uint8_t rec[5 + 2000];
    size_t n = record(rec, 2000);
    const uint8_t *out = NULL;
    size_t outn = 0;
    size_t cuts[] = {1, 4, 5, 700, n - 1};
    size_t at = 0;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        cr_assert_eq(net__hello_feed(&c, rec + at, cuts[i] - at, &out, &outn), NET_HELLO_MORE,
                     "piece %zu", i);
        at = cuts[i];
    }
    cr_assert_leq(c.hello_cap, 4096u, "the buffer grows with the bytes, not the header");
    cr_assert_eq(net__hello_feed(&c, rec + at, n - at, &out, &outn), NET_HELLO_DONE);
    cr_assert_eq(outn, n);
    cr_assert_arr_eq(out, rec, n);
    net__hello_free(&c);
    cr_assert_null(c.hello);
}

Test(net_hello, five_bytes_cost_a_small_buffer_only)
{
    net_conn c = {0};
    uint8_t hdr[5];
    record(hdr, 0);
    hdr[3] = 0x40; /* announces 16 KiB */
    hdr[4] = 0x00;
    const uint8_t *out;
    size_t outn;
    cr_assert_eq(net__hello_feed(&c, hdr, 5, &out, &outn), NET_HELLO_MORE);
    cr_assert_leq(c.hello_cap, 256u);
    net__hello_free(&c);
}

Test(net_hello, anything_but_a_handshake_record_is_refused)
{
    const uint8_t mqtt[] = {0x10, 0x0c, 0x00, 0x04, 'M'}; /* CONNECT on a TLS port */
    const uint8_t v2[] = {0x80, 0x2e, 0x01, 0x03, 0x01};  /* SSLv2-style hello */
    const uint8_t badver[] = {22, 2, 0, 0, 10};
    const uint8_t empty[] = {22, 3, 1, 0, 0};
    const uint8_t huge[] = {22, 3, 1, 0x40, 0x01}; /* 2^14 + 1 [RFC 8446 5.1] */
    const uint8_t *cases[] = {mqtt, v2, badver, empty, huge};
    for (size_t i = 0; i < 5; i++) {
        net_conn c = {0};
        const uint8_t *out;
        size_t outn;
        cr_assert_eq(net__hello_feed(&c, cases[i], 5, &out, &outn), NET_HELLO_BAD, "case %zu", i);
        net__hello_free(&c);
    }
    net_conn c = {0};
    const uint8_t *out;
    size_t outn;
    cr_assert_eq(net__hello_feed(&c, mqtt, 1, &out, &outn), NET_HELLO_BAD, "first byte decides");
    net__hello_free(&c);
}
