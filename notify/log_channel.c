/*
 * log_channel — "delivers" an e-mail or SMS by writing it to the server log.
 *
 * For a fresh machine without a mail server or SMS gateway: the whole message, text
 * included, goes to the log by design, so a new user can read the confirmation code there
 * (and only there). One log line per text line (long ones split), since a log line is
 * capped (common/log.c).
 */
#include <string.h>

#include "common/log.h"
#include "notify/notify_int.h"

static void log_text(const char *p)
{
    while (*p) {
        size_t n = strcspn(p, "\n");
        int len = n > 900 ? 900 : (int)n;
        log_info("notify: | %.*s", len, p);
        p += len; /* a longer line continues on the next log line */
        if (*p == '\n')
            p++;
    }
}

static int log_send(void *ctx, const notify_mail *m, char *why, size_t whylen)
{
    log_info("notify: mail (log channel) to %s, subject \"%s\":", m->to, m->subject);
    log_text(m->text);
    return NOTIFY_SENT;
}

static int log_sms(void *ctx, const notify_mail *m, char *why, size_t whylen)
{
    log_info("notify: sms (log channel) to %s:", m->to);
    log_text(m->text);
    return NOTIFY_SENT;
}

int notify__log_channel(notify_channel *c)
{
    *c = (notify_channel){.name = "log", .send = log_send};
    return 0;
}

int notify__log_channel_sms(notify_channel *c)
{
    *c = (notify_channel){.name = "log", .send = log_sms};
    return 0;
}
