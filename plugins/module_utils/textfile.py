# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The textfile contract: how every role exports a metric to node_exporter.

One directory (node_exporter's textfile collector reads ``*.prom`` there), one writer.
Files are written to a temporary name in the same directory and renamed into place, so the
collector never reads half a file. Metric and label names are validated, HELP and TYPE lines
are always written, and label values are escaped as the exposition format requires.

Used by modules (``from ansible_collections.prodready.platform.plugins.module_utils.textfile
import ...``) and by on-host scripts that ship this file next to them (importable as
``textfile``). Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import os
import re
import tempfile

# Debian's prometheus-node-exporter reads this directory (--collector.textfile.directory).
DEFAULT_TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*\Z")
METRIC_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
FILE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+\.prom\Z")


class MetricError(ValueError):
    """A metric, label or file name that the exposition format does not allow."""


def validate_metric_name(name):
    if not isinstance(name, str) or not METRIC_NAME_RE.match(name):
        raise MetricError("invalid metric name %r: must match %s" % (name, METRIC_NAME_RE.pattern))
    return name


def validate_label_name(name):
    if not isinstance(name, str) or not LABEL_NAME_RE.match(name) or name.startswith("__"):
        raise MetricError("invalid label name %r: must match %s and not start with __" % (name, LABEL_NAME_RE.pattern))
    return name


def escape_label_value(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text):
    return str(text).replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class Metric(object):
    """One metric family: name, HELP, TYPE and its samples ``(labels dict, value)``."""

    def __init__(self, name, help_text, metric_type="gauge"):
        self.name = validate_metric_name(name)
        if metric_type not in METRIC_TYPES:
            raise MetricError("invalid metric type %r for %s: one of %s" % (metric_type, name, ", ".join(METRIC_TYPES)))
        if not help_text:
            raise MetricError("metric %s needs a HELP text" % name)
        self.help = help_text
        self.type = metric_type
        self.samples = []

    def add(self, value, labels=None, suffix=""):
        labels = dict(labels or {})
        for key in labels:
            validate_label_name(key)
        if suffix:
            validate_metric_name(self.name + suffix)
        self.samples.append((suffix, labels, value))
        return self

    def render(self):
        lines = ["# HELP %s %s" % (self.name, escape_help(self.help)), "# TYPE %s %s" % (self.name, self.type)]
        for suffix, labels, value in self.samples:
            if labels:
                label_text = ",".join('%s="%s"' % (k, escape_label_value(labels[k])) for k in sorted(labels))
                lines.append("%s%s{%s} %s" % (self.name, suffix, label_text, format_value(value)))
            else:
                lines.append("%s%s %s" % (self.name, suffix, format_value(value)))
        return "\n".join(lines) + "\n"


def render(metrics):
    """Render metric families to exposition text; a name may appear only once."""
    seen = set()
    parts = []
    for metric in metrics:
        if metric.name in seen:
            raise MetricError("metric %s appears twice in one file" % metric.name)
        seen.add(metric.name)
        parts.append(metric.render())
    return "".join(parts)


def write_atomic(path, data, mode=0o644, dir_mode=0o755):
    """Write ``data`` (bytes or str) to ``path`` atomically: temp file, fsync, chmod, rename.

    The temporary file lives in the same directory (a rename is only atomic within one
    filesystem) and starts with a dot, which the textfile collector ignores. Shared by the
    metrics writer below and by the integrity library's manifests and state files.
    """
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, dir_mode)
    fd, tmp_path = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_path, mode)
        os.rename(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)
        raise
    return path


def write_textfile(file_name, metrics, directory=DEFAULT_TEXTFILE_DIR, mode=0o644):
    """Atomically write ``metrics`` to ``directory/file_name``. Returns the full path."""
    if not FILE_NAME_RE.match(file_name):
        raise MetricError("invalid textfile name %r: must match %s" % (file_name, FILE_NAME_RE.pattern))
    return write_atomic(os.path.join(directory, file_name), render(metrics), mode=mode)


_SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t\r]*$", re.DOTALL)
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"[ \t]*,?[ \t]*', re.DOTALL)


def _unescape(value):
    out = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def parse(text):
    """Parse exposition text into ``[(name, labels dict, float value)]`` (comments skipped).

    Used by the compliance audit and by tests to read what roles export.
    """
    samples = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip(" \t")
        if not line.strip() or line.startswith("#"):
            continue
        match = _SAMPLE_RE.match(line)
        if not match:
            raise MetricError("line %d is not a metric sample: %r" % (number, line))
        name, label_text, value = match.group(1), match.group(2), match.group(3)
        labels = {}
        if label_text:
            position = 0
            for label in _LABEL_RE.finditer(label_text):
                if label.start() != position:
                    raise MetricError("line %d has malformed labels: %r" % (number, line))
                labels[label.group(1)] = _unescape(label.group(2))
                position = label.end()
            if position != len(label_text):
                raise MetricError("line %d has malformed labels: %r" % (number, line))
        samples.append((name, labels, float(value)))
    return samples


def read_textfile(path):
    with open(path) as handle:
        return parse(handle.read())
