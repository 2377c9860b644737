# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The three ``*_info`` modules: their option tables and the listing with ``filters``
(``mydocker_container_info`` here, the image and network listings in ``otherinfo.py``).

Each is read only, so check mode and a real run are the same call. With names the modules
return what they always returned (``exists`` and the records); ``filters`` narrows the list of
records returned, never ``exists``.

A filter is ``{key: value}`` or ``{key: [values]}``: a record matches a key when it matches
one of the values (a label filter: all of them, as Docker's), and matches the filters when it
matches every key. ``name`` values are shell-style patterns (``web-*``); the others compare
exactly.

Plain Python; knows nothing of Ansible."""

import fnmatch

from ..engine import view
from ..engine.errors import MyDockerError, NotFound
from ..engine.records import STATUSES
from ..engine.store import Paths
from ..engine.validate import validate_name
from .plan import Option, build_argument_spec, wrap_option

# mydocker_container_info's lookup is here; image_info and network_info are in otherinfo.py, so
# that this module's zip holds neither the image nor the network planner (Ansible ships every
# file an import names, also inside a function, and builds the zip again for each ad hoc run).

CONTAINER_FILTERS = ("name", "status", "image", "network", "label")
IMAGE_FILTERS = ("name",)
NETWORK_FILTERS = ("name", "driver")

CONTAINER_INFO_OPTIONS = (
    Option("name", "str"),
    Option("filters", "dict"),
)
IMAGE_INFO_OPTIONS = (
    Option("name", "list", elements="str"),
    Option("filters", "dict"),
)
NETWORK_INFO_OPTIONS = IMAGE_INFO_OPTIONS


def container_argument_spec():
    return build_argument_spec(CONTAINER_INFO_OPTIONS)


def image_argument_spec():
    return build_argument_spec(IMAGE_INFO_OPTIONS)


def network_argument_spec():
    return build_argument_spec(NETWORK_INFO_OPTIONS)


def _values(key, value):
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise MyDockerError("filters: %s: expected a string or a list of strings, got %r" % (key, v))
        out.append(str(v))
    return out


def normalise_filters(filters, allowed):
    """{key: [str]} of the user's ``filters``; one clear line for an unknown key or a bad value."""
    out = {}
    for key, value in sorted((filters or {}).items()):
        if key not in allowed:
            raise MyDockerError("filters: unknown filter %r (use %s)" % (key, ", ".join(allowed)))
        values = _values(key, value)
        if key == "status":
            bad = [v for v in values if v not in STATUSES]
            if bad:
                raise MyDockerError("filters: status: invalid status %r (use %s)" % (bad[0], ", ".join(STATUSES)))
        if key == "label":
            for v in values:
                if not v.partition("=")[0]:
                    raise MyDockerError("filters: label: invalid label filter %r (use KEY or KEY=VALUE)" % v)
        out[key] = values
    return out


def _labels_match(labels, wanted):
    labels = labels if isinstance(labels, dict) else {}
    for w in wanted:
        key, sep, value = w.partition("=")
        if key not in labels or (sep and str(labels[key]) != value):
            return False
    return True


def matches(fields, filters):
    """True when ``fields`` ({key: value}; "label": a dict) match the normalised ``filters``."""
    for key, values in filters.items():
        if key == "label":
            if not _labels_match(fields.get("label"), values):
                return False
        elif key == "name":
            if not any(fnmatch.fnmatchcase(fields.get("name") or "", v) for v in values):
                return False
        elif (fields.get(key) or "") not in values:
            return False
    return True


def container_fields(rec):
    return {"name": rec.get("name") or rec.get("id"), "status": rec.get("status"), "image": rec.get("image"),
            "network": rec.get("networkName"), "label": rec.get("labels")}


def container_record(root, name):
    """The container record (true status) or None."""
    wrap_option("name", validate_name, name, "container name")
    try:
        return view.inspect(root, name)
    except NotFound:
        return None


def container_info(root, name=None, filters=None):
    """The result of one mydocker_container_info task (without ``changed``)."""
    flt = normalise_filters(filters, CONTAINER_FILTERS)
    if name is not None:
        rec = container_record(root, name)
        found = [rec] if rec is not None else []
        return {"exists": rec is not None, "container": rec or {},
                "containers": [r for r in found if matches(container_fields(r), flt)]}
    recs = [r for r in view.list_containers(Paths(root), all=True) if matches(container_fields(r), flt)]
    return {"exists": bool(recs), "container": {}, "containers": recs}
