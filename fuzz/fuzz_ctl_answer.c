/*
 * Fuzzes what iotcloud reads from devices on the control path: the answer classifier
 * (devices/ctl_answer.c), the rid decoder (devices/ctl_rid.c) and the notification payload rules
 * (notify/devnotify_rules.c), on exactly-sized copies of the input.
 *
 * Checks: an answer is classified 200, 422 or 502 and nothing else; its texts are
 * terminated and within bounds; a 200 value is valid BSON without rid/status/error; a rid
 * that decodes re-encodes to a rid that decodes to the same (loop, seq).
 */
#include <bson/bson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/ctl_int.h"
#include "notify/devnotify.h"

static void check(bool cond)
{
    if (!cond)
        abort();
}

static void check_answer(const uint8_t *p, size_t n)
{
    ctl__answer a;
    ctl__answer_parse(p, n, &a);
    check(a.status == 200 || a.status == 422 || a.status == 502);
    check(memchr(a.code, '\0', sizeof a.code) != NULL);
    check(memchr(a.msg, '\0', sizeof a.msg) != NULL);
    check(memchr(a.rid, '\0', sizeof a.rid) != NULL);
    if (a.status == 200) {
        check(bson_validate(&a.value, BSON_VALIDATE_NONE, NULL));
        check(!bson_has_field(&a.value, "rid") && !bson_has_field(&a.value, "status") &&
              !bson_has_field(&a.value, "error"));
    }
    if (a.status == 422)
        check(a.code[0] != '\0');
    ctl__answer_done(&a);
}

static void check_rid(const uint8_t *p, size_t n)
{
    unsigned loop, loop2;
    uint64_t seq, seq2;
    if (ctl__rid_decode((const char *)p, n, &loop, &seq) < 0)
        return;
    char out[CTL_RID_MAX + 1];
    size_t len = ctl__rid_encode(loop, seq, out);
    check(len <= CTL_RID_MAX && out[len] == '\0');
    check(ctl__rid_decode(out, len, &loop2, &seq2) == 0 && loop2 == loop && seq2 == seq);
}

static void check_notify(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return;
    memcpy(s, p, n);
    s[n] = '\0';
    int kind = devnotify_recipient_kind(s);
    check(kind == -1 || kind == DEVNOTIFY_MAIL || kind == DEVNOTIFY_SMS);
    if (kind != -1)
        check(strlen(s) <= 254);
    (void)devnotify_message_ok(s, n);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    check_answer(p, size);
    check_rid(p, size < 64 ? size : 64);
    check_notify(p, size < 512 ? size : 512);
    free(p);
    return 0;
}
