#!/usr/bin/env python3
"""Doc-name check: the code names docs/architecture.md and docs/contributing.md quote in
`backticks` must exist.

What is checked, per quoted token:
  - a path under one of our top-level folders ("broker/route.c", "api/accounts/", "http/",
    "devices/devlog" = any devices/devlog.*, "broker/handle_*.c" = a glob): it must exist;
  - a file name ("auth_cache.c"): some file in the tree has that name;
  - a C name of ours, snake_case or UPPER_CASE with an underscore ("net_loop_post",
    "broker_opts.auth", "net_conn_write*", "MC_WAIT_AUTH"): it occurs as a word (a prefix
    for a trailing "*") in some .c/.h file.
Names of other projects (uv_, SSL_, bson_, ...), config options and plain words are not
checked. A renamed function or a moved file then fails CI until the doc follows.

Usage: scripts/check-doc-names.py [ROOT [DOC...]]   (exit 0: all found, 1: some missing)
"""
import glob
import os
import re
import sys

FOREIGN = ("uv_", "SSL_", "SO_", "TCP_", "EVP_", "bson_", "BSON_", "pthread_", "llhttp_", "EPOLL")
PATH = re.compile(r"^[a-z_]+/(?:[A-Za-z_*][A-Za-z0-9_.*-]*/?)*$")
FILE = re.compile(r"^[A-Za-z0-9_-]+\.[ch]$")
CNAME = re.compile(r"^(?:[a-z][a-z0-9]*(?:__?[a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"
                   r"(?:\.[a-z_]+)?\*?(?:\(\))?$")
SKIP_DIRS = {"build", ".git"}
DOCS = ("docs/architecture.md", "docs/contributing.md")  # checked by default
MIME = ("application/", "text/", "image/", "multipart/")  # media types look like paths


def tree(root):
    files = []
    for d, dirs, fs in os.walk(root):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.startswith(".")]
        files += [os.path.join(d, f) for f in fs]
    return files


def c_text(files):
    out = []
    for p in files:
        if p.endswith((".c", ".h")):
            with open(p, encoding="utf-8", errors="replace") as f:
                out.append(f.read())
    return "\n".join(out)


def path_exists(root, tok):
    p = os.path.join(root, tok.rstrip("/"))
    if glob.glob(p) or glob.glob(p + ".*"):
        return True
    return False


def name_exists(code, tok):
    name = tok.replace("()", "")
    prefix = name.endswith("*")
    name = name.rstrip("*").split(".")[0]
    pat = r"\b" + re.escape(name) + ("" if prefix else r"\b")
    return re.search(pat, code) is not None


def check_doc(root, doc, code, basenames):
    bad = []
    if not os.path.isfile(doc):
        return [f"{os.path.relpath(doc, root)}: missing"]
    with open(doc, encoding="utf-8") as f:
        lines = f.readlines()
    for n, line in enumerate(lines, 1):
        for tok in re.findall(r"`([^`\n]+)`", line):
            if PATH.match(tok) and not tok.startswith(MIME):
                ok, what = path_exists(root, tok), "path"
            elif FILE.match(tok):
                ok, what = tok in basenames, "file"
            elif CNAME.match(tok) and not tok.startswith(FOREIGN):
                ok, what = name_exists(code, tok), "name"
            else:
                continue
            if not ok:
                bad.append(f"{os.path.relpath(doc, root)}:{n}: {what} `{tok}` not in the code")
    return bad


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    docs = sys.argv[2:] or [os.path.join(root, d) for d in DOCS]
    files = tree(root)
    code = c_text(files)
    basenames = {os.path.basename(p) for p in files}
    bad = []
    for doc in docs:
        bad += check_doc(root, doc, code, basenames)
    if bad:
        print("doc names: quoted names that the code does not have:")
        print("\n".join(bad))
        return 1
    print(f"doc names: ok ({len(docs)} file(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
