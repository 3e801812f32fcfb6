# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test fixture, run on the controller: a genuine but narrower manifest of a host (as if signed
when its path set was smaller), signed with the host's own key from the environment
(NARROW_KEY), never from a command line. Usage: narrow_manifest.py IN OUT KEEP_ROOT"""
import os
import sys

from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing

key = signing.load_private_key(os.environ["NARROW_KEY"])
with open(sys.argv[1], "rb") as handle:
    body = manifest.load_manifest(handle.read(), signing.public_key_text(key))
root = sys.argv[3]
body["config"]["paths"] = [root]
body["entries"] = dict((p, e) for p, e in body["entries"].items() if p == root or p.startswith(root + "/"))
with open(sys.argv[2], "wb") as handle:
    handle.write(manifest.sign_manifest(body, key))
