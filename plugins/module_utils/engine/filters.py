# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Labels (``-l/--label K=V``, ``--label-file``) and ``ps --filter`` as Docker reads them.

Filters: ``label=K`` or ``label=K=V``, ``name=``, ``status=``, ``network=``, ``id=``. As in
Docker, filters of different kinds must all match; of one kind any one may match, except
``label``, where every one must.
"""

from .errors import MyDockerError

FILTER_KINDS = ("label", "name", "status", "network", "id")
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def _label_pairs(items, option):
    if isinstance(items, dict):
        return [(str(k), "" if v is None else v) for k, v in items.items()]
    if not isinstance(items, (list, tuple)):
        raise MyDockerError("%s: expected KEY=VALUE items" % option)
    pairs = []
    for item in items:
        key, _sep, value = str(item).partition("=")
        pairs.append((key, value))
    return pairs


def parse_labels(items=None, label_files=None, option="--label"):
    """{K: V}: the label files first (one K=V a line, # comments), then ``items`` (list or dict)."""
    pairs = []
    for path in label_files or []:
        try:
            with open(path, errors="replace") as f:
                lines = [ln.strip() for ln in f]
        except OSError as e:
            raise MyDockerError("--label-file: cannot read %s: %s" % (path, e.strerror or e))
        pairs.extend(_label_pairs([ln for ln in lines if ln and not ln.startswith("#")], "--label-file"))
    pairs.extend(_label_pairs(items or [], option))
    out = {}
    for key, value in pairs:
        key = key.strip()
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise MyDockerError("%s: the value of label %s must be a string" % (option, key))
        if not key or any(c.isspace() for c in key):
            raise MyDockerError("%s: invalid label name %r" % (option, key))
        out[key] = value if isinstance(value, str) else str(value)
    return dict(sorted(out.items()))


def parse_filters(items):
    """['label=a=b', 'status=running', ...] -> {kind: [value, ...]}; one line for a bad filter."""
    out = {}
    for item in items or []:
        kind, sep, value = str(item).partition("=")
        kind = kind.strip().lower()
        if not sep or kind not in FILTER_KINDS:
            raise MyDockerError("--filter: invalid filter %r (use %s)"
                                % (item, ", ".join(k + "=..." for k in FILTER_KINDS)))
        if kind == "status" and value not in STATUSES:
            raise MyDockerError("--filter: invalid status %r (one of %s)" % (value, ", ".join(STATUSES)))
        out.setdefault(kind, []).append(value)
    return out


def _networks(c):
    nets = set(n for n in [c.get("networkName")] if n)
    more = c.get("networks")
    if isinstance(more, dict):
        nets.update(more)
    elif isinstance(more, list):
        nets.update(n.get("name") if isinstance(n, dict) else n for n in more)
    return nets


def _label_matches(labels, want):
    key, sep, value = want.partition("=")
    return key in labels and (not sep or labels[key] == value)


def matches(c, filters):
    """Whether container ``c`` (``containers.view``: status as the host shows it) passes."""
    labels = c.get("labels") or {}
    tests = {
        "label": lambda v: _label_matches(labels, v),
        "name": lambda v: v in (c.get("name") or ""),
        "status": lambda v: c.get("status") == v,
        "network": lambda v: v in _networks(c),
        "id": (c.get("id") or "").startswith,
    }
    for kind, values in (filters or {}).items():
        combine = all if kind == "label" else any
        if not combine(tests[kind](v) for v in values):
            return False
    return True
