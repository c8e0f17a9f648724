/* ws_frame: WebSocket frame headers, masking and the handshake key, with the examples of
 * RFC 6455 (sections 1.3 and 5.7) and the malformed headers a server must refuse. */
#include <criterion/criterion.h>
#include <string.h>

#include "net/ws_frame.h"

static const uint8_t MASKED_HELLO[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                       0x7f, 0x9f, 0x4d, 0x51, 0x58};

Test(ws_frame, rfc_masked_hello)
{
    net_ws_hdr h;
    cr_assert_eq(net_ws_parse_header(MASKED_HELLO, sizeof MASKED_HELLO, true, &h), 6);
    cr_assert(h.fin);
    cr_assert_eq(h.opcode, NET_WS_TEXT);
    cr_assert(h.masked);
    cr_assert_eq(h.len, 5);
    uint8_t p[5];
    memcpy(p, MASKED_HELLO + 6, 5);
    net_ws_unmask(p, 5, h.mask, 0);
    cr_assert_arr_eq(p, "Hello", 5);
}

Test(ws_frame, unmask_in_pieces_matches_unmask_at_once)
{
    net_ws_hdr h;
    net_ws_parse_header(MASKED_HELLO, sizeof MASKED_HELLO, true, &h);
    uint8_t p[5];
    memcpy(p, MASKED_HELLO + 6, 5);
    net_ws_unmask(p, 2, h.mask, 0);
    net_ws_unmask(p + 2, 1, h.mask, 2);
    net_ws_unmask(p + 3, 2, h.mask, 3);
    cr_assert_arr_eq(p, "Hello", 5);
}

