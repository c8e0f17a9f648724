/* ctl rid text (devices/ctl_rid.c): round trips, and everything that is not one of ours. */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/ctl_int.h"

static int dec(const char *s, unsigned *l, uint64_t *q)
{
    return ctl__rid_decode(s, strlen(s), l, q);
}

Test(ctl_rid, round_trip)
{
    unsigned loops[] = {0, 1, 15, 255};
    uint64_t seqs[] = {0, 1, 35, 0xffffffffULL, UINT64_MAX};
    char txt[CTL_RID_MAX + 1];
    for (size_t i = 0; i < 4; i++) {
        for (size_t j = 0; j < 5; j++) {
            unsigned l = 999;
            uint64_t q = 7;
            size_t n = ctl__rid_encode(loops[i], seqs[j], txt);
            cr_assert_eq(n, strlen(txt));
            cr_assert_leq(n, 64, "the protocol allows 64 characters");
            cr_assert_eq(ctl__rid_decode(txt, n, &l, &q), 0, "%s", txt);
            cr_assert_eq(l, loops[i]);
            cr_assert_eq(q, seqs[j]);
        }
    }
    ctl__rid_encode(3, 0x1a, txt);
    cr_assert_str_eq(txt, "3-1a");
}

Test(ctl_rid, refuses_foreign_text)
{
    unsigned l;
    uint64_t q;
    const char *bad[] = {
        "",     "-",   "1-",   "-1",   "1",    "x-1",   "1-x",     "1-1-1",
        "1--1", "A-1", "1-1A", " 1-1", "1-1 ", "100-1", "10000-1", "1-10000000000000000",
        "r1",   "0-",  "ff-0g"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_lt(dec(bad[i], &l, &q), 0, "'%s'", bad[i]);
    cr_assert_eq(dec("ff-ffffffffffffffff", &l, &q), 0);
    cr_assert_eq(l, 255);
    cr_assert_eq(q, UINT64_MAX);
    /* a length shorter than the text: only that prefix counts */
    cr_assert_eq(ctl__rid_decode("2-5zzz", 3, &l, &q), 0);
    cr_assert_eq(q, 5);
}
