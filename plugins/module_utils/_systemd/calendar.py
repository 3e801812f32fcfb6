# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which systemd calendar expressions the host's systemd refuses (``systemd-analyze calendar``).

Used by the facts modules of the roles that install timers (backup_facts, integrity_facts), so a
schedule systemd cannot parse fails before a timer file is written. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

CALENDAR_ERROR = re.compile(r"^Failed to parse calendar specification '(.*)': .*$")


def bad_calendars(calendars, runner):
    """The expressions ``systemd-analyze calendar`` refuses (``runner(argv)`` returns exit status,
    stdout and stderr, as module.run_command does). It names each one it cannot parse;
    when it fails without naming one, every expression is reported with its whole message."""
    if not calendars:
        return []
    rc, dummy, err = runner(["systemd-analyze", "calendar", "--"] + list(calendars))
    if rc == 0:
        return []
    named = {}
    for line in err.splitlines():
        match = CALENDAR_ERROR.match(line.strip())
        if match:
            named.setdefault(match.group(1), line.strip())
    bad = [{"calendar": c, "message": named[c]} for c in calendars if c in named]
    return bad or [{"calendar": c, "message": err.strip() or "systemd-analyze exit %d" % rc} for c in calendars]
