# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of ``mydocker_container``, declared once (plain Python, no Ansible).

``OPTIONS`` is the declarative table of the compared options: how each is normalised, how it
is read from a container record, how it is compared and whether a change is applied in place
(``update``) or forces a new container (``recreate``). ``MODULE_OPTIONS`` adds the options that
steer the task (name, state, detach, ...). Every ``Option`` (plan.py) also carries its Ansible
type, elements, choices, default and aliases: ``argument_spec()`` builds the module's argument
spec from the table, as community.docker builds it from its Option objects.
"""

import ipaddress
import os
import shlex

from ..engine import reference, users, view
from ..engine.errors import MyDockerError
from ..engine.resources import (
    CPU_SHARES_DEFAULT,
    parse_cpu_shares,
    parse_cpus,
    parse_cpuset,
    parse_memory,
    parse_pids_limit,
)
from ..engine.validate import validate_hostname, validate_name, validate_workdir
from . import mountopts, netopts, procopts
from .healthopts import (
    norm_healthcheck,
    norm_log_driver,
    norm_log_options,
    record_healthcheck,
    record_log_driver,
    record_log_options,
)
from .plan import Option, build_argument_spec, fail_option, wrap_option

STATES = ("present", "started", "stopped", "absent", "healthy")
# option -> keyword argument of engine.create, for the options passed as they are
CREATE_ARGS = (("env", "env"), ("volumes", "volumes"), ("working_dir", "workdir"), ("hostname", "hostname"),
               ("restart_policy", "restart"), ("auto_remove", "auto_remove"), ("security_opts", "security_opt"),
               ("entrypoint", "entrypoint"), ("user", "user"), ("exposed_ports", "expose"),
               ("publish_all_ports", "publish_all"))
RESTART_POLICIES = ("no", "on-failure", "always", "unless-stopped")
IMAGE_NAME_MISMATCH = ("recreate", "ignore")

RECREATE = "recreate"
UPDATE = "update"


class _Missing:
    """An option the task does not set: not compared, the engine's default on creation."""

    def __repr__(self):
        return "MISSING"

    def __bool__(self):
        return False


MISSING = _Missing()


# ---------------------------------------------------------------------------------------------
# normalisers: user spelling -> canonical form (the form config_of_record gives)

def norm_image(value, params=None):
    """A reference, in the form Docker prints it (``busybox``, ``me/app:v1``): ``busybox``,
    ``busybox:latest`` and ``docker.io/library/busybox`` are the same image name."""
    if not isinstance(value, str) or not value:
        fail_option("image", "must be a non-empty image name")
    if reference.try_parse(value) is None:
        try:
            return validate_name(value, "image name")  # a name from before references (SPEC 1.3)
        except MyDockerError:
            pass
    return wrap_option("image", reference.display, value)


def _record_image(rec):
    name = rec.get("image") or ""
    ref = reference.try_parse(name)
    return reference.display(name) if ref is not None else name


def norm_entrypoint(value, params=None):
    """A string is split like a shell would; a list is the argument list; '' or [] clears the
    image's Entrypoint."""
    if value in ("", []):
        return []
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as e:
            fail_option("entrypoint", "cannot split %r: %s" % (value, e))
    if not isinstance(value, (list, tuple)) or \
            any(isinstance(a, bool) or not isinstance(a, (str, int, float)) for a in value):
        fail_option("entrypoint", "expected a string or a list of strings, got %r" % (value,))
    return [a if isinstance(a, str) else str(a) for a in value]


def _record_entrypoint(rec):
    return list((rec.get("config") or {}).get("Entrypoint") or [])


def _record_command(rec):
    """The Cmd part of the container's argv (a record from before entrypoints: the whole argv)."""
    if isinstance(rec.get("config"), dict) and "Cmd" in rec["config"]:
        return list(rec["config"]["Cmd"] or [])
    return list(rec.get("cmd") or [])


def norm_user(value, params=None):
    return wrap_option("user", users.validate, str(value) if isinstance(value, int) else value) or ""


