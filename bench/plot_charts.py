"""Charts from iotbench JSON files (bench/plot is the entry point; docs/benchmarks.md).

Usage: python3 bench/plot_charts.py RESULTS_DIR OUT_DIR

Reads every *.json in RESULTS_DIR, sorts them by the "tool" field (iotbench pubsub /
connect / rtt) and writes each chart as OUT_DIR/NAME.svg and OUT_DIR/NAME.png with
gnuplot:

  pubsub-throughput      delivered msg/s per scenario, one bar per broker (compare.sh's
                         BROKER-SCENARIO.json files)
  pubsub-latency-SCEN    one-way latency p50/p90/p99/p99.9 per broker, for each scenario
                         run at a fixed --rate (compare.sh: lat-1k-q1)
  rtt-STEM               round trip and server latency percentiles of one rtt JSON file
  connect-rate           established connections/s per connect run
  connect-rss            server RSS growth per connection per connect run
  connect-cpu            server CPU time per connection (handshake + CONNECT) per run

A chart whose inputs are absent is skipped with a message on stderr. Exit 0 when at least
one chart was written, 1 when none was (or gnuplot failed), 2 on bad usage.
Stdlib only.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PCTS = [("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p99_9", "p99.9")]
BROKER_ORDER = ["iotcloud-w1", "iotcloud-w2", "mosquitto"]
SCENARIO_ORDER = ["1to1-q0", "1to1-q1", "fanin10-q0", "fanin10-q1", "fanout10-q0",
                  "fanout10-q1", "lat-1k-q1"]
CONNECT_ORDER = ["connect-iotcloud-plain", "connect-iotcloud-tls", "connect-iotcloud-tls-resume",
                 "connect-mosquitto-plain"]
PUBSUB_NAME = re.compile(r"^(iotcloud-w\d+|mosquitto|[^-]+)-(.+)$")
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f"]


def note(msg):
    sys.stderr.write("plot: %s\n" % msg)


def num(v):
    """A JSON value as a float, or None when absent, not numeric or not finite."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if v == v and v not in (float("inf"), float("-inf")) else None


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        note("skipping %s: %s" % (path, e))
        return None
    if not isinstance(doc, dict):
        note("skipping %s: not a JSON object" % path)
        return None
    return doc


def kind(doc):
    tool = doc.get("tool")
    if isinstance(tool, str) and tool.startswith("iotbench "):
        return tool.split(" ", 1)[1]
    if "rtt_ms" in doc:
        return "rtt"
    if "conn_per_s" in doc:
        return "connect"
    if "delivered_per_s" in doc:
        return "pubsub"
    return None


def ordered(names, preferred):
    first = [n for n in preferred if n in names]
    return first + sorted(n for n in names if n not in preferred)


def collect(results_dir):
    runs = {"pubsub": [], "connect": [], "rtt": []}
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        doc = load(path)
        if doc is None:
            continue
        k = kind(doc)
        if k not in runs:
            note("skipping %s: not an iotbench pubsub/connect/rtt result" % path)
            continue
        stem = os.path.splitext(os.path.basename(path))[0]
        runs[k].append((stem, doc))
    return runs


def cell(v):
    return "?" if v is None else "%.6g" % v


def quoted(s):
    return '"%s"' % s.replace('"', "'")


