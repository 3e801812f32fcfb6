# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prodready-integrity: the on-host integrity monitor.

A small CLI around the collection's integrity library (plugins/module_utils/_integrity/) and the
metrics textfile contract (textfile.py), both installed under python/ beside this file by the
`integrity` role (prodready.platform.python_library).

    prodready-integrity verify --level standard     check, write metrics, notify (exit 0 clean, 1 violations, 2 error)
    prodready-integrity status                      the last result of every level

Notifications (webhook, Slack, email) are de-duplicated per level and channel: the state file
keeps the fingerprint of the last violation set sent, so a persisting violation alerts once,
a changed set alerts again, and a clean run after violations sends one "resolved".
"""

from __future__ import absolute_import, division, print_function

import argparse
import fcntl
import json
import os
import smtplib
import ssl
import socket
import sys
import time
import urllib.request
from email.message import EmailMessage

# The library the role installs with prodready.platform.python_library, beside this file: the
# collection's own module_utils, imported by their full names as the modules import them.
LIBRARY_DIR = os.path.join(os.path.dirname(os.path.realpath(__file__)), "python")
sys.path.insert(0, LIBRARY_DIR)

# pylint: disable=wrong-import-position
from ansible_collections.prodready.platform.plugins.module_utils import textfile  # noqa: E402
from ansible_collections.prodready.platform.plugins.module_utils._integrity import common  # noqa: E402
from ansible_collections.prodready.platform.plugins.module_utils._integrity import dpkg  # noqa: E402
from ansible_collections.prodready.platform.plugins.module_utils._integrity import manifest  # noqa: E402
from ansible_collections.prodready.platform.plugins.module_utils._integrity import notify as notify_lib  # noqa: E402
from ansible_collections.prodready.platform.plugins.module_utils._integrity import offhost  # noqa: E402
from ansible_collections.prodready.platform.plugins.module_utils._integrity import results as results_lib  # noqa: E402
from ansible_collections.prodready.platform.plugins.module_utils._integrity import verify as verify_lib  # noqa: E402

DEFAULT_CONFIG = "/etc/prodready-integrity/config.json"
METRICS_FILE = "prodready_integrity.prom"


def log(message):
    sys.stderr.write("prodready-integrity: %s\n" % message)


def load_config(path):
    with open(path) as handle:
        config = json.load(handle)
    config.setdefault("state_dir", "/var/lib/prodready-integrity")
    config.setdefault("textfile_dir", textfile.DEFAULT_TEXTFILE_DIR)
    config.setdefault("host", socket.getfqdn())
    config.setdefault("notify", {})
    config.setdefault("full", {})
    return config


def read_public_keys(config):
    keys = list(config.get("public_keys") or [])
    key_file = config.get("public_key_file")
    if key_file and os.path.exists(key_file):
        with open(key_file) as handle:
            keys.extend(line.strip() for line in handle if line.strip() and not line.startswith("#"))
    if not keys:
        raise common.ConfigError("no trusted public key configured (public_keys / public_key_file)")
    return keys


def expected_config(config):
    """The path set the manifest must be bound to (None for a configuration from before binding)."""
    binding = config.get("binding")
    if not binding:
        return None
    return manifest.manifest_config(binding["paths"], binding.get("include"), binding.get("exclude"))


def run_check(config, level):
    manifest_path = config["manifest"]
    try:
        data = manifest.read_file(manifest_path)
    except common.ConfigError as exc:
        return results_lib.error_result(level, str(exc), path=manifest_path)
    reference = None
    full = config.get("full") or {}
    if level == "full" and full.get("offhost"):
        try:
            reference = offhost.s3_get(full["offhost"])
            if reference is None:
                return results_lib.error_result(level, "the off-host copy does not exist", kind="offhost", path=manifest_path)
        except common.IntegrityError as exc:
            return results_lib.error_result(level, "off-host copy unreadable: %s" % exc, kind="offhost", path=manifest_path)
    try:
        return verify_lib.verify(
            data, read_public_keys(config), level, reference_data=reference, workers=config.get("workers") or None,
            packages=config.get("packages", True), backup=full.get("backup"), certificates=full.get("certificates"),
            manifest_path=manifest_path, accept_package_updates=config.get("accept_package_updates", True),
            expected_host=config.get("host"), expected_config=expected_config(config),
            package_state=dpkg.PackageState(config.get("dpkg_admin_dir") or dpkg.DPKG_ADMIN_DIR,
                                            config.get("dpkg_log") or dpkg.DPKG_LOG))
    except common.UnsupportedVersionError as exc:
        return results_lib.error_result(level, str(exc), path=manifest_path)


def write_metrics(config):
    """Render every level's last result into one textfile (levels run from separate timers)."""
    state_dir = config["state_dir"]
    results = {}
    for level in common.LEVELS:
        path = os.path.join(state_dir, "last-%s.json" % level)
        if os.path.exists(path):
            with open(path) as handle:
                results[level] = json.load(handle)
    violations = textfile.Metric("prodready_integrity_violations", "Integrity violations found by the last check, by kind and level.")
    last_run = textfile.Metric("prodready_integrity_last_run_timestamp_seconds", "When the last integrity check of a level finished.")
    checked = textfile.Metric("prodready_integrity_files_checked", "Entries checked by the last integrity check.")
    duration = textfile.Metric("prodready_integrity_duration_seconds", "Duration of the last integrity check.")
    updates = textfile.Metric("prodready_integrity_package_updates",
                              "Changes the last integrity check accepted as dpkg package updates (not violations).")
    for level in sorted(results):
        result = results[level]
        by_kind = result.get("counts", {}).get("by_kind", {})
        for kind in common.VIOLATION_KINDS:
            violations.add(by_kind.get(kind, 0), {"kind": kind, "level": level})
        last_run.add(result.get("checked_at", 0), {"level": level})
        checked.add(result.get("files_checked", 0), {"level": level})
        duration.add(result.get("duration_seconds", 0), {"level": level})
        updates.add(len(result.get("package_updates") or []), {"level": level})
    metrics = [violations, last_run, checked, duration, updates]
    try:
        baseline = os.stat(config["manifest"]).st_mtime
        metrics.append(textfile.Metric("prodready_integrity_baseline_timestamp_seconds",
                                       "Modification time of the local baseline manifest.").add(int(baseline)))
    except OSError:
        pass
    return textfile.write_textfile(METRICS_FILE, metrics, directory=config["textfile_dir"])


