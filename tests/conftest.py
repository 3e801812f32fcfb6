"""Make the collection importable as ansible_collections.prodready.platform in unit tests."""
import os
import sys

_COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)


import json  # noqa: E402

import pytest  # noqa: E402

try:
    from hypothesis import settings
except ImportError:  # pragma: no cover - hypothesis is in requirements-dev.txt
    settings = None
if settings is not None:
    # Property tests judge results, not speed: on 2 shared cores an example can take longer than
    # hypothesis' default 200 ms deadline, which then reports a correct test as flaky.
    settings.register_profile("prodready", deadline=None)
    settings.load_profile("prodready")


@pytest.fixture
def run_module(monkeypatch, capsys):
    """Run a module's main() as Ansible would: ``run_module(module, args)`` returns its JSON result."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    def run(module, args):
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        monkeypatch.setattr(sys, "argv", [module.__name__.rsplit(".", 1)[-1]])
        with pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return run


@pytest.fixture
def run_playbook():
    """Run ``play.yml`` of a directory with the local connection, as a user would run a playbook with
    this collection: ``run_playbook(directory, inventory="localhost,", extra_vars=None, args=())``
    asserts it succeeds and returns its output."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def run(directory, inventory="localhost,", extra_vars=None, args=()):
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_COLLECTIONS, ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"),
                   ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, "-c", "local",
                   "-e", "ansible_python_interpreter=" + sys.executable]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        proc = subprocess.run(command + [os.path.join(str(directory), "play.yml")] + list(args), cwd=str(directory), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=180,
                              check=False)
        assert proc.returncode == 0, proc.stdout
        return proc.stdout

    return run
