"""Suite-level checks around the integration tests (ctest runs them as fixtures).

  suite_check.py begin STATE_DIR    empties the records (ctest: integration.suite_begin,
                                    before every integration test)
  suite_check.py end STATE_DIR      fails when a process any test started is still alive
                                    (and kills it), prints the skipped tests (ctest:
                                    integration.suite_end, after every integration test)
  suite_check.py skips STATE_DIR    prints "N integration test(s) skipped" and the reasons
                                    (scripts/test.sh, at the end of each stage)

The records are written by harness.py: STATE_DIR/pids ("PID STARTTIME WHAT" per process a
test started) and STATE_DIR/skips ("TEST: REASON" per skipped test).
"""

import os
import signal
import sys

from harness import proc_start_time


def read_lines(state, name):
    try:
        with open(os.path.join(state, name), encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def begin(state):
    os.makedirs(state, exist_ok=True)
    for name in ("pids", "skips"):
        open(os.path.join(state, name), "w").close()
    return 0


def leftovers(state):
    """[(pid, what)] of the recorded processes still alive (same pid and start time)."""
    left = []
    for line in read_lines(state, "pids"):
        pid, start, what = (line.split(" ", 2) + [""])[:3]
        if proc_start_time(int(pid)) == start:
            left.append((int(pid), what))
    return left


def skips(state):
    lines = read_lines(state, "skips")
    print("%d integration test(s) skipped" % len(lines))
    for line in lines:
        print("  skipped: " + line)
    return 0


def end(state):
    skips(state)
    left = leftovers(state)
    for pid, what in left:
        print("LEFT BEHIND: pid %d (%s); killing it" % (pid, what))
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    recorded = len(read_lines(state, "pids"))
    print("%d process(es) started by the tests, %d still running" % (recorded, len(left)))
    return 1 if left else 0


def main(argv):
    if len(argv) != 3 or argv[1] not in ("begin", "end", "skips"):
        print(__doc__, file=sys.stderr)
        return 2
    return {"begin": begin, "end": end, "skips": skips}[argv[1]](argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