def write_table(path, header, rows):
    """rows: [(label, [values])]; None values become gnuplot's missing marker."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(" ".join(quoted(h) for h in header) + "\n")
        for label, vals in rows:
            f.write(quoted(label) + " " + " ".join(cell(v) for v in vals) + "\n")


class Gnuplot:
    def __init__(self, out_dir, work):
        self.out_dir = out_dir
        self.work = work
        probe = subprocess.run(["gnuplot", "-e", "set terminal pngcairo"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.png = "pngcairo" if probe.returncode == 0 else "png"
        self.written = []

    def bars(self, name, title, ylabel, header, rows, logscale=False, rotate=False):
        """Clustered bars: one cluster per row, one bar per header column after the first."""
        dat = os.path.join(self.work, name + ".dat")
        write_table(dat, header, rows)
        nser = len(header) - 1
        plots = []
        for i in range(nser):
            src = "'%s'" % dat if i == 0 else "''"
            xt = ":xtic(1)" if i == 0 else ""
            plots.append("%s using %d%s title columnheader(%d) lc rgb '%s'"
                         % (src, i + 2, xt, i + 2, COLORS[i % len(COLORS)]))
        if nser == 1:  # plain boxes at x = row index, with the value printed on each
            plots = ["'%s' using 0:2:xtic(1) with boxes title columnheader(2) lc rgb '%s'"
                     % (dat, COLORS[0]),
                     "'' using 0:2:(sprintf('%.0f', $2)) with labels offset 0,0.7 notitle"]
        body = [
            "set datafile missing '?'",
            "set key autotitle columnheader",
            "set title %s noenhanced" % quoted(title),
            "set ylabel %s noenhanced" % quoted(ylabel),
            "set style data histograms",
            "set style histogram clustered gap 1",
            "set style fill solid 0.85 border -1",
            "set boxwidth %s" % ("0.5" if nser == 1 else "0.9"),
            "set xrange [-0.6:%g]" % (len(rows) - 0.4) if nser == 1 else "set autoscale x",
            "set grid ytics",
            "set key outside top center horizontal noenhanced",
            "set xtics noenhanced" + (" rotate by -20" if rotate else ""),
            "set yrange [%s:*]" % ("*" if logscale else "0"),
            "set offsets 0, 0, graph 0.08, 0",
            "set logscale y 10" if logscale else "unset logscale y",
            "set format y '%.0s%c'" if not logscale else "set format y '10^{%L}'",
            "plot " + ", \\\n     ".join(plots),
        ]
        for ext, term in (("svg", "svg size 960,540 dynamic font 'sans,12' background rgb 'white'"),
                          ("png", "%s size 960,540 font 'sans,10'" % self.png)):
            out = os.path.join(self.out_dir, "%s.%s" % (name, ext))
            script = ["set terminal " + term + (" enhanced" if logscale else " noenhanced"),
                      "set output %s" % quoted(out)] + body + ["unset output"]
            gp = os.path.join(self.work, "%s.%s.gp" % (name, ext))
            with open(gp, "w", encoding="utf-8") as f:
                f.write("\n".join(script) + "\n")
            r = subprocess.run(["gnuplot", gp], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            if r.returncode != 0 or not os.path.getsize(out):
                raise RuntimeError("gnuplot failed on %s: %s" % (gp, r.stderr.strip()))
            self.written.append(out)


def pubsub_index(runs):
    """{scenario: {broker: doc}} from compare.sh's BROKER-SCENARIO names."""
    idx = {}
    for stem, doc in runs:
        m = PUBSUB_NAME.match(stem)
        broker, scen = (m.group(1), m.group(2)) if m else (stem, "run")
        idx.setdefault(scen, {})[broker] = doc
    return idx


def chart_pubsub_throughput(gp, runs):
    if not runs:
        note("no pubsub results (bench/compare.sh): skipping pubsub-throughput")
        return
    idx = pubsub_index(runs)
    scens = ordered(idx.keys(), SCENARIO_ORDER)
    brokers = ordered({b for s in idx.values() for b in s}, BROKER_ORDER)
    rows = [(s, [num(idx[s][b].get("delivered_per_s")) if b in idx[s] else None
                 for b in brokers]) for s in scens]
    gp.bars("pubsub-throughput", "iotbench pubsub: delivered messages/s per scenario",
            "delivered msg/s (log scale)", ["scenario"] + brokers, rows, logscale=True, rotate=True)


def chart_pubsub_latency(gp, runs):
    idx = pubsub_index(runs)
    fixed = [s for s in ordered(idx.keys(), SCENARIO_ORDER)
             if any((num(d.get("rate")) or 0) > 0 for d in idx[s].values())]
    if not fixed:
        note("no pubsub run at a fixed --rate (compare.sh lat-1k-q1): skipping pubsub-latency")
        return
    for scen in fixed:
        brokers = ordered(idx[scen].keys(), BROKER_ORDER)
        lat = {b: idx[scen][b].get("latency_us") or {} for b in brokers}
        rows = [(label, [num(lat[b].get(key)) if isinstance(lat[b], dict) else None
                         for b in brokers]) for key, label in PCTS]
        rate = next((num(d.get("rate")) for d in idx[scen].values() if num(d.get("rate"))), 0)
        gp.bars("pubsub-latency-" + scen,
                "iotbench pubsub %s: one-way latency at %.0f msg/s" % (scen, rate),
                "latency (us, log scale)", ["percentile"] + brokers, rows, logscale=True)


