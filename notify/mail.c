/*
 * mail — the outbox documents: an e-mail { kind: "mail", to, subject, text, nid? } and an
 * SMS { kind: "sms", to, text, nid? }; nid links a device notification's record.
 *
 * The header fields are checked when the item is queued (so a caller learns at once) and
 * again when it is read (the database is not trusted to hold what we wrote): a CR or LF in
 * To or Subject would let the value start headers of its own (header injection).
 */
#include <string.h>

#include "notify/notify_int.h"
#include "store/store_app.h"

bool notify__header_ok(const char *s, size_t max)
{
    if (!s || !s[0])
        return false;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        if (*p < 0x20 || *p == 0x7f || n >= max)
            return false;
    }
    return true;
}

/* The recipient also goes into the SMTP envelope (RCPT TO:<to>): one address only, so no
 * spaces, brackets or commas, and it must have a domain. */
bool notify__addr_ok(const char *to)
{
    if (!notify__header_ok(to, STORE_NAME_MAX))
        return false;
    const char *at = strchr(to, '@');
    return at && at != to && at[1] && !strpbrk(to, " <>,;\"()[]\\");
}

static bool text_ok(const char *text) { return text && strlen(text) <= NOTIFY_TEXT_MAX; }

int notify_mail_add(store_tx *tx, const char *to, const char *subject, const char *text,
                    int64_t now)
{
    if (!tx || !notify__addr_ok(to) || !notify__header_ok(subject, NOTIFY_SUBJECT_MAX) ||
        !text_ok(text))
        return STORE_EINVAL;
    bson_t doc = BSON_INITIALIZER;
    int rc = STORE_ENOMEM;
    if (!BSON_APPEND_UTF8(&doc, "to", to) || !BSON_APPEND_UTF8(&doc, "subject", subject) ||
        !BSON_APPEND_UTF8(&doc, "text", text))
        goto out;
    rc = store_outbox_add(tx, "mail", &doc, now, NULL);
out:
    bson_destroy(&doc);
    return rc;
}

static const char *utf8_field(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return NULL;
    return bson_iter_utf8(&it, NULL);
}

int notify__mail_read(const bson_t *doc, notify_mail *m)
{
    m->to = utf8_field(doc, "to");
    m->subject = utf8_field(doc, "subject");
    m->text = utf8_field(doc, "text");
    if (!notify__addr_ok(m->to) || !notify__header_ok(m->subject, NOTIFY_SUBJECT_MAX) ||
        !text_ok(m->text)) {
        *m = (notify_mail){0}; /* a bad value must not reach a log line either */
        return STORE_EINVAL;
    }
    return 0;
}

static bool e164(const char *to)
{
    if (!to || to[0] != '+' || !to[1] || strlen(to) > 16)
        return false;
    for (const char *p = to + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
    }
    return true;
}

static bool sms_text_ok(const char *text)
{
    return text && text[0] && strlen(text) <= NOTIFY_SMS_TEXT_MAX;
}

int notify_device_add(store_tx *tx, int64_t nid, const char *to, const char *subject,
                      const char *text, int64_t now)
{
    bool mail = to && strchr(to, '@');
    if (!tx || nid <= 0 ||
        (mail ? !notify__addr_ok(to) || !notify__header_ok(subject, NOTIFY_SUBJECT_MAX) ||
                    !text_ok(text)
              : !e164(to) || !sms_text_ok(text)))
        return STORE_EINVAL;
    bson_t doc = BSON_INITIALIZER;
    int rc = STORE_ENOMEM;
    if (!BSON_APPEND_UTF8(&doc, "to", to) ||
        (mail && !BSON_APPEND_UTF8(&doc, "subject", subject)) ||
        !BSON_APPEND_UTF8(&doc, "text", text) || !BSON_APPEND_INT64(&doc, "nid", nid))
        goto out;
    rc = store_outbox_add(tx, mail ? "mail" : "sms", &doc, now, NULL);
out:
    bson_destroy(&doc);
    return rc;
}

int notify__sms_read(const bson_t *doc, notify_mail *m)
{
    *m = (notify_mail){.to = utf8_field(doc, "to"), .text = utf8_field(doc, "text")};
    if (!e164(m->to) || !sms_text_ok(m->text)) {
        *m = (notify_mail){0};
        return STORE_EINVAL;
    }
    return 0;
}

int64_t notify__item_nid(const bson_t *doc)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "nid") || !BSON_ITER_HOLDS_INT64(&it))
        return 0;
    int64_t v = bson_iter_int64(&it);
    return v > 0 ? v : 0;
}