def norm_command(value, params=None):
    """A string is split like a shell would (shlex); a list is the argument list."""
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as e:
            fail_option("command", "cannot split %r: %s" % (value, e))
    elif isinstance(value, (list, tuple)):
        argv = []
        for a in value:
            if isinstance(a, bool) or not isinstance(a, (str, int, float)):
                fail_option("command", "every argument must be a string, got %r" % (a,))
            argv.append(a if isinstance(a, str) else str(a))
    else:
        fail_option("command", "expected a string or a list of strings, got %r" % (value,))
    if not argv:
        fail_option("command", "must not be empty")
    return argv


def norm_container_command(value, params=None):
    """The container's command: ``[]`` or ``''`` mean none given (the image's Cmd, see
    image_command); anything else as norm_command."""
    if value in ([], (), ""):
        return MISSING
    return norm_command(value, params)


def image_command(wish, params, img):
    """``command: []`` (or '') is the image's Cmd, compared as such (community.docker's
    command_handling=correct): a container running another command is recreated with the
    image's. With an entrypoint given, the image's Cmd is not used (as Docker), so it is []."""
    if params.get("command") in ([], ()) or params.get("command") == "":
        cmd = (img or {}).get("config", {}).get("Cmd") or []
        wish["command"] = [] if wish.get("entrypoint", MISSING) is not MISSING else list(cmd)
    return wish


def norm_env(value, params=None):
    """{KEY: value} with string values (numbers are converted, booleans refused: quote them)."""
    if not isinstance(value, dict):
        fail_option("env", "expected a mapping of names to values")
    out = {}
    for key, val in value.items():
        if isinstance(val, bool):
            fail_option("env", "the value of %s is a boolean: quote it (%r)" % (key, "true" if val else "false"))
        if val is None:
            val = ""
        if not isinstance(val, (str, int, float)):
            fail_option("env", "the value of %s must be a string" % key)
        out[str(key)] = val if isinstance(val, str) else str(val)
    return wrap_option("env", view.parse_env, out)


# volumes (HOST:CTR and NAME:CTR), mounts, tmpfs, read_only, shm_size: planning/mountopts.py
norm_volumes = mountopts.norm_volumes


def _port_key(p):
    """(host ip, host port (-1: chosen by the engine), its text ('' or a range), container port,
    protocol): a host port the engine chooses is compared by what was asked, not by the choice."""
    host = (p.get("host_range") or "") if p.get("auto") else str(int(p["host_port"]))
    return (p["host_ip"] or "0.0.0.0", int(host) if host.isdigit() else -1, host, int(p["container_port"]),
            p.get("proto") or "tcp")


def _port_text(key):
    return "%s:%s:%d/%s" % (key[0], key[2], key[3], key[4])


def _record_ports(rec):
    """The published ports of a record, -P's own excluded (publish_all_ports says those)."""
    return [_port_text(k) for k in sorted(set(_port_key(p) for p in rec.get("ports") or [] if not p.get("all")))]


def norm_ports(value, params=None):
    """['[IP:][HOST[-END]:]CTR[-END][/proto]', ...] -> sorted 'IP:HOST:CTR/proto' ((host ip,
    host port, container port, protocol) in one string; 0.0.0.0 for all addresses; a range is one
    string per port; HOST '' or 'LO-HI' for a host port the engine chooses). ``all`` (the old
    community.docker spelling of publish_all_ports) is left to norm_publish_all."""
    from ..engine.net.ports import parse_publish_list  # plain Python; pyroute2 is not loaded by it
    if not isinstance(value, (list, tuple)):
        fail_option("published_ports", "expected a list of [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp] strings")
    keys = set()
    for item in value:
        if item == "all":
            continue
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        keys.update(_port_key(p) for p in wrap_option("published_ports", parse_publish_list, item))
    return [_port_text(k) for k in sorted(keys)]


def _exposed_sorted(texts):
    return sorted(set(texts), key=lambda t: (int(t.split("/")[0]), t.split("/")[1]))


