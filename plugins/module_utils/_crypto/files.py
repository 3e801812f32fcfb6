# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files of the x509 modules: directories kept at their mode, and keys and certificates
written atomically with their mode and owner already set (a key is never readable by others, not
even for an instant). Owner and group are managed only when asked for (a CA on the controller
belongs to whoever runs Ansible there). Standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import os
import pwd
import stat
import tempfile

from ansible_collections.prodready.platform.plugins.module_utils.config_files import ItemError, parse_mode, resolve_id


def read(path):
    """The bytes of a file, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def wanted_ids(owner=None, group=None):
    """(uid, gid) to set, -1 for the ones not asked for. Raises ItemError for an unknown name."""
    uid = resolve_id(owner, pwd.getpwnam, "pw_uid", "user") if owner else -1
    gid = resolve_id(group, grp.getgrnam, "gr_gid", "group") if group else -1
    return uid, gid


def attribute_reasons(path, mode, uid=-1, gid=-1):
    """What differs in an existing path's mode, owner and group (``mode``, ``owner``, ``group``)."""
    st = os.stat(path)
    reasons = []
    if stat.S_IMODE(st.st_mode) != mode:
        reasons.append("mode")
    if uid != -1 and st.st_uid != uid:
        reasons.append("owner")
    if gid != -1 and st.st_gid != gid:
        reasons.append("group")
    return reasons


def ensure_directories(directories, check_mode):
    """Each ``{path, mode}`` a directory at that mode, in order (parents first). Returns the paths
    that changed."""
    changed = []
    for directory in directories or []:
        path = directory["path"]
        mode = parse_mode(directory.get("mode"), "0700")
        if os.path.isdir(path):
            if not attribute_reasons(path, mode):
                continue
        elif os.path.lexists(path):
            raise ItemError("%s exists and is not a directory" % path)
        elif not check_mode:
            try:
                os.makedirs(path, mode)
            except OSError as exc:  # another host's run of the same task on the controller
                if exc.errno != errno.EEXIST:
                    raise
        if not check_mode:
            os.chmod(path, mode)  # independent of the umask
        changed.append(path)
    return changed


def write(path, data, mode, uid=-1, gid=-1):
    """Temporary file in the destination directory, mode and owner set before a byte is written,
    then renamed over ``path``."""
    directory = os.path.dirname(path) or "/"
    if not os.path.isdir(directory):
        raise ItemError("directory %s does not exist" % directory)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        if uid != -1 or gid != -1:
            os.fchown(fd, uid, gid)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def fix_attributes(path, mode, uid=-1, gid=-1):
    """Owner first (chown clears setuid/setgid bits), then the mode."""
    if uid != -1 or gid != -1:
        os.chown(path, uid, gid)
    os.chmod(path, mode)
