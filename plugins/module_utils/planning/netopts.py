# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network options of ``mydocker_container``: ``networks`` (with ``purge_networks`` and
``networks_cli_compatible``), ``network_mode``, ``dns_servers``, ``dns_search_domains`` and
``etc_hosts``: how each is normalised and read from a record (the rows are in ``options.py``),
what a new container gets (``create_args``) and how an existing one's networks change in place
(``plan_networks``: connect and disconnect, no recreate, as Docker does).

``networks`` is compared as community.docker compares it: every listed network must be
attached, with the listed ``ipv4_address`` and ``aliases`` when they are given (a different
one: disconnect and connect again); with ``purge_networks`` the networks not listed are
disconnected. Plain Python.
"""

from ..engine.errors import MyDockerError
from ..engine.net import names, netmode


def _fail(option, msg):
    raise MyDockerError("%s: %s" % (option, msg))


class Networks(list):
    """The wished networks ([{name, ipv4_address, aliases}]) and whether others are purged."""

    purge = False


def norm_networks(value, params=None):
    if not isinstance(value, (list, tuple)):
        _fail("networks", "expected a list of {name, ipv4_address, aliases}")
    out = Networks()
    for item in value:
        if isinstance(item, dict):
            unknown = set(item) - {"name", "ipv4_address", "aliases", "ip", "links", "ipv6_address"}
            if unknown:
                _fail("networks", "unknown key(s) %s in %r" % (", ".join(sorted(unknown)), item))
        try:
            a = netmode.normalize(networks=[item])[1][0]
        except MyDockerError as e:
            _fail("networks", str(e))
        if any(x["name"] == a["name"] for x in out):
            _fail("networks", "network %s is listed twice" % a["name"])
        given_aliases = isinstance(item, dict) and item.get("aliases") is not None
        out.append({"name": a["name"], "ipv4_address": a["ip"],
                    "aliases": sorted(a["aliases"]) if given_aliases else None})
    out.purge = bool((params or {}).get("purge_networks"))
    return out


def current_networks(rec):
    return [{"name": a["name"], "ipv4_address": a.get("ip") or "", "aliases": sorted(a.get("aliases") or [])}
            for a in names.attachments(rec)]


def _matches(want, have):
    return want["name"] == have["name"] and (not want["ipv4_address"] or want["ipv4_address"] == have["ipv4_address"]) \
        and (want["aliases"] is None or want["aliases"] == have["aliases"])


def same_networks(wanted, current):
    return not network_changes(wanted, current)[0] and not network_changes(wanted, current)[1]


def network_changes(wanted, current):
    """(connect [wish items], disconnect [names]) that turn ``current`` into ``wanted``."""
    have = dict((c["name"], c) for c in current)
    connect, disconnect = [], []
    for w in wanted:
        h = have.get(w["name"])
        if h is None:
            connect.append(w)
        elif not _matches(w, h):
            disconnect.append(w["name"])
            connect.append(w)
    if getattr(wanted, "purge", False):
        listed = set(w["name"] for w in wanted)
        disconnect.extend(c["name"] for c in current if c["name"] not in listed)
    return connect, disconnect


def networks_after(wanted, current):
    connect, disconnect = network_changes(wanted, current)
    out = [c for c in current if c["name"] not in disconnect]
    out += [dict(w, aliases=w["aliases"] or []) for w in connect]
    return out


def norm_network_mode(value, params=None):
    """none, host, container:NAME, or the name of a bridge network (its first network)."""
    if value in (None, "", "default"):
        return ""
    value = str(value)
    if netmode.is_mode(value):
        try:
            netmode.normalize(network_mode=value)
        except MyDockerError as e:
            _fail("network_mode", str(e))
        return value
    try:
        return netmode.normalize(network_mode=value)[1][0]["name"]
    except MyDockerError as e:
        _fail("network_mode", str(e))


def current_network_mode(rec):
    return rec.get("networkMode") or rec.get("networkName") or "none"


def same_network_mode(wanted, current):
    return wanted == current or (wanted == "" and current != "host" and not current.startswith("container:"))


def norm_dns_servers(value, params=None):
    try:
        return names.parse_dns(value)
    except MyDockerError as e:
        _fail("dns_servers", str(e))


def norm_dns_search(value, params=None):
    try:
        return names.parse_dns_search(value)
    except MyDockerError as e:
        _fail("dns_search_domains", str(e))


def norm_etc_hosts(value, params=None):
    if not isinstance(value, dict):
        _fail("etc_hosts", "expected a dict {name: ip}")
    out = {}
    for k, v in value.items():
        try:
            name, ip = names.parse_add_host((k, v))
        except MyDockerError as e:
            _fail("etc_hosts", str(e))
        out[name] = ip
    return out


def current_etc_hosts(rec):
    return dict((n, ip) for n, ip in rec.get("extraHosts") or [])


# ---------------------------------------------------------------------------------------------
# what the planner does with them

PREDICTED = (("networks", []), ("network_mode", ""), ("dns_servers", []), ("dns_search_domains", []),
             ("etc_hosts", {}))


def predicted(out, missing):
    """The defaults of a new container for the options the task leaves out (``out`` changed)."""
    if out.get("network_mode", missing) is missing or out["network_mode"] == "":
        first = out.get("network") or (out["networks"][0]["name"] if out.get("networks") else "")
        out["network_mode"] = first or "none"  # as current_network_mode reads the new record
    for name, default in PREDICTED:
        if out.get(name, missing) is missing:
            out[name] = default
    if out["networks"]:
        out["networks"] = [dict(w, aliases=w["aliases"] or []) for w in out["networks"]]
    return out


def bridged(wish, missing):
    """Whether the wish puts a new container on a bridge network (ports and an IP need one)."""
    nets = wish.get("networks", missing)
    mode = wish.get("network_mode", missing)
    if nets is not missing and nets:
        return True
    return mode is not missing and bool(mode) and not netmode.is_mode(mode)


def create_args(wish, missing):
    """engine.create's keyword arguments for the network options of ``wish``."""
    out = {}
    nets = wish.get("networks", missing)
    if nets is not missing and nets:
        out["networks"] = [{"name": w["name"], "ipv4_address": w["ipv4_address"], "aliases": w["aliases"] or []}
                           for w in nets if w["name"] != wish.get("network")]
        for w in nets:  # the entry of the network named by ``network`` too: its aliases and address
            if w["name"] == wish.get("network"):
                out["aliases"] = w["aliases"] or []
                if w["ipv4_address"] and not wish.get("ip"):
                    out["ip"] = w["ipv4_address"]
    mode = wish.get("network_mode", missing)
    if mode is not missing and mode:
        out["network_mode"] = mode
    for key, arg in (("dns_servers", "dns"), ("dns_search_domains", "dns_search"), ("etc_hosts", "add_hosts")):
        if wish.get(key, missing) is not missing:
            out[arg] = wish[key]
    return out


