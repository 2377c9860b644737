# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read side of the container API: find a record by ID or name, the record as a user sees
it (status from the host), the list, and the environment parser.  ``containers`` re-exports
all of it (its API is unchanged); this file exists so that a task that only reads (a no-change
``mydocker_container``, ``mydocker_container_info``) imports these without the create, start
and monitor machinery: a module's files are compiled again on every task."""

from __future__ import annotations

import os

from . import records, status
from .errors import MyDockerError, NotFound
from .lazyre import lazy_re
from .records import ACTIVE, RUNNING, Record
from .store import Paths

TYPE_CHECKING = False  # typing is ~5 ms of every command's start: annotations only (postponed)
if TYPE_CHECKING:
    from typing import Any

_ENV_KEY_RE = lazy_re(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


# ---------------------------------------------------------------- parsing

def parse_env(items: Any) -> dict[str, str]:
    """['K=V', ...] or {K: V} -> ordered dict; a bare 'K' takes the caller's value and is left
    out when the caller has none (as Docker)."""
    env = {}
    if isinstance(items, dict):
        items = ["%s=%s" % (k, v) for k, v in items.items()]
    for item in items or []:
        key, sep, value = item.partition("=")
        if not _ENV_KEY_RE.match(key):
            raise MyDockerError("invalid environment variable %r: expected KEY=VALUE" % item)
        if not sep:
            if key not in os.environ:
                continue
            value = os.environ[key]
        env[key] = value
    return env


# ---------------------------------------------------------------- lookup

def _paths(root):
    return root if isinstance(root, Paths) else Paths(root)


def find(root: str | None, ref: str) -> Record:
    """The record of the container called ``ref`` (ID or name)."""
    return records.find(_paths(root), ref)


def exists(root: str | None, ref: str) -> bool:
    try:
        find(root, ref)
        return True
    except NotFound:
        return False


def view(rec: Record) -> dict[str, Any]:
    """The record as a user sees it: status from the host, not from the file."""
    out = dict(rec)
    out["status"] = status.true_status(rec)
    if out["status"] != RUNNING:
        out["pid"] = ""
    return out


def list_containers(root: str | None, all: bool = False) -> list[dict[str, Any]]:
    paths = _paths(root)
    out = [view(r) for r in records.iter_records(paths)]
    if not all:
        out = [r for r in out if r["status"] in ACTIVE]
    return out


def inspect(root: str | None, ref: str) -> dict[str, Any]:
    return view(find(root, ref))
