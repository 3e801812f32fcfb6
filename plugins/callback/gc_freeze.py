# -*- coding: utf-8 -*-
# Copyright: prodready.platform maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: gc_freeze
type: aggregate
author: prodready.platform maintainers (@prodready)
short_description: Keep the controller's garbage collector away from what every task's workers inherit
version_added: 1.1.0
description:
  - Prints nothing and changes no result. It makes the controller cheaper to run. ansible-core forks
    a worker process for every task and host, and the worker shares the main process's memory
    copy-on-write. Python's cyclic garbage collector, when it runs in a worker, writes into every
    object it inherited (copying their pages), and the main process's own collections walk the
    same long-lived objects again and again.
  - At the start of each task (and handler) this callback freezes the objects that exist
    (C(gc.freeze())), the pattern the Python documentation gives for processes that fork without
    exec, after handing back those of the previous task (C(gc.unfreeze())). Objects are freed by
    reference counting as always; only cyclic garbage waits, and not for long, since when the main
    process's peak memory has grown by a quarter since the last full collection, the next task
    start collects once before freezing (a full collection at every play instead cost more than
    half of the gain).
  - Opt-in controller tuning; nothing in the collection needs it and the repository's C(ansible.cfg)
    does not enable it. Enable it with C(callbacks_enabled = prodready.platform.gc_freeze) in
    C(ansible.cfg) or C(ANSIBLE_CALLBACKS_ENABLED). It works with any strategy.
  - Measured on the site playbook's no-op re-run (docs/benchmarks.md, section Controller tuning), 6
    hosts took 27.5-27.7 s with it against 29.3-29.4 s without (about 6 %), 1 host 14.1-14.8 s
    against 14.9-15.0 s; it helps where many hosts share a busy controller.
  - Risk. It uses public interfaces only (the callback hooks and Python's C(gc.freeze())), so a new
    ansible-core is unlikely to make it fail, but its gain rests on how ansible-core runs tasks (a worker
    forked from the main process per task and host), and if that changes the gain goes. While frozen,
    cyclic garbage waits for the next full collection, so the controller's peak memory can be up to a
    quarter higher.
requirements:
  - Enabled in C(callbacks_enabled).
seealso:
  - name: Python gc.freeze()
    description: Why freezing before fork() avoids copy-on-write in the children.
    link: https://docs.python.org/3/library/gc.html#gc.freeze
"""

import gc
import resource

from ansible.plugins.callback import CallbackBase

# A full collection when the main process's peak resident size has grown by this factor since the last
# one: the cyclic garbage that waits while frozen stays a bounded share of the controller's memory.
COLLECT_GROWTH = 1.25


def peak_memory():
    """The process's peak resident size (KiB on Linux, bytes on macOS: only ratios are used)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "prodready.platform.gc_freeze"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._peak_at_collection = None

    # The v2_playbook_on_* callbacks run in the main process before the task's workers fork.

    def v2_playbook_on_start(self, playbook):
        self._collect_and_freeze()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._refreeze()

    def v2_playbook_on_handler_task_start(self, task):
        self._refreeze()

    def v2_playbook_on_cleanup_task_start(self, task):
        self._refreeze()

    def v2_playbook_on_stats(self, stats):
        gc.unfreeze()

    def _collect_and_freeze(self):
        gc.unfreeze()
        gc.collect()
        self._peak_at_collection = peak_memory()
        gc.freeze()

    def _refreeze(self):
        if self._peak_at_collection is None or peak_memory() > self._peak_at_collection * COLLECT_GROWTH:
            self._collect_and_freeze()
            return
        gc.unfreeze()
        gc.freeze()
