"""Shared harness for the iotcloud integration tests (MQTT 3.1.1 broker).

The broker under test is the binary named by $IOTCLOUD_BIN.  With IOT_TEST_BROKER=mosquitto
the same tests run against Debian's mosquitto instead (to validate the tests themselves);
iotcloud-only checks are skipped there through @iotcloud_only.

Pieces:
  Broker        start/stop one broker process in a temp data dir on free ports
  RawClient     a byte-level MQTT client for protocol and malformed-input tests
  Client        a paho-mqtt 1.x wrapper that waits for acks and collects messages
  BrokerCase    unittest base class: one broker per test class, clients cleaned up per test

Suite bookkeeping (suite_check.py reads it; ctest sets $IOT_TEST_STATE to build/itest):
  track_process / track_pid  every process a test starts is recorded; one still alive when
                             the test file exits is killed and fails the file, and the
                             last ctest entry fails for any that escaped even that
  skips                      every skipped test is recorded with its reason, so each
                             stage of scripts/test.sh can print how many were skipped

Run one file by hand:
  IOTCLOUD_BIN=build/iotcloud /usr/bin/python3 tests/integration/test_pubsub.py
  IOT_TEST_BROKER=mosquitto /usr/bin/python3 tests/integration/test_pubsub.py
"""

import atexit
import os
import random
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import uuid
from collections import namedtuple

import paho.mqtt.client as mqtt

HOST = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
WAIT = 5.0  # default timeout for anything we expect to happen

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "WARNING: ThreadSanitizer")

MODE = os.environ.get("IOT_TEST_BROKER", "iotcloud")
MOSQUITTO = MODE == "mosquitto"


# ---- suite bookkeeping: processes started, tests skipped --------------------------------

STATE_DIR = os.environ.get("IOT_TEST_STATE")
_tracked = []  # (pid, start time, what) of every process this test file started


def _record(name, line):
    """Appends one line to $IOT_TEST_STATE/@name (one write on an O_APPEND file, so lines
    from test files running in parallel do not interleave)."""
    if not STATE_DIR:
        return
    os.makedirs(STATE_DIR, exist_ok=True)
    fd = os.open(os.path.join(STATE_DIR, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))
    finally:
        os.close(fd)


def proc_start_time(pid):
    """The kernel's start time of @pid (so a reused pid is not mistaken for ours), or None
    when no such process is alive (a zombie counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def track_pid(pid, what):
    """Records a process a test started (directly or through a script) and must stop."""
    start = proc_start_time(pid)
    if start is None:
        return
    _tracked.append((pid, start, what))
    _record("pids", "%d %s %s" % (pid, start, what))


def track_process(proc, what=None):
    """track_pid for a subprocess.Popen; returns @proc."""
    track_pid(proc.pid, what or " ".join(str(a) for a in proc.args[:3]))
    return proc


def leftover_processes():
    """The tracked processes still alive: [(pid, what)]."""
    return [(pid, what) for pid, start, what in _tracked if proc_start_time(pid) == start]


@atexit.register
def _fail_on_leftovers():
    """A test file may not leave a process behind: kill it and fail the file."""
    left = leftover_processes()
    if not left:
        return
    for pid, what in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        print("harness: LEAK: pid %d (%s) still running when the test file ended; killed"
              % (pid, what), flush=True)
    os._exit(1)


_unittest_add_skip = unittest.TestResult.addSkip


def _add_skip(self, test, reason):
    _record("skips", "%s: %s" % (test.id(), reason))
    return _unittest_add_skip(self, test, reason)


unittest.TestResult.addSkip = _add_skip


def iotcloud_only(reason):
    """Skips a test (or class) when the suite runs against mosquitto."""
    return unittest.skipIf(MOSQUITTO, "iotcloud-only: " + reason)


# Ports handed to servers we start come from below the kernel's ephemeral range (32768+),
# so the outgoing connections of tests running in parallel cannot take them between the
# check here and the server's bind.
_PORT_LOW, _PORT_HIGH = 20000, 32000
_given_ports = set()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago and not handed out before."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(_PORT_LOW, _PORT_HIGH)
        if port in _given_ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        _given_ports.add(port)
        return port
    raise AssertionError("no free port in %d..%d" % (_PORT_LOW, _PORT_HIGH))


def uniq(prefix="c"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def iotcloud_bin():
    path = os.environ.get("IOTCLOUD_BIN")
    if not path:
        raise RuntimeError("IOTCLOUD_BIN is not set (ctest sets it; or use IOT_TEST_BROKER=mosquitto)")
    if not os.access(path, os.X_OK):
        raise RuntimeError("IOTCLOUD_BIN=%s is not an executable" % path)
    return path


def npm_modules(src_dir, name):
    """The npm packages of test tooling folder @src_dir (its package.json and committed
    package-lock.json), installed with `npm ci` beside the binary under test on first use
    (again when the lock file changes). Returns the node_modules path for NODE_PATH. No
    node or npm fails the test: scripts/deps.sh installs them."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise AssertionError("node and npm are missing: run scripts/deps.sh --test")
    dest = os.path.join(os.path.dirname(os.path.abspath(iotcloud_bin())), "npm", name)
    lock = os.path.join(src_dir, "package-lock.json")
    have = os.path.join(dest, "package-lock.json")
    with open(lock, "rb") as f:
        want = f.read()
    same = False
    if os.path.exists(have):
        with open(have, "rb") as f:
            same = f.read() == want
    if not same or not os.path.isdir(os.path.join(dest, "node_modules")):
        os.makedirs(dest, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(src_dir, f), dest)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", dest], check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
    return os.path.join(dest, "node_modules")


