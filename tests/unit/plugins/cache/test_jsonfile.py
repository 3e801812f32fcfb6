# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prodready.platform.jsonfile: ansible.builtin.jsonfile's files, each host's facts decoded once per
run; interchangeable with the builtin plugin on the same directory."""

import textwrap

import pytest

from ansible_collections.prodready.platform.plugins.cache import jsonfile


class Files(object):
    """Stands for the interposed ansible.builtin.jsonfile: a decoded copy per get, as it returns."""

    def __init__(self):
        self.stored, self.gets, self.deleted, self.flushed = {}, 0, [], 0

    def get(self, key):
        self.gets += 1
        return dict(self.stored[key])

    def set(self, key, value):
        self.stored[key] = dict(value)

    def keys(self):
        return list(self.stored)

    def contains(self, key):
        return key in self.stored

    def delete(self, key):
        self.deleted.append(key)
        self.stored.pop(key, None)

    def flush(self):
        self.flushed += 1
        self.stored = {}


@pytest.fixture
def cache(monkeypatch):
    files = Files()

    class Loader(object):
        def get(self, name):
            assert name == "ansible.builtin.jsonfile"
            return files

    monkeypatch.setattr(jsonfile, "cache_loader", Loader())
    return jsonfile.CacheModule(), files


def test_the_loader_does_not_wrap_it_in_the_decoding_interposer():
    # ansible-core wraps only plugins whose _persistent is true; the jsonfile inside keeps its wrapper.
    assert jsonfile.CacheModule._persistent is False


def test_a_host_is_read_and_decoded_once_then_served_from_memory(cache):
    module, files = cache
    files.stored["web1"] = {"distribution": "Debian"}
    first = module.get("web1")
    assert module.get("web1") is first and module.get("web1") == {"distribution": "Debian"}
    assert files.gets == 1
    assert module.contains("web1") and module.keys() == ["web1"]


def test_a_host_without_facts_raises_key_error_and_is_read_again_later(cache):
    module, files = cache
    with pytest.raises(KeyError):
        module.get("web2")
    files.stored["web2"] = {"kernel": "6.1"}
    assert module.get("web2") == {"kernel": "6.1"}
    assert files.gets == 2


def test_set_writes_through_and_is_served_as_set(cache):
    module, files = cache
    facts = {"fqdn": "app1.example.org"}
    module.set("app1", facts)
    assert files.stored["app1"] == facts
    assert module.get("app1") is facts and files.gets == 0


def test_delete_and_flush_forget_the_memory_and_the_files(cache):
    module, files = cache
    module.set("app1", {"a": 1})
    module.set("app2", {"b": 2})
    module.delete("app1")
    assert files.deleted == ["app1"] and not module.contains("app1")
    with pytest.raises(KeyError):
        module.get("app1")
    module.flush()
    assert files.flushed == 1 and not module.contains("app2")


WRITE = textwrap.dedent("""\
    - name: Gather and cache a fact
      hosts: all
      gather_facts: true
      gather_subset: [min]
      tasks:
        - name: Cache a marker
          ansible.builtin.set_fact:
            cache_marker: "written by {{ writer }}"
            cacheable: true
    """)

READ = textwrap.dedent("""\
    - name: Read the cached facts without gathering
      hosts: all
      gather_facts: true
      tasks:
        - name: The marker and the gathered facts come from the cache
          ansible.builtin.assert:
            that:
              - ansible_facts['cache_marker'] == 'written by ' ~ writer
              - ansible_facts['distribution'] | length > 0
        - name: Read them again (served from memory by prodready.platform.jsonfile)
          ansible.builtin.assert:
            that: ansible_facts['cache_marker'] == 'written by ' ~ writer
    """)


@pytest.mark.parametrize("writer,reader", [("ansible.builtin.jsonfile", "prodready.platform.jsonfile"),
                                           ("prodready.platform.jsonfile", "ansible.builtin.jsonfile")])
def test_files_written_by_one_plugin_are_read_by_the_other(tmp_path, run_playbook, monkeypatch, writer, reader):
    cache_dir = tmp_path / "facts"
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", str(cache_dir))
    monkeypatch.setenv("ANSIBLE_GATHERING", "smart")
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN", writer)
    (tmp_path / "play.yml").write_text(WRITE)
    out = run_playbook(tmp_path, extra_vars={"writer": writer})
    assert "Gathering Facts" in out and "[WARNING]" not in out
    assert len(list(cache_dir.iterdir())) == 1
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN", reader)
    (tmp_path / "play.yml").write_text(READ)
    out = run_playbook(tmp_path, extra_vars={"writer": writer})
    assert "Gathering Facts" not in out, "smart gathering found the cached facts"
    assert "[WARNING]" not in out and "failed=0" in out
