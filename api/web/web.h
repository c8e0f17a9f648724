/**
 * web — the dashboard (issue #19): the bundled single-page app under web/ served at "/" on
 * the HTTP(S) listeners, from memory (scripts/embed_web.py compiles the esbuild output
 * into the binary; nothing is read from disk at run time).
 *
 * Not a route table: web_serve is the router's fallback (http_opts.fallback), so it sees
 * every GET/HEAD whose path no API route has:
 *   /                     index.html
 *   /assets/<name>-<hash>.<ext>
 *                         a hashed bundle file, cached for a year ("immutable")
 *   /v1/...               404 not_found (an API path is never the app)
 *   a path whose last segment has a '.', or under /assets/: 404 not_found
 *   any other path        index.html (a client-side route such as /devices/ab12)
 *
 * Every answer carries the security headers (a strict Content-Security-Policy without
 * inline script, frame-ancestors 'none', X-Content-Type-Options, Referrer-Policy), an
 * ETag (304 on If-None-Match), Vary: Accept-Encoding, and the brotli or gzip variant
 * built beside each file when Accept-Encoding allows it. index.html is revalidated on
 * every load (no-cache) so a new build takes effect at once.
 *
 * Threading: web_serve runs on the request's loop and answers at once (no store, no pool).
 */
#ifndef IOT_API_WEB_WEB_H
#define IOT_API_WEB_WEB_H

#include "http/http.h"

/** Answers @r (GET or HEAD) from the embedded dashboard; see above. */
void web_serve(http_req *r);

#endif
