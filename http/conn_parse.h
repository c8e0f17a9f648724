/*
 * conn_parse — llhttp behind plain C types (see conn_parse.c for why).
 */
#ifndef IOT_HTTP_CONN_PARSE_H
#define IOT_HTTP_CONN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { HP_PAUSE = 1 }; /* callback result: stop after this event */

enum hparse_rc {
    HP_OK = 0,        /* all bytes consumed */
    HP_PAUSED = 1,    /* a callback paused; *used bytes consumed; call again for the rest */
    HP_EUSER = -1,    /* a callback refused */
    HP_EBAD = -2,     /* malformed request */
    HP_EVERSION = -3, /* not HTTP/1.x (e.g. the HTTP/2 preface) */
    HP_EMETHOD = -4,  /* unknown method */
};

typedef struct hparse hparse;

typedef struct hparse_cb {
    int (*begin)(void *u);
    int (*url)(void *u, const char *p, size_t n);
    int (*url_done)(void *u);
    int (*field)(void *u, const char *p, size_t n);
    int (*field_done)(void *u);
    int (*value)(void *u, const char *p, size_t n);
    int (*value_done)(void *u);
    int (*headers_done)(void *u); /* 0 or -1 (no pause here) */
    int (*body)(void *u, const char *p, size_t n);
    int (*complete)(void *u);
} hparse_cb;

hparse *hparse__new(const hparse_cb *cb, void *u);
void hparse__free(hparse *h);
int hparse__execute(hparse *h, const uint8_t *d, size_t n, size_t *used);
/* Of the current message, valid from headers_done on. */
const char *hparse__method(const hparse *h);
int hparse__major(const hparse *h);
int hparse__minor(const hparse *h);
bool hparse__keep_alive(const hparse *h);
bool hparse__has_length(const hparse *h);
uint64_t hparse__length(const hparse *h);
bool hparse__chunked(const hparse *h);

#endif
