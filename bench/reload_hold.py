#!/usr/bin/env python3
"""Certificate reload under connected TLS clients (issue #22): starts an iotcloud on
loopback, opens N MQTT-over-TLS connections (CONNECT/CONNACK), reloads with a new server
certificate through `iotcloud reload`, and reports how long the reload took, how many of
the N connections still answer a PINGREQ afterwards, and whether a new connection sees
the new certificate. Bounded: N connections, one reload, then everything is closed.

Usage: bench/reload_hold.py IOTCLOUD_BINARY [N=1000]
"""

import os
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pki(directory, name):
    key, crt = os.path.join(directory, name + ".key"), os.path.join(directory, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=" + name, "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return crt, key


def connect_pkt(cid):
    cid = cid.encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(cid).to_bytes(2, "big") + cid
    return bytes([0x10, len(body)]) + body


def recv_n(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def open_clients(port, n):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    socks = []
    for i in range(n):
        s = ctx.wrap_socket(socket.create_connection((HOST, port), timeout=10))
        s.sendall(connect_pkt("rh%d" % i))
        if recv_n(s, 4)[3] != 0:
            raise SystemExit("CONNACK refused for client %d" % i)
        socks.append(s)
    return socks, ctx


def alive(socks):
    ok = 0
    for s in socks:
        try:
            s.sendall(b"\xc0\x00")
            if recv_n(s, 2) == b"\xd0\x00":
                ok += 1
        except (OSError, ConnectionError):
            pass
    return ok


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))
    tmp = tempfile.mkdtemp(prefix="reload-hold-")
    a_crt, a_key = pki(tmp, "old")
    b_crt, b_key = pki(tmp, "new")
    conf = os.path.join(tmp, "iotcloud.conf")
    with open(conf, "w") as f:
        f.write("cert %s\nkey %s\nallow-anonymous true\n" % (a_crt, a_key))
    port = free_port()
    data = os.path.join(tmp, "data")
    srv = subprocess.Popen([binary, "--config", conf, "--data-dir", data, "--listen",
                            "mqtts://%s:%d" % (HOST, port), "--max-conns-per-ip", "0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.05)
        socks, ctx = open_clients(port, n)
        with open(conf, "w") as f:
            f.write("cert %s\nkey %s\nallow-anonymous true\n" % (b_crt, b_key))
        t0 = time.monotonic()
        r = subprocess.run([binary, "reload", "--data-dir", data], capture_output=True,
                           text=True, timeout=30)
        took = (time.monotonic() - t0) * 1000
        still = alive(socks)
        with ctx.wrap_socket(socket.create_connection((HOST, port), timeout=10)) as s:
            new_der = s.getpeercert(binary_form=True)
        with open(b_crt) as f:
            want = ssl.PEM_cert_to_DER_cert(f.read())
        print("connections %d, reload %s in %.1f ms (iotcloud reload, wall), alive after "
              "%d/%d, new connection has the new certificate: %s"
              % (n, "ok" if r.returncode == 0 else "REFUSED", took, still, n, new_der == want))
        for s in socks:
            s.close()
    finally:
        srv.terminate()
        srv.wait(60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
