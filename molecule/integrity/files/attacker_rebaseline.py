"""Simulates root on the host rebaselining after a tamper: a new key pair, a fresh baseline of
the current tree signed with it, and the host's trusted public key replaced by the attacker's.
Uses the monitor's own shipped library, as an attacker on the host would."""
import json
import sys

sys.path.insert(0, "/usr/local/lib/prodready-integrity")
import integrity  # noqa: E402

config = json.load(open("/etc/prodready-integrity/config.json"))
old = integrity.load_manifest_unverified(integrity.read_file(config["manifest"]))
key = integrity.generate_private_key_text()
rules = integrity.PathRules(old["config"]["include"], old["config"]["exclude"])
data = integrity.create_baseline(old["config"]["paths"], rules, key)[1]
integrity.write_file_atomic(config["manifest"], data)
with open(config["public_key_file"], "w") as handle:
    handle.write(integrity.public_key_text(integrity.load_private_key(key)) + "\n")
print(integrity.manifest_digest(data))
