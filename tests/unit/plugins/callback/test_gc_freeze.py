"""prodready.platform.gc_freeze: objects frozen at every task start (workers fork with them frozen),
handed back to the collector at the next task and at the end, a full collection when peak memory grew."""

import gc
import textwrap

import pytest

from ansible_collections.prodready.platform.plugins.callback import gc_freeze


@pytest.fixture
def callback(monkeypatch):
    peak = {"value": 1000}
    collections = []
    monkeypatch.setattr(gc_freeze, "peak_memory", lambda: peak["value"])
    real_collect = gc.collect
    monkeypatch.setattr(gc_freeze.gc, "collect", lambda *args: collections.append(gc.get_freeze_count()) or real_collect(*args))
    gc.unfreeze()
    module = gc_freeze.CallbackModule()
    yield module, peak, collections
    gc.unfreeze()


def test_a_task_starts_with_everything_frozen_and_the_run_ends_unfrozen(callback):
    module, _peak, collections = callback
    module.v2_playbook_on_start(None)
    assert collections == [0], "the first freeze follows one full collection of unfrozen objects"
    assert gc.get_freeze_count() > 0
    made_during_the_task = [[] for _index in range(1000)]
    before = gc.get_freeze_count()
    module.v2_playbook_on_task_start(None, False)
    assert gc.get_freeze_count() >= before + len(made_during_the_task), "objects of the previous task are frozen too"
    module.v2_playbook_on_handler_task_start(None)
    module.v2_playbook_on_cleanup_task_start(None)
    assert gc.get_freeze_count() > 0
    assert collections == [0], "no full collection while memory did not grow"
    module.v2_playbook_on_stats(None)
    assert gc.get_freeze_count() == 0


def test_a_full_collection_when_peak_memory_grew_by_a_quarter(callback):
    module, peak, collections = callback
    module.v2_playbook_on_start(None)
    peak["value"] = 1250  # exactly the growth factor: not yet
    module.v2_playbook_on_task_start(None, False)
    assert len(collections) == 1
    peak["value"] = 1251
    module.v2_playbook_on_task_start(None, False)
    assert collections[1] == 0, "collected with nothing frozen"
    assert gc.get_freeze_count() > 0
    module.v2_playbook_on_task_start(None, False)  # measured again from 1251
    assert len(collections) == 2


def test_a_task_start_before_the_playbook_start_collects_first(callback):
    module, _peak, collections = callback
    module.v2_playbook_on_task_start(None, False)
    assert collections == [0] and gc.get_freeze_count() > 0


def test_cyclic_garbage_of_a_frozen_task_is_freed_by_the_next_full_collection(callback):
    import weakref

    module, peak, _collections = callback
    module.v2_playbook_on_start(None)

    class Node(object):
        pass

    node = Node()
    node.self = node
    alive = weakref.ref(node)
    module.v2_playbook_on_task_start(None, False)  # the cycle is frozen with the rest
    del node
    gc.collect()
    assert alive() is not None, "a frozen cycle waits"
    peak["value"] = 2000
    module.v2_playbook_on_task_start(None, False)
    assert alive() is None


def test_a_playbook_runs_with_the_callback_enabled(tmp_path, run_playbook, monkeypatch):
    # Opt-in (the repository's ansible.cfg does not enable it): enabled here as a user would, loops,
    # registered results and handlers come out as without it.
    monkeypatch.setenv("ANSIBLE_CALLBACKS_ENABLED", "prodready.platform.gc_freeze")
    (tmp_path / "play.yml").write_text(textwrap.dedent("""\
        - name: Two hosts, a loop, a registered result and a handler
          hosts: all
          gather_facts: false
          tasks:
            - name: Loop
              ansible.builtin.command: echo {{ inventory_hostname }}-{{ item }}
              loop: [1, 2, 3]
              register: echoed
              changed_when: true
              notify: Say done
            - name: Check
              ansible.builtin.assert:
                that: echoed.results | map(attribute='stdout') | list == [1, 2, 3] | map('regex_replace', '^', inventory_hostname ~ '-') | list
          handlers:
            - name: Say done
              ansible.builtin.debug:
                msg: "handler ran on {{ inventory_hostname }}"
        """))
    out = run_playbook(tmp_path, inventory="alpha,beta,", args=["-v"])
    assert "handler ran on alpha" in out and "handler ran on beta" in out and "failed=0" in out
    # Loaded without a warning (a plugin that cannot load is skipped with one naming it), prints nothing.
    assert [line for line in out.splitlines() if "gc_freeze" in line] == []