def plan_networks(plan, wish, rec, after, missing):
    """The container stays: connect and disconnect in place what ``networks`` changes."""
    nets = wish.get("networks", missing)
    if nets is missing:
        return
    current = current_networks(rec)
    connect, disconnect = network_changes(nets, current)
    if not connect and not disconnect:
        return
    texts = ["disconnect: %s" % n for n in disconnect if n not in set(w["name"] for w in connect)]
    texts += ["%s: %s" % ("reconnect" if w["name"] in disconnect else "connect", w["name"]) for w in connect]
    plan.add("networks", texts, connect=[dict(w, aliases=w["aliases"] or []) for w in connect],
             disconnect=disconnect)
    after["networks"] = networks_after(nets, current)


def apply_networks(run, connect, disconnect):
    from ..engine.net import live
    for name in disconnect:
        live.disconnect(run.root, name, run.cid)
    for w in connect:
        live.connect(run.root, w["name"], run.cid, ip=w["ipv4_address"] or None, aliases=w["aliases"])


def check_known(root, params):
    """Every network the task names exists (check mode refuses an unknown one as the run does)."""
    wanted = [w.get("name") if isinstance(w, dict) else w for w in params.get("networks") or []]
    mode = params.get("network_mode")
    if mode and not netmode.is_mode(mode) and mode not in ("bridge", "default"):
        wanted.append(mode)
    if not wanted:
        return
    from ..engine.net import networks as netmod
    for name in wanted:
        if isinstance(name, str):
            try:
                netmod.get_network(root, name)
            except MyDockerError as e:
                _fail("networks" if name != mode else "network_mode", str(e))