def norm_exposed(value, params=None):
    """['80', '53/udp', '9000-9001'] -> sorted 'PORT/proto', one per port."""
    from ..engine.net.ports import parse_expose
    if not isinstance(value, (list, tuple)):
        fail_option("exposed_ports", "expected a list of PORT[-END][/tcp|udp] strings")
    return _exposed_sorted(t for item in value for t in wrap_option("exposed_ports", parse_expose, item))


def exposed_of(config_exposed, port_texts):
    """What a container exposes: its image's ExposedPorts (a dict or a list) and the container
    ports of ``port_texts`` (norm_ports' strings)."""
    texts = [str(k) if "/" in str(k) else "%s/tcp" % k for k in (config_exposed or [])]
    texts += ["%s/%s" % (t.split(":")[-1].split("/")[0], t.split("/")[-1]) for t in port_texts or []]
    return _exposed_sorted(texts)


def _record_exposed(rec):
    if "exposedPorts" in rec:
        return list(rec.get("exposedPorts") or [])
    return exposed_of((rec.get("config") or {}).get("ExposedPorts"), _record_ports(rec))  # a record from before


def norm_publish_all(value, params=None):
    return bool(value)


def predicted_ports(out, cfg):
    """``out`` (a predicted config) with what a new container exposes and publish_all_ports."""
    exposed = [] if out["exposed_ports"] is MISSING else list(out["exposed_ports"])
    out["exposed_ports"] = exposed_of(list(cfg.get("ExposedPorts") or []) + exposed, out["published_ports"])
    if out["publish_all_ports"] is MISSING:
        out["publish_all_ports"] = False
    return out


def check_publish_all(wish, has_network, image):
    """publish_all_ports with something to publish needs a network (as published_ports)."""
    if wish["publish_all_ports"] and not has_network and image is not None:
        if exposed_of((image.get("config") or {}).get("ExposedPorts"), []) or wish["exposed_ports"]:
            fail_option("publish_all_ports", "publishing ports needs a network")


def norm_network(value, params=None):
    if value in (None, ""):
        return ""
    return wrap_option("network", validate_name, value, "network name")


def norm_ip(value, params=None):
    if value in (None, ""):
        return ""
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        fail_option("ip", "%r is not an IP address" % (value,))
    if addr.version != 4:
        fail_option("ip", "only IPv4 addresses are supported")
    return str(addr)


def norm_hostname(value, params=None):
    return wrap_option("hostname", validate_hostname, value)


def norm_workdir(value, params=None):
    return os.path.normpath(wrap_option("working_dir", validate_workdir, value))


def norm_bool(value, params=None):
    return bool(value)


def security_text(opts):
    """Docker's --security-opt values, canonical: one seccomp= (the last one given wins, as in
    Docker) and no-new-privileges (always in force here), sorted; ':' spellings as '='."""
    seccomp, nnp = None, False
    for opt in opts or []:
        key, sep, value = str(opt).partition("=")
        if not sep:
            key, sep, value = str(opt).partition(":")
        if key == "seccomp":
            seccomp = "seccomp=" + (value if value == "unconfined" else os.path.normpath(value))
        elif key == "no-new-privileges":
            nnp = True
    return sorted(([seccomp] if seccomp else []) + (["no-new-privileges"] if nnp else []))


