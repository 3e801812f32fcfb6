# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check types that ask running software: tls_endpoint, metric (textfile samples), command."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl
import warnings

from ansible_collections.prodready.platform.plugins.module_utils._compliance.common import (
    TLS_VERSIONS, CatalogError, CheckError, as_list, as_number, require, short)
from ansible_collections.prodready.platform.plugins.module_utils._compliance.compare import compare, validate_comparator


# tls_endpoint: protocols refused/accepted and weak ciphers refused, with Python's ssl
def _validate_tls(check, where):
    require(check, where, "port")
    for key in ("refuse", "accept"):
        for version in as_list(check.get(key)):
            if version not in TLS_VERSIONS:
                raise CatalogError("%s: unknown TLS version %r in '%s'; known: %s" % (where, version, key,
                                                                                      ", ".join(sorted(TLS_VERSIONS))))
    if not check.get("refuse") and not check.get("accept") and not check.get("refuse_ciphers"):
        raise CatalogError("%s: tls_endpoint needs 'refuse', 'accept' or 'refuse_ciphers'" % where)


def _tls_handshake(host, port, server_name, version=None, ciphers=None, timeout=5):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Security level 0 so the client can offer what it must prove the server refuses.
    context.set_ciphers((ciphers or "ALL") + ":@SECLEVEL=0")
    if version:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # offering TLS 1.0/1.1 is the point of the probe
            tls_version = getattr(ssl.TLSVersion, TLS_VERSIONS[version])
            context.minimum_version = tls_version
            context.maximum_version = tls_version
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            with context.wrap_socket(sock, server_hostname=server_name or None) as tls:
                return True, "%s %s" % (tls.version(), (tls.cipher() or ("?",))[0])
    except ssl.SSLError as exc:
        return False, (exc.reason or str(exc))
    except ConnectionRefusedError:
        raise CheckError("cannot connect to %s:%s: connection refused" % (host, port))
    except (socket.timeout, ConnectionError) as exc:
        return False, "handshake aborted: %s" % exc
    except OSError as exc:
        raise CheckError("cannot connect to %s:%s: %s" % (host, port, exc.strerror or exc))


def _eval_tls(check, probe):
    host = check.get("host", "127.0.0.1")
    port = check["port"]
    name = check.get("server_name")
    timeout = min(float(check.get("timeout", 5)), float(probe.command_timeout))
    ok, evidence = True, []
    accepted_any = not check.get("accept")
    for version in as_list(check.get("accept")):
        done, what = _tls_handshake(host, port, name, version, timeout=timeout)
        evidence.append("%s %s (%s)" % (version, "accepted" if done else "refused", what))
        accepted_any = accepted_any or done
    if not accepted_any:
        ok = False
    for version in as_list(check.get("refuse")):
        done, what = _tls_handshake(host, port, name, version, timeout=timeout)
        evidence.append("%s %s (%s)" % (version, "ACCEPTED" if done else "refused", what))
        ok = ok and not done
    if check.get("refuse_ciphers"):
        done, what = _tls_handshake(host, port, name, "TLSv1.2", ciphers=check["refuse_ciphers"], timeout=timeout)
        evidence.append("weak ciphers %s %s (%s)" % (check["refuse_ciphers"], "ACCEPTED" if done else "refused", what))
        ok = ok and not done
    return ok, "%s:%s: %s" % (host, port, "; ".join(evidence))


# metric: a textfile sample's value (or its age when it is a timestamp) across matching samples
def _validate_metric(check, where):
    require(check, where, "name")
    if "expect" not in check and "max_age_seconds" not in check and "file_max_age_seconds" not in check:
        raise CatalogError("%s: metric check needs 'expect', 'max_age_seconds' or 'file_max_age_seconds'" % where)
    if "expect" in check:
        validate_comparator(check["expect"], where)
    for key in ("max_age_seconds", "file_max_age_seconds"):
        if key in check and as_number(check[key]) is None:
            raise CatalogError("%s: '%s' must be a number of seconds, got %r" % (where, key, check[key]))
    if check.get("aggregate", "each") not in ("each", "sum", "min", "max"):
        raise CatalogError("%s: metric 'aggregate' must be each, sum, min or max" % where)


def _eval_metric(check, probe):
    samples, errors = probe.metrics()
    labels = check.get("labels") or {}
    chosen = [s for s in samples if s[0] == check["name"]
              and all(s[1].get(k) == str(v) for k, v in labels.items())]
    if not chosen:
        if errors:
            raise CheckError("metric %s not found; unreadable textfiles: %s" % (check["name"], "; ".join(errors)))
        if check.get("missing_ok"):
            return True, "metric %s absent (allowed)" % check["name"]
        return False, "metric %s not found in %s/*.prom" % (check["name"], probe.textfile_dir)
    aggregate = check.get("aggregate", "each")
    values = [s[2] for s in chosen]
    if aggregate != "each":
        values = [{"sum": sum, "min": min, "max": max}[aggregate](values)]
    ok, evidence = True, []
    for index, value in enumerate(values):
        if aggregate == "each":
            label = chosen[index]
        else:
            label = (check["name"] + "(" + aggregate + ")", {}, value, chosen[0][3], chosen[0][4])
        label_text = "{%s}" % ",".join("%s=%s" % kv for kv in sorted(label[1].items())) if label[1] else ""
        shown = "%s%s=%s (%s)" % (label[0], label_text, "%g" % value, label[3])
        if "expect" in check:
            good, why = compare(value, check["expect"])
            if not good:
                ok = False
                shown += ": " + why
        if "max_age_seconds" in check:
            age = probe.now - value
            if age > float(check["max_age_seconds"]):
                ok = False
                shown += ": %ds old > %ss" % (age, check["max_age_seconds"])
            else:
                shown += ", %ds old" % age
        if "file_max_age_seconds" in check:
            age = probe.now - label[4]
            if age > float(check["file_max_age_seconds"]):
                ok = False
                shown += ": file written %ds ago > %ss" % (age, check["file_max_age_seconds"])
        evidence.append(shown)
    return ok, "; ".join(evidence[:6]) + (" (+%d more)" % (len(evidence) - 6) if len(evidence) > 6 else "")


# command: argv (no shell) with a timeout; expected exit codes and stdout comparison
def _validate_command(check, where):
    require(check, where, "argv")
    if not isinstance(check["argv"], list) or not all(isinstance(a, (str, int)) for a in check["argv"]):
        raise CatalogError("%s: command 'argv' must be a list of strings (no shell)" % where)
    if "stdout" in check:
        validate_comparator(check["stdout"], where)
    if "timeout" in check and (as_number(check["timeout"]) is None or float(check["timeout"]) <= 0):
        raise CatalogError("%s: command 'timeout' must be a positive number" % where)


def _eval_command(check, probe):
    argv = [str(a) for a in check["argv"]]
    timeout = float(check.get("timeout", probe.command_timeout))
    rc, out, err = probe.run(argv, timeout)
    allowed = [int(r) for r in as_list(check.get("rc", [0]))]
    text = (out + (err if check.get("include_stderr") else "")).strip()
    if rc not in allowed:
        return False, "%s: rc %d not in %s: %s" % (" ".join(argv), rc, allowed, short((err or out).strip(), 300))
    if "stdout" in check:
        ok, why = compare(text, check["stdout"])
        return ok, "%s: %s" % (" ".join(argv), short(why, 400))
    return True, "%s: rc %d" % (" ".join(argv), rc)


CHECK_TYPES = {
    "tls_endpoint": (_validate_tls, _eval_tls),
    "metric": (_validate_metric, _eval_metric),
    "command": (_validate_command, _eval_command),
}