Test(ws_frame, rfc_unmasked_hello_refused_from_a_client_only)
{
    static const uint8_t f[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    net_ws_hdr h;
    cr_assert_eq(net_ws_parse_header(f, sizeof f, true, &h), NET_WS_E_UNMASKED);
    cr_assert_eq(net_ws_parse_header(f, sizeof f, false, &h), 2);
    cr_assert_eq(h.len, 5);
    cr_assert_not(h.masked);
    cr_assert_eq(net_ws_error_status(NET_WS_E_UNMASKED), NET_WS_PROTOCOL_ERROR);
}

Test(ws_frame, rfc_fragmented_hello)
{
    static const uint8_t f1[] = {0x01, 0x03, 'H', 'e', 'l'};
    static const uint8_t f2[] = {0x80, 0x02, 'l', 'o'};
    net_ws_hdr h;
    cr_assert_eq(net_ws_parse_header(f1, sizeof f1, false, &h), 2);
    cr_assert_not(h.fin);
    cr_assert_eq(h.opcode, NET_WS_TEXT);
    cr_assert_eq(h.len, 3);
    cr_assert_eq(net_ws_parse_header(f2, sizeof f2, false, &h), 2);
    cr_assert(h.fin);
    cr_assert_eq(h.opcode, NET_WS_CONT);
    cr_assert_eq(h.len, 2);
}

Test(ws_frame, rfc_ping_and_masked_pong)
{
    static const uint8_t ping[] = {0x89, 0x05, 'H', 'e', 'l', 'l', 'o'};
    uint8_t pong[sizeof MASKED_HELLO];
    memcpy(pong, MASKED_HELLO, sizeof pong);
    pong[0] = 0x8a;
    net_ws_hdr h;
    cr_assert_eq(net_ws_parse_header(ping, sizeof ping, false, &h), 2);
    cr_assert_eq(h.opcode, NET_WS_PING);
    cr_assert_eq(net_ws_parse_header(pong, sizeof pong, true, &h), 6);
    cr_assert_eq(h.opcode, NET_WS_PONG);
    cr_assert_eq(h.len, 5);
}

Test(ws_frame, rfc_16_and_64_bit_lengths)
{
    static const uint8_t f256[] = {0x82, 0x7E, 0x01, 0x00};
    static const uint8_t f64k[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    net_ws_hdr h;
    cr_assert_eq(net_ws_parse_header(f256, sizeof f256, false, &h), 4);
    cr_assert_eq(h.len, 256);
    cr_assert_eq(h.opcode, NET_WS_BINARY);
    cr_assert_eq(net_ws_parse_header(f64k, sizeof f64k, false, &h), 10);
    cr_assert_eq(h.len, 65536);
}

Test(ws_frame, a_short_header_asks_for_more)
{
    uint8_t f[14] = {0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 1, 2, 3, 4};
    net_ws_hdr h;
    for (size_t n = 0; n < sizeof f; n++)
        cr_assert_eq(net_ws_parse_header(f, n, true, &h), 0, "prefix of %zu bytes", n);
    cr_assert_eq(net_ws_parse_header(f, sizeof f, true, &h), 14);
    cr_assert_arr_eq(h.mask, ((uint8_t[]){1, 2, 3, 4}), 4);
}

Test(ws_frame, reserved_bits_fail)
{
    for (uint8_t rsv = 1; rsv < 8; rsv++) {
        uint8_t f[] = {(uint8_t)(0x82 | rsv << 4), 0x80, 1, 2, 3, 4};
        net_ws_hdr h;
        cr_assert_eq(net_ws_parse_header(f, sizeof f, true, &h), NET_WS_E_RSV, "rsv %u", rsv);
    }
}

Test(ws_frame, reserved_opcodes_fail)
{
    static const uint8_t bad[] = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF};
    for (size_t i = 0; i < sizeof bad; i++) {
        uint8_t f[] = {(uint8_t)(0x80 | bad[i]), 0x80, 1, 2, 3, 4};
        net_ws_hdr h;
        cr_assert_eq(net_ws_parse_header(f, sizeof f, true, &h), NET_WS_E_OPCODE, "op %x", bad[i]);
    }
}

Test(ws_frame, control_frames_are_short_and_whole)
{
    static const uint8_t fragmented_ping[] = {0x09, 0x80, 1, 2, 3, 4};
    static const uint8_t long_close[] = {0x88, 0xFE, 0x00, 0x7E, 1, 2, 3, 4};
    net_ws_hdr h;
    cr_assert_eq(net_ws_parse_header(fragmented_ping, sizeof fragmented_ping, true, &h),
                 NET_WS_E_CONTROL);
    cr_assert_eq(net_ws_parse_header(long_close, sizeof long_close, true, &h), NET_WS_E_CONTROL);
}

Test(ws_frame, lengths_must_be_minimal_and_63_bit)
{
    static const uint8_t small16[] = {0x82, 0xFE, 0x00, 0x05, 1, 2, 3, 4};
    static const uint8_t small64[] = {0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4};
    static const uint8_t top_bit[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    net_ws_hdr h;
    cr_assert_eq(net_ws_parse_header(small16, sizeof small16, true, &h), NET_WS_E_LENGTH);
    cr_assert_eq(net_ws_parse_header(small64, sizeof small64, true, &h), NET_WS_E_LENGTH);
    cr_assert_eq(net_ws_parse_header(top_bit, sizeof top_bit, true, &h), NET_WS_E_LENGTH);
}

Test(ws_frame, written_headers_parse_back)
{
    static const uint64_t lens[] = {0, 1, 125, 126, 65535, 65536, 1ull << 32};
    static const size_t sizes[] = {2, 2, 2, 4, 4, 10, 10};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t b[NET_WS_MAX_OUT_HEADER];
        size_t n = net_ws_write_header(b, NET_WS_BINARY, true, lens[i]);
        cr_assert_eq(n, sizes[i], "length %llu", (unsigned long long)lens[i]);
        net_ws_hdr h;
        cr_assert_eq(net_ws_parse_header(b, n, false, &h), (int)n);
        cr_assert_eq(h.len, lens[i]);
        cr_assert_eq(h.opcode, NET_WS_BINARY);
        cr_assert(h.fin);
        cr_assert_not(h.masked);
    }
}

Test(ws_frame, rfc_accept_key)
{
    char out[29];
    cr_assert_eq(net_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws_frame, malformed_keys_are_refused)
{
    char out[29];
    cr_assert_eq(net_ws_accept_key("", out), -1);
    cr_assert_eq(net_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", out), -1);
    cr_assert_eq(net_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==x", out), -1);
    cr_assert_eq(net_ws_accept_key("dGhlIHNhbXBs*SBub25jZQ==", out), -1);
    cr_assert_eq(net_ws_accept_key("dGhlIHNhbXBsZSBub25jZQAA", out), -1);
}
