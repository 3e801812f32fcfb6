# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration formats that Jinja and ansible-core lack: TOML, systemd/shell-style env files and
logrotate policies."""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

# Documentation: to_toml.yml, to_env.yml and logrotate_files.yml beside this file (one per filter).

import datetime
import math
import re

from ansible.module_utils.six.moves.collections_abc import Mapping, Sequence

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - used without Ansible
    AnsibleFilterError = ValueError

BARE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+\Z")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _is_list(value):
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _toml_key(key, path):
    if not isinstance(key, str):
        raise AnsibleFilterError("to_toml: key %r at %s must be a string" % (key, path or "top level"))
    return key if BARE_KEY_RE.match(key) else _toml_string(key)


def _toml_string(value):
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\u%04X" % ord(char))
        else:
            out.append(char)
    return '"%s"' % "".join(out)


def _toml_value(value, path):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if ("." in text or "e" in text or "E" in text) else text + ".0"
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        items = ["%s = %s" % (_toml_key(k, path), _toml_value(v, "%s.%s" % (path, k)))
                 for k, v in value.items() if v is not None or not _SKIP_NONE[0]]
        return "{ %s }" % ", ".join(items) if items else "{}"
    if _is_list(value):
        return "[%s]" % ", ".join(_toml_value(v, "%s[%d]" % (path, i)) for i, v in enumerate(value))
    if value is None:
        raise AnsibleFilterError("to_toml: %s is null; TOML has no null value (omit the key or use skip_none=true)"
                                 % (path or "the value"))
    raise AnsibleFilterError("to_toml: %s has a type TOML cannot hold: %s" % (path, type(value).__name__))


# Set per call by to_toml (the renderer is not re-entrant across threads by design: filters are
# called synchronously by the template engine).
_SKIP_NONE = [False]


def _is_table_array(value):
    return _is_list(value) and len(value) > 0 and all(isinstance(v, Mapping) for v in value)


def _render_table(table, header_keys, lines, skip_none):
    path = ".".join(header_keys)
    scalars, tables, arrays = [], [], []
    for key, value in table.items():
        if value is None:
            if skip_none:
                continue
            _toml_value(None, "%s.%s" % (path, key) if path else key)
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif _is_table_array(value):
            arrays.append((key, value))
        else:
            scalars.append((key, value))
    for key, value in scalars:
        lines.append("%s = %s" % (_toml_key(key, path), _toml_value(value, "%s.%s" % (path, key) if path else key)))
    for key, value in tables:
        keys = header_keys + [key]
        header = ".".join(_toml_key(k, path) for k in keys)
        # A table holding only sub-tables still gets its header: an empty table must survive.
        if lines:
            lines.append("")
        lines.append("[%s]" % header)
        _render_table(value, keys, lines, skip_none)
    for key, value in arrays:
        keys = header_keys + [key]
        header = ".".join(_toml_key(k, path) for k in keys)
        for item in value:
            if lines:
                lines.append("")
            lines.append("[[%s]]" % header)
            _render_table(item, keys, lines, skip_none)


def to_toml(data, skip_none=False):
    """Render a mapping as a TOML document."""
    if not isinstance(data, Mapping):
        raise AnsibleFilterError("to_toml: expects a dictionary, got %s" % type(data).__name__)
    _SKIP_NONE[0] = bool(skip_none)
    lines = []
    _render_table(data, [], lines, bool(skip_none))
    return "\n".join(lines) + "\n" if lines else ""


def _env_value(key, value):
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif value is None:
        value = ""
    elif isinstance(value, (int, float, str)):
        value = str(value)
    else:
        raise AnsibleFilterError("to_env: %s must be a string, number or boolean, not %s" % (key, type(value).__name__))
    if "\n" in value or "\r" in value or "\x00" in value:
        raise AnsibleFilterError("to_env: %s contains a newline or NUL, which env files cannot hold" % key)
    # Inside double quotes systemd and POSIX shells unescape exactly these four characters.
    escaped = "".join("\\" + c if c in '"\\`$' else c for c in value)
    return '"%s"' % escaped


def to_env(data):
    """Render a flat mapping as ``KEY="value"`` lines (systemd EnvironmentFile= and sh compatible)."""
    if not isinstance(data, Mapping):
        raise AnsibleFilterError("to_env: expects a dictionary, got %s" % type(data).__name__)
    lines = []
    for key, value in data.items():
        if not isinstance(key, str) or not ENV_KEY_RE.match(key):
            raise AnsibleFilterError("to_env: %r is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)" % (key,))
        lines.append("%s=%s" % (key, _env_value(key, value)))
    return "\n".join(lines) + "\n" if lines else ""


_LOGROTATE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")
# Days per rotation of each frequency: `rotate` keeps enough rotations to cover the days.
_LOGROTATE_PERIOD_DAYS = {"daily": 1, "weekly": 7, "monthly": 30}


def _logrotate_path(path, name):
    if not isinstance(path, str) or not path.startswith("/"):
        raise AnsibleFilterError("logrotate_files: policy %s: %r is not an absolute path" % (name, path))
    if any(c in path for c in '{}"\'\n\r\x00'):
        raise AnsibleFilterError("logrotate_files: policy %s: path %r holds a brace, quote or newline" % (name, path))
    return '"%s"' % path if any(c.isspace() for c in path) else path


def _logrotate_policy(policy, header):
    """One policy as logrotate reads it: the paths, then the directives in a block."""
    if not isinstance(policy, Mapping):
        raise AnsibleFilterError("logrotate_files: a policy must be a dictionary, got %s" % type(policy).__name__)
    name = policy.get("name")
    if not isinstance(name, str) or not _LOGROTATE_NAME_RE.match(name):
        raise AnsibleFilterError("logrotate_files: policy name %r must be lower case letters, digits, - and _" % (name,))
    paths = policy.get("paths")
    if not _is_list(paths) or not paths:
        raise AnsibleFilterError("logrotate_files: policy %s needs a non-empty list of paths" % name)
    try:
        days = int(policy.get("days"))
    except (TypeError, ValueError):
        raise AnsibleFilterError("logrotate_files: policy %s: days must be a whole number" % name)
    if days < 1:
        raise AnsibleFilterError("logrotate_files: policy %s: days must be at least 1" % name)
    frequency = policy.get("frequency") or "daily"
    if frequency not in _LOGROTATE_PERIOD_DAYS:
        raise AnsibleFilterError("logrotate_files: policy %s: frequency must be one of %s"
                                 % (name, ", ".join(_LOGROTATE_PERIOD_DAYS)))
    for key in ("create", "postrotate"):
        if key in policy and policy[key] is not None and ("\n" in str(policy[key]) or "\r" in str(policy[key])):
            raise AnsibleFilterError("logrotate_files: policy %s: %s must be one line" % (name, key))
    lines = [header] if header else []
    lines.append('# Retention policy "%s" (role compliance): %d days.' % (name, days))
    lines.append("%s {" % " ".join(_logrotate_path(p, name) for p in paths))
    lines.append("    %s" % frequency)
    lines.append("    rotate %d" % int(math.ceil(days / float(_LOGROTATE_PERIOD_DAYS[frequency]))))
    lines.append("    maxage %d" % days)
    lines.extend(["    missingok", "    notifempty"])
    compress = policy.get("compress", True)
    if compress in (True, "true", "True", "yes", "1", 1):
        lines.extend(["    compress", "    delaycompress"])
    lines.append("    dateext")
    if policy.get("create") is not None:
        lines.append("    create %s" % policy["create"])
    if policy.get("postrotate") is not None:
        lines.extend(["    sharedscripts", "    postrotate", "        %s" % policy["postrotate"], "    endscript"])
    lines.append("}")
    return "\n".join(lines) + "\n"


def logrotate_files(policies, directory="/etc/logrotate.d", prefix="prodready-", header=""):
    """The file set of logrotate policies: one file per policy, checked by logrotate before it is
    installed (``prodready.platform.config_files`` entries)."""
    if not _is_list(policies):
        raise AnsibleFilterError("logrotate_files: expects a list of policies, got %s" % type(policies).__name__)
    files, names = [], set()
    for policy in policies:
        content = _logrotate_policy(policy, header)
        name = policy["name"]
        if name in names:
            raise AnsibleFilterError("logrotate_files: policy name %s is used twice" % name)
        names.add(name)
        files.append({"path": "%s/%s%s" % (directory.rstrip("/"), prefix, name), "content": content,
                      "validate": "/usr/sbin/logrotate --debug %s"})
    return files


class FilterModule(object):
    """Configuration format filters."""

    def filters(self):
        return {"to_toml": to_toml, "to_env": to_env, "logrotate_files": logrotate_files}