def norm_security_opts(value, params=None):
    """seccomp=unconfined | seccomp=PROFILE (an absolute path, read as the container is made) |
    no-new-privileges; checked by the engine's parser (a profile that cannot be read fails)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        fail_option("security_opts", "expected a list of strings")
    for v in value:
        key, sep, path = v.partition("=")
        if key == "seccomp" and path and path != "unconfined" and not path.startswith("/"):
            fail_option("security_opts", "the seccomp profile must be an absolute path: %r" % v)
    from ..engine.seccomp import parse_security_opt  # ctypes and the default profile: only when set
    wrap_option("security_opts", parse_security_opt, list(value))
    return security_text(value)


def _unlimited(value):
    return value in (0, "0", -1, "-1") or (isinstance(value, str) and value.strip().lower() in ("", "unlimited", "max"))


def norm_memory(value, params=None):
    """Bytes; 0, -1 or 'unlimited' remove the limit (None)."""
    if _unlimited(value):
        return None
    return wrap_option("memory", parse_memory, value)


def norm_cpus(value, params=None):
    """A number of CPUs; 0 removes the limit (None)."""
    if _unlimited(value):
        return None
    return wrap_option("cpus", parse_cpus, value)


def norm_cpu_shares(value, params=None):
    """2 .. 262144; 0 and 1024 are the default (None)."""
    if value in (0, "0"):
        return None
    shares = wrap_option("cpu_shares", parse_cpu_shares, value)
    return None if shares == CPU_SHARES_DEFAULT else shares


def norm_cpuset(value, params=None):
    if isinstance(value, str) and not value.strip():
        return None
    return wrap_option("cpuset_cpus", parse_cpuset, value)


def norm_pids_limit(value, params=None):
    return wrap_option("pids_limit", parse_pids_limit, value)


def norm_restart_policy(value, params=None):
    """(policy, retries): retries only count for on-failure (0 = no maximum)."""
    params = params or {}
    if value is False:  # YAML turns an unquoted `no` into false
        value = "no"
    if value not in RESTART_POLICIES:
        fail_option("restart_policy", "%r is not one of %s" % (value, ", ".join(RESTART_POLICIES)))
    retries = params.get("restart_retries")
    if value == "on-failure":
        retries = retries or 0
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            fail_option("restart_retries", "must be a positive integer (0: no maximum)")
        return "on-failure:%d" % retries if retries else "on-failure"
    return value


def policy_text(policy):
    """A record's restartPolicy -> the canonical spelling ('no', 'always', 'on-failure:3')."""
    policy = policy or {}
    name = policy.get("name") or "no"
    if name == "on-failure" and policy.get("maxRetries"):
        return "on-failure:%d" % policy["maxRetries"]
    return name


def _same_cpus(a, b):
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-6


def _res(key):
    return lambda rec: (rec.get("resources") or {}).get(key)


def _compared(name, type, normalise, current, change, **kw):
    return Option(name, type, normalise=normalise, current=current, change=change, **kw)


