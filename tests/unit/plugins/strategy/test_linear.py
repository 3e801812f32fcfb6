"""prodready.platform.linear: ansible.builtin.linear with gc.freeze() around each worker fork."""

import gc
import textwrap

import pytest

from ansible.plugins.strategy.linear import StrategyModule as BuiltinLinear
from ansible_collections.prodready.platform.plugins.strategy.linear import StrategyModule


def _strategy():
    # Only _queue_task is exercised; a real TaskQueueManager is not needed for that.
    return StrategyModule.__new__(StrategyModule)


def test_workers_fork_with_the_collector_frozen_and_the_main_process_unfrozen_after(monkeypatch):
    seen = []

    def fake_queue_task(self, host, task, task_vars, play_context):
        seen.append((gc.get_freeze_count(), host, task, task_vars, play_context))
        return "queued"

    monkeypatch.setattr(BuiltinLinear, "_queue_task", fake_queue_task)
    gc.unfreeze()
    assert _strategy()._queue_task("host1", "task", {"a": 1}, "context") == "queued"
    frozen, host, task, task_vars, play_context = seen[0]
    assert frozen > 0, "gc.freeze() must be active while the worker forks"
    assert (host, task, task_vars, play_context) == ("host1", "task", {"a": 1}, "context")
    assert gc.get_freeze_count() == 0


def test_the_collector_is_unfrozen_when_queueing_fails(monkeypatch):
    def failing_queue_task(self, host, task, task_vars, play_context):
        raise RuntimeError("fork failed")

    monkeypatch.setattr(BuiltinLinear, "_queue_task", failing_queue_task)
    gc.unfreeze()
    with pytest.raises(RuntimeError, match="fork failed"):
        _strategy()._queue_task("host1", "task", {}, None)
    assert gc.get_freeze_count() == 0


def test_a_play_runs_as_with_the_builtin_linear_strategy(tmp_path, run_playbook):
    (tmp_path / "play.yml").write_text(textwrap.dedent("""\
        - name: Two hosts, ordered tasks, a registered result and a handler
          hosts: all
          gather_facts: false
          strategy: prodready.platform.linear
          tasks:
            - name: First
              ansible.builtin.set_fact:
                first_value: "{{ inventory_hostname }}-1"
            - name: Second reads the first
              ansible.builtin.command: echo {{ first_value }}
              register: echoed
              changed_when: true
              notify: Say done
            - name: Check
              ansible.builtin.assert:
                that: echoed.stdout == inventory_hostname ~ '-1'
          handlers:
            - name: Say done
              ansible.builtin.debug:
                msg: "handler ran on {{ inventory_hostname }}"
        """))
    out = run_playbook(tmp_path, inventory="alpha,beta,")
    assert "handler ran on alpha" in out and "handler ran on beta" in out
    assert "alpha" in out and "failed=0" in out
    # linear order: both hosts finish "First" before either starts "Second".
    assert out.index("TASK [First]") < out.index("TASK [Second reads the first]") < out.index("TASK [Check]")
