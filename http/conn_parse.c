/*
 * conn_parse — the only file that sees llhttp. llhttp's method enum (HTTP_GET = 1, ...)
 * collides with ours, so the connection logic reaches the parser through this small
 * wrapper with plain C types (hparse_*).
 *
 * Callback results: 0 continue, HP_PAUSE stop after this event (execute returns
 * HP_PAUSED with the bytes consumed so far), -1 refuse (execute returns HP_EUSER).
 */
#include <llhttp.h>
#include <stdlib.h>

#include "http/conn_parse.h"

struct hparse {
    llhttp_t p;
    const hparse_cb *cb;
    void *u;
};

static hparse *of(llhttp_t *p) { return p->data; }

static int map(int r) { return r == HP_PAUSE ? HPE_PAUSED : r < 0 ? HPE_USER : 0; }

static int on_begin(llhttp_t *p) { return map(of(p)->cb->begin(of(p)->u)); }
static int on_url(llhttp_t *p, const char *a, size_t n)
{
    return map(of(p)->cb->url(of(p)->u, a, n));
}
static int on_url_done(llhttp_t *p) { return map(of(p)->cb->url_done(of(p)->u)); }
static int on_field(llhttp_t *p, const char *a, size_t n)
{
    return map(of(p)->cb->field(of(p)->u, a, n));
}
static int on_field_done(llhttp_t *p) { return map(of(p)->cb->field_done(of(p)->u)); }
static int on_value(llhttp_t *p, const char *a, size_t n)
{
    return map(of(p)->cb->value(of(p)->u, a, n));
}
static int on_value_done(llhttp_t *p) { return map(of(p)->cb->value_done(of(p)->u)); }
static int on_body(llhttp_t *p, const char *a, size_t n)
{
    return map(of(p)->cb->body(of(p)->u, a, n));
}
static int on_complete(llhttp_t *p) { return map(of(p)->cb->complete(of(p)->u)); }

/* Never skip the body (1) nor switch protocols (2): an error or continue. */
static int on_headers(llhttp_t *p)
{
    int r = of(p)->cb->headers_done(of(p)->u);
    return r < 0 ? -1 : 0;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_begin,
    .on_url = on_url,
    .on_url_complete = on_url_done,
    .on_header_field = on_field,
    .on_header_field_complete = on_field_done,
    .on_header_value = on_value,
    .on_header_value_complete = on_value_done,
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

hparse *hparse__new(const hparse_cb *cb, void *u)
{
    hparse *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    llhttp_init(&h->p, HTTP_REQUEST, &settings);
    h->p.data = h;
    h->cb = cb;
    h->u = u;
    return h;
}

void hparse__free(hparse *h) { free(h); }

static int classify(llhttp_errno_t e)
{
    switch (e) {
    case HPE_USER:
    case HPE_CB_HEADERS_COMPLETE: /* on_headers returned -1 */
        return HP_EUSER;
    case HPE_INVALID_VERSION:
    case HPE_PAUSED_H2_UPGRADE:
        return HP_EVERSION;
    case HPE_INVALID_METHOD:
        return HP_EMETHOD;
    default:
        return HP_EBAD;
    }
}

int hparse__execute(hparse *h, const uint8_t *d, size_t n, size_t *used)
{
    llhttp_errno_t e = llhttp_execute(&h->p, (const char *)d, n);
    if (e == HPE_OK) {
        *used = n;
        return HP_OK;
    }
    const char *pos = llhttp_get_error_pos(&h->p);
    *used = pos && pos >= (const char *)d ? (size_t)(pos - (const char *)d) : 0;
    if (e == HPE_PAUSED) {
        llhttp_resume(&h->p);
        return HP_PAUSED;
    }
    return classify(e);
}

const char *hparse__method(const hparse *h) { return llhttp_method_name(h->p.method); }
int hparse__major(const hparse *h) { return h->p.http_major; }
int hparse__minor(const hparse *h) { return h->p.http_minor; }
bool hparse__keep_alive(const hparse *h)
{
    return llhttp_should_keep_alive(&h->p) && !h->p.upgrade;
}
bool hparse__has_length(const hparse *h) { return (h->p.flags & F_CONTENT_LENGTH) != 0; }
uint64_t hparse__length(const hparse *h) { return h->p.content_length; }
bool hparse__chunked(const hparse *h) { return (h->p.flags & F_CHUNKED) != 0; }
