"""A strict parser of the Prometheus text exposition format 0.0.4, for the metrics tests.

It refuses what Prometheus' own parser refuses and what its conventions forbid:
  - a line that is not "# HELP name text", "# TYPE name type", another comment, or a
    sample "name{label="value",...} value [timestamp]";
  - a bad metric or label name, a label value with an escape other than \\\\, \\" or \\n,
    a duplicated label, a value that is not a float (NaN, +Inf, -Inf allowed);
  - a TYPE after the family's first sample, a second TYPE or HELP for one name, a family
    whose lines are not contiguous, the same series twice;
  - for histograms: a _bucket without le, buckets that are not cumulative, no le="+Inf"
    bucket, a _count that differs from the +Inf bucket, a missing _sum or _count;
  - a body that does not end with a newline.

parse(text) -> {family: {"type": t, "help": h, "samples": {(name, labels): value}}}
where labels is a tuple of sorted (name, value) pairs.
"""

import math
import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


class FormatError(AssertionError):
    pass


def _value(text, lineno):
    if text in ("NaN", "+Inf", "-Inf", "Inf"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise FormatError("line %d: %r is not a number" % (lineno, text))
    return float(text)


def _labels(text, lineno):
    """Parses 'a="x",b="y"' (the inside of the braces) into sorted pairs."""
    out, i = {}, 0
    while i < len(text):
        m = re.match(LABEL + "=\"", text[i:])
        if not m:
            raise FormatError("line %d: bad label at %r" % (lineno, text[i:]))
        name = m.group(0)[:-2]
        i += m.end()
        val = []
        while True:
            if i >= len(text):
                raise FormatError("line %d: unterminated label value" % lineno)
            ch = text[i]
            if ch == "\\":
                esc = text[i + 1:i + 2]
                if esc not in ("\\", "\"", "n"):
                    raise FormatError("line %d: bad escape \\%s" % (lineno, esc))
                val.append("\n" if esc == "n" else esc)
                i += 2
            elif ch == "\"":
                i += 1
                break
            elif ch == "\n":
                raise FormatError("line %d: raw newline in a label value" % lineno)
            else:
                val.append(ch)
                i += 1
        if name in out:
            raise FormatError("line %d: label %s twice" % (lineno, name))
        out[name] = "".join(val)
        if i < len(text):
            if text[i] != ",":
                raise FormatError("line %d: expected ',' in labels" % lineno)
            i += 1
    return tuple(sorted(out.items()))


def _family_of(name, families):
    """The declared family a sample name belongs to (histogram suffixes stripped)."""
    if name in families:
        return name
    for suf in ("_bucket", "_sum", "_count"):
        base = name[:-len(suf)]
        if name.endswith(suf) and base in families and \
                suf in SUFFIXES.get(families[base]["type"], ()):
            return base
    return name


def _sample(line, lineno):
    m = re.fullmatch(r"(%s)(\{(.*)\})? (\S+)( -?\d+)?" % NAME, line)
    if not m:
        raise FormatError("line %d: not a sample: %r" % (lineno, line))
    return m.group(1), _labels(m.group(3) or "", lineno), _value(m.group(4), lineno)


def _check_histogram(fam, name):
    groups = {}
    for (sname, labels), v in fam["samples"].items():
        rest = tuple(p for p in labels if p[0] != "le")
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            le = dict(labels).get("le")
            if le is None:
                raise FormatError("%s: _bucket without le" % name)
            g["buckets"].append((_value(le, 0), v))
        elif sname == name + "_sum":
            g["sum"] = v
        elif sname == name + "_count":
            g["count"] = v
        else:
            raise FormatError("%s: unexpected sample %s in a histogram" % (name, sname))
    for rest, g in groups.items():
        b = sorted(g["buckets"])
        if not b or not math.isinf(b[-1][0]):
            raise FormatError("%s%s: no le=\"+Inf\" bucket" % (name, rest))
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            raise FormatError("%s%s: buckets not cumulative" % (name, rest))
        if g["sum"] is None or g["count"] is None:
            raise FormatError("%s%s: _sum or _count missing" % (name, rest))
        if g["count"] != b[-1][1]:
            raise FormatError("%s%s: _count %s != +Inf bucket %s" % (name, rest, g["count"],
                                                                      b[-1][1]))


def parse(text):
    if text and not text.endswith("\n"):
        raise FormatError("the body must end with a newline")
    families, order, done = {}, [], set()
    current = None
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (%s) ?(.*)" % NAME, line)
            if not m:
                continue  # another comment
            kind, name, rest = m.groups()
            fam = families.setdefault(name, {"type": None, "help": None, "samples": {}})
            if name in done:
                raise FormatError("line %d: %s for %s after its samples ended" % (lineno, kind,
                                                                                  name))
            if kind == "TYPE":
                if fam["type"] is not None or fam["samples"]:
                    raise FormatError("line %d: TYPE of %s twice or after samples" % (lineno,
                                                                                    name))
                if rest not in TYPES:
                    raise FormatError("line %d: unknown type %r" % (lineno, rest))
                fam["type"] = rest
            else:
                if fam["help"] is not None:
                    raise FormatError("line %d: HELP of %s twice" % (lineno, name))
                if re.search(r"\\[^\\n]", rest.replace("\\\\", "")):
                    raise FormatError("line %d: bad escape in HELP" % lineno)
                fam["help"] = rest.replace("\\n", "\n").replace("\\\\", "\\")
            if current is not None and current != name:
                done.add(current)
            current = name
            continue
        sname, labels, v = _sample(line, lineno)
        fname = _family_of(sname, families)
        if fname in done:
            raise FormatError("line %d: %s is not contiguous" % (lineno, fname))
        if current is not None and current != fname:
            done.add(current)
        current = fname
        fam = families.setdefault(fname, {"type": "untyped", "help": None, "samples": {}})
        if fam["type"] is None:
            fam["type"] = "untyped"
        if (sname, labels) in fam["samples"]:
            raise FormatError("line %d: series %s%s twice" % (lineno, sname, labels))
        fam["samples"][(sname, labels)] = v
        if fname not in order:
            order.append(fname)
    for name, fam in families.items():
        if fam["type"] == "histogram":
            _check_histogram(fam, name)
        if fam["type"] == "counter" and not name.endswith("_total"):
            raise FormatError("counter %s does not end in _total" % name)
        for (sname, _), v in fam["samples"].items():
            if fam["type"] == "counter" and v < 0:
                raise FormatError("counter %s is negative" % sname)
    return families


def value(families, name, **labels):
    """The value of one series (family name or a histogram's _count/_sum), or KeyError."""
    key = tuple(sorted(labels.items()))
    fam = families[_family_of(name, families)]
    return fam["samples"][(name, key)]
