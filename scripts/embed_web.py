#!/usr/bin/python3
"""Build step: compiles the bundled dashboard (web/build.mjs output: manifest.json and the
files it names, each with a .gz and a .br) into a C file, the asset table api/web/ serves,
so the server reads no file at run time. Fails the build when a named file is missing.

Usage: embed_web.py DIST_DIR OUT.c
"""
import json
import os
import sys


def c_bytes(name, data):
    rows = []
    for i in range(0, len(data), 24):
        rows.append(",".join("%d" % b for b in data[i:i + 24]) + ",")
    return "static const unsigned char %s[] = {\n%s\n0};\n" % (name, "\n".join(rows))


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    dist, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(dist, "manifest.json")) as f:
        manifest = json.load(f)
    parts = ["/* Generated from %s by scripts/embed_web.py; do not edit. */\n" % dist,
             "#include \"api/web/web_int.h\"\n"]
    rows = []
    for i, m in enumerate(manifest):
        names = []
        for k, suffix in (("raw", ""), ("gz", ".gz"), ("br", ".br")):
            with open(os.path.join(dist, m["file"] + suffix), "rb") as f:
                data = f.read()
            parts.append(c_bytes("a%d_%s" % (i, k), data))
            names.append(("a%d_%s" % (i, k), len(data)))
        rows.append("    {%s, %s, %s, %s, {%s, %s, %s}, {%d, %d, %d}},"
                    % (c_str(m["path"]), c_str(m["type"]), c_str(m["etag"]),
                       "true" if m["immutable"] else "false",
                       names[0][0], names[1][0], names[2][0],
                       names[0][1], names[1][1], names[2][1]))
    parts.append("const web_asset web_assets[] = {\n%s\n};\n" % "\n".join(rows))
    parts.append("const size_t web_assets_n = %d;\n" % len(manifest))
    with open(out + ".tmp", "w") as f:
        f.write("".join(parts))
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
