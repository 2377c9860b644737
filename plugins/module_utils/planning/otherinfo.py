# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker_network_info``: its listing with ``filters`` (the option tables and the filters are
in ``info.py``, which ``mydocker_container_info`` imports without this planner;
``mydocker_image_info``'s listing is in ``imageview.py``, so that neither info module ships the
other's planner).

Plain Python; knows nothing of Ansible."""

from ..engine.net import networks as network
from ..engine.store import Paths
from . import network as network_plan
from .info import NETWORK_FILTERS, matches, normalise_filters


def _network_fields(rec):
    return {"name": rec.get("Name"), "driver": rec.get("Driver") or "bridge"}


def network_info(root, names=None, filters=None):
    """(networks, exists) of one mydocker_network_info task; ``filters`` narrows the networks
    (before their drift is looked for: the host is only asked about the networks returned)."""
    flt = normalise_filters(filters, NETWORK_FILTERS)
    if names is None:
        names = [n["Name"] for n in network.list_networks(Paths(root).root) if matches(_network_fields(n), flt)]
    recs, exists = network_plan.info(root, names)
    return [r for r in recs if matches(_network_fields(r), flt)], exists
