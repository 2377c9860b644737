"""The action plugins' in-process path without Ansible's executor: option checks with the module's
own definition, results formed as AnsibleModule forms them, errors, and when the module path is
taken instead. (tests/system/test_ansible_in_process.py runs both paths with ansible-playbook.)"""
import glob
import os
import types

import pytest

pytest.importorskip("ansible")

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.plugin_utils import in_process as ip

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def names(folder):
    return sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "plugins", folder, "*.py")))


def test_every_module_has_its_action_plugin_and_a_definition():
    assert names("action") == names("modules")
    for name in names("modules"):
        mod = __import__(ip.MODULES + name, fromlist=["definition", "task"])
        d = mod.definition()
        assert d["argument_spec"]["root"] == {"type": "path", "required": False, "default": None}, name
        assert callable(mod.task), name


def test_unsupported_option_fails_with_the_modules_words_and_touches_nothing(tmp_path):
    root = str(tmp_path / "root")
    res = ip.run_in_process("mydocker_volume", {"name": "v", "colour": "blue", "root": root}, False, False)
    assert res["failed"] is True
    assert res["msg"].startswith("Unsupported parameters for (mydocker_volume) module: colour.")
    assert "Supported parameters include:" in res["msg"]
    assert not os.path.exists(root)


def test_constraints_of_the_definition_apply(tmp_path):
    res = ip.run_in_process("mydocker_container_copy_into",
                            {"container": "c", "container_path": "/x", "path": "/etc/hostname", "content": "y",
                             "root": str(tmp_path)}, False, False)
    assert res["failed"] is True and "mutually exclusive: path|content" in res["msg"]
    res = ip.run_in_process("mydocker_volume", {"name": "v", "state": "sideways", "root": str(tmp_path)}, False, False)
    assert res["failed"] is True and "state" in res["msg"] and "sideways" in res["msg"]


def test_a_module_without_check_mode_is_skipped_in_check_mode(tmp_path):
    res = ip.run_in_process("mydocker_container_exec", {"container": "c", "argv": ["true"], "root": str(tmp_path)},
                            True, False, shown="mydocker.runtime.mydocker_container_exec")
    assert res["skipped"] is True
    assert res["msg"] == "remote module (mydocker.runtime.mydocker_container_exec) does not support check mode"


DEF = {"argument_spec": {"name": {"type": "str", "required": True}, "secret": {"type": "str", "no_log": True},
                         "count": {"type": "int", "default": 2}, "root": {"type": "path", "default": None}}}


def test_results_are_json_typed_with_invocation_and_secrets_masked():
    m = ip.InProcessModule("t", DEF, {"name": "a", "secret": "s3cr3t-value", "count": "5"})
    assert m.params == {"name": "a", "secret": "s3cr3t-value", "count": 5, "root": None}
    res = ip.call_task("t", m, lambda module: {"changed": True, "pair": (1, 2), "said": "it is s3cr3t-value"})
    assert res["changed"] is True and res["pair"] == [1, 2]
    assert "s3cr3t-value" not in repr(res)
    assert res["invocation"]["module_args"]["name"] == "a"
    assert res["invocation"]["module_args"]["count"] == 5


def test_errors_of_a_task():
    m = ip.InProcessModule("t", DEF, {"name": "a"})

    def refused(module):
        raise MyDockerError("no such container: a")

    def bug(module):
        raise KeyError("oops")

    def failed_with_rc(module):
        module.fail_json(msg="the command exited with status 3", rc=3)

    assert ip.call_task("t", m, refused)["msg"] == "no such container: a"
    assert ip.call_task("t", m, refused)["failed"] is True
    res = ip.call_task("t", m, bug)
    assert res["failed"] is True and res["msg"].startswith("mydocker internal error: ")
    assert "KeyError" in res["exception"]
    res = ip.call_task("t", m, failed_with_rc)
    assert res["failed"] is True and res["rc"] == 3 and res["msg"] == "the command exited with status 3"

    def interrupted(module):
        raise KeyboardInterrupt()

    with pytest.raises(KeyboardInterrupt):
        ip.call_task("t", m, interrupted)


def action(transport="local", async_val=0, environment=None, become=False, become_user=None):
    a = ip.InProcessAction.__new__(ip.InProcessAction)
    a._connection = types.SimpleNamespace(transport=transport, _load_name=transport)
    a._task = types.SimpleNamespace(async_val=async_val, environment=environment)
    a._play_context = types.SimpleNamespace(become=become, become_user=become_user)
    return a


def test_when_the_module_path_is_taken(monkeypatch):
    monkeypatch.delenv(ip.SWITCH, raising=False)
    monkeypatch.setattr(ip, "requirements_met", lambda: True)
    assert action().why_not_here() is None
    assert action(environment=[{}, None]).why_not_here() is None
    assert action(transport="ansible.builtin.local").why_not_here() is None
    assert action(transport="ssh").why_not_here() == "connection ssh"
    assert action(transport="mydocker.runtime.mydocker").why_not_here().startswith("connection")
    assert action(async_val=30).why_not_here() == "async"
    assert action(environment=[{"MYDOCKER_ROOT": "/x"}]).why_not_here() == "environment"
    assert action(environment={"A": "1"}).why_not_here() == "environment"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert action(become=True).why_not_here() is None
    assert action(become=True, become_user="root").why_not_here() is None
    assert action(become=True, become_user="app").why_not_here() == "become"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert action(become=True).why_not_here() == "become"
    assert action().why_not_here() is None
    monkeypatch.setenv(ip.SWITCH, "0")
    assert action().why_not_here() == "MYDOCKER_IN_PROCESS=0"
    monkeypatch.delenv(ip.SWITCH)
    monkeypatch.setattr(ip, "requirements_met", lambda: False)
    assert action().why_not_here() == "no pyroute2 in the controller's Python"


def test_module_name_is_the_plugin_files_name():
    from ansible_collections.mydocker.runtime.plugins.action import mydocker_network_info as plugin
    a = plugin.ActionModule.__new__(plugin.ActionModule)
    assert a.module_name() == "mydocker_network_info"


PRELOAD_CHECK = (
    "import sys\n"
    "m = 'ansible_collections.mydocker.runtime.plugins.modules.mydocker_volume'\n"
    "from ansible_collections.mydocker.runtime.plugins.plugin_utils import in_process\n"
    "before = m in sys.modules\n"
    "from ansible_collections.mydocker.runtime.plugins.action import mydocker_volume\n"
    "print(before, m in sys.modules)\n")


def _preload_check(**env):
    import subprocess
    import sys
    e = dict(os.environ, PYTHONPATH=":".join(sys.path), MYDOCKER_BYTECODE_CACHE="0")
    e.pop(ip.SWITCH, None)
    e.update(env)
    return subprocess.run([sys.executable, "-c", PRELOAD_CHECK], env=e, capture_output=True, text=True,
                          check=True).stdout.split()


def test_defining_an_action_plugin_imports_its_module_for_the_workers_forked_after():
    """Ansible's strategy loads the action class in the main process before it forks the task's
    worker: the module is imported then (and every worker has it), not in each worker."""
    assert _preload_check() == ["False", "True"]
    assert _preload_check(MYDOCKER_IN_PROCESS="0") == ["False", "False"]
