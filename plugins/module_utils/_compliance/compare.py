# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The comparisons of a check's ``expect`` (and time spans as systemd writes them)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re

from ansible_collections.prodready.platform.plugins.module_utils._compliance.common import COMPARATOR_KEYS, CatalogError, as_number


_SPAN_UNITS = [
    (("us", "usec"), 1e-6), (("ms", "msec"), 1e-3), (("s", "sec", "second", "seconds"), 1),
    (("m", "min", "minute", "minutes"), 60), (("h", "hr", "hour", "hours"), 3600),
    (("d", "day", "days"), 86400), (("w", "week", "weeks"), 604800),
    (("M", "month", "months"), 2629800), (("y", "year", "years"), 31557600),
]


def parse_timespan(text):
    """Parse a systemd time span (``365day``, ``1y 2w``, ``90``) into seconds; None if not one."""
    text = str(text).strip()
    if not text:
        return None
    if re.match(r"^\d+(\.\d+)?$", text):
        return float(text)
    total = 0.0
    position = 0
    for match in re.finditer(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*", text):
        if match.start() != position:
            return None
        unit = match.group(2)
        for names, factor in _SPAN_UNITS:
            if unit in names or (unit.lower() in names and unit != "M"):
                total += float(match.group(1)) * factor
                break
        else:
            return None
        position = match.end()
    return total if position == len(text) else None


def _same(text, operand):
    """Case-insensitive equality; numbers compare as numbers (a metric's 1.0 equals 1)."""
    left, right = as_number(text), as_number(operand)
    if left is not None and right is not None:
        return left == right
    return text.lower() == str(operand).strip().lower()


def _items(value):
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            out.extend(_items(item))
        return out
    return [item for item in re.split(r"[,\s]+", str(value).strip()) if item]


def validate_comparator(spec, where):
    if not isinstance(spec, dict) or not spec:
        raise CatalogError("%s: 'expect' must be a non-empty mapping with any of %s" % (where, ", ".join(COMPARATOR_KEYS)))
    for key, operand in spec.items():
        if key not in COMPARATOR_KEYS:
            raise CatalogError("%s: unknown comparison %r in 'expect'; known: %s" % (where, key, ", ".join(COMPARATOR_KEYS)))
        if key in ("min", "max", "min_seconds", "max_seconds") and as_number(operand) is None:
            raise CatalogError("%s: 'expect.%s' must be a number, got %r" % (where, key, operand))
        if key in ("in", "not_in", "items_exclude", "items_include") and not isinstance(operand, list):
            raise CatalogError("%s: 'expect.%s' must be a list" % (where, key))
        if key in ("regex", "not_regex"):
            try:
                re.compile(str(operand))
            except re.error as exc:
                raise CatalogError("%s: 'expect.%s' is not a valid regex: %s" % (where, key, exc))


def compare(value, spec):
    """Return ``(ok, explanation)``; ``value`` None means "not set"."""
    if value is None:
        if spec.get("present") is False:
            return True, "not set"
        return False, "not set"
    text = str(value).strip()
    problems = []
    for key, operand in spec.items():
        if key == "present":
            if not operand:
                problems.append("is set (%r) but must not be" % text)
        elif key == "equals":
            if not _same(text, operand):
                problems.append("%r != %r" % (text, str(operand)))
        elif key == "not_equals":
            if _same(text, operand):
                problems.append("%r must not be %r" % (text, str(operand)))
        elif key == "in":
            if not any(_same(text, o) for o in operand):
                problems.append("%r not in %s" % (text, operand))
        elif key == "not_in":
            if any(_same(text, o) for o in operand):
                problems.append("%r is one of %s" % (text, operand))
        elif key in ("min", "max", "min_seconds", "max_seconds"):
            span = key.endswith("_seconds")
            measured = parse_timespan(text) if span else as_number(text)
            low = key.startswith("min")
            if measured is None:
                problems.append("%r is not a %s" % (text, "time span" if span else "number"))
            elif (measured < float(operand)) if low else (measured > float(operand)):
                problems.append("%s %s %s" % ("%s (%ds)" % (text, measured) if span else text, "<" if low else ">",
                                              "%ds" % float(operand) if span else operand))
        elif key == "regex":
            if not re.search(str(operand), text):
                problems.append("%r does not match /%s/" % (text, operand))
        elif key == "not_regex":
            if re.search(str(operand), text):
                problems.append("%r matches forbidden /%s/" % (text, operand))
        elif key == "items_exclude":
            bad = [i for i in _items(text) if any(fnmatch.fnmatch(i.lower(), str(p).lower()) for p in operand)]
            if bad:
                problems.append("contains forbidden %s" % ", ".join(bad))
        elif key == "items_include":
            have = [i.lower() for i in _items(text)]
            missing = [str(p) for p in operand if str(p).lower() not in have]
            if missing:
                problems.append("lacks %s" % ", ".join(missing))
    if problems:
        return False, "; ".join(problems)
    return True, repr(text)
