# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugins' shared part: a mydocker module's task run in the worker process.

A module task normally costs a fresh Python on the target, the module's zip written and
unpacked, and every import compiled again: about 0.4 s of a task here, whatever the module does
(``ansible.builtin.ping`` costs as much). When the target is the controller itself (the ``local``
connection, ``connection: local`` or ``delegate_to: localhost``), nothing of that is needed: the
module's own ``task(module)`` is called in the worker process Ansible already forked for the
task, with the options checked by Ansible's own ``ArgumentSpecValidator`` against the module's
own argument spec and constraints, and the result formed the way ``AnsibleModule.exit_json`` and
``fail_json`` form it (``invocation``, ``no_log`` values masked, JSON types). The planning code
is the same code the module runs, check mode and diff included.

Two things keep that worker's own cost low. The action plugin's class is loaded by Ansible's
strategy in the controller's main process before the worker is forked for the task: defining it
imports the module and the planning code it runs (:func:`preload`), so every worker of the
playbook starts with them imported, where each used to import them again. And those imports
go through a bytecode cache (:mod:`code_cache`) instead of Ansible's collection loader
compiling every file's source each time.

The ordinary module path is taken whenever the in-process run could differ from it: another
connection, ``become`` to another user, ``async``, a task ``environment``, a controller Python
without the collection's requirements (pyroute2), or ``MYDOCKER_IN_PROCESS=0`` in the
controller's environment."""

import importlib
import importlib.util
import json
import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.mydocker.runtime.plugins.plugin_utils import code_cache

MODULES = "ansible_collections.mydocker.runtime.plugins.modules."
SWITCH = "MYDOCKER_IN_PROCESS"
LOCAL = ("local", "ansible.builtin.local")


class ModuleExit(BaseException):
    """exit_json/fail_json of the in-process module: carries the result out of ``task`` (a
    BaseException, as AnsibleModule's SystemExit is, so ansible_glue.run's handlers let it pass)."""

    def __init__(self, result):
        BaseException.__init__(self, result.get("msg", ""))
        self.result = result


class InProcessModule:
    """What a mydocker module's ``task`` uses of an AnsibleModule, without a process of its own."""

    def __init__(self, name, definition, args, check_mode=False, diff=False):
        self._name = name
        self.check_mode = check_mode
        self._diff = diff
        self._warnings = []
        self.params = {}
        self.no_log_values = set()
        kwargs = dict(definition)
        spec = kwargs.pop("argument_spec")
        self.supports_check_mode = kwargs.pop("supports_check_mode", True)
        validator = ArgumentSpecValidator(spec, **kwargs)
        res = validator.validate(args)
        self.params = res.validated_parameters
        self.no_log_values.update(res._no_log_values)
        for w in res._warnings:
            self.warn("Both option %s and its alias %s are set." % (w["option"], w["alias"]))
        if res.errors.errors:  # (the multiple-error object itself is always true)
            msg = res.errors.msg
            if isinstance(res.errors[0], UnsupportedError):
                msg = "Unsupported parameters for (%s) module: %s" % (name, msg)
            self.fail_json(msg=msg)
        if check_mode and not self.supports_check_mode:
            self.exit_json(skipped=True, msg="remote module (%s) does not support check mode" % name)

    def warn(self, warning):
        self._warnings.append(warning)

    def exit_json(self, **kwargs):
        raise ModuleExit(self.formatted(kwargs))

    def fail_json(self, msg, **kwargs):
        kwargs.update(failed=True, msg=str(msg))
        raise ModuleExit(self.formatted(kwargs))

    def formatted(self, result):
        """The result as AnsibleModule returns it: plain JSON types, invocation, secrets masked."""
        result = dict(result)
        result.setdefault("invocation", {"module_args": self.params})
        if self._warnings:
            result["warnings"] = list(self._warnings)
        return remove_values(json.loads(json.dumps(result)), self.no_log_values)


def call_task(name, module, task):
    """``task(module)`` -> the result dict: ansible_glue.run, as the module's main() calls it."""
    from ansible_collections.mydocker.runtime.plugins.module_utils.ansible_glue import run
    try:
        run(module, task)
    except ModuleExit as e:
        return e.result
    except SystemExit as e:  # nothing of ours exits; on the module path it would have ended the module
        return module.formatted(dict(failed=True, msg="mydocker internal error: exit %s" % (e.code,)))
    raise AssertionError("%s: exit_json returned" % name)  # pragma: no cover


def run_in_process(name, args, check_mode, diff, shown=None):
    """Import module ``name`` of this collection and run its task here -> result dict (``shown``:
    the module's name in messages, the task's spelling of it)."""
    mod = importlib.import_module(MODULES + name)  # usually imported already (preload)
    try:
        module = InProcessModule(shown or name, mod.definition(), args, check_mode=check_mode, diff=diff)
    except ModuleExit as e:
        return e.result
    return call_task(shown or name, module, mod.task)


def requirements_met():
    """The engine's imports are there in this Python (pyroute2 is the one outside the stdlib)."""
    return importlib.util.find_spec("pyroute2") is not None


def preload(name):
    """Import module ``name`` of this collection now (bytecode cached), so that the processes
    forked from this one have it: called when an action plugin's class is defined, which Ansible
    does in the controller's main process. Nothing when the in-process path is off or cannot
    be taken here (``MYDOCKER_IN_PROCESS=0``, no pyroute2); a failure is left to the task, whose
    own import then reports it. Returns whether the module is imported."""
    if os.environ.get(SWITCH, "1") == "0" or not requirements_met():
        return False
    code_cache.install()
    try:
        importlib.import_module(MODULES + name)
    except Exception:  # pylint: disable=broad-except  # the task's own import reports it
        return False
    return True


class InProcessAction(NormalAction):
    """``ansible.builtin.normal`` (the module path) unless the task can run in this process."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        preload(cls.__module__.rsplit(".", 1)[-1])

    def module_name(self):
        return type(self).__module__.rsplit(".", 1)[-1]

    def why_not_here(self):
        """None when the task may run in this process, else the reason it may not."""
        if os.environ.get(SWITCH, "1") == "0":
            return "%s=0" % SWITCH
        conn = self._connection
        if getattr(conn, "transport", None) not in LOCAL and getattr(conn, "_load_name", None) not in LOCAL:
            return "connection %s" % getattr(conn, "transport", "?")
        if self._task.async_val:
            return "async"
        envs = self._task.environment
        if envs and any(e for e in (envs if isinstance(envs, list) else [envs])):
            return "environment"
        pc = self._play_context
        if pc.become and not (os.geteuid() == 0 and (pc.become_user or "root") == "root"):
            return "become"
        if not requirements_met():
            return "no pyroute2 in the controller's Python"
        return None

    def run(self, tmp=None, task_vars=None):
        why = self.why_not_here()
        if why is not None:
            self._display.vvv("%s: module path (%s)" % (self.module_name(), why))
            return super().run(tmp, task_vars)
        try:
            args = json.loads(json.dumps(dict(self._task.args)))
        except (TypeError, ValueError) as e:
            self._display.vvv("%s: module path (arguments: %s)" % (self.module_name(), e))
            return super().run(tmp, task_vars)
        self._display.vvv("%s: in process (local connection)" % self.module_name())
        result = run_in_process(self.module_name(), args, bool(self._task.check_mode), bool(self._task.diff),
                                shown=self._task.action)
        result.setdefault("changed", False)
        return result
