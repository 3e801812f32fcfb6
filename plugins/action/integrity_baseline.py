# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""integrity_baseline's controller half: the host scans, the controller decides and signs.

Nothing that could forge or erase evidence goes to the managed host: the signing key and the
off-host write credentials stay in this process. The host runs the module twice at most: once to
scan (public keys only; it returns the current manifest as it is and a fresh unsigned body), once
to install what this action signed (a manifest, a confirmation record). Everything the host says
is checked here against the trusted keys before it counts: a manifest that does not verify is
never overwritten, a manifest of another host fails the run, drift is reported and never
re-signed without ``refresh``, and a refresh can ask Debian's signed archive whether the
package files it is about to accept are Debian's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import zlib

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.prodready.platform.plugins.module_utils._integrity import baseline
from ansible_collections.prodready.platform.plugins.module_utils._integrity import common
from ansible_collections.prodready.platform.plugins.module_utils._integrity import compare
from ansible_collections.prodready.platform.plugins.module_utils._integrity import dpkg
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest
from ansible_collections.prodready.platform.plugins.module_utils._integrity import offhost as offhost_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import record as record_lib
from ansible_collections.prodready.platform.plugins.module_utils._integrity import signing

MODULE = "prodready.platform.integrity_baseline"
# Options only this action reads: never part of the module's arguments on the host.
CONTROLLER_ONLY = ("private_key", "previous_public_key", "refresh", "verify_archive", "offhost")
OFFHOST_LOCATION = ("endpoint_url", "bucket", "key")
# The module's defaults of the options a confirmation record is bound to.
MODULE_DEFAULTS = {"include": [], "exclude": [], "system_checks": True, "packages": True, "package_owners": True,
                   "accept_package_updates": False, "dpkg_admin_dir": dpkg.DPKG_ADMIN_DIR, "dpkg_log": dpkg.DPKG_LOG,
                   "offhost": None}


def decide(old_data, new_body, key, trusted, host, config, refresh):
    """What to do with the host's current manifest (``old_data``, bytes or None) and a fresh body.

    Returns ``(action, body_to_sign_or_None, old_body)``; raises ``AnsibleActionFail`` when the
    current manifest must not be touched. ``trusted`` are the public keys an existing baseline may
    be signed with (the current key first)."""
    if old_data is None:
        return "created", new_body, None
    try:
        old_body = manifest.load_manifest(old_data, trusted)
    except common.ManifestError as exc:
        raise AnsibleActionFail(
            "the host's baseline does not verify with the trusted keys (%s): %s. Refusing to overwrite it: "
            "it may be forged. Investigate the host; pass the old key as previous_public_key to rotate." % (
                ", ".join(signing.key_id(signing.load_public_key(k)) for k in trusted), to_native(exc)))
    current_key = signing.key_id(key)
    signed_by = manifest.manifest_header(old_data)["key_id"]
    host_errors = manifest.binding_errors(old_body, host=host)
    if host_errors and signed_by == current_key and not refresh:
        raise AnsibleActionFail("the host's baseline is not its own: %s. Refusing to sign over it; run the "
                                "rebaseline playbook after investigating." % "; ".join(host_errors))
    current = signed_by == current_key and baseline.same_state(old_body, new_body) \
        and not manifest.binding_errors(old_body, host, config)
    if refresh and not current:
        return "refreshed", new_body, old_body
    if signed_by != current_key:
        # Rotation, or migration from one fleet key: the body that was trusted is re-signed with
        # the host's key and bound to it, not the tree as it is now (its drift stays reported).
        rotated = dict(old_body, host=host)
        return "rotated", rotated, old_body
    if current:
        return "unchanged", None, old_body  # a rebaseline with nothing to accept changes nothing
    return "kept", None, old_body


