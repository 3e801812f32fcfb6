# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus text exposition format (version 0.0.4), read side: the samples of a /metrics page,
for a deploy that watches a release's own counters (health_gate's soak). Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(r"^(" + _NAME + r")(\{.*\})?\s+(\S+)(?:\s+-?[0-9]+)?\s*$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


class ExpositionError(ValueError):
    """A line that is neither a comment nor a sample."""


def _unescape(value):
    return re.sub(r'\\[\\"n]', lambda match: _ESCAPES[match.group(0)], value)


def _labels(text, line_number):
    labels = {}
    body = text[1:-1].strip()
    position = 0
    while position < len(body):
        match = _LABEL.match(body, position)
        if not match:
            raise ExpositionError("line %d: cannot read the labels %s" % (line_number, text))
        labels[match.group(1)] = _unescape(match.group(2))
        position = match.end()
    return labels


def _value(text, line_number):
    lowered = text.lower()
    if lowered in ("+inf", "inf"):
        return math.inf
    if lowered == "-inf":
        return -math.inf
    if lowered == "nan":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ExpositionError("line %d: %s is not a number" % (line_number, text))


def parse_samples(text):
    """Every sample of a text exposition page as ``(name, labels dict, value)``, in page order.
    Comments (``# HELP``, ``# TYPE``) and blank lines are skipped; anything else that is not a
    sample raises ExpositionError naming the line."""
    samples = []
    # Lines end with \n only (str.splitlines would also split inside label values at \x1e etc.).
    for line_number, raw in enumerate(text.split("\n"), 1):
        line = raw.strip(" \t\r")
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            raise ExpositionError("line %d: not a sample: %s" % (line_number, line[:200]))
        name, label_text, value = match.groups()
        samples.append((name, _labels(label_text, line_number) if label_text else {}, _value(value, line_number)))
    return samples


def counter_total(text, names):
    """The sum of every sample of the metric families ``names`` (all label sets; NaN samples left
    out), and how many samples were summed. A family that is absent adds nothing: a service that
    has not answered an error yet often has no error series at all."""
    wanted = set(names)
    total = 0.0
    count = 0
    for name, _labels_of_sample, value in parse_samples(text):
        if name in wanted and not math.isnan(value):
            total += value
            count += 1
    return total, count
