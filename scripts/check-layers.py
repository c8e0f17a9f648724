#!/usr/bin/env python3
"""Layer check: every #include "folder/..." in our C sources must follow an allowed edge.

The table below is the one place the layers are written down (docs/architecture.md draws
the same map). A folder may include itself and the folders listed for it; anything else
fails with file:line. Rules beyond the table:
  - api/<domain>/ may include the shared api core (api/*.h) and another domain's public
    header (api/<other>/<other>.h), never another domain's other files (its _int.h);
  - bench/, tests/, fuzz/ and examples/ may include anything;
  - a source folder missing from the table fails too, so a new folder is placed on purpose.

Usage: scripts/check-layers.py [ROOT]   (exit 0: clean, 1: violations)
"""
import os
import re
import sys

# Lowest first. mqtt/ (the pure MQTT codec) may not exist yet; it is placed all the same.
ALLOWED = {
    "common": [],
    "net": ["common"],
    "store": ["common"],
    "ca": ["common"],
    "mqtt": ["common"],
    "broker": ["common", "net", "store", "mqtt"],
    "http": ["common", "net"],
    "ident": ["common", "net", "store", "ca", "broker"],
    "devices": ["common", "net", "store", "mqtt", "broker", "ident"],
    "notify": ["common", "net", "store", "ident"],
    "shadows": ["common", "net", "store", "mqtt", "broker", "ident", "devices"],
    "telemetry": ["common", "net", "store", "mqtt", "broker", "ident", "devices"],
    "provisioning": ["common", "net", "store", "ca", "mqtt", "broker", "ident", "devices"],
    "rules": ["common", "net", "store", "mqtt", "broker", "ident", "devices", "notify",
              "shadows", "telemetry"],
    "jobs": ["common", "net", "store", "mqtt", "broker", "ident", "devices"],
    "api": ["common", "net", "store", "ca", "mqtt", "broker", "http", "ident", "devices",
            "notify", "shadows", "telemetry", "provisioning", "rules", "jobs"],
    "app": ["common", "net", "store", "ca", "mqtt", "broker", "http", "ident", "devices",
            "notify", "api", "shadows", "telemetry", "provisioning", "rules", "jobs"],
}
ANYTHING = {"bench", "tests", "fuzz", "examples"}
SKIP = {"build", "docs", "scripts", ".git", ".ci"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def api_ok(src, target):
    """src, target: paths under api/. True when src may include target."""
    s, t = src.split("/"), target.split("/")
    if len(t) == 2:  # the shared api core
        return True
    if len(s) == 2:  # the core serves the domains, never the other way round
        return False
    if len(s) > 2 and s[1] == t[1]:  # the same domain
        return True
    return len(t) == 3 and t[2] == t[1] + ".h"  # another domain's public header


def check_file(root, rel):
    top = rel.split("/")[0]
    bad = []
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m or "/" not in m.group(1):
                continue
            target = m.group(1)
            dep = target.split("/")[0]
            if top in ANYTHING:
                continue
            if dep == top:
                if top == "api" and not api_ok(rel, target):
                    bad.append(f"{rel}:{n}: api domain includes another domain's "
                               f"private header {target} (use api/<domain>/<domain>.h)")
                continue
            if dep not in ALLOWED.get(top, []):
                bad.append(f"{rel}:{n}: {top}/ may not include {target} "
                           f"({top} -> {', '.join(ALLOWED[top]) or 'nothing'})")
    return bad


def sources(root):
    for d, dirs, files in os.walk(root):
        rel_d = os.path.relpath(d, root)
        if rel_d == ".":
            dirs[:] = [x for x in dirs if x not in SKIP and not x.startswith(".")]
            continue
        for f in files:
            if f.endswith((".c", ".h")):
                yield os.path.join(rel_d, f).replace(os.sep, "/")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    bad, n = [], 0
    for rel in sorted(sources(root)):
        top = rel.split("/")[0]
        if "/" not in rel:
            continue
        if top not in ALLOWED and top not in ANYTHING:
            bad.append(f"{rel}:1: folder {top}/ has no row in scripts/check-layers.py")
            continue
        n += 1
        bad += check_file(root, rel)
    if bad:
        print("layers: includes against the layer map (docs/architecture.md):")
        print("\n".join(bad))
        return 1
    print(f"layers: ok ({n} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