def run_cli(args, timeout=10.0):
    """Runs the iotcloud binary to completion (for --help / bad config checks)."""
    return subprocess.run([iotcloud_bin()] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, text=True, errors="replace")


def sanitizer_findings(text):
    return [m for m in SANITIZER_MARKERS if m in text]


# ---- certificates for the mosquitto mode (iotcloud makes its own) ------------------------

def make_test_pki(directory):
    """Root CA plus a server certificate for localhost/127.0.0.1, made with the openssl CLI.
    Returns (ca_crt, server_crt, server_key)."""
    ca_key = os.path.join(directory, "ca.key")
    ca_crt = os.path.join(directory, "ca.crt")
    srv_key = os.path.join(directory, "server.key")
    srv_csr = os.path.join(directory, "server.csr")
    srv_crt = os.path.join(directory, "server.crt")
    ext = os.path.join(directory, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    cmds = [
        ["openssl", "req", "-x509"] + ec + ["-keyout", ca_key, "-out", ca_crt, "-days", "2",
         "-subj", "/CN=itest root CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", "-new"] + ec + ["-keyout", srv_key, "-out", srv_csr,
         "-subj", "/CN=localhost"],
        ["openssl", "x509", "-req", "-in", srv_csr, "-CA", ca_crt, "-CAkey", ca_key,
         "-CAcreateserial", "-out", srv_crt, "-days", "2", "-extfile", ext],
    ]
    for cmd in cmds:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return ca_crt, srv_crt, srv_key


def _mosquitto_conf(b, extra_args):
    """Translates the iotcloud flags we use into a mosquitto.conf."""
    opts = {}
    args = list(extra_args)
    while args:
        flag = args.pop(0)
        if flag == "--log-level":
            opts["debug"] = args.pop(0) == "debug"
        elif flag in ("--workers", "--connect-timeout"):
            args.pop(0)  # no mosquitto equivalent; tests relying on them are iotcloud-only
        elif flag in ("--max-inflight", "--max-queued", "--max-packet-size", "--max-keepalive"):
            opts[flag] = int(args.pop(0))
        else:
            raise unittest.SkipTest("flag %s has no mosquitto equivalent" % flag)
    ca, crt, key = make_test_pki(b.data_dir)
    b.cafile = ca
    lines = ["user root" if os.geteuid() == 0 else "",
             "per_listener_settings false",
             "allow_anonymous %s" % ("true" if b.allow_anonymous else "false"),
             "persistence false",
             "log_dest stderr",
             "log_type all" if opts.get("debug") else "log_type error",
             "log_type warning"]
    if "--max-inflight" in opts:
        lines.append("max_inflight_messages %d" % opts["--max-inflight"])
    if "--max-queued" in opts:
        lines.append("max_queued_messages %d" % opts["--max-queued"])
    if "--max-packet-size" in opts:
        lines.append("max_packet_size %d" % opts["--max-packet-size"])
        lines.append("message_size_limit %d" % opts["--max-packet-size"])
    if "--max-keepalive" in opts:
        lines.append("max_keepalive %d" % opts["--max-keepalive"])
    lines += ["listener %d %s" % (b.port, HOST),
              "listener %d %s" % (b.tls_port, HOST),
              "cafile %s" % ca, "certfile %s" % crt, "keyfile %s" % key,
              "tls_version tlsv1.2"]
    path = os.path.join(b.data_dir, "mosquitto.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return ["mosquitto", "-c", path]


# ---- the broker process --------------------------------------------------------------------

class PortClash(AssertionError):
    """The server could not bind a port we picked: another process took it meanwhile."""


class Broker:
    """One broker process. start() waits until both listeners accept connections; stop()
    sends SIGTERM and checks exit code 0 and a clean sanitizer report."""

    def __init__(self, extra_args=(), allow_anonymous=True, data_dir=None):
        self.extra_args = list(extra_args)
        self.allow_anonymous = allow_anonymous
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="iotcloud-itest-")
        self._pick_ports()
        self.cafile = os.path.join(self.data_dir, "ca", "ca.crt")
        self.proc = None
        self.stderr_path = os.path.join(self.data_dir, "broker.stderr")
        self._stderr = None

    def command(self):
        if MOSQUITTO:
            return _mosquitto_conf(self, self.extra_args)
        cmd = [iotcloud_bin(), "--data-dir", self.data_dir]
        if self.allow_anonymous:
            cmd.append("--allow-anonymous")
        cmd += ["--listen", "mqtt://%s:%d" % (HOST, self.port),
                "--listen", "mqtts://%s:%d" % (HOST, self.tls_port)]
        return cmd + self.extra_args

    def _pick_ports(self):
        """New listener ports after a clash with another process (subclasses add theirs)."""
        self.port = free_port()
        self.tls_port = free_port()

    def listen_ports(self):
        """The ports start() waits for."""
        return [self.port, self.tls_port]

    def start(self, attempts=3):
        for attempt in range(attempts):
            try:
                return self._start_once()
            except PortClash:
                if attempt + 1 == attempts:
                    raise
                self._pick_ports()
        return self

    def _start_once(self):
        cmd = self.command()
        self._stderr = open(self.stderr_path, "ab")
        log_from = self._stderr.tell()
        self.proc = track_process(subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                                   stdout=self._stderr, stderr=self._stderr))
        deadline = time.monotonic() + START_TIMEOUT
        pending = self.listen_ports()
        while pending:
            if self.proc.poll() is not None:
                self._close_log()
                text = self.stderr_text()
                if "Address already in use" in text[log_from:]:
                    raise PortClash(text[log_from:])
                raise AssertionError("broker exited with %s during start-up: %s\n%s"
                                     % (self.proc.returncode, cmd, text))
            if time.monotonic() > deadline:
                self.kill9()
                raise AssertionError("broker did not listen on %s within %.0f s: %s\n%s"
                                     % (pending, START_TIMEOUT, cmd, self.stderr_text()))
            try:
                socket.create_connection((HOST, pending[0]), timeout=0.5).close()
                pending.pop(0)
            except OSError:
                time.sleep(0.05)
        return self

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def assert_running(self):
        if not self.running():
            raise AssertionError("broker died (exit %s):\n%s"
                                 % (self.proc.returncode, self.stderr_text()))

    def signal_and_wait(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends @sig and returns the exit code (kills with SIGKILL after @timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError("broker ignored signal %d for %.0f s:\n%s"
                                 % (sig, timeout, self.stderr_text()))
        self._close_log()
        return rc

    def stop(self, sig=signal.SIGTERM):
        """Clean shutdown: exit code 0 and no sanitizer report; removes the data dir."""
        if self.proc is None:
            return
        rc = self.signal_and_wait(sig)
        err = self.stderr_text()
        found = sanitizer_findings(err)
        if rc != 0 or found:
            raise AssertionError("broker shutdown: exit %s, sanitizer %s\n%s" % (rc, found, err))
        self.cleanup()

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)
        self._close_log()

    def cleanup(self):
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _close_log(self):
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def tls_context(self, alpn=None):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.cafile)
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx


