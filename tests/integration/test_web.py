"""The dashboard's static files (api/web/) and the refresh-token cookie
(api/accounts/auth_cookie.c), against the real binary over HTTPS with curl.

Static files: index.html at / and at client-side routes (never at /v1/...), the security
headers on every page, hashed assets cached for a year, brotli/gzip variants chosen by
Accept-Encoding and identical once decoded, ETag + If-None-Match -> 304.
Cookie: login {"cookie": true} sets an HttpOnly; Secure; SameSite=Strict cookie scoped to
the refresh path and leaves refresh_token out of the body; refresh reads and rotates it;
a replayed cookie is refused and expired; logout expires it; the JSON flow is unchanged.
"""

import gzip
import re
import unittest

from device_harness import Api, DeviceServer, PW, uname
from http_harness import Http

COOKIE = "__Secure-iot_refresh"


def set_cookie(r):
    return r.headers.get("set-cookie", "")


def cookie_value(r):
    m = re.match(COOKIE + r"=([^;]*);", set_cookie(r))
    assert m, r.headers
    return m.group(1)


class TestStatic(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = DeviceServer().start()
        cls.http = Http(cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def get(self, path, *headers):
        return self.http.call("GET", path, headers=headers)

    def assert_secure_headers(self, r):
        csp = r.headers["content-security-policy"]
        self.assertIn("script-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertIn("default-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertEqual(r.headers["x-content-type-options"], "nosniff")
        self.assertEqual(r.headers["referrer-policy"], "no-referrer")

    def assets(self):
        html = self.get("/").raw.decode()
        return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)

    def test_index_at_root_with_security_headers(self):
        r = self.get("/")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/html"))
        self.assert_secure_headers(r)
        self.assertEqual(r.headers["cache-control"], "no-cache")
        html = r.raw.decode()
        # no inline script: every <script> names its source
        for tag in re.findall(r"<script[^>]*>", html):
            self.assertIn("src=", tag)
        self.assertNotRegex(html, r"<script[^>]*>[^<]+</script>")
        self.assertNotRegex(html, r"\son[a-z]+=")

    def test_client_routes_get_index_but_api_paths_do_not(self):
        root = self.get("/").raw
        for path in ("/devices", "/devices/0123abcd", "/signin", "/admin/users"):
            r = self.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(r.raw, root, path)
            self.assert_secure_headers(r)
        for path in ("/v1/nothing-here", "/v1", "/favicon.ico", "/assets/nope-1234.js",
                     "/assets/x"):
            r = self.get(path)
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.json["error"]["code"], "not_found", path)
        self.assertEqual(self.http.call("POST", "/devices", {}).status, 404)

    def test_assets_hashed_immutable_and_compressed(self):
        names = self.assets()
        self.assertEqual(len(names), 2, names)
        for path in names:
            self.assertRegex(path, r"/assets/[a-z]+-[A-Z0-9]{8}\.(js|css)$")
            plain = self.get(path)
            self.assertEqual(plain.status, 200)
            self.assertNotIn("content-encoding", plain.headers)
            self.assertEqual(plain.headers["cache-control"], "public, max-age=31536000, immutable")
            self.assertEqual(plain.headers["vary"], "Accept-Encoding")
            self.assert_secure_headers(plain)
            gz = self.get(path, "Accept-Encoding: gzip, deflate")
            self.assertEqual(gz.headers["content-encoding"], "gzip")
            self.assertEqual(gzip.decompress(gz.raw), plain.raw)
            self.assertLess(len(gz.raw), len(plain.raw))
            br = self.get(path, "Accept-Encoding: gzip, deflate, br")
            self.assertEqual(br.headers["content-encoding"], "br")
            self.assertLess(len(br.raw), len(gz.raw))
            self.assertEqual(br.headers["etag"], plain.headers["etag"])
            # q=0 refuses a coding [RFC 9110 12.5.3]
            no_br = self.get(path, "Accept-Encoding: br;q=0, gzip")
            self.assertEqual(no_br.headers["content-encoding"], "gzip")
            none = self.get(path, "Accept-Encoding: *;q=0")
            self.assertNotIn("content-encoding", none.headers)
            self.assertEqual(none.raw, plain.raw)

    def test_etag_revalidation(self):
        for path in ["/"] + self.assets():
            r = self.get(path)
            tag = r.headers["etag"]
            self.assertRegex(tag, r'^"[0-9a-f]{20}"$')
            again = self.get(path, "If-None-Match: " + tag)
            self.assertEqual(again.status, 304, path)
            self.assertEqual(again.raw, b"")
            self.assertEqual(again.headers["etag"], tag)
            weak = self.get(path, 'If-None-Match: "x", W/' + tag)
            self.assertEqual(weak.status, 304, path)
            other = self.get(path, 'If-None-Match: "0000"')
            self.assertEqual(other.status, 200, path)


class TestRefreshCookie(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = DeviceServer()
        cls.user = cls.srv.add_user(uname("web"))
        cls.srv.start()
        cls.api = Api(cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def call(self, *a, **kw):
        return self.api.call(*a, **kw)

    def login_cookie(self):
        r = self.call("POST", "/v1/auth/login", {"username": self.user, "password": PW,
                                                 "cookie": True})
        self.assertEqual(r.status, 200, r.raw)
        return r

    def refresh_with(self, value):
        return self.call("POST", "/v1/auth/refresh", headers=("Cookie: %s=%s" % (COOKIE, value),))

    def test_login_sets_a_locked_down_cookie(self):
        r = self.login_cookie()
        self.assertNotIn("refresh_token", r.json)
        self.assertIn("access_token", r.json)
        attrs = [a.strip() for a in set_cookie(r).split(";")]
        for a in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/v1/auth/refresh"):
            self.assertIn(a, attrs)
        self.assertTrue(any(a.startswith("Max-Age=") and int(a[8:]) > 0 for a in attrs), attrs)
        self.assertEqual(r.headers["cache-control"], "no-store")
        self.assertEqual(self.call("GET", "/v1/me", token=r.json["access_token"]).status, 200)

    def test_refresh_rotates_the_cookie_and_replay_is_refused(self):
        first = cookie_value(self.login_cookie())
        r = self.refresh_with(first)
        self.assertEqual(r.status, 200, r.raw)
        self.assertNotIn("refresh_token", r.json)
        second = cookie_value(r)
        self.assertNotEqual(second, first)
        self.assertEqual(self.call("GET", "/v1/me", token=r.json["access_token"]).status, 200)
        # the rotated-out cookie was copied: refused, the family revoked, the cookie expired
        again = self.refresh_with(first)
        self.assertEqual(again.status, 401, again.raw)
        self.assertIn("Max-Age=0", set_cookie(again))
        self.assertEqual(self.refresh_with(second).status, 401)

    def test_refresh_without_token_or_cookie_is_400(self):
        r = self.call("POST", "/v1/auth/refresh")
        self.assertEqual(r.status, 400, r.raw)
        self.assertEqual(r.json["error"]["field"], "refresh_token")
        r = self.refresh_with("not-a-token")
        self.assertEqual(r.status, 401, r.raw)

    def test_logout_expires_the_cookie(self):
        r = self.login_cookie()
        value = cookie_value(r)
        out = self.call("POST", "/v1/auth/logout", token=r.json["access_token"])
        self.assertEqual(out.status, 204)
        self.assertIn(COOKIE + "=;", set_cookie(out))
        self.assertIn("Max-Age=0", set_cookie(out))
        self.assertEqual(self.refresh_with(value).status, 401)

    def test_json_flow_unchanged(self):
        r = self.call("POST", "/v1/auth/login", {"username": self.user, "password": PW})
        self.assertEqual(r.status, 200)
        self.assertIn("refresh_token", r.json)
        self.assertNotIn("set-cookie", r.headers)
        r2 = self.call("POST", "/v1/auth/refresh", {"refresh_token": r.json["refresh_token"]})
        self.assertEqual(r2.status, 200, r2.raw)
        self.assertIn("refresh_token", r2.json)
        self.assertNotIn("set-cookie", r2.headers)
        r3 = self.call("POST", "/v1/auth/login", {"username": self.user, "password": PW,
                                                  "cookie": "yes"})
        self.assertEqual(r3.status, 400, r3.raw)


if __name__ == "__main__":
    unittest.main()
