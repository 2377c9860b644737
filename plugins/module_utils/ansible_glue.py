# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between Ansible modules and the engine (the only module_utils file that knows Ansible
exists besides the modules themselves): the common options, the difference tracker that feeds
``diff.before``/``diff.after``, and error reporting."""

import copy
import traceback

from ansible.module_utils.basic import AnsibleModule

from .engine.errors import MyDockerError


def common_argument_spec():
    """Options every module has."""
    return dict(root=dict(type="path", required=False, default=None))


class DifferenceTracker:
    """Collects (name, before, after) of what a task changes, and the actions it takes."""

    def __init__(self):
        self._diffs = []
        self.actions = []

    def add(self, name, before=None, after=None):
        self._diffs.append((name, copy.deepcopy(before), copy.deepcopy(after)))

    def action(self, text):
        self.actions.append(text)

    @property
    def changed(self):
        return bool(self.actions) or any(b != a for dummy, b, a in self._diffs)

    def get_before_after(self):
        before = {}
        after = {}
        for name, b, a in self._diffs:
            before[name] = b
            after[name] = a
        return before, after

    def diff(self):
        before, after = self.get_before_after()
        return {"before": before, "after": after}


def module_definition(argument_spec, **kwargs):
    """A module's whole definition: its options with the common ones, and AnsibleModule's other
    arguments (constraints, check mode). The module path (``new_module``) and the in-process path
    of the action plugins (plugins/plugin_utils/in_process.py) are both made from it."""
    spec = common_argument_spec()
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    return dict(kwargs, argument_spec=spec)


def new_module(module_definition):
    return AnsibleModule(**module_definition)


def run(module, fn):
    """Call ``fn(module)`` -> result dict and exit; a MyDockerError becomes ``failed`` with msg."""
    try:
        result = fn(module)
    except MyDockerError as e:
        module.fail_json(msg=str(e))
    except Exception as e:  # an engine bug: keep the traceback for the user
        module.fail_json(msg="mydocker internal error: %s" % e, exception=traceback.format_exc())
    module.exit_json(**result)