# ---- MQTT packet encoding (client side) ----------------------------------------------------

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14

PINGREQ_PKT = b"\xc0\x00"
DISCONNECT_PKT = b"\xe0\x00"


def enc_varint(n):
    out = bytearray()
    while True:
        digit = n % 128
        n //= 128
        if n:
            digit |= 0x80
        out.append(digit)
        if not n:
            return bytes(out)


def enc_bytes(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return struct.pack("!H", len(b)) + b


def packet(first_byte, body=b""):
    return bytes([first_byte]) + enc_varint(len(body)) + body


def connect_pkt(client_id, clean=True, keepalive=60, will=None, username=None,
                password=None, proto=b"MQTT", level=4, flags_or=0):
    """@will is (topic, payload, qos, retain)."""
    flags = 0x02 if clean else 0
    payload = enc_bytes(client_id)
    if will:
        topic, msg, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += enc_bytes(topic) + enc_bytes(msg)
    if username is not None:
        flags |= 0x80
        payload += enc_bytes(username)
    if password is not None:
        flags |= 0x40
        payload += enc_bytes(password)
    body = enc_bytes(proto) + bytes([level, flags | flags_or]) + struct.pack("!H", keepalive)
    return packet(0x10, body + payload)


def publish_pkt(topic, payload=b"", qos=0, retain=False, dup=False, pid=None):
    if isinstance(payload, str):
        payload = payload.encode()
    first = 0x30 | (qos << 1) | (0x01 if retain else 0) | (0x08 if dup else 0)
    body = enc_bytes(topic)
    if qos:
        body += struct.pack("!H", pid if pid is not None else 1)
    return packet(first, body + payload)


def subscribe_pkt(pid, filters, flags=0x02):
    """@filters is a list of (filter, qos)."""
    body = struct.pack("!H", pid)
    for f, q in filters:
        body += enc_bytes(f) + bytes([q])
    return packet(0x80 | flags, body)


def unsubscribe_pkt(pid, filters):
    return packet(0xA2, struct.pack("!H", pid) + b"".join(enc_bytes(f) for f in filters))


def ack_pkt(ptype, pid):
    flags = 0x02 if ptype == PUBREL else 0
    return packet((ptype << 4) | flags, struct.pack("!H", pid))


Packet = namedtuple("Packet", "type flags body")
Publish = namedtuple("Publish", "topic payload qos retain dup pid")


def parse_publish(pkt):
    assert pkt.type == PUBLISH, "expected PUBLISH, got %r" % (pkt,)
    qos = (pkt.flags >> 1) & 3
    (tlen,) = struct.unpack("!H", pkt.body[:2])
    topic = pkt.body[2:2 + tlen].decode("utf-8")
    off = 2 + tlen
    pid = None
    if qos:
        (pid,) = struct.unpack("!H", pkt.body[off:off + 2])
        off += 2
    return Publish(topic, pkt.body[off:], qos, bool(pkt.flags & 1), bool(pkt.flags & 8), pid)


# ---- raw socket client ---------------------------------------------------------------------

class RawClient:
    """Talks MQTT byte by byte so tests can send anything and see exactly what comes back."""

    def __init__(self, port, tls_context=None, timeout=WAIT):
        sock = socket.create_connection((HOST, port), timeout=timeout)
        if tls_context is not None:
            sock = tls_context.wrap_socket(sock, server_hostname=HOST)
        self.sock = sock
        self.buf = b""
        self.closed = False

    def send(self, data, tolerate_close=False):
        """Sends all of @data. With @tolerate_close a peer that already closed is not an
        error (the broker may drop us before a malformed packet is fully written)."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            if not tolerate_close:
                raise

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        self.buf += chunk

    def recv_exact(self, n, timeout=WAIT):
        deadline = time.monotonic() + timeout
        try:
            while len(self.buf) < n:
                self._fill(deadline)
        except socket.timeout:
            raise AssertionError("timed out after %.1f s waiting for %d bytes (have %r)"
                                 % (timeout, n, self.buf[:64]))
        except (ConnectionError, ssl.SSLError) as e:
            raise AssertionError("connection lost waiting for %d bytes (have %r): %s"
                                 % (n, self.buf[:64], e))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_packet(self, timeout=WAIT):
        deadline = time.monotonic() + timeout
        first = self.recv_exact(1, timeout)[0]
        length, mult = 0, 1
        for _ in range(4):
            b = self.recv_exact(1, max(0.01, deadline - time.monotonic()))[0]
            length += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        else:
            raise AssertionError("broker sent a remaining length longer than 4 bytes")
        body = self.recv_exact(length, max(0.01, deadline - time.monotonic()))
        return Packet(first >> 4, first & 0x0F, body)

    def expect_packet(self, ptype, timeout=WAIT):
        pkt = self.read_packet(timeout)
        if pkt.type != ptype:
            raise AssertionError("expected packet type %d, got %r" % (ptype, pkt))
        return pkt

    def read_publish(self, timeout=WAIT):
        return parse_publish(self.read_packet(timeout))

    def assert_silent(self, wait=0.3):
        """Nothing arrives within @wait seconds (and the connection stays open)."""
        deadline = time.monotonic() + wait
        try:
            while not self.buf:
                self._fill(deadline)
        except socket.timeout:
            return
        except (ConnectionError, ssl.SSLError, OSError) as e:
            raise AssertionError("connection closed while expecting silence: %s" % e)
        raise AssertionError("unexpected data from the broker: %r" % self.buf[:64])

    def expect_closed(self, timeout=WAIT):
        """Reads until the broker closes the connection; returns any bytes it sent first.
        Fails if the connection is still open after @timeout seconds."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except socket.timeout:
            raise AssertionError("broker did not close the connection within %.1f s (got %r)"
                                 % (timeout, self.buf[:64]))
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        self.close()
        data, self.buf = self.buf, b""
        return data

    def connect(self, client_id=None, clean=True, keepalive=60, will=None, timeout=WAIT, **kw):
        """Sends CONNECT, returns (session_present, return_code) from CONNACK."""
        if client_id is None:
            client_id = uniq("raw")
        self.send(connect_pkt(client_id, clean, keepalive, will, **kw))
        pkt = self.expect_packet(CONNACK, timeout)
        assert pkt.flags == 0 and len(pkt.body) == 2, "bad CONNACK %r" % (pkt,)
        return bool(pkt.body[0] & 1), pkt.body[1]

    def subscribe(self, filters, pid=1, timeout=WAIT):
        """Returns the SUBACK return codes."""
        self.send(subscribe_pkt(pid, filters))
        pkt = self.expect_packet(SUBACK, timeout)
        assert struct.unpack("!H", pkt.body[:2])[0] == pid, "SUBACK packet id mismatch"
        return list(pkt.body[2:])

    def ping(self, timeout=WAIT):
        self.send(PINGREQ_PKT)
        pkt = self.expect_packet(PINGRESP, timeout)
        assert pkt.flags == 0 and pkt.body == b"", "bad PINGRESP %r" % (pkt,)

    def close(self):
        """Drops the socket without DISCONNECT."""
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def abort(self):
        """Drops the socket with a TCP RST."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()


# ---- paho client wrapper -------------------------------------------------------------------

Msg = namedtuple("Msg", "topic payload qos retain dup")


class Client:
    """paho-mqtt 1.x client on its network thread (no automatic reconnect), with
    blocking helpers that wait for CONNACK/SUBACK/UNSUBACK/publish completion."""

    def __init__(self, port, client_id=None, clean_session=True, tls_context=None):
        self.port = port
        self.client_id = client_id if client_id is not None else uniq("paho")
        # paho's own network thread (loop_start) so that publishes from the test thread are
        # handed to it instead of writing the (TLS) socket concurrently; no reconnects.
        self.c = mqtt.Client(client_id=self.client_id, clean_session=clean_session,
                             protocol=mqtt.MQTTv311, reconnect_on_failure=False)
        if tls_context is not None:
            self.c.tls_set_context(tls_context)
        self.cond = threading.Condition()
        self.messages = []
        self.connack = None
        self.subacks = {}
        self.unsubacks = set()
        self.completed = set()
        self.disconnect_rc = None
        self._started = False
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_unsubscribe = self._on_unsubscribe
        self.c.on_publish = self._on_publish
        self.c.on_disconnect = self._on_disconnect

    # callbacks run on the loop thread
    def _on_connect(self, c, ud, flags, rc):
        with self.cond:
            self.connack = (rc, bool(flags.get("session present")))
            self.cond.notify_all()

    def _on_message(self, c, ud, m):
        with self.cond:
            self.messages.append(Msg(m.topic, m.payload, m.qos, bool(m.retain), bool(m.dup)))
            self.cond.notify_all()

    def _on_subscribe(self, c, ud, mid, granted):
        with self.cond:
            self.subacks[mid] = list(granted)
            self.cond.notify_all()

    def _on_unsubscribe(self, c, ud, mid):
        with self.cond:
            self.unsubacks.add(mid)
            self.cond.notify_all()

    def _on_publish(self, c, ud, mid):
        with self.cond:
            self.completed.add(mid)
            self.cond.notify_all()

    def _on_disconnect(self, c, ud, rc):
        with self.cond:
            self.disconnect_rc = rc
            self.cond.notify_all()

    def wait_for(self, pred, timeout, what):
        with self.cond:
            if not self.cond.wait_for(pred, timeout):
                raise AssertionError("%s: timed out after %.1f s (client %s)"
                                     % (what, timeout, self.client_id))

    def connect(self, keepalive=60, will=None, timeout=WAIT):
        """@will is (topic, payload, qos, retain). Returns (rc, session_present)."""
        if will:
            self.c.will_set(will[0], will[1], will[2], will[3])
        self.c.connect(HOST, self.port, keepalive)
        self.c.loop_start()
        self._started = True
        self.wait_for(lambda: self.connack is not None, timeout, "CONNACK")
        return self.connack

    def subscribe(self, topic, qos=0, timeout=WAIT):
        """@topic is a filter string or a list of (filter, qos). Returns granted QoS list."""
        if isinstance(topic, list):
            rc, mid = self.c.subscribe(topic)
        else:
            rc, mid = self.c.subscribe(topic, qos)
        assert rc == mqtt.MQTT_ERR_SUCCESS, "subscribe rc %d" % rc
        self.wait_for(lambda: mid in self.subacks, timeout, "SUBACK")
        return self.subacks[mid]

    def unsubscribe(self, topic, timeout=WAIT):
        rc, mid = self.c.unsubscribe(topic)
        assert rc == mqtt.MQTT_ERR_SUCCESS, "unsubscribe rc %d" % rc
        self.wait_for(lambda: mid in self.unsubacks, timeout, "UNSUBACK")

    def publish(self, topic, payload=b"", qos=0, retain=False, wait=True, timeout=WAIT):
        """For QoS > 0 with @wait, returns once the handshake completed (PUBACK/PUBCOMP)."""
        info = self.c.publish(topic, payload, qos, retain)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, "publish rc %d" % info.rc
        if wait and qos > 0:
            self.wait_for(lambda: info.mid in self.completed, timeout,
                          "publish completion qos %d" % qos)
        return info.mid

    def wait_messages(self, n, timeout=WAIT, topic=None):
        """Waits until @n messages (optionally on @topic) arrived; returns them all."""
        def got():
            return [m for m in self.messages if topic is None or m.topic == topic]
        self.wait_for(lambda: len(got()) >= n, timeout,
                      "waiting for %d messages (have %d)" % (n, len(got())))
        with self.cond:
            return got()

    def assert_no_messages(self, wait=0.3, topic=None):
        time.sleep(wait)
        with self.cond:
            got = [m for m in self.messages if topic is None or m.topic == topic]
        if got:
            raise AssertionError("unexpected messages: %r" % (got[:5],))

    def settle(self, wait=0.2, topic=None):
        """Sleeps @wait (to let unwanted extra copies arrive) and returns the messages."""
        time.sleep(wait)
        with self.cond:
            return [m for m in self.messages if topic is None or m.topic == topic]

    def wait_disconnected(self, timeout=WAIT):
        self.wait_for(lambda: self.disconnect_rc is not None, timeout, "disconnect")

    def disconnect(self):
        """Clean DISCONNECT and stop the loop."""
        if self._started and self.disconnect_rc is None:
            self.c.disconnect()
            try:
                self.wait_disconnected(2.0)
            except AssertionError:
                pass
        self.close()

    def close(self):
        """Stops the network thread. A still-connected client sends DISCONNECT, which also
        wakes paho's select() so loop_stop() does not wait out its 1 s poll."""
        if self._started:
            self._started = False
            if self.disconnect_rc is None:
                self.c.disconnect()
            self.c.loop_stop()
        sock = self.c.socket()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass


# ---- unittest base class -------------------------------------------------------------------

class BrokerCase(unittest.TestCase):
    """One broker per test class (started with broker_args); clients made through
    self.client()/self.raw() are closed after each test, and each test checks the broker is
    still alive."""

    broker_args = ()
    allow_anonymous = True

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(cls.broker_args, allow_anonymous=cls.allow_anonymous).start()
        # tearDownClass does not run when a subclass's setUpClass raises after this;
        # class cleanups do (a no-op once tearDownClass stopped the broker).
        cls.addClassCleanup(cls.broker.kill9)

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def setUp(self):
        self._clients = []
        self.prefix = "it/%s/%s" % (self._testMethodName, uuid.uuid4().hex[:8])

    def tearDown(self):
        for c in self._clients:
            try:
                c.close()
            except Exception:
                pass
        self.broker.assert_running()

    def topic(self, suffix="t"):
        return "%s/%s" % (self.prefix, suffix)

    def client(self, connect=True, client_id=None, clean_session=True, tls=False, alpn=None,
               **kw):
        port = self.broker.tls_port if tls else self.broker.port
        ctx = self.broker.tls_context(alpn) if tls else None
        c = Client(port, client_id, clean_session, ctx)
        self._clients.append(c)
        if connect:
            rc, _ = c.connect(**kw)
            self.assertEqual(rc, 0, "CONNACK return code")
        return c

    def raw(self, connect=False, tls=False, **kw):
        ctx = self.broker.tls_context() if tls else None
        r = RawClient(self.broker.tls_port if tls else self.broker.port, ctx)
        self._clients.append(r)
        if connect:
            sp, rc = r.connect(**kw)
            self.assertEqual(rc, 0, "CONNACK return code")
        return r

    def assert_broker_serves(self):
        """A fresh client still gets CONNACK 0 and a PINGRESP."""
        r = self.raw()
        self.assertEqual(r.connect()[1], 0)
        r.ping()
        r.send(DISCONNECT_PKT)

    def pubsub_roundtrip(self, pub_qos=1, sub_qos=1, payload=None):
        """Subscribes one client, publishes from another, returns the received Msg."""
        t = self.topic("rt")
        payload = payload if payload is not None else os.urandom(32)
        sub = self.client()
        self.assertEqual(sub.subscribe(t, sub_qos), [sub_qos])
        pub = self.client()
        pub.publish(t, payload, pub_qos)
        m = sub.wait_messages(1, topic=t)[0]
        self.assertEqual(m.payload, payload)
        return m


def random_payload(n, seed=0):
    rnd = random.Random(seed)
    return rnd.randbytes(n)