def render_text(config, result, status):
    head = "[%s] integrity %s on %s: %d violation(s) at level %s" % (
        status.upper(), status, config["host"], len(result["violations"]), result["level"])
    if status == "resolved":
        head = "[RESOLVED] integrity violations on %s are resolved (level %s)" % (config["host"], result["level"])
    lines = [head]
    for item in result["violations"][:50]:
        lines.append("%-11s %s (%s)" % (item["kind"].upper(), item["path"], ", ".join(item.get("reasons", []))))
    if len(result["violations"]) > 50:
        lines.append("... and %d more" % (len(result["violations"]) - 50))
    return "\n".join(lines)


def post_json(url, payload, timeout):
    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"),
                                     headers={"Content-Type": "application/json", "User-Agent": "prodready-integrity"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec - URLs come from root-owned config
        if response.status >= 300:
            raise OSError("HTTP %d" % response.status)


def send(channel, config, result, status, fingerprint):
    notify = config["notify"]
    timeout = notify.get("timeout", 10)
    text = render_text(config, result, status)
    if channel == "webhook":
        post_json(notify["webhook_url"], {
            "host": config["host"], "level": result["level"], "status": status, "fingerprint": fingerprint,
            "violations": len(result["violations"]), "by_kind": dict((k, v) for k, v in result["counts"]["by_kind"].items() if v),
            "items": result["violations"][:200], "checked_at": result.get("checked_at"), "text": text}, timeout)
    elif channel == "slack":
        post_json(notify["slack_webhook_url"], {"text": text}, timeout)
    elif channel == "email":
        email = notify["email"]
        message = EmailMessage()
        message["Subject"] = text.splitlines()[0]
        message["From"] = email.get("from") or "prodready-integrity@%s" % config["host"]
        message["To"] = ", ".join(email["to"])
        message.set_content(text + "\n")
        # Credentials never travel without TLS, and TLS verifies the relay's certificate (the
        # system store, or the CA file the role configured).
        if email.get("username") and not email.get("starttls"):
            raise RuntimeError("refusing to send SMTP credentials without STARTTLS (set integrity_notify_smtp_starttls)")
        with smtplib.SMTP(email.get("smtp_host", "localhost"), int(email.get("smtp_port", 25)), timeout=timeout) as smtp:
            if email.get("starttls"):
                smtp.starttls(context=ssl.create_default_context(cafile=email.get("ca_file") or None))
            if email.get("username"):
                smtp.login(email["username"], email.get("password", ""))
            smtp.send_message(message)


def channels(config):
    notify = config["notify"]
    out = []
    if notify.get("webhook_url"):
        out.append("webhook")
    if notify.get("slack_webhook_url"):
        out.append("slack")
    if (notify.get("email") or {}).get("to"):
        out.append("email")
    return out


def notify_once(config, result):
    """Send when the violation set differs from the one last delivered on that channel."""
    state_path = os.path.join(config["state_dir"], "notify-%s.json" % result["level"])
    try:
        with open(state_path) as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        state = {}
    fingerprint = notify_lib.violation_fingerprint(result)
    sent = []
    for channel in channels(config):
        previous = state.get(channel, "")
        if previous == fingerprint:
            continue
        status = "violation" if fingerprint else "resolved"
        try:
            send(channel, config, result, status, fingerprint)
        # Any delivery failure (DNS, TLS, HTTP, SMTP) is retried on the next run.
        except Exception as exc:  # pylint: disable=broad-except
            log("%s notification failed (will retry next run): %s" % (channel, exc))
            continue
        state[channel] = fingerprint
        sent.append(channel)
    manifest.write_file_atomic(state_path, manifest.canonical_json(state), mode=0o600)
    return sent


def cmd_verify(args):
    config = load_config(args.config)
    level = common.parse_level(args.level)
    os.makedirs(config["state_dir"], 0o700, exist_ok=True)
    with open(os.path.join(config["state_dir"], "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = run_check(config, level)
        manifest.write_file_atomic(os.path.join(config["state_dir"], "last-%s.json" % level),
                                   manifest.canonical_json(result), mode=0o600)
        if not args.no_metrics:
            write_metrics(config)
        sent = [] if args.no_notify else notify_once(config, result)
    updates = result.get("package_updates") or []
    summary = "%s: %s, %d entries, %d hashed, %.2f s%s" % (
        level, "clean" if result["ok"] else "%d violation(s)" % len(result["violations"]),
        result["files_checked"], result["files_hashed"], result["duration_seconds"],
        ", %d package update(s) accepted" % len(updates) if updates else "")
    if args.json:
        print(json.dumps(result, indent=1, sort_keys=True))
    else:
        print(summary + (" (notified: %s)" % ", ".join(sent) if sent else ""))
        for item in result["violations"][:100]:
            print("  %-11s %s (%s)" % (item["kind"].upper(), item["path"], ", ".join(item.get("reasons", []))))
        for item in updates[:100]:
            print("  %-11s %s (%s %s -> %s)" % (
                "UPDATE", item["path"], item["package"], item["from_version"], item["to_version"]))
    return 0 if result["ok"] else 1


def cmd_status(args):
    config = load_config(args.config)
    found = False
    for level in common.LEVELS:
        path = os.path.join(config["state_dir"], "last-%s.json" % level)
        if not os.path.exists(path):
            continue
        found = True
        with open(path) as handle:
            result = json.load(handle)
        age = time.time() - result.get("checked_at", 0)
        print("%-13s %-14s %6d entries  %.2f s  %d s ago%s" % (
            level, "clean" if result["ok"] else "%d violations" % len(result["violations"]),
            result.get("files_checked", 0), result.get("duration_seconds", 0), age,
            "  (%d package updates)" % len(result["package_updates"]) if result.get("package_updates") else ""))
    if not found:
        print("no check has run yet")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="prodready-integrity", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    sub = parser.add_subparsers(dest="command")
    verify = sub.add_parser("verify", help="check the host against its signed baseline")
    verify.add_argument("--level", default="standard", help="minimal, standard, comprehensive or full")
    verify.add_argument("--json", action="store_true", help="print the whole result as JSON")
    verify.add_argument("--no-notify", action="store_true")
    verify.add_argument("--no-metrics", action="store_true")
    sub.add_parser("status", help="the last result of every level")
    args = parser.parse_args(argv)
    try:
        if args.command == "verify":
            return cmd_verify(args)
        if args.command == "status":
            return cmd_status(args)
        parser.print_help()
        return 2
    except (common.IntegrityError, textfile.MetricError, OSError, ValueError) as exc:
        log("error: %s" % exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
