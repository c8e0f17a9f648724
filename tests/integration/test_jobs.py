"""Jobs and device groups (docs/jobs.md) over mutual TLS: groups (static, dynamic, owner
checks, quota), the AWS IoT Jobs topics and payloads (notify-next, get, start-next,
{jobId}/get, {jobId}/update with accepted / rejected, VersionMismatch,
InvalidStateTransition), the native namespace, at most one IN_PROGRESS per device,
cancel (with force), in-progress timeout with retry, abort, rollout, and a kill -9 in the
middle of a job losing no execution state."""

import json
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))

from device_harness import (Api, DeviceServer, TwoUserCase, mqtt_client,  # noqa: E402
                            register_device, scratch_dir, uname)

TICK = ("--jobs-tick", "100", "--max-groups-per-user", "3")


def jobs_topic(dev, rest):
    return "$aws/things/%s/jobs/%s" % (dev.id, rest)


class JobsCase(TwoUserCase):
    EXTRA = TICK

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.srv.assert_running()

    def device(self, token=None, **fields):
        return register_device(self.api, token or self.token, self.dir)

    def connect(self, dev, native=False):
        c = mqtt_client(self.srv, dev.id, ctx=dev.ctx(self.srv.cafile))
        self.clients.append(c)
        self.assertEqual(c.connect()[0], 0)
        f = ("%s/jobs/#" % dev.id) if native else jobs_topic(dev, "#")
        self.assertEqual(c.subscribe(f, 1), [1])
        return c

    def request(self, c, topic, body, reply=None):
        reply = reply or topic
        before = len(c.messages)
        c.publish(topic, json.dumps(body).encode() if body is not None else b"", 1)
        acc, rej = reply + "/accepted", reply + "/rejected"
        c.wait_for(lambda: any(m.topic in (acc, rej) for m in c.messages[before:]), 10,
                   "jobs reply on " + reply)
        m = [m for m in c.messages[before:] if m.topic in (acc, rej)][0]
        return m.topic.rsplit("/", 1)[1], json.loads(m.payload)

    def create(self, body, token=None, status=201):
        r = self.api.call("POST", "/v1/jobs", body, token=token or self.token)
        self.assertEqual(r.status, status, r.raw)
        return r.json

    def job(self, job_id, token=None):
        r = self.api.call("GET", "/v1/jobs/" + job_id, token=token or self.token)
        self.assertEqual(r.status, 200, r.raw)
        return r.json

    def wait_job(self, job_id, pred, what, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            j = self.job(job_id)
            if pred(j):
                return j
            time.sleep(0.1)
        self.fail("job %s: %s never happened: %s" % (job_id, what, j))

    # ---- groups ----------------------------------------------------------------------

    def test_groups_static_dynamic_and_owner(self):
        a, b = self.device(), self.device()
        r = self.api.call("POST", "/v1/groups", {"name": uname("g"),
                                                 "devices": [a.id, b.reg["name"]]},
                          token=self.token)
        self.assertEqual(r.status, 201, r.raw)
        g = r.json
        self.assertEqual((g["kind"], sorted(g["devices"])), ("static", sorted([a.id, b.id])))
        r = self.api.call("GET", "/v1/groups/" + g["id"], token=self.token)
        self.assertEqual((r.status, r.json["name"]), (200, g["name"]))
        self.assertNotIn("owner_id", r.json)
        r = self.api.call("GET", "/v1/groups/" + g["name"], token=self.token)
        self.assertEqual((r.status, r.json["id"]), (200, g["id"]))
        # another owner sees nothing and cannot target it
        r = self.api.call("GET", "/v1/groups/" + g["id"], token=self.other_token)
        self.assertEqual(r.status, 404)
        r = self.api.call("POST", "/v1/jobs", {"document": {}, "targets": {"groups": [g["id"]]}},
                          token=self.other_token)
        self.assertEqual(r.status, 404, r.raw)
        # another owner's device cannot be a member
        o = self.device(self.other_token)
        r = self.api.call("POST", "/v1/groups", {"name": uname("g"), "devices": [o.id]},
                          token=self.token)
        self.assertEqual(r.status, 404, r.raw)
        for bad in ({"name": "x"}, {"name": "x", "devices": [], "query": {}},
                    {"name": "x", "devices": [1]}, {"name": "x", "query": {"attrs": {"a": 1}}},
                    {"name": "x", "query": {"kind": "y"}}):
            r = self.api.call("POST", "/v1/groups", bad, token=self.token)
            self.assertEqual(r.status, 400, (bad, r.raw))
        r = self.api.call("GET", "/v1/groups", token=self.token)
        self.assertIn(g["id"], [x["id"] for x in r.json["groups"]])
        r = self.api.call("DELETE", "/v1/groups/" + g["id"], token=self.token)
        self.assertEqual(r.status, 204, r.raw)
        r = self.api.call("GET", "/v1/groups/" + g["id"], token=self.token)
        self.assertEqual(r.status, 404)

    def test_group_quota(self):
        tok = self.other_token
        made = []
        for i in range(3):
            r = self.api.call("POST", "/v1/groups", {"name": uname("q"), "query": {}}, token=tok)
            self.assertEqual(r.status, 201, r.raw)
            made.append(r.json["id"])
        r = self.api.call("POST", "/v1/groups", {"name": uname("q"), "query": {}}, token=tok)
        self.assertEqual((r.status, r.json["error"]["code"]), (429, "quota_exceeded"), r.raw)
        for g in made:
            self.assertEqual(self.api.call("DELETE", "/v1/groups/" + g, token=tok).status, 204)

    def test_dynamic_group_by_attribute(self):
        tname = uname("t")
        r = self.api.call("POST", "/v1/device-types", {"name": tname, "required": ["site"]},
                          token=self.token)
        if r.status != 201:
            self.skipTest("device types: %s" % r.raw)
        from device_harness import make_csr
        ids = []
        for site in ("north", "north", "south"):
            key, csr = make_csr(self.dir)
            d = self.api.register(self.token, csr=csr, type=tname, attributes={"site": site})
            ids.append(d["id"])
        r = self.api.call("POST", "/v1/groups", {"name": uname("dyn"),
                                                 "query": {"type": tname,
                                                           "attrs": {"site": "north"}}},
                          token=self.token)
        self.assertEqual(r.status, 201, r.raw)
        job = self.create({"document": {"op": "x"}, "targets": {"groups": [r.json["id"]]}})
        r = self.api.call("GET", "/v1/jobs/%s/executions" % job["jobId"], token=self.token)
        self.assertEqual(sorted(e["deviceId"] for e in r.json["executions"]), sorted(ids[:2]))

    # ---- the device side ------------------------------------------------------------------

    def test_aws_job_lifecycle(self):
        a, b = self.device(), self.device()
        ca, cb = self.connect(a), self.connect(b)
        jid = uname("job")
        doc = {"operation": "reboot", "n": 3}
        self.create({"jobId": jid, "document": doc, "description": "d",
                     "targets": {"devices": [a.id, b.reg["name"]]}})
        nn = jobs_topic(a, "notify-next")
        ca.wait_for(lambda: any(m.topic == nn for m in ca.messages), 10, "notify-next")
        m = json.loads([m for m in ca.messages if m.topic == nn][0].payload)
        self.assertEqual(m["execution"]["jobId"], jid)
        self.assertEqual(m["execution"]["jobDocument"], doc)
        self.assertEqual(m["execution"]["status"], "QUEUED")
        self.assertIn("timestamp", m)
        kind, g = self.request(ca, jobs_topic(a, "get"), {"clientToken": "c1"})
        self.assertEqual((kind, g["clientToken"]), ("accepted", "c1"))
        self.assertEqual(g["inProgressJobs"], [])
        self.assertEqual([q["jobId"] for q in g["queuedJobs"]], [jid])
        for k in ("queuedAt", "lastUpdatedAt", "versionNumber", "executionNumber"):
            self.assertIn(k, g["queuedJobs"][0])
        kind, s = self.request(ca, jobs_topic(a, "start-next"),
                               {"statusDetails": {"step": "download"}, "clientToken": "c2"})
        self.assertEqual(kind, "accepted", s)
        ex = s["execution"]
        self.assertEqual((ex["jobId"], ex["status"], ex["versionNumber"], ex["thingName"]),
                         (jid, "IN_PROGRESS", 2, a.id))
        self.assertEqual(ex["statusDetails"], {"step": "download"})
        self.assertEqual(ex["jobDocument"], doc)
        self.assertIn("startedAt", ex)
        up = jobs_topic(a, jid + "/update")
        kind, r = self.request(ca, up, {"status": "IN_PROGRESS", "expectedVersion": 1,
                                        "clientToken": "c3"})
        self.assertEqual((kind, r["code"], r["clientToken"]), ("rejected", "VersionMismatch",
                                                                "c3"))
        self.assertEqual(r["executionState"]["versionNumber"], 2)
        kind, r = self.request(ca, up, {"status": "QUEUED"})
        self.assertEqual((kind, r["code"]), ("rejected", "InvalidRequest"))
        kind, r = self.request(ca, up, b"{bad" and None)
        self.assertEqual((kind, r["code"]), ("rejected", "InvalidRequest"))
        kind, r = self.request(ca, up, {"status": "SUCCEEDED", "expectedVersion": 2,
                                        "statusDetails": {"step": "done"},
                                        "includeJobExecutionState": True})
        self.assertEqual(kind, "accepted", r)
        self.assertEqual(r["executionState"], {"status": "SUCCEEDED",
                                               "statusDetails": {"step": "done"},
                                               "versionNumber": 3})
        kind, r = self.request(ca, up, {"status": "FAILED"})
        self.assertEqual((kind, r["code"]), ("rejected", "InvalidStateTransition"))
        kind, r = self.request(ca, jobs_topic(a, jid + "/get"), {})
        self.assertEqual((kind, r["execution"]["status"]), ("accepted", "SUCCEEDED"))
        kind, r = self.request(ca, jobs_topic(a, "nojob/get"), {"clientToken": "z"})
        self.assertEqual((kind, r["code"], r["clientToken"]), ("rejected", "ResourceNotFound",
                                                               "z"))
        # the other device rejects it straight from QUEUED; then the job completes
        kind, r = self.request(cb, jobs_topic(b, jid + "/update"), {"status": "REJECTED"})
        self.assertEqual(kind, "accepted", r)
        j = self.wait_job(jid, lambda j: j["status"] == "COMPLETED", "completion")
        self.assertEqual((j["counts"]["SUCCEEDED"], j["counts"]["REJECTED"],
                          j["counts"]["QUEUED"]), (1, 1, 0))
        self.assertEqual(j["jobProcessDetails"]["numberOfSucceededThings"], 1)
        self.assertEqual(j["document"], doc)
        self.assertEqual(j["description"], "d")
        r = self.api.call("GET", "/v1/devices/%s/jobs" % a.id, token=self.token)
        self.assertEqual([(e["jobId"], e["status"]) for e in r.json["executions"]],
                         [(jid, "SUCCEEDED")])
        # another owner sees none of it
        self.assertEqual(self.api.call("GET", "/v1/jobs/" + jid,
                                       token=self.other_token).status, 404)
        self.assertEqual(self.api.call("GET", "/v1/devices/%s/jobs" % a.id,
                                       token=self.other_token).status, 404)

    def test_native_namespace_and_one_in_progress(self):
        a = self.device()
        c = self.connect(a, native=True)
        j1, j2 = uname("j1"), uname("j2")
        self.create({"jobId": j1, "document": {"k": 1}, "targets": {"devices": [a.id]}})
        self.create({"jobId": j2, "document": {"k": 2}, "targets": {"devices": [a.id]}})
        kind, s = self.request(c, "server/%s/jobs/start-next" % a.id, {},
                               "%s/jobs/start-next" % a.id)
        self.assertEqual((kind, s["execution"]["jobId"]), ("accepted", j1))
        kind, r = self.request(c, "server/%s/jobs/%s/update" % (a.id, j2),
                               {"status": "IN_PROGRESS"}, "%s/jobs/%s/update" % (a.id, j2))
        self.assertEqual((kind, r["code"]), ("rejected", "InvalidStateTransition"))
        # start-next again answers the one IN_PROGRESS
        kind, s = self.request(c, "server/%s/jobs/start-next" % a.id, {},
                               "%s/jobs/start-next" % a.id)
        self.assertEqual((s["execution"]["jobId"], s["execution"]["status"]),
                         (j1, "IN_PROGRESS"))
        kind, r = self.request(c, "server/%s/jobs/$next/get" % a.id, {},
                               "%s/jobs/$next/get" % a.id)
        self.assertEqual(r["execution"]["jobId"], j1)
        kind, r = self.request(c, "server/%s/jobs/%s/update" % (a.id, j1),
                               {"status": "SUCCEEDED"}, "%s/jobs/%s/update" % (a.id, j1))
        self.assertEqual(kind, "accepted")
        nn = "%s/jobs/notify-next" % a.id
        c.wait_for(lambda: any(m.topic == nn and json.loads(m.payload).get("execution", {})
                               .get("jobId") == j2 for m in c.messages), 10, "next is j2")
        kind, r = self.request(c, "server/%s/jobs/%s/update" % (a.id, j2),
                               {"status": "IN_PROGRESS"}, "%s/jobs/%s/update" % (a.id, j2))
        self.assertEqual(kind, "accepted", r)

    def test_other_things_topics_refused(self):
        a, b = self.device(), self.device()
        c = mqtt_client(self.srv, a.id, ctx=a.ctx(self.srv.cafile))
        self.clients.append(c)
        self.assertEqual(c.connect()[0], 0)
        self.assertEqual(c.subscribe(jobs_topic(b, "#"), 1), [128])
        self.assertEqual(c.subscribe(jobs_topic(a, "#"), 1), [1])

    # ---- cancel, timeout, retry, abort, rollout ---------------------------------------

    def test_cancel_and_force(self):
        a, b = self.device(), self.device()
        ca = self.connect(a)
        jid = uname("c")
        self.create({"jobId": jid, "document": {}, "targets": {"devices": [a.id, b.id]}})
        kind, s = self.request(ca, jobs_topic(a, "start-next"), {})
        self.assertEqual(s["execution"]["status"], "IN_PROGRESS")
        r = self.api.call("POST", "/v1/jobs/%s/cancel" % jid, None, token=self.token)
        self.assertEqual((r.status, r.json["status"]), (200, "CANCELED"), r.raw)
        j = self.job(jid)
        self.assertEqual((j["status"], j["counts"]["CANCELED"], j["counts"]["IN_PROGRESS"]),
                         ("CANCELED", 1, 1))
        r = self.api.call("POST", "/v1/jobs/%s/cancel" % jid, {"force": True}, token=self.token)
        self.assertEqual(r.status, 409, r.raw)
        jid2 = uname("f")
        self.create({"jobId": jid2, "document": {}, "targets": {"devices": [b.id]}})
        cb = self.connect(b)
        self.request(cb, jobs_topic(b, "start-next"), {})
        r = self.api.call("POST", "/v1/jobs/%s/cancel" % jid2, {"force": True}, token=self.token)
        self.assertEqual(r.status, 200, r.raw)
        kind, r = self.request(cb, jobs_topic(b, jid2 + "/get"), {})
        self.assertEqual(r["execution"]["status"], "CANCELED")
        kind, r = self.request(cb, jobs_topic(b, jid2 + "/update"), {"status": "SUCCEEDED"})
        self.assertEqual((kind, r["code"]), ("rejected", "InvalidStateTransition"))

    def test_timeout_then_retry(self):
        a = self.device()
        c = self.connect(a)
        jid = uname("t")
        self.create({"jobId": jid, "document": {},
                     "targets": {"devices": [a.id]},
                     "timeoutConfig": {"inProgressTimeoutInSeconds": 1},
                     "jobExecutionsRetryConfig": {"criteriaList": [
                         {"failureType": "TIMED_OUT", "numberOfRetries": 1}]}})
        kind, s = self.request(c, jobs_topic(a, "start-next"), {})
        self.assertEqual(s["execution"]["executionNumber"], 1)
        # timed out after 1 s, then queued again as execution 2
        self.wait_job(jid, lambda j: j["counts"]["QUEUED"] == 1 and
                      j["counts"]["IN_PROGRESS"] == 0, "retry")
        kind, r = self.request(c, jobs_topic(a, jid + "/get"), {})
        self.assertEqual((r["execution"]["status"], r["execution"]["executionNumber"]),
                         ("QUEUED", 2))
        self.request(c, jobs_topic(a, "start-next"), {})
        j = self.wait_job(jid, lambda j: j["status"] == "COMPLETED", "second timeout")
        self.assertEqual(j["counts"]["TIMED_OUT"], 1)
        r = self.api.call("GET", "/v1/jobs/%s/executions" % jid, token=self.token)
        self.assertEqual(r.json["executions"][0]["retryAttempt"], 1)

    def test_abort_when_failures_exceed_threshold(self):
        devs = [self.device() for _ in range(4)]
        jid = uname("ab")
        self.create({"jobId": jid, "document": {}, "targets": {"devices": [d.id for d in devs]},
                     "abortConfig": {"criteriaList": [
                         {"failureType": "FAILED", "action": "CANCEL",
                          "thresholdPercentage": 50, "minNumberOfExecutedThings": 2}]}})
        c0, c1 = self.connect(devs[0]), self.connect(devs[1])
        self.request(c0, jobs_topic(devs[0], jid + "/update"), {"status": "FAILED"})
        time.sleep(0.5)  # one failure of one executed: under the minimum, no abort
        self.assertEqual(self.job(jid)["status"], "IN_PROGRESS")
        self.request(c1, jobs_topic(devs[1], jid + "/update"), {"status": "FAILED"})
        j = self.wait_job(jid, lambda j: j["status"] == "CANCELED", "abort")
        self.assertEqual((j["counts"]["FAILED"], j["counts"]["CANCELED"]), (2, 2))

    def test_rollout_releases_at_the_rate(self):
        devs = [self.device() for _ in range(5)]
        jid = uname("ro")
        self.create({"jobId": jid, "document": {}, "targets": {"devices": [d.id for d in devs]},
                     "jobExecutionsRolloutConfig": {"maximumPerMinute": 120}})
        j = self.job(jid)
        self.assertEqual(j["counts"]["SCHEDULED"] + j["counts"]["QUEUED"], 5)
        # 2 per second: never more than the rate allows since creation (+ one tick)
        t0 = time.time()
        while True:
            j = self.job(jid)
            q = j["counts"]["QUEUED"]
            self.assertLessEqual(q, 2 * (time.time() - t0) + 2, j)
            if q == 5:
                break
            self.assertLess(time.time() - t0, 20, j)
            time.sleep(0.2)
        self.assertEqual(j["rollout"]["released"], 5)

    # ---- validation -----------------------------------------------------------------------

    def test_bad_jobs_refused(self):
        a = self.device()
        ok = {"document": {}, "targets": {"devices": [a.id]}}
        for bad in ({}, {"document": {}}, {"document": [], "targets": {"devices": [a.id]}},
                    {"document": {}, "targets": {}},
                    dict(ok, jobId="bad id"), dict(ok, extra=1),
                    dict(ok, jobExecutionsRolloutConfig={"maximumPerMinute": 0}),
                    dict(ok, abortConfig={"criteriaList": [{"failureType": "X", "action":
                                                            "CANCEL", "thresholdPercentage": 5,
                                                            "minNumberOfExecutedThings": 1}]}),
                    dict(ok, jobExecutionsRetryConfig={"criteriaList": [
                        {"failureType": "REJECTED", "numberOfRetries": 1}]}),
                    dict(ok, timeoutConfig={"inProgressTimeoutInMinutes": 0})):
            r = self.api.call("POST", "/v1/jobs", bad, token=self.token)
            self.assertEqual(r.status, 400, (bad, r.raw))
        r = self.api.call("POST", "/v1/jobs", dict(ok, document={"x": "y" * 40000}),
                          token=self.token)
        self.assertEqual((r.status, r.json["error"]["code"]), (413, "too_large"), r.raw)
        r = self.api.call("POST", "/v1/jobs", {"document": {}, "targets": {"devices": ["nope"]}},
                          token=self.token)
        self.assertEqual(r.status, 404, r.raw)
        jid = uname("dup")
        self.create(dict(ok, jobId=jid))
        self.create(dict(ok, jobId=jid), status=409)
        r = self.api.call("GET", "/v1/jobs", token=self.token)
        self.assertIn(jid, [x["jobId"] for x in r.json["jobs"]])
        r = self.api.call("GET", "/v1/jobs/%s/executions?status=NOPE" % jid, token=self.token)
        self.assertEqual(r.status, 400)


class DevsimJobsTest(TwoUserCase):
    """bench/devsim --jobs (the C simulator) runs a rolled-out job to completion."""

    def test_devsim_runs_jobs_to_completion(self):
        from harness import iotcloud_bin
        import subprocess
        exe = os.environ.get("DEVSIM_BIN") or os.path.join(os.path.dirname(iotcloud_bin()),
                                                           "devsim")
        self.assertTrue(os.access(exe, os.X_OK), "devsim not built: " + exe)
        certdir = os.path.join(self.dir, "certs")
        os.makedirs(certdir)
        devs = [register_device(self.api, self.token, self.dir) for _ in range(4)]
        for d in devs:
            shutil.copy(d.cert, os.path.join(certdir, d.id + ".crt"))
            shutil.copy(d.key, os.path.join(certdir, d.id + ".key"))
        # one job queued before the devices connect, one rolled out while they are up
        early = uname("early")
        r = self.api.call("POST", "/v1/jobs", {"jobId": early, "document": {},
                                               "targets": {"devices": [devs[0].id]}},
                          token=self.token)
        self.assertEqual(r.status, 201, r.raw)
        sim = subprocess.Popen([exe, "--host", "localhost", "--port", str(self.srv.tls_port),
                                "--cafile", self.srv.cafile, "--certdir", certdir, "--jobs",
                                "--quiet"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            jid = uname("sim")
            r = self.api.call("POST", "/v1/jobs", {
                "jobId": jid, "document": {"op": "noop"},
                "targets": {"devices": [d.id for d in devs]},
                "jobExecutionsRolloutConfig": {"maximumPerMinute": 600}}, token=self.token)
            self.assertEqual(r.status, 201, r.raw)
            for job in (early, jid):
                end = time.time() + 30
                while time.time() < end:
                    j = self.api.call("GET", "/v1/jobs/" + job, token=self.token).json
                    if j["status"] == "COMPLETED":
                        break
                    time.sleep(0.2)
                self.assertEqual(j["status"], "COMPLETED", j)
            self.assertEqual(j["counts"]["SUCCEEDED"], 4, j)
            r = self.api.call("GET", "/v1/jobs/%s/executions" % jid, token=self.token)
            self.assertEqual({e["statusDetails"]["by"] for e in r.json["executions"]},
                             {"devsim"})
        finally:
            sim.terminate()
            sim.wait(timeout=30)


class DevicePyJobsTest(TwoUserCase):
    """examples/device.py runs its jobs and reports a new firmware version in its shadow."""

    def test_device_py_runs_jobs_and_reports_firmware(self):
        import subprocess
        dev = register_device(self.api, self.token, self.dir)
        jobs = [(uname("ok"), {"firmware_version": "2.1"}), (uname("ko"), {"fail": True})]
        for jid, doc in jobs:
            r = self.api.call("POST", "/v1/jobs", {"jobId": jid, "document": doc,
                                                   "targets": {"devices": [dev.id]}},
                              token=self.token)
            self.assertEqual(r.status, 201, r.raw)
        exe = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "device.py")
        p = subprocess.Popen([sys.executable, exe, "--host", "localhost", "--port",
                              str(self.srv.tls_port), "--cafile", self.srv.cafile, "--id", dev.id,
                              "--cert", dev.cert, "--key", dev.key],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            end = time.time() + 30
            while time.time() < end:
                ex = {e["jobId"]: e for e in self.api.call(
                    "GET", "/v1/devices/%s/jobs" % dev.id, token=self.token).json["executions"]}
                if all(ex[j]["status"] in ("SUCCEEDED", "FAILED") for j, _ in jobs):
                    break
                time.sleep(0.2)
            self.assertEqual((ex[jobs[0][0]]["status"], ex[jobs[0][0]]["statusDetails"]),
                             ("SUCCEEDED", {"progress": "100%"}), ex)
            self.assertEqual(ex[jobs[1][0]]["status"], "FAILED", ex)
            r = self.api.call("GET", "/v1/devices/%s/shadows" % dev.id, token=self.token)
            self.assertEqual(r.json["classic"]["state"]["reported"]["firmware"], "2.1", r.raw)
            # a job created while it is idle reaches it through notify-next
            late = uname("late")
            r = self.api.call("POST", "/v1/jobs", {"jobId": late, "document": {},
                                                   "targets": {"devices": [dev.id]}},
                              token=self.token)
            self.assertEqual(r.status, 201, r.raw)
            end = time.time() + 30
            while time.time() < end:
                j = self.api.call("GET", "/v1/jobs/" + late, token=self.token).json
                if j["status"] == "COMPLETED":
                    break
                time.sleep(0.2)
            self.assertEqual(j["counts"]["SUCCEEDED"], 1, j)
        finally:
            p.terminate()
            p.wait(timeout=30)


class JobsRestartTest(unittest.TestCase):
    def test_kill9_mid_job_keeps_executions(self):
        srv = DeviceServer(extra_args=("--jobs-tick", "100"))
        user = srv.add_user(uname("owner"))
        srv.start()
        self.addCleanup(srv.kill9)
        d = scratch_dir()
        self.addCleanup(shutil.rmtree, d, True)
        api = Api(srv)
        tok = api.login(user)
        devs = [register_device(api, tok, d) for _ in range(4)]
        jid = uname("rs")
        r = api.call("POST", "/v1/jobs", {"jobId": jid, "document": {"v": 2},
                                          "targets": {"devices": [x.id for x in devs]},
                                          "jobExecutionsRolloutConfig": {"maximumPerMinute": 60}},
                     token=tok)
        self.assertEqual(r.status, 201, r.raw)
        c = mqtt_client(srv, devs[0].id, ctx=devs[0].ctx(srv.cafile))
        self.assertEqual(c.connect()[0], 0)
        c.subscribe(jobs_topic(devs[0], "#"), 1)
        # wait until the first device has it, start it, then kill -9
        end = time.time() + 15
        while time.time() < end:
            before = len(c.messages)
            c.publish(jobs_topic(devs[0], "start-next"), b"{}", 1)
            c.wait_for(lambda: any(m.topic.endswith("start-next/accepted")
                                   for m in c.messages[before:]), 10, "start-next")
            m = [m for m in c.messages[before:] if m.topic.endswith("start-next/accepted")][0]
            if "execution" in json.loads(m.payload):
                break
            time.sleep(0.2)
        c.close()
        before = api.call("GET", "/v1/jobs/" + jid, token=tok).json["counts"]
        self.assertEqual(before["IN_PROGRESS"], 1)
        srv.kill9()
        srv.start()
        tok = api.login(user)
        r = api.call("GET", "/v1/devices/%s/jobs" % devs[0].id, token=tok)
        self.assertEqual([(e["jobId"], e["status"]) for e in r.json["executions"]],
                         [(jid, "IN_PROGRESS")])
        # the rollout goes on after the restart and the counts stay exact
        end = time.time() + 20
        while time.time() < end:
            j = api.call("GET", "/v1/jobs/" + jid, token=tok).json
            if j["counts"]["SCHEDULED"] == 0:
                break
            time.sleep(0.2)
        self.assertEqual((j["counts"]["SCHEDULED"], j["counts"]["QUEUED"],
                          j["counts"]["IN_PROGRESS"]), (0, 3, 1), j)


if __name__ == "__main__":
    unittest.main()
