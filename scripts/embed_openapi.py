#!/usr/bin/python3
"""Build step: turns docs/openapi.yaml into a C file holding the YAML text and the same
document as compact JSON, so the server answers GET /v1/openapi.yaml and .json without
reading files at run time. Fails the build when the YAML does not parse or is not
OpenAPI 3.1.

Usage: embed_openapi.py IN.yaml OUT.c
"""
import json
import sys

import yaml


def c_array(name, data):
    rows = []
    for i in range(0, len(data), 16):
        rows.append("    " + ", ".join("0x%02x" % b for b in data[i:i + 16]) + ",")
    return ("const unsigned char %s[] = {\n%s\n    0x00};\nconst size_t %s_len = %d;\n"
            % (name, "\n".join(rows), name, len(data)))


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        text = f.read()
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1"):
        sys.exit("%s: not an OpenAPI 3.1 document" % src)
    js = json.dumps(doc, separators=(",", ":"), sort_keys=False).encode()
    with open(out, "w") as f:
        f.write("/* Generated from %s by scripts/embed_openapi.py; do not edit. */\n" % src)
        f.write("#include <stddef.h>\n")
        f.write(c_array("iot_openapi_yaml", text))
        f.write(c_array("iot_openapi_json", js))


if __name__ == "__main__":
    main()