def archive_items(old_body, new_body):
    """The changed or added files of ``new_body`` that a package owns, as the archive check wants
    them: path, package, version, sha256 (or link target)."""
    diff = compare.compare_manifests(old_body, new_body)
    drift = set(item["path"] for item in diff["added"] + diff["changed"])
    owners = (new_body.get("packages") or {}).get("dpkg_owners") or {}
    items = []
    for key, record in sorted(owners.items()):
        package = key.split(":", 1)[0]
        for path in record["files"]:
            if path in drift:
                entry = new_body["entries"].get(path, {})
                items.append({"path": path, "package": package, "version": record["version"],
                              "sha256": entry.get("sha256"), "target": entry.get("target")})
    return items


def verify_with_archive(options, items, codename, arch):
    """Ask Debian's signed archive about ``items`` (controller side); returns the archive's answers."""
    if not items:
        return []
    from ansible_collections.prodready.platform.plugins.module_utils._integrity import debian_archive
    if not codename:
        raise AnsibleActionFail("cannot check Debian's archive: the host reports no release codename")
    archive = debian_archive.DebianArchive(
        debian_archive.default_sources(codename, uri=options["mirror"], security_uri=options["security_mirror"]),
        keyring=options["keyring"], arch=arch or "amd64")
    return archive.verify_files(items)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _module(self, args, task_vars):
        result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        if result.get("failed"):
            raise AnsibleActionFail(result.get("msg", "integrity_baseline failed on the host"), result=result)
        return result

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        controller = dict((name, args.pop(name, None)) for name in CONTROLLER_ONLY)
        private_key = controller["private_key"]
        if not private_key:
            raise AnsibleActionFail("integrity_baseline: no signing key on the controller (private_key is empty): set "
                                    "integrity_signing_secret (one secret, a key per host) or integrity_private_key")
        try:
            key = signing.load_private_key(private_key)
            previous = controller["previous_public_key"] or []
            previous = [previous] if isinstance(previous, str) else list(previous)
            trusted = [signing.public_key_text(key)] + [signing.public_key_text(signing.load_public_key(k)) for k in previous]
        except common.IntegrityError as exc:
            raise AnsibleActionFail("integrity_baseline: %s" % to_native(exc))
        refresh = _bool(controller["refresh"])
        offhost = controller["offhost"] or None
        archive = dict(enabled=False, mirror="http://deb.debian.org/debian", accept_unverified=False,
                       security_mirror="http://deb.debian.org/debian-security",
                       keyring="/usr/share/keyrings/debian-archive-keyring.gpg")
        archive.update(controller["verify_archive"] or {})
        host = args.get("host") or task_vars.get("inventory_hostname")
        args.update(host=host, public_key=trusted)
        if offhost:
            args["offhost"] = dict((name, offhost.get(name)) for name in OFFHOST_LOCATION if offhost.get(name))
        if refresh:
            args["trust_confirmation"] = False

        scan = self._module(dict(args, state="scan"), task_vars)
        out = dict(changed=False, path=scan["path"], key_id=signing.key_id(key), entries=scan.get("entries", 0),
                   added=[], removed=[], changed_entries=[], package_updates=scan.get("package_updates", []),
                   not_package_updates=scan.get("not_package_updates", []), confirmed=bool(scan.get("confirmed")))
        old_data = base64.b64decode(scan["current"]) if scan.get("current") else None
        if out["confirmed"]:
            out.update(action="unchanged", manifest_sha256=manifest.manifest_digest(old_data))
            if offhost:
                out["offhost"] = {"bucket": offhost["bucket"], "key": offhost["key"], "up_to_date": True, "confirmed": True}
            result.update(out)
            return result

        new_body = json.loads(zlib.decompress(base64.b64decode(scan["body"])).decode("ascii"))
        new_body["host"] = host
        config = manifest.manifest_config(args["paths"], args.get("include"), args.get("exclude"))
        action, body, old_body = decide(old_data, new_body, key, trusted, host, config, refresh)
        if old_body is not None:
            diff = compare.compare_manifests(old_body, new_body)
            out.update(added=[a["path"] for a in diff["added"]], removed=[r["path"] for r in diff["removed"]],
                       changed_entries=[{"path": c["path"], "reasons": c["reasons"]} for c in diff["changed"]])
        else:
            out["added"] = sorted(new_body["entries"])
        out["action"] = action

        # Only drift from a trusted baseline is asked about: a first baseline has nothing to launder
        # into, and would fetch a .deb for every package on the host.
        if refresh and old_body is not None and _bool(archive.get("enabled")):
            answers = verify_with_archive(archive, archive_items(old_body, new_body), scan.get("codename"), scan.get("arch"))
            out["archive"] = answers
            unverified = [a for a in answers if a["status"] != "verified"]
            if unverified and not _bool(archive.get("accept_unverified")):
                named = "; ".join("%s (%s %s): %s %s" % (a["path"], a["package"], a["version"], a["status"], a.get("detail") or "")
                                  for a in unverified[:20])
                raise AnsibleActionFail("refusing to rebaseline: %d file(s) do not match Debian's signed archive: %s" % (
                    len(unverified), named), result=out)

        data = manifest.sign_manifest(body, key) if body is not None else old_data
        if body is not None:
            out["changed"] = True
            if self._task.diff:
                out["diff"] = _diff(scan["path"], old_body, body, out)
        out["manifest_sha256"] = manifest.manifest_digest(data)

        if offhost:
            out["offhost"] = self._offhost(offhost, data, body is not None)
            out["changed"] = out["changed"] or not out["offhost"].get("up_to_date")
        if not self._play_context.check_mode:
            record = None
            if action != "kept":
                # The record binds what the module compares on its next scan: its options with the
                # module's defaults for those the task left out.
                params = dict(MODULE_DEFAULTS, **args)
                record = record_lib.sign_record(record_lib.confirmation_bindings(params, data, scan["dpkg_status_sha256"]), key)
            install = dict(args, state="install",
                           manifest=base64.b64encode(data).decode("ascii") if body is not None else None,
                           record=base64.b64encode(record).decode("ascii") if record else None)
            self._module(install, task_vars)
        result.update(out)
        return result

    def _offhost(self, options, data, writing):
        """Compare with the off-host copy and upload from the controller (its write credentials
        never leave it). Read first: an unreachable store fails the run before anything is written."""
        try:
            remote = offhost_lib.s3_get(options)
            remote_digest = manifest.manifest_digest(remote) if remote else None
        except common.ManifestError:
            remote_digest = "unreadable"
        except common.IntegrityError as exc:
            raise AnsibleActionFail("integrity_baseline: the off-host store is unreachable, nothing was written: %s" % to_native(exc))
        local_digest = manifest.manifest_digest(data)
        where = {"bucket": options["bucket"], "key": options["key"]}
        if remote_digest == local_digest:
            return dict(where, up_to_date=True)
        if remote_digest is not None and not writing:
            raise AnsibleActionFail(
                "the host's baseline differs from the off-host copy s3://%s/%s (host %s, off-host %s); not uploading. "
                "Investigate, then run the rebaseline playbook." % (options["bucket"], options["key"], local_digest, remote_digest))
        if self._play_context.check_mode:
            return dict(where, would_upload=True)
        try:
            return offhost_lib.s3_put(options, data)
        except common.IntegrityError as exc:
            raise AnsibleActionFail("integrity_baseline: cannot upload the off-host copy, nothing was written on the host: %s"
                                    % to_native(exc))


def _bool(value):
    from ansible.module_utils.parsing.convert_bool import boolean
    return boolean(value, strict=False) if value is not None else False


def _lines(items, prefix):
    return "".join("%s %s\n" % (prefix, item) for item in items)


def _diff(path, old_body, body, out):
    changed = ["%s (%s)" % (c["path"], ", ".join(c["reasons"])) for c in out["changed_entries"]]
    return {
        "before_header": "%s (%d entries)" % (path, len(old_body["entries"])) if old_body else "%s (absent)" % path,
        "after_header": "%s (%d entries)" % (path, len(body["entries"])),
        "before": _lines(out["removed"] + changed, "-"),
        "after": _lines(out["added"] + changed, "+"),
    }
