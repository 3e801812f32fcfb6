# -*- coding: utf-8 -*-
# Copyright: prodready.platform maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: jsonfile
author: prodready.platform maintainers (@prodready)
short_description: ansible.builtin.jsonfile, each host's facts decoded once per run
version_added: 1.1.0
description:
  - The same JSON files, in the same place and format, as C(ansible.builtin.jsonfile); the two can
    be swapped on the same cache directory without losing anything.
  - ansible-core wraps every persistent cache plugin so that each read JSON-decodes the stored text
    again, and the controller reads a host's facts for every task and host (to build the task's
    variables, in the main process, one host after another). This plugin keeps the decoded facts in
    memory for the rest of the run, as C(ansible.builtin.memory) does, and writes through to the
    files. On the site playbook's 6-host no-op re-run (docs/benchmarks.md) decoding was 6 % of the
    main process's time.
  - It has no settings of its own; the files are those of C(ansible.builtin.jsonfile), configured
    as for that plugin (C(fact_caching_connection), C(fact_caching_prefix), C(fact_caching_timeout)
    or their C(ANSIBLE_CACHE_PLUGIN_*) environment variables). Facts older than the timeout are not
    read at the start of a run; within one run, what was read or set stays valid.
  - Use it with C(fact_caching = prodready.platform.jsonfile) and C(gathering = smart).
seealso:
  - plugin: ansible.builtin.jsonfile
    plugin_type: cache
"""

from ansible.plugins.cache import BaseCacheModule
from ansible.plugins.loader import cache_loader

FILES = "ansible.builtin.jsonfile"


class CacheModule(BaseCacheModule):
    # Not persistent for the plugin loader: it would wrap this plugin in the encoder that decodes on
    # every read. The jsonfile plugin inside, loaded through the same loader, keeps that wrapper, so
    # the files are written and read exactly as ansible.builtin.jsonfile writes and reads them.
    _persistent = False

    def __init__(self, *args, **kwargs):
        super(CacheModule, self).__init__(*args, **kwargs)
        self._files = cache_loader.get(FILES)
        self._decoded = {}

    def get(self, key):
        try:
            return self._decoded[key]
        except KeyError:
            pass
        value = self._files.get(key)  # KeyError when the host has no (current) facts: not remembered
        self._decoded[key] = value
        return value

    def set(self, key, value):
        self._files.set(key, value)
        self._decoded[key] = value

    def keys(self):
        return self._files.keys()

    def contains(self, key):
        return key in self._decoded or self._files.contains(key)

    def delete(self, key):
        self._decoded.pop(key, None)
        self._files.delete(key)

    def flush(self):
        self._decoded = {}
        self._files.flush()
