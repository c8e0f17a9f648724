#!/usr/bin/env python3
"""Writes iotcloud(1) in roff from `iotcloud --help` (run at build time, so the page lists
exactly the options of the binary it ships with).
Usage: man_from_help.py IOTCLOUD_BINARY VERSION OUT.1"""

import re
import subprocess
import sys

SUBCOMMANDS = [
    ("reload [--data-dir DIR | --config FILE]",
     "ask the running server to re-read its configuration and certificate (as SIGHUP)"),
    ("doctor [--connections N] [server options]",
     "check a configuration and this machine, print what to fix"),
    ("store check|backup FILE|restore FILE [server options]",
     "check, back up (online) or restore the embedded store"),
    ("user add [--admin] NAME", "create an account"),
    ("routes", "list the HTTP API's routes"),
]


def esc(s):
    return s.replace("\\", "\\\\").replace("-", "\\-").replace("'", "\\(aq")


def main():
    binary, version, out = sys.argv[1:4]
    text = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    opts = []
    for line in text.splitlines():
        # "--name ARG" then the meaning; a long flag leaves a single space before it
        m = re.match(r"^  (-h, --help|--[a-z0-9-]+(?: [A-Z][A-Z0-9_-]*)?)\s+(.*)$", line)
        if m:
            opts.append((m.group(1), m.group(2)))
    if len(opts) < 10:
        sys.exit("man_from_help: --help listed %d options, expected many" % len(opts))
    lines = [
        '.TH IOTCLOUD 1 "" "iotcloud %s" "User Commands"' % esc(version),
        ".SH NAME", "iotcloud \\- MQTT broker, device registry and HTTPS API",
        ".SH SYNOPSIS", ".B iotcloud", "[\\fB\\-\\-config\\fR \\fIFILE\\fR] "
        "[\\fB\\-\\-KEY\\fR \\fIVALUE\\fR]...", ".br", ".B iotcloud",
        "\\fISUBCOMMAND\\fR ...",
        ".SH DESCRIPTION",
        "Every option is also a line \\fBKEY VALUE\\fR of the configuration file "
        "(\\fI/etc/iotcloud/iotcloud.conf\\fR when installed from the package); options on "
        "the command line are applied after the file. SIGHUP (or \\fBiotcloud reload\\fR) "
        "re-reads the file and the TLS certificate without dropping connections; SIGUSR1 "
        "reopens the log file; SIGTERM stops gracefully.",
        ".SH OPTIONS",
    ]
    for flag, desc in opts:
        lines += [".TP", "\\fB%s\\fR" % esc(flag), esc(desc)]
    lines.append(".SH SUBCOMMANDS")
    for cmd, desc in SUBCOMMANDS:
        lines += [".TP", "\\fBiotcloud %s\\fR" % esc(cmd), esc(desc)]
    lines += [".SH FILES", ".TP", "/etc/iotcloud/iotcloud.conf", "default configuration",
              ".TP", "/var/lib/iotcloud", "data directory: store, CA, keys, admin.sock",
              ".SH SEE ALSO", "docs/operations.md in the source tree"]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
