#!/usr/bin/python3
"""First load of the dashboard in headless Chromium, N times with a cold cache each:
transfer size (all files, and JavaScript alone), DOMContentLoaded and time to interactive
(the app's `iot-interactive` mark: first page rendered, handlers attached). Figures for
docs/benchmarks.md; nothing is asserted.

Usage: IOTCLOUD_BIN=build/release/iotcloud bench/dashboard_load.py [RUNS]   (default 20)
Needs chromium (scripts/deps.sh --test) and npm (tests/e2e's playwright-core is installed
into build/bench-e2e/ from its lock file on first use).
"""
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from device_harness import DeviceServer  # noqa: E402
from test_dashboard_e2e import node_modules, spki_pin  # noqa: E402

SCRIPT = r"""
import { createRequire } from 'node:module';
import { join } from 'node:path';
const { chromium } = createRequire(join(process.env.NODE_PATH, 'x.js'))('playwright-core');
const b = await chromium.launch({ executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--ignore-certificate-errors-spki-list=' + process.env.IOT_SPKI] });
const out = [];
for (let i = 0; i < Number(process.env.RUNS); i++) {
  const ctx = await b.newContext();
  const p = await ctx.newPage();
  await p.goto(process.env.IOT_BASE + '/');
  await p.waitForSelector('body[data-ready="1"]');
  out.push(await p.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const js = res.filter((r) => r.name.endsWith('.js'));
    return { tti: performance.getEntriesByName('iot-interactive')[0].startTime,
      dcl: nav.domContentLoadedEventEnd,
      bytes: nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0),
      js: js.reduce((n, r) => n + r.transferSize, 0) };
  }));
  await ctx.close();
}
await b.close();
console.log(JSON.stringify(out));
"""


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    out_dir = os.path.join(ROOT, "build", "bench-e2e")
    os.makedirs(out_dir, exist_ok=True)
    script = os.path.join(out_dir, "first_load.mjs")
    with open(script, "w") as f:
        f.write(SCRIPT)
    srv = DeviceServer().start()
    try:
        env = dict(os.environ, NODE_PATH=node_modules(out_dir), RUNS=str(runs),
                   IOT_BASE="https://127.0.0.1:%d" % srv.https_port,
                   IOT_SPKI=spki_pin(os.path.join(srv.data_dir, "ca", "server.crt")))
        rows = json.loads(subprocess.run(["node", script], env=env, check=True,
                                         stdout=subprocess.PIPE, timeout=600).stdout)
    finally:
        srv.stop()
    for k, unit in (("tti", "ms"), ("dcl", "ms"), ("bytes", "B"), ("js", "B")):
        v = sorted(r[k] for r in rows)
        print("%-5s median %8.1f %s  p90 %8.1f  min %8.1f  max %8.1f"
              % (k, statistics.median(v), unit, v[int(0.9 * (len(v) - 1))], v[0], v[-1]))


if __name__ == "__main__":
    main()
