# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every planned task has in common (plain Python, no Ansible).

A plan is computed once from the wanted state, the persisted records and the host; check mode
returns it, the real run applies exactly its steps. So the two can never disagree.

A plan is a list of ``Step``: an operation name, its arguments (a dict) and the texts a user
reads for it (``actions``: "create", "recreate: image changed", ...; a step may say several
things, or nothing when it is the second half of what an earlier step announced, as the
"create" after a "remove" of a recreated network). ``apply_steps`` executes them through a
table {op: function}, so a planner's apply is that table and what comes after it."""

from collections import namedtuple

from ..engine.errors import MyDockerError


class Step(namedtuple("Step", ("op", "args", "actions"))):
    """One thing ``apply`` does: ``op`` (a key of the planner's table), ``args`` (a dict, the
    function's keyword arguments) and ``actions`` (a tuple of user-facing texts)."""

    __slots__ = ()


class Plan:
    def __init__(self, name):
        self.name = name
        self.steps = []       # [Step], what apply() executes, in order
        self.before = {}      # the diff views
        self.after = {}

    def add(self, op, actions=(), **args):
        """Append the step ``op`` with keyword arguments ``args``; ``actions`` is one text or a
        sequence of texts (none: the step continues what an earlier step announced)."""
        if isinstance(actions, str):
            actions = (actions,)
        step = Step(op, args, tuple(actions))
        self.steps.append(step)
        return step

    def find(self, op):
        """The first step ``op`` of the plan, or None."""
        for step in self.steps:
            if step.op == op:
                return step
        return None

    @property
    def actions(self):
        """What a user reads, in the order of the steps."""
        return [text for step in self.steps for text in step.actions]

    @property
    def changed(self):
        return bool(self.steps)


def apply_steps(table, plan, *context):
    """Call ``table[step.op](*context, **step.args)`` for every step of ``plan``, in order."""
    for step in plan.steps:
        try:
            fn = table[step.op]
        except KeyError:
            raise MyDockerError("internal error: unknown plan step %r" % (step,))
        fn(*context, **step.args)


# ---------------------------------------------------------------------------------------------
# the modules' options, declared once: the argument spec is built from them

def _equal(a, b):
    return a == b


_NO_DEFAULT = object()


class Option:
    """One option of a module: its Ansible spec and, for mydocker_container's compared options
    (``change`` is not None), how it is normalised and compared with the container."""

    def __init__(self, name, type, normalise=None, current=None, change=None, same=None, elements=None,
                 choices=None, default=_NO_DEFAULT, aliases=None, required=False):
        self.name = name
        self.type = type             # the Ansible type: str, int, float, bool, list, dict, raw
        self.elements = elements     # of a list
        self.choices = choices
        self.default = default
        self.aliases = aliases
        self.required = required
        self.normalise = normalise   # (user value, all params) -> canonical value
        self.current = current       # (container record) -> canonical value
        self.change = change         # UPDATE: in place; RECREATE: a new container; None: not compared
        self.same = same or _equal   # (wanted, current) -> bool

    def spec(self):
        """This option's entry of the Ansible argument spec."""
        out = {"type": self.type}
        if self.required:
            out["required"] = True
        if self.default is not _NO_DEFAULT:
            out["default"] = self.default
        if self.elements is not None:
            out["elements"] = self.elements
        for key in ("choices", "aliases"):
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value)
        return out


def build_argument_spec(options):
    """The Ansible argument spec of ``options`` (without the common ``root``)."""
    return dict((o.name, o.spec()) for o in options)


def fail_option(option, msg):
    raise MyDockerError("%s: %s" % (option, msg))


def wrap_option(option, fn, value, *args):
    """Call an engine parser or validator; its error gets the option name in front (the
    module's wording wraps the engine's, so check mode and a real run say the same)."""
    try:
        return fn(value, *args)
    except MyDockerError as e:
        text = str(e)
        raise MyDockerError(text if text.startswith(option + ":") else "%s: %s" % (option, text))
