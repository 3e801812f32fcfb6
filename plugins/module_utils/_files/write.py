# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one writer of config_files and file_lines: a temporary file beside the destination, with its
mode and owner, checked by the item's validate command, then renamed over the destination."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex
import tempfile

from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError


def validate_argv(command, path, tmp):
    """The validate command's argv with %s replaced by the temporary file (no shell)."""
    if "%s" not in command:
        raise ItemError("validate for %s must contain %%s (the file to check)" % path)
    return [part.replace("%s", tmp) for part in shlex.split(command)]


def write_validated(path, data, mode, uid, gid, validate, run_command):
    """Temporary file in the destination directory → mode, owner → validate → rename. A rejected
    file never replaces the destination and leaves no temporary file behind."""
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path) or "/")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fchown(handle.fileno(), uid, gid)
            os.fsync(handle.fileno())
        if validate:
            rc, out, err = run_command(validate_argv(validate, path, tmp))
            if rc != 0:
                raise ItemError("validation of %s failed (%s, rc=%d): %s" % (
                    path, validate, rc, (err or out or "").strip()[-2000:]))
        os.rename(tmp, path)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