def rtt_label(doc):
    dev = num(doc.get("devices"))
    rate = num(doc.get("rate")) or 0
    conns = num(doc.get("conns"))
    got = num(doc.get("achieved_per_s"))
    mode = "%.0f calls/s open loop" % rate if rate > 0 else "closed loop"
    return "%s devices, %s, %s conns; achieved %s calls/s" % (
        "?" if dev is None else "%.0f" % dev, mode,
        "?" if conns is None else "%.0f" % conns, "?" if got is None else "%.0f" % got)


def chart_rtt(gp, runs):
    if not runs:
        note("no rtt results (bench/rtt.sh): skipping rtt charts")
        return
    for stem, doc in runs:
        rt, sv = doc.get("rtt_ms"), doc.get("server_latency_ms")
        rt = rt if isinstance(rt, dict) else {}
        sv = sv if isinstance(sv, dict) else {}
        rows = [(label, [num(rt.get(key)), num(sv.get(key))])
                for key, label in PCTS + [("max", "max")]]
        if all(v is None for _, vals in rows for v in vals):
            note("%s has no latency percentiles: skipped" % stem)
            continue
        name = stem if stem.startswith("rtt") else "rtt-" + stem
        gp.bars(name, "iotbench rtt: " + rtt_label(doc), "latency (ms, log scale)",
                ["percentile", "round trip", "server (publish -> answer)"], rows,
                logscale=True)


def connect_label(stem, doc):
    name = stem[len("connect-"):] if stem.startswith("connect-") else stem
    n = num(doc.get("established"))
    return "%s (%s)" % (name, "?" if n is None else "%.0f" % n)


def chart_connect(gp, runs):
    if not runs:
        note("no connect results (bench/connect.sh): skipping connect charts")
        return
    rate_rows, rss_rows, cpu_rows = [], [], []
    docs = dict(runs)
    for stem in ordered(docs.keys(), CONNECT_ORDER):
        doc = docs[stem]
        label = connect_label(stem, doc)
        server = doc.get("server") if isinstance(doc.get("server"), dict) else {}
        rate_rows.append((label, [num(doc.get("conn_per_s"))]))
        rss_rows.append((label, [num(server.get("rss_per_conn"))]))
        cpu_rows.append((label, [num(server.get("cpu_us_per_conn"))]))
    gp.bars("connect-rate", "iotbench connect: established connections/s (label: established)",
            "connections/s", ["run", "conn/s"], rate_rows, rotate=True)
    if all(v[0] is None for _, v in rss_rows):
        note("connect results carry no server figures (--server-pid): skipping connect-rss, "
             "connect-cpu")
        return
    gp.bars("connect-rss", "iotbench connect: server RSS growth per idle connection",
            "bytes per connection", ["run", "RSS B/conn"], rss_rows, rotate=True)
    gp.bars("connect-cpu", "iotbench connect: server CPU per connection during the ramp",
            "CPU us per connection", ["run", "server CPU us/conn"], cpu_rows, rotate=True)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: plot_charts.py RESULTS_DIR OUT_DIR\n")
        return 2
    results_dir, out_dir = argv[1], argv[2]
    if not os.path.isdir(results_dir):
        note("no results directory %s (run bench/compare.sh, bench/rtt.sh or "
             "bench/connect.sh first)" % results_dir)
        return 1
    if shutil.which("gnuplot") is None:
        note("gnuplot not found (bench/plot installs gnuplot-nox)")
        return 1
    os.makedirs(out_dir, exist_ok=True)
    runs = collect(results_dir)
    with tempfile.TemporaryDirectory(prefix="iotplot-") as work:
        gp = Gnuplot(out_dir, work)
        try:
            chart_pubsub_throughput(gp, runs["pubsub"])
            chart_pubsub_latency(gp, runs["pubsub"])
            chart_rtt(gp, runs["rtt"])
            chart_connect(gp, runs["connect"])
        except RuntimeError as e:
            note(str(e))
            return 1
    for path in gp.written:
        print(path)
    if not gp.written:
        note("no chart written: no usable results in %s" % results_dir)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