OPTIONS = (
    _compared("image", "str", norm_image, _record_image, RECREATE),
    _compared("command", "raw", norm_container_command, _record_command, RECREATE),
    _compared("entrypoint", "raw", norm_entrypoint, _record_entrypoint, RECREATE),
    _compared("user", "str", norm_user, lambda r: r.get("user") or "", RECREATE),
    _compared("env", "dict", norm_env, lambda r: dict(r.get("env") or {}), RECREATE),
    _compared("volumes", "list", norm_volumes, mountopts.record_volumes, RECREATE, elements="str"),
    _compared("mounts", "list", mountopts.norm_mounts, mountopts.record_mounts, RECREATE, elements="dict"),
    _compared("tmpfs", "list", mountopts.norm_tmpfs, mountopts.record_tmpfs, RECREATE, elements="str"),
    _compared("read_only", "bool", mountopts.norm_read_only, mountopts.record_read_only, RECREATE),
    _compared("shm_size", "str", mountopts.norm_shm_size, mountopts.record_shm_size, RECREATE),
    _compared("published_ports", "list", norm_ports, _record_ports, RECREATE, elements="str", aliases=["ports"]),
    _compared("exposed_ports", "list", norm_exposed, _record_exposed, RECREATE, elements="str",
              aliases=["exposed", "expose"]),
    _compared("publish_all_ports", "bool", norm_publish_all, lambda r: bool(r.get("publishAllPorts")), RECREATE),
    _compared("network", "str", norm_network, lambda r: r.get("networkName") or "", RECREATE),
    _compared("ip", "str", norm_ip, lambda r: r.get("ip") or "", RECREATE),
    # networks: connected and disconnected in place (planning/netopts.py), the others recreate
    _compared("networks", "list", netopts.norm_networks, netopts.current_networks, UPDATE, elements="dict",
              same=netopts.same_networks),
    _compared("network_mode", "str", netopts.norm_network_mode, netopts.current_network_mode, RECREATE,
              same=netopts.same_network_mode),
    _compared("dns_servers", "list", netopts.norm_dns_servers, lambda r: list(r.get("dns") or []), RECREATE,
              elements="str"),
    _compared("dns_search_domains", "list", netopts.norm_dns_search, lambda r: list(r.get("dnsSearch") or []),
              RECREATE, elements="str"),
    _compared("etc_hosts", "dict", netopts.norm_etc_hosts, netopts.current_etc_hosts, RECREATE),
    _compared("hostname", "str", norm_hostname, lambda r: r.get("hostname") or r.get("id") or "", RECREATE),
    _compared("working_dir", "str", norm_workdir, lambda r: r.get("workdir") or "/", RECREATE),
    _compared("auto_remove", "bool", norm_bool, lambda r: bool(r.get("autoRemove")), RECREATE),
    _compared("security_opts", "list", norm_security_opts, lambda r: security_text(r.get("securityOpt")),
              RECREATE, elements="str"),
    _compared("memory", "str", norm_memory, _res("memory"), UPDATE),
    _compared("cpus", "float", norm_cpus, _res("cpus"), UPDATE, same=_same_cpus),
    _compared("cpu_shares", "int", norm_cpu_shares, _res("cpu_shares"), UPDATE),
    _compared("cpuset_cpus", "str", norm_cpuset, _res("cpuset_cpus"), UPDATE),
    _compared("pids_limit", "int", norm_pids_limit, _res("pids_limit"), UPDATE),
    _compared("restart_policy", "str", norm_restart_policy, lambda r: policy_text(r.get("restartPolicy")), UPDATE,
              choices=list(RESTART_POLICIES)),
    _compared("healthcheck", "dict", norm_healthcheck, record_healthcheck, RECREATE),
    _compared("log_driver", "str", norm_log_driver, record_log_driver, RECREATE),
    _compared("log_options", "dict", norm_log_options, record_log_options, RECREATE, aliases=["log_opt"]),
) + procopts.OPTIONS  # capabilities, cap_drop, privileged, sysctls, ulimits, init, stop_signal, groups, ...
OPTION_NAMES = tuple(o.name for o in OPTIONS)

# the options that steer the task rather than describe the container
TASK_OPTIONS = (
    Option("name", "str", required=True),
    Option("state", "str", default="started", choices=list(STATES)),
    Option("restart_retries", "int"),
    Option("comparisons", "dict"),
    Option("image_name_mismatch", "str", choices=list(IMAGE_NAME_MISMATCH)),
    Option("restart", "bool", default=False),
    Option("recreate", "bool", default=False),
    Option("detach", "bool", default=True),
    Option("stop_timeout", "int", default=10),
    Option("force_kill", "bool", default=False),
    Option("purge_networks", "bool", default=False),
    Option("networks_cli_compatible", "bool", default=True),
    Option("pull", "str", default="never", choices=["missing", "always", "never"]),  # planning/imagepull.py
    Option("healthy_wait_timeout", "float", default=300),
)
MODULE_OPTIONS = TASK_OPTIONS[:2] + OPTIONS + TASK_OPTIONS[2:]


def argument_spec():
    """The argument spec of mydocker_container (without the common ``root``), from the table."""
    return build_argument_spec(MODULE_OPTIONS)


def normalise_wish(params):
    """{option: canonical value or MISSING} for every compared option."""
    wish = {}
    for opt in OPTIONS:
        value = params.get(opt.name)
        wish[opt.name] = MISSING if value is None else opt.normalise(value, params)
    if "all" in (params.get("published_ports") or ()):  # the old spelling of publish_all_ports
        if params.get("publish_all_ports") is False:
            fail_option("published_ports", "'all' contradicts publish_all_ports false")
        wish["publish_all_ports"] = True
    return wish


def config_of_record(rec):
    """The compared fields of a container record, canonical."""
    return dict((o.name, o.current(rec)) for o in OPTIONS)
