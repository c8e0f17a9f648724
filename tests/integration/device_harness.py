"""Device-identity helpers for the integration tests: users made with the CLI, CSRs made with
`openssl req`, registration over the REST API, and MQTT clients that present a device
certificate, a device secret or a user's access token.

  DeviceServer   HttpServer without anonymous MQTT; users(...) creates users before start
  make_csr       (key_path, csr_pem) from the openssl CLI
  Api            login(user) -> token; register(token, name, csr=.. | generate_key=True)
  device_ctx     ssl context presenting a device certificate (cert/key files)
  mqtt_client    harness.Client with optional credentials
  TwoUserCase    a test case on one DeviceServer with two logged-in users and a scratch dir
"""

import os
import shutil
import ssl
import subprocess
import tempfile
import unittest
import uuid

from harness import HOST, Client, iotcloud_bin
from http_harness import Http, HttpServer

PW = "correct horse battery"


# Suites register and rotate far more per user than the per-hour defaults allow, and wait
# for revocations to reach the CRL; the limits and the CRL interval have their own tests
# (test_cert_rotation.py), which pass them explicitly.
UNLIMITED = ("--device-rotate-per-hour", "0", "--device-register-per-hour", "0",
             "--crl-interval", "1")
CRL_WAIT = 15.0  # seconds a revocation may take to reach the served CRL in tests


class DeviceServer(HttpServer):
    def __init__(self, extra_args=(), **kw):
        kw.setdefault("allow_anonymous", False)
        extra = list(extra_args)
        for i in range(0, len(UNLIMITED), 2):
            if UNLIMITED[i] not in extra:
                extra += UNLIMITED[i:i + 2]
        super().__init__(extra_args=extra, **kw)

    def add_user(self, name, admin=False):
        """Creates a confirmed user with the CLI (the server must not be running yet)."""
        cmd = [iotcloud_bin(), "user", "add", "--data-dir", self.data_dir]
        if admin:
            cmd.append("--admin")
        p = subprocess.run(cmd + [name], input=(PW + "\n").encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        assert p.returncode == 0, p.stderr
        return name


def uname(prefix="u"):
    return prefix + uuid.uuid4().hex[:10]


def make_csr(directory, kind="ec256", cn="anything"):
    """A key and CSR made by `openssl req`; returns (key_path, csr_pem)."""
    key = os.path.join(directory, uuid.uuid4().hex + ".key")
    opts = {"ec256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "ec384": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "rsa2048": ["-newkey", "rsa:2048"],
            "rsa1024": ["-newkey", "rsa:1024"],
            "ed25519": ["-newkey", "ed25519"]}[kind]
    p = subprocess.run(["openssl", "req", "-new", "-nodes", "-keyout", key, "-subj", "/CN=" + cn]
                       + opts, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr
    return key, p.stdout.decode()


def write(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class Api:
    def __init__(self, server):
        self.http = Http(server)

    def call(self, *a, **kw):
        return self.http.call(*a, **kw)

    def login(self, user, password=PW):
        r = self.call("POST", "/v1/auth/login", {"username": user, "password": password})
        assert r.status == 200, r.raw
        return r.json["access_token"]

    def register(self, token, name=None, **fields):
        body = {"name": name or uname("dev")}
        body.update(fields)
        r = self.call("POST", "/v1/devices", body, token=token)
        assert r.status == 201, r.raw
        return r.json


class Device:
    """A registered device with its key and certificate in files."""

    def __init__(self, directory, reg, key_path):
        self.id = reg["id"]
        self.reg = reg
        self.key = key_path
        self.cert = write(directory, self.id + ".crt", reg["certificate"]["pem"])

    def ctx(self, cafile):
        return device_ctx(cafile, self.cert, self.key)


def register_device(api, token, directory, kind="ec256", name=None):
    key, csr = make_csr(directory, kind)
    return Device(directory, api.register(token, name=name, csr=csr), key)


def device_ctx(cafile, cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    ctx.load_cert_chain(cert, key)
    return ctx


def mqtt_client(server, client_id, ctx=None, username=None, password=None, clean=True):
    c = Client(server.tls_port, client_id=client_id, clean_session=clean,
               tls_context=ctx or server.tls_context())
    if username is not None:
        c.c.username_pw_set(username, password)
    return c


def scratch_dir():
    return tempfile.mkdtemp(prefix="iotcloud-dev-")


class TwoUserCase(unittest.TestCase):
    """One DeviceServer (extra arguments in EXTRA) for the class, with users `user` and
    `other` logged in (`token`, `other_token`), `api`, and a scratch dir `dir`."""

    EXTRA = ()

    @classmethod
    def setUpClass(cls):
        cls.srv = DeviceServer(extra_args=cls.EXTRA)
        cls.user = cls.srv.add_user(uname("owner"))
        cls.other = cls.srv.add_user(uname("other"))
        cls.srv.start()
        cls.addClassCleanup(cls.srv.kill9)  # runs even when setUpClass raises below
        cls.api = Api(cls.srv)
        cls.token = cls.api.login(cls.user)
        cls.other_token = cls.api.login(cls.other)
        cls.dir = scratch_dir()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)
