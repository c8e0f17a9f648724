#!/usr/bin/python3
"""Admission figures for issue #14 (items 1 and 6), against one iotcloud binary.

  bench/accept_flood.py flood BIN [NOFILE] [CONNS]     (defaults 512, 3000)
      Starts BIN under RLIMIT_NOFILE=NOFILE, opens CONNS plain MQTT connections from six
      127.0.0.x addresses (each sends a CONNECT), holds them 3 s, closes them all, then
      reports: server CPU seconds during the flood and in the 5 s after it closed, log
      bytes written, whether a fresh client gets CONNACK during and after it, whether SIGTERM
      stops the server within 10 s.
  bench/accept_flood.py halfopen BIN [SOCKETS]         (default 2000)
      Opens SOCKETS TLS connections that send 5 bytes (a record header) and stall;
      reports the server's RSS growth per socket.

Extra server flags can follow after "--" (e.g. -- --max-handshakes 5000).
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
ADDRS = ["127.0.0.%d" % i for i in range(2, 8)]


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def connect_pkt(cid):
    cid = cid.encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(cid).to_bytes(2, "big") + cid
    return bytes([0x10, len(body)]) + body


def start(binary, nofile, extra):
    d = tempfile.mkdtemp(prefix="iotcloud-bench-")
    port, tls_port = free_port(), free_port()
    log = open(os.path.join(d, "log"), "wb")
    cmd = ["prlimit", "--nofile=%d:%d" % (nofile, nofile), "--", binary, "--data-dir", d,
           "--allow-anonymous", "--workers", "2", "--listen", "mqtt://%s:%d" % (HOST, port),
           "--listen", "mqtts://%s:%d" % (HOST, tls_port)] + extra
    p = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection((HOST, tls_port), timeout=0.5).close()
            socket.create_connection((HOST, port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    time.sleep(0.5)
    return p, port, tls_port, os.path.join(d, "log")


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_from(ip, port, timeout):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((ip, 0))
    s.connect((HOST, port))
    return s


def flood_conns(port, total, first):
    socks, per = [], total // len(ADDRS)
    for ip in ADDRS:
        failed = 0
        for i in range(per):
            try:
                s = open_from(ip, port, 0.3)
                s.sendall(first(i))
                socks.append(s)
            except OSError:
                failed += 1
                if failed == 5:
                    break
    return socks


def fresh_connack(port):
    try:
        s = open_from("127.0.0.60", port, 2.0)
        s.sendall(connect_pkt("fresh"))
        return s.recv(4)[:1] == b"\x20"
    except OSError:
        return False


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
        return True
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return False


def flood(binary, nofile, conns, extra):
    p, port, _, log = start(binary, nofile, extra)
    c0 = cpu(p.pid)
    socks = flood_conns(port, conns, lambda i: connect_pkt("f%d-%f" % (i, time.time())))
    time.sleep(3)
    c1 = cpu(p.pid)
    during = fresh_connack(port)
    for s in socks:
        s.close()
    time.sleep(5)
    c2 = cpu(p.pid)
    ok = fresh_connack(port)
    size = os.path.getsize(log)
    stopped = stop(p)
    print("flood: %d connections opened (limit %d): CPU %.2f s during, %.2f s in the 5 s "
          "after; log %d bytes; fresh CONNACK during: %s, after: %s; SIGTERM: %s"
          % (len(socks), nofile, c1 - c0, c2 - c1, size, during, ok,
             "ok" if stopped else "ignored"))


def halfopen(binary, n, extra):
    p, _, tls_port, _ = start(binary, 20000, extra)
    time.sleep(0.5)
    r0 = rss_kb(p.pid)
    socks = flood_conns(tls_port, n, lambda i: b"\x16\x03\x01\x02\x00")
    time.sleep(2)
    r1 = rss_kb(p.pid)
    print("halfopen: %d TLS sockets with 5 bytes each: RSS %d -> %d KiB, %.0f bytes per socket"
          % (len(socks), r0, r1, (r1 - r0) * 1024.0 / max(1, len(socks))))
    for s in socks:
        s.close()
    stop(p)


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    if len(args) < 2:
        sys.exit(__doc__)
    if args[0] == "flood":
        flood(args[1], int(args[2]) if len(args) > 2 else 512,
              int(args[3]) if len(args) > 3 else 3000, extra)
    else:
        halfopen(args[1], int(args[2]) if len(args) > 2 else 2000, extra)


if __name__ == "__main__":
    main()
