/*
 * date — the Date header value (IMF-fixdate, RFC 9110 5.6.7), formatted at most once per
 * second per thread. Names are spelled out rather than taken from strftime(%a/%b), which
 * follow the locale.
 */
#include <stdio.h>
#include <time.h>

#include "http/http_int.h"

static _Thread_local time_t cached_sec = -1;
static _Thread_local char cached[80]; /* 29 used; room for any int the compiler imagines */

const char *http__date(void)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    if (now == cached_sec)
        return cached;
    struct tm tm;
    if (!gmtime_r(&now, &tm))
        return "Thu, 01 Jan 1970 00:00:00 GMT";
    snprintf(cached, sizeof cached, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    cached_sec = now;
    return cached;
}
