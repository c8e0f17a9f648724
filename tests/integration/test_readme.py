"""README.md's "Try it", run as written (issue #13: pasted line by line, several steps
failed). Every ```sh block preceded by the line `<!-- readme-test -->` is taken from the
Markdown and run, in order, as one bash session (`set -euo pipefail`, so any failing
command fails the test) in a scratch copy of scripts/ and examples/, against $IOTCLOUD_BIN
(run.sh uses it instead of building).

  ReadmeCase  the blocks run to the end: the server starts in the background and stops,
              pub/sub, sign-up with the code from the log, login, refresh, device
              registration, a device controlled with ?wait_online_ms, the iotcloud
              command on PATH; credentials land in data/demo/, nothing is left running

The only changes made to the text: the two ports (8883, 8443) become free ones, and
`./scripts/run.sh --background` gets the matching --listen options. The user add prompt is
answered on stdin (not a terminal, so it reads one line). Needs bash, curl, jq, openssl,
the mosquitto clients and timeout (scripts/deps.sh --test); fails when one is missing.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import (free_port, iotcloud_bin, iotcloud_only, proc_start_time,
                     sanitizer_findings, track_process)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(REPO, "README.md")
MARK = "<!-- readme-test -->"
TOOLS = ("bash", "curl", "jq", "openssl", "mosquitto_pub", "mosquitto_sub", "timeout")
RUN_TIMEOUT = 300  # the whole walk-through; a TSan server is slow
ADMIN_PASSWORD = "an admin passphrase"


def readme_blocks(text):
    """[(line number, code)] of the marked ```sh blocks, in order."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        if i + 1 >= len(lines) or lines[i + 1].strip() != "```sh":
            raise AssertionError("README.md:%d: %s must be followed by a ```sh block"
                                 % (i + 1, MARK))
        end = i + 2
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError("README.md:%d: unterminated ```sh block" % (i + 2))
        blocks.append((i + 3, "\n".join(lines[i + 2:end])))
    return blocks


def substitute(script, old, new):
    """Replaces every @old (a regex); fails when the README no longer contains it."""
    out, n = re.subn(old, new, script)
    if n == 0:
        raise AssertionError("README blocks no longer contain %r; update test_readme.py" % old)
    return out


def session_processes(sid):
    """Pids of the live processes in session @sid (the bash we started leads it)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(name))
    return found


@iotcloud_only("the README is iotcloud's")
class ReadmeCase(unittest.TestCase):
    def setUp(self):
        missing = [t for t in TOOLS if shutil.which(t) is None]
        self.assertEqual(missing, [], "install them: scripts/deps.sh --test")
        self.dir = tempfile.mkdtemp(prefix="iotcloud-readme-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        for sub in ("scripts", "examples"):
            shutil.copytree(os.path.join(REPO, sub), os.path.join(self.dir, sub))

    def script(self):
        with open(README, encoding="utf-8") as f:
            blocks = readme_blocks(f.read())
        self.assertGreaterEqual(len(blocks), 5, "marked README blocks")
        mqtts, https = free_port(), free_port()
        parts = ["set -euo pipefail"]
        for line, code in blocks:
            parts.append("echo '=== README.md:%d' >&2" % line)
            parts.append(code)
        text = "\n".join(parts) + "\n"
        text = substitute(text, r"\./scripts/run\.sh --background",
                          "./scripts/run.sh --background --listen mqtts://127.0.0.1:%d "
                          "--listen https://127.0.0.1:%d" % (mqtts, https))
        text = substitute(text, r"\b8883\b", str(mqtts))
        text = substitute(text, r"\b8443\b", str(https))
        self.assertIn("./scripts/run.sh --stop", text)
        self.assertIn("wait_online_ms=", text)
        return text

    def run_blocks(self, text):
        """Runs @text with bash in its own session; returns (exit code, output, pids that
        were still running in the session and had to be killed)."""
        path = os.path.join(self.dir, "readme.sh")
        with open(path, "w") as f:
            f.write(text)
        answers = os.path.join(self.dir, "stdin")
        with open(answers, "w") as f:
            f.write(ADMIN_PASSWORD + "\n")
        out_path = os.path.join(self.dir, "out")
        env = dict(os.environ, IOTCLOUD_BIN=iotcloud_bin())
        with open(answers) as stdin, open(out_path, "wb") as out:
            proc = track_process(subprocess.Popen(["bash", path], cwd=self.dir, env=env,
                                                  stdin=stdin, stdout=out, stderr=out,
                                                  start_new_session=True))
            try:
                rc = proc.wait(RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                rc = "timeout after %d s" % RUN_TIMEOUT
            finally:
                left = self.end_session(proc)
        with open(out_path, "rb") as f:
            output = f.read().decode("utf-8", "replace")
        return rc, output, left

    @staticmethod
    def end_session(proc):
        """Kills whatever still runs in the session (bash, the server, a device): the
        blocks must stop all they start. Returns what was left."""
        left = session_processes(proc.pid)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if proc.poll() is None:
            proc.wait(10)
        deadline = time.monotonic() + 10
        while any(proc_start_time(p) for p in left) and time.monotonic() < deadline:
            time.sleep(0.05)
        return left

    def read(self, *path):
        with open(os.path.join(self.dir, *path), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def test_readme_blocks_run_as_written(self):
        rc, out, left = self.run_blocks(self.script())
        log = self.read("data", "iotcloud.log")
        self.assertEqual(rc, 0, "a README block failed (the last '=== README.md:LINE' "
                                "above names it)\n%s\n--- server log:\n%s" % (out, log[-4000:]))
        self.assertEqual(left, [], "processes left running by the README blocks\n" + out)
        self.assertEqual(sanitizer_findings(log), [], log)
        self.assertEqual(sanitizer_findings(out), [], out)  # iotcloud routes / user / store
        self.assertIn("demo/hello world", out)              # pub/sub over TLS
        self.assertIn('"status" : "confirmed"', out)       # the code from the log worked
        self.assertIn('"username" : "ada"', out)           # GET /v1/me with the token
        self.assertRegex(out, r'"number" : 5, "value" : 1, "latency_us" : \d+')
        self.assertIn("GET /v1/devices/{id}/gpio/{n}", out)  # iotcloud routes on PATH
        self.assertIn("iotcloud stopped", log)             # run.sh --stop stopped it
        self.assertFalse(os.path.exists(os.path.join(self.dir, "data", "iotcloud.pid")))
        # credentials went to data/demo, nothing beside the copied tree
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["build", "data", "examples", "out", "readme.sh", "scripts", "stdin"])
        for name in ("dev.key", "dev.crt", "dev.json", "login.json"):
            self.assertTrue(os.path.exists(os.path.join(self.dir, "data", "demo", name)), name)
        self.assertEqual(os.stat(os.path.join(self.dir, "data", "demo")).st_mode & 0o077, 0)


if __name__ == "__main__":
    unittest.main()
