"""The layout checks CI runs (scripts/check-layers.py, scripts/check-doc-names.py): the real
tree passes, and small trees with one wrong include or one stale name fail, naming the
file and line."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAYERS = os.path.join(ROOT, "scripts", "check-layers.py")
NAMES = os.path.join(ROOT, "scripts", "check-doc-names.py")


def run(script, *args):
    p = subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stdout + p.stderr


class Tree:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="iot_layout_")

    def put(self, rel, text):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


class LayerCheckTest(unittest.TestCase):
    def setUp(self):
        self.t = Tree()
        self.addCleanup(self.t.close)
        self.t.put("common/log.h", "int log_x(void);\n")
        self.t.put("store/store.h", '#include "common/log.h"\n')
        self.t.put("http/http.h", '#include "common/log.h"\n')
        self.t.put("api/api.h", '#include "http/http.h"\n#include "store/store.h"\n')
        self.t.put("api/devices/devices.h", '#include "api/api.h"\n')
        self.t.put("api/devices/dev_int.h", '#include "api/devices/devices.h"\n')
        self.t.put("api/accounts/auth_me.c", '#include "api/devices/devices.h"\n')
        self.t.put("tests/unit/test_x.c", '#include "api/devices/dev_int.h"\n')
        self.t.put("mqtt/codec.c", '#include "common/log.h"\n')

    def test_real_tree_passes(self):
        rc, out = run(LAYERS, ROOT)
        self.assertEqual(rc, 0, out)
        self.assertIn("layers: ok", out)

    def test_clean_small_tree_passes(self):
        rc, out = run(LAYERS, self.t.root)
        self.assertEqual(rc, 0, out)

    def test_lower_layer_including_higher_fails_with_file_line(self):
        self.t.put("http/request.c", '#include <stdio.h>\n\n#include "store/store.h"\n')
        rc, out = run(LAYERS, self.t.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("http/request.c:3:", out)
        self.assertIn("store/store.h", out)

    def test_domain_private_header_of_another_domain_fails(self):
        self.t.put("api/accounts/auth_x.c", '#include "api/devices/dev_int.h"\n')
        rc, out = run(LAYERS, self.t.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("api/accounts/auth_x.c:1:", out)

    def test_api_core_including_a_domain_fails(self):
        self.t.put("api/job.c", '#include "api/devices/devices.h"\n')
        rc, out = run(LAYERS, self.t.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("api/job.c:1:", out)

    def test_unknown_folder_fails(self):
        self.t.put("shadow/shadow.c", '#include "common/log.h"\n')
        rc, out = run(LAYERS, self.t.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("shadow/shadow.c:1: folder shadow/", out)


class DocNamesTest(unittest.TestCase):
    def setUp(self):
        self.t = Tree()
        self.addCleanup(self.t.close)
        self.t.put("net/loop.c", "void net_loop_post(void) {}\nenum { MC_WAIT_AUTH };\n")
        self.t.put("devices/devlog.h", "struct devlog;\n")

    def doc(self, text):
        self.t.put("docs/architecture.md", text)
        return run(NAMES, self.t.root, os.path.join(self.t.root, "docs", "architecture.md"))

    def test_real_docs_pass(self):
        rc, out = run(NAMES, ROOT)
        self.assertEqual(rc, 0, out)

    def test_existing_names_pass(self):
        rc, out = self.doc("`net/loop.c` wakes with `net_loop_post`, `MC_WAIT_AUTH`, "
                           "`devices/devlog`, `devices/`, `loop.c`, `uv_async_send`, "
                           "`http/1.1`, `application/json`, `max-inflight`.\n")
        self.assertEqual(rc, 0, out)

    def test_missing_doc_fails_cleanly(self):
        rc, out = run(NAMES, self.t.root)  # the default docs do not exist in this tree
        self.assertEqual(rc, 1, out)
        self.assertIn("docs/contributing.md: missing", out)
        self.assertNotIn("Traceback", out)

    def test_moved_folder_fails(self):
        rc, out = self.doc("one\n`ctl/` is gone\n")
        self.assertEqual(rc, 1, out)
        self.assertIn("docs/architecture.md:2: path `ctl/`", out)

    def test_renamed_function_fails(self):
        rc, out = self.doc("`net_loop_wake` and `net_loop_post`\n")
        self.assertEqual(rc, 1, out)
        self.assertIn("name `net_loop_wake`", out)
        self.assertNotIn("net_loop_post`", out)


if __name__ == "__main__":
    unittest.main()
