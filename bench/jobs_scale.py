#!/usr/bin/python3
"""Scale check of jobs (issue 17 section 2): one job to D simulated devices with a rollout
of R executions per minute, run to completion by the C simulator (devsim --jobs: each
device takes its execution with start-next and reports SUCCEEDED), with the job's counts
checked exact at the end (every execution SUCCEEDED, nothing else).

Starts the binary in $IOTCLOUD_BIN with a user and D devices (server-generated keys and
certificates, registered over REST), starts devsim with them, creates the job, polls
GET /v1/jobs/{id} once a second and reports: registration time, time to the last release
(expected D / R minutes), time to completion, releases per minute measured, and the
scheduler's effect on the server (CPU seconds of the server process).

  IOTCLOUD_BIN=build/ci/iotcloud /usr/bin/python3 bench/jobs_scale.py \\
      [--devices 1000] [--rate 1000] [--json out.json]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from device_harness import Api, DeviceServer, scratch_dir, uname  # noqa: E402


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def register(api, tok, n, certdir):
    t0 = time.time()
    for i in range(n):
        r = api.call("POST", "/v1/devices", {"name": "sim%05d" % i, "generate_key": True},
                     token=tok)
        assert r.status == 201, r.raw
        dev = r.json
        with open(os.path.join(certdir, dev["id"] + ".crt"), "w") as f:
            f.write(dev["certificate"]["pem"])
        with open(os.path.join(certdir, dev["id"] + ".key"), "w") as f:
            f.write(dev["private_key"])
    return time.time() - t0


def wait_up(sim, n, timeout):
    end = time.time() + timeout
    while time.time() < end:
        line = sim.stderr.readline()
        if " connected," in line:
            up = int(line.split(" devices, ")[1].split(" connected")[0])
            if up >= n:
                return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=1000, help="maximumPerMinute")
    ap.add_argument("--json")
    a = ap.parse_args()
    srv = DeviceServer(extra_args=("--max-devices-per-user", str(a.devices + 10),
                                   "--max-sessions-per-user", str(a.devices + 100),
                                   "--job-max-targets", str(a.devices),
                                   "--max-conns-per-ip", "0"))
    user = srv.add_user(uname("bench"))
    srv.start()
    d = scratch_dir()
    sim = None
    try:
        api = Api(srv)
        tok = api.login(user)
        certdir = os.path.join(d, "certs")
        os.makedirs(certdir)
        reg_s = register(api, tok, a.devices, certdir)
        exe = os.path.join(os.path.dirname(os.environ["IOTCLOUD_BIN"]), "devsim")
        sim = subprocess.Popen([exe, "--host", "localhost", "--port", str(srv.tls_port),
                                "--cafile", srv.cafile, "--certdir", certdir, "--jobs",
                                "--rate", "500"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        assert wait_up(sim, a.devices, 300), "devsim did not connect every device"
        # keep reading its status lines: a full pipe would stop the simulator
        threading.Thread(target=lambda: [None for _ in sim.stderr], daemon=True).start()
        ids = [f[:-4] for f in os.listdir(certdir) if f.endswith(".crt")]
        tok = api.login(user)
        jid = uname("scale")
        cpu0 = cpu_s(srv.proc.pid)
        t0 = time.time()
        r = api.call("POST", "/v1/jobs", {"jobId": jid, "document": {"operation": "noop"},
                                          "targets": {"devices": ids},
                                          "jobExecutionsRolloutConfig":
                                              {"maximumPerMinute": a.rate}}, token=tok)
        assert r.status == 201, r.raw
        released_at = None
        samples = []
        while True:
            time.sleep(1)
            j = api.call("GET", "/v1/jobs/" + jid, token=tok).json
            samples.append((time.time() - t0, j["rollout"]["released"],
                            j["counts"]["SUCCEEDED"]))
            if released_at is None and j["counts"]["SCHEDULED"] == 0:
                released_at = time.time() - t0
            if j["status"] == "COMPLETED":
                break
            assert time.time() - t0 < a.devices / a.rate * 60 * 3 + 120, j
        done_s = time.time() - t0
        counts = j["counts"]
        exact = counts["SUCCEEDED"] == a.devices and sum(counts.values()) == a.devices
        out = {"devices": a.devices, "rate_per_min": a.rate, "register_s": round(reg_s, 1),
               "last_release_s": round(released_at, 1), "completed_s": round(done_s, 1),
               "expected_release_s": round(a.devices / a.rate * 60, 1),
               "measured_per_min": round(a.devices / released_at * 60, 1),
               "server_cpu_s": round(cpu_s(srv.proc.pid) - cpu0, 2),
               "counts": counts, "exact": exact}
        print(json.dumps(out, indent=1))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(out, f, indent=1)
        return 0 if exact else 1
    finally:
        if sim:
            sim.terminate()
            sim.wait()
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
