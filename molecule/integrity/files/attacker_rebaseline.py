"""Simulates root on the host rebaselining after a tamper: a new key pair, a fresh baseline of
the current tree signed with it, and the host's trusted public key replaced by the attacker's.
Uses the monitor's own shipped library, as an attacker on the host would."""
import json
import sys

sys.path.insert(0, "/usr/local/lib/prodready-integrity/python")
# pylint: disable=wrong-import-position
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest, pathrules, scan, signing  # noqa: E402

config = json.load(open("/etc/prodready-integrity/config.json"))
old = manifest.load_manifest_unverified(manifest.read_file(config["manifest"]))
key = signing.generate_private_key_text()
rules = pathrules.PathRules(old["config"]["include"], old["config"]["exclude"])
paths = old["config"]["paths"]
body = manifest.build_manifest(scan.add_hashes(scan.walk(paths, rules)), paths, rules,
                               system=scan.scan_system(), packages=scan.dpkg_verify())
data = manifest.sign_manifest(body, key)
manifest.write_file_atomic(config["manifest"], data)
with open(config["public_key_file"], "w") as handle:
    handle.write(signing.public_key_text(signing.load_private_key(key)) + "\n")
print(manifest.manifest_digest(data))
