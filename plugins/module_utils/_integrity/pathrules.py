# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File integrity: include/exclude path globs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.prodready.platform.plugins.module_utils._integrity import common


def glob_to_regex(pattern):
    """Translate a path glob: ``*`` and ``?`` stay within one path component, ``**`` spans
    components, ``[...]`` is a character class. A trailing ``/**`` also matches the directory
    itself so excluding ``/srv/cache/**`` prunes ``/srv/cache``."""
    if not isinstance(pattern, str) or not pattern:
        raise common.ConfigError("path pattern must be a non-empty string, got %r" % (pattern,))
    out = []
    i = 0
    n = len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            if pattern[i:i + 2] == "**":
                if pattern[i + 2:i + 3] == "/":
                    out.append("(?:.*/)?")
                    i += 3
                    continue
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("!", "]") else i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("(?!/)[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif char == "/" and pattern[i:] == "/**":
            out.append("(?:/.*)?")
            break
        else:
            out.append(re.escape(char))
        i += 1
    try:
        return re.compile("".join(out) + r"\Z", re.DOTALL)
    except re.error as exc:
        raise common.ConfigError("invalid path pattern %r: %s" % (pattern, exc))


class PathRules(object):
    """Include/exclude globs. Patterns with a ``/`` match the absolute path, patterns without
    one match the last component (``*.log``). Exclude wins; an empty include list includes
    everything; an excluded directory is not descended into."""

    def __init__(self, include=None, exclude=None):
        self.include = list(include or [])
        self.exclude = list(exclude or [])
        self._include = [self._compile(p) for p in self.include]
        self._exclude = [self._compile(p) for p in self.exclude]

    @staticmethod
    def _compile(pattern):
        return ("/" in pattern, glob_to_regex(pattern))

    @staticmethod
    def _match(compiled, path):
        base = path.rsplit("/", 1)[-1]
        for has_slash, regex in compiled:
            if regex.match(path if has_slash else base):
                return True
        return False

    def excluded(self, path):
        return self._match(self._exclude, path)

    def included(self, path):
        if self.excluded(path):
            return False
        return not self._include or self._match(self._include, path)

    def as_dict(self):
        return {"include": list(self.include), "exclude": list(self.exclude)}


def pattern_is_valid(pattern):
    try:
        glob_to_regex(pattern)
        return True
    except common.ConfigError:
        return False
