# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration formats that Jinja and ansible-core lack: TOML and systemd/shell-style env files."""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

# Documentation: to_toml.yml and to_env.yml beside this file (one per filter).

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


class FilterModule(object):
    """Configuration format filters."""

    def filters(self):
        return {"to_toml": to_toml, "to_env": to_env}
