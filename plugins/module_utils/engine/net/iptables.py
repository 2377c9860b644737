# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables rules of the networking engine, kept in chains of our own.

Plain Python; ``iptables`` is always called with an argument list (never a shell), with ``-w``.

Chains (``<tag>`` is empty for the default state root, ``-<10 hex of sha1(root)>`` otherwise,
the same hash as ``state.cgroup_parent``, so several state roots side by side never touch each
other's rules)::

    nat    MYDOCKER-POST<tag>   jumped from POSTROUTING
    nat    MYDOCKER-DNAT<tag>   jumped from PREROUTING and OUTPUT with -m addrtype --dst-type LOCAL
    filter MYDOCKER-FWD<tag>    jumped from FORWARD (inserted first)
    raw    MYDOCKER-RAW<tag>    jumped from PREROUTING

Every rule, jumps included, carries ``-m comment --comment mydocker<tag>:<scope>:<id>``:
``net:<network>`` for a network's rules, ``ctr:<container id>`` for published ports,
``jump:<chain>`` for the jumps.  Rules are found again with ``iptables -t T -S CHAIN`` and
deleted by the exact spec printed there; a chain left empty is deleted with its jumps.

Speed: every ``iptables`` call is a process reading the whole ruleset: :func:`delete_rules`,
:func:`gc_chains`, ``ports.publish`` read every table with one ``iptables-save`` and write in one
``iptables-restore --noflush`` (exact specs as printed; if refused, rule by rule); a network's
drift reads one ``iptables-save``. :func:`ensure_chain` reads once (``-S``).

A network (bridge BR, subnet S)::

    -t nat    -A MYDOCKER-POST -s S ! -o BR -j MASQUERADE                  (SPEC 1.4)
    -t nat    -A MYDOCKER-POST -s 127.0.0.0/8 -o BR -j MASQUERADE          (published ports via 127.0.0.1)
    -t nat    -A MYDOCKER-POST -s S -o BR -m conntrack --ctstate DNAT -j MASQUERADE
                                                          (a container reaching a published port
                                                           of its own network via a host address)
    -t filter -A MYDOCKER-FWD -i BR -j ACCEPT
    -t filter -A MYDOCKER-FWD -o BR -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    -t raw    -A MYDOCKER-RAW -d 127.0.0.0/8 -i BR -j DROP                 (route_localnet=1 on BR lets
                                                          the host answer 127.0.0.1 from the bridge:
                                                          only the host itself may use loopback)

A published port ``[HIP:]HP:CP/proto`` of a container at CIP::

    -t nat    -A MYDOCKER-DNAT [-d HIP] -p proto -m proto --dport HP -j DNAT --to-destination CIP:CP
    -t filter -A MYDOCKER-FWD -d CIP -o BR -p proto -m proto --dport CP -j ACCEPT

A range (``5000-5010:5000-5010``) is one such pair per port (added in one ``iptables-restore`` per
table, :func:`add_rules`): deletion stays exact rule by rule; a host port the engine chose (a bare
``9001``, ``-P``) is a rule like any other.
"""

from ..errors import MyDockerError
from ..store import DEFAULT_ROOT, fast_hash, resolve_root

IPTABLES = "iptables"
IPTABLES_SAVE = "iptables-save"
IPTABLES_RESTORE = "iptables-restore"

NAT = "nat"
FILTER = "filter"
RAW = "raw"


def root_tag(root):
    """``""`` for the default root, ``"-<10 hex>"`` otherwise."""
    root = resolve_root(root)
    if root == DEFAULT_ROOT:
        return ""
    return "-" + fast_hash("sha1", root.encode("utf-8")).hexdigest()[:10]


class Chains:
    """Chain names and comment prefix of one state root."""

    def __init__(self, root):
        tag = root_tag(root)
        self.tag = tag
        self.prefix = "mydocker" + tag           # comment prefix
        self.post = "MYDOCKER-POST" + tag        # <= 24 chars (iptables allows 28)
        self.dnat = "MYDOCKER-DNAT" + tag
        self.fwd = "MYDOCKER-FWD" + tag
        self.raw = "MYDOCKER-RAW" + tag

    def comment(self, scope, ident):
        return "%s:%s:%s" % (self.prefix, scope, ident)

    def jumps(self):
        """(table, builtin chain, extra match args, our chain)."""
        return [
            (NAT, "POSTROUTING", [], self.post),
            (NAT, "PREROUTING", ["-m", "addrtype", "--dst-type", "LOCAL"], self.dnat),
            (NAT, "OUTPUT", ["-m", "addrtype", "--dst-type", "LOCAL"], self.dnat),
            (FILTER, "FORWARD", [], self.fwd),
            (RAW, "PREROUTING", [], self.raw),
        ]

    def all(self):
        return [(NAT, self.post), (NAT, self.dnat), (FILTER, self.fwd), (RAW, self.raw)]


def _exec(cmd, data=None):
    """Run ``cmd`` (an argument list), ``data`` on its stdin; returns (rc, stdout, stderr)."""
    import subprocess  # here, as shlex below: a create loads this module but runs no iptables
    try:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True)
    except OSError as e:
        raise MyDockerError("cannot run %s: %s" % (cmd[0], e))
    out, err = p.communicate(None if data is None else data.encode("utf-8"))
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def run(args, check=True):
    """Run ``iptables -w ARGS``; returns (rc, stdout, stderr)."""
    rc, out, err = _exec([IPTABLES, "-w"] + list(args))
    if check and rc != 0:
        raise MyDockerError("iptables %s failed: %s" % (" ".join(args), err.strip() or out.strip()))
    return rc, out, err


def parse_rules(text):
    """``iptables -S`` / ``iptables-save`` text -> {table: {chain: [spec, ...]}}: every chain
    (built-in ones, and ours with no rule, too), its rules as argument lists without
    ``-A CHAIN``. ``-S`` output has no table line: its rules go under table ``None``."""
    tables = {}
    cur = tables.setdefault(None, {})
    for line in text.splitlines():
        if line.startswith("*"):
            cur = tables.setdefault(line[1:].strip(), {})
        elif line.startswith(":"):
            cur.setdefault(line[1:].split()[0], [])
        elif line.startswith(("-N ", "-P ")):
            cur.setdefault(line.split()[1], [])
        elif line.startswith("-A "):
            parts = split_rule(line)
            if len(parts) >= 2:
                cur.setdefault(parts[1], []).append(parts[2:])
    if not tables[None]:
        del tables[None]
    return tables


def split_rule(line):
    """``shlex.split`` of a rule line, 20x faster for what iptables prints: whole tokens in
    double quotes (our comments), no single quote, no backslash; anything else goes to shlex."""
    parts = line.split('"')
    n = len(parts)
    if "'" in line or "\\" in line or not n % 2 or any(  # a quoted part glued to anything: shlex
            not (parts[i - 1][-1:] in (" ", "\t") or i == 1 and not parts[0]) or
            not (parts[i + 1][:1] in (" ", "\t") or i == n - 2 and not parts[-1]) for i in range(1, n, 2)):
        import shlex
        return shlex.split(line)
    return [t for i, seg in enumerate(parts) for t in ([seg] if i % 2 else seg.split())]


def snapshot():
    """{table: {chain: [spec, ...]}} of every table, read with one ``iptables-save``; None when
    it cannot be read (the callers then ask ``iptables`` chain by chain)."""
    try:
        rc, out = _exec([IPTABLES_SAVE])[:2]
    except MyDockerError:
        return None
    return parse_rules(out) if rc == 0 else None


def _restore_token(tok):
    if tok and all(c.isalnum() or c in "-_.:/,!=+@%^~" for c in tok):
        return tok
    return '"%s"' % tok.replace("\\", "\\\\").replace('"', '\\"')


def restore(ops):
    """Apply ``ops`` {table: [[-D|-A|-I|-N|-X, CHAIN, spec...], ...]} in one
    ``iptables-restore --noflush`` (one transaction). Raises MyDockerError when it is refused."""
    lines = []
    for table, cmds in ops.items():
        if cmds:
            lines.append("*" + table)
            lines.extend(" ".join(_restore_token(t) for t in c) for c in cmds)
            lines.append("COMMIT")
    if not lines:
        return
    rc, out, err = _exec([IPTABLES_RESTORE, "-w", "--noflush"], "\n".join(lines) + "\n")
    if rc != 0:
        raise MyDockerError("iptables-restore failed: %s" % (err.strip() or out.strip()))


def chain_exists(table, chain):
    rc = run(["-t", table, "-S", chain], check=False)[0]
    return rc == 0


def list_rules(table, chain):
    """Rules of ``chain`` as argument lists without the leading ``-A CHAIN`` ([] when missing)."""
    return chain_rules(table, chain) or []


def chain_rules(table, chain):
    """Like list_rules, but None when the chain does not exist."""
    rc, out = run(["-t", table, "-S", chain], check=False)[:2]
    if rc != 0:
        return None
    import shlex
    rules = []
    for line in out.splitlines():
        parts = shlex.split(line)
        if len(parts) >= 2 and parts[0] == "-A" and parts[1] == chain:
            rules.append(parts[2:])
    return rules


def all_dnat_rules():
    """[(chain, spec)] of the DNAT chains of every state root (MYDOCKER-DNAT*)."""
    rc, out = run(["-t", NAT, "-S"], check=False)[:2]
    import shlex
    rules = []
    for line in out.splitlines() if rc == 0 else []:
        if not line.startswith("-A MYDOCKER-DNAT"):
            continue
        parts = shlex.split(line)
        rules.append((parts[1], parts[2:]))
    return rules


def delete_legacy_masquerade(bridge, subnet):
    """The Go tool put ``-A POSTROUTING -s S ! -o BR -j MASQUERADE`` straight into POSTROUTING
    (no comment): delete exactly that rule when removing such a network."""
    spec = ["-s", str(subnet), "!", "-o", bridge, "-j", "MASQUERADE"]
    removed = []
    while run(["-t", NAT, "-C", "POSTROUTING"] + spec, check=False)[0] == 0:
        if run(["-t", NAT, "-D", "POSTROUTING"] + spec, check=False)[0] != 0:
            break
        removed.append("-t nat -A POSTROUTING " + " ".join(spec))
    return removed


def rule_comment(spec):
    for i, tok in enumerate(spec):
        if tok == "--comment" and i + 1 < len(spec):
            return spec[i + 1]
    return None


def _jump_spec(chains, match, chain):
    return match + ["-m", "comment", "--comment", chains.comment("jump", chain), "-j", chain]


def ensure_chain(chains, table, chain):
    """Create our chain and its jump(s) when missing (the table read once with ``-S``)."""
    rc, out = run(["-t", table, "-S"], check=False)[:2]
    if rc != 0:
        return _ensure_chain_slow(chains, table, chain)
    have = parse_rules(out).get(None, {})
    if chain not in have:
        run(["-t", table, "-N", chain])
    for jt, builtin, match, target in chains.jumps():
        if jt != table or target != chain:
            continue
        spec = _jump_spec(chains, match, chain)
        if spec not in have.get(builtin, []):
            run(["-t", table, "-I", builtin, "1"] + spec)


def _ensure_chain_slow(chains, table, chain):
    if not chain_exists(table, chain):
        run(["-t", table, "-N", chain])
    for jt, builtin, match, target in chains.jumps():
        if jt != table or target != chain:
            continue
        spec = _jump_spec(chains, match, chain)
        rc = run(["-t", table, "-C", builtin] + spec, check=False)[0]
        if rc != 0:
            run(["-t", table, "-I", builtin, "1"] + spec)


def remove_chain_if_empty(chains, table, chain):
    rules = chain_rules(table, chain)
    if rules is None or rules:
        return False
    for jt, builtin, match, target in chains.jumps():
        if jt != table or target != chain:
            continue
        spec = match + ["-m", "comment", "--comment", chains.comment("jump", chain), "-j", chain]
        while run(["-t", table, "-C", builtin] + spec, check=False)[0] == 0:
            run(["-t", table, "-D", builtin] + spec)
    # a jump added by hand without our comment would keep the chain busy: find any left
    for jt, builtin, match, target in chains.jumps():
        if jt != table or target != chain:
            continue
        for spec in list_rules(table, builtin):
            if "-j" in spec and spec[spec.index("-j") + 1] == chain:
                run(["-t", table, "-D", builtin] + spec, check=False)
    run(["-t", table, "-X", chain], check=False)
    return True


def _gc_ops(chains, snap, ops):
    """Add to ``ops`` the deletion of our chains that ``snap`` shows empty: every jump to them
    (ours and any added by hand), then the chain."""
    for table, chain in chains.all():
        have = snap.get(table, {})
        if chain not in have or have[chain]:
            continue
        cmds = ops.setdefault(table, [])
        for builtin in sorted(set(b for jt, b, m, target in chains.jumps() if jt == table and target == chain)):
            for spec in have.get(builtin, []):
                if "-j" in spec and spec.index("-j") + 1 < len(spec) and spec[spec.index("-j") + 1] == chain:
                    cmds.append(["-D", builtin] + spec)
        cmds.append(["-X", chain])
    return ops


def gc_chains(chains):
    """Delete our chains that are empty, with their jumps (one read, one transaction)."""
    snap = snapshot()
    if snap is not None:
        try:
            restore(_gc_ops(chains, snap, {}))
            return
        except MyDockerError:
            pass
    for table, chain in chains.all():
        remove_chain_if_empty(chains, table, chain)


class RuleSet:
    """Rules added in one operation, undone together when a later step fails."""

    def __init__(self, chains):
        self.chains = chains
        self.added = []

    def add(self, table, chain, spec, scope, ident):
        add_rule(self, table, chain, spec, scope, ident)

    def add_many(self, rules, scope, ident):
        """Append [(table, chain, spec)] with our comment: every chain ensured once, then one
        ``iptables-restore --noflush`` (one transaction; if it is refused, rule by rule)."""
        add_rules(self, rules, scope, ident)

    def undo(self):
        for table, chain, full in reversed(self.added):
            run(["-t", table, "-D", chain] + full, check=False)
        self.added = []
        gc_chains(self.chains)


def commented(chains, spec, scope, ident):
    """``spec`` with our comment before its ``-j TARGET [target options]`` (at the end without one)."""
    i = spec.index("-j") if "-j" in spec else len(spec)
    return list(spec[:i]) + ["-m", "comment", "--comment", chains.comment(scope, ident)] + list(spec[i:])


def add_rule(ruleset, table, chain, spec, scope, ident):
    """Append ``spec`` (match args then ``-j TARGET ...``) with our comment."""
    ensure_chain(ruleset.chains, table, chain)
    full = commented(ruleset.chains, spec, scope, ident)
    run(["-t", table, "-A", chain] + full)
    ruleset.added.append((table, chain, full))


def add_rules(ruleset, rules, scope, ident):
    """``RuleSet.add_many``: a port range is many rules, so they go in as one batch."""
    rules = list(rules)
    if len(rules) < 2:
        for table, chain, spec in rules:
            add_rule(ruleset, table, chain, spec, scope, ident)
        return
    seen = []
    for table, chain, _spec in rules:
        if (table, chain) not in seen:
            seen.append((table, chain))
            ensure_chain(ruleset.chains, table, chain)
    by_table = {}
    for table, chain, spec in rules:
        by_table.setdefault(table, []).append((chain, spec))
    for table, specs in by_table.items():  # one transaction per table: what is added is known
        added = [(table, chain, commented(ruleset.chains, spec, scope, ident)) for chain, spec in specs]
        try:
            restore({table: [["-A", chain] + full for _t, chain, full in added]})
        except MyDockerError:
            for chain, spec in specs:
                add_rule(ruleset, table, chain, spec, scope, ident)
            continue
        ruleset.added.extend(added)


def find_rules(chains, scope=None, ident=None, snap=None):
    """[(table, chain, spec)] of our rules whose comment matches scope/ident (None = any).
    ``snap``: a :func:`snapshot` to look in (default: one is taken)."""
    found = []
    if snap is None:
        snap = snapshot()
    for table, chain in chains.all():
        rules = snap.get(table, {}).get(chain, []) if snap else list_rules(table, chain)
        for spec in rules:
            c = rule_comment(spec)
            if not c:
                continue
            parts = c.split(":", 2)
            if len(parts) != 3 or parts[0] != chains.prefix:
                continue
            if scope is not None and parts[1] != scope:
                continue
            if ident is not None and parts[2] != ident:
                continue
            found.append((table, chain, spec))
    return found


def _printable(table, chain, spec):
    import shlex
    return "-t %s -A %s %s" % (table, chain, " ".join(shlex.quote(s) for s in spec))


def delete_rules(chains, scope, ident):
    """Delete exactly the rules of ``scope:ident`` (and chains left empty); returns them as
    printable strings. One ``iptables-save``, one ``iptables-restore --noflush``."""
    snap = snapshot()
    if snap is not None:
        found = find_rules(chains, scope, ident, snap)
        ops = {}
        for table, chain, spec in found:
            ops.setdefault(table, []).append(["-D", chain] + spec)
            snap[table][chain].remove(spec)
        try:
            restore(_gc_ops(chains, snap, ops))
            return [_printable(t, c, s) for t, c, s in found]
        except MyDockerError:
            pass  # e.g. a rule deleted meanwhile by hand: one by one, as before
    return _delete_rules_slow(chains, scope, ident)


def _delete_rules_slow(chains, scope, ident):
    removed = []
    for table, chain, spec in find_rules(chains, scope, ident, snap=False):
        rc = run(["-t", table, "-D", chain] + spec, check=False)[0]
        if rc == 0:
            removed.append(_printable(table, chain, spec))
    for table, chain in chains.all():
        remove_chain_if_empty(chains, table, chain)
    return removed


# ---------------------------------------------------------------------------------------------
# the rules of a network and of a published port

def network_rules(chains, bridge, subnet):
    """[(table, chain, spec)] of a network (without comments)."""
    s = str(subnet)
    return [
        (NAT, chains.post, ["-s", s, "!", "-o", bridge, "-j", "MASQUERADE"]),
        (NAT, chains.post, ["-s", "127.0.0.0/8", "-o", bridge, "-j", "MASQUERADE"]),
        (NAT, chains.post, ["-s", s, "-o", bridge, "-m", "conntrack", "--ctstate", "DNAT",
                            "-j", "MASQUERADE"]),
        (FILTER, chains.fwd, ["-i", bridge, "-j", "ACCEPT"]),
        (FILTER, chains.fwd, ["-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
                              "-j", "ACCEPT"]),
        (RAW, chains.raw, ["-d", "127.0.0.0/8", "-i", bridge, "-j", "DROP"]),
    ]


def port_rules(chains, bridge, ip, port):
    """[(table, chain, spec)] of one published port (a parse_publish dict)."""
    proto = port["proto"]
    dnat = []
    if port.get("host_ip"):
        dnat += ["-d", port["host_ip"]]
    dnat += ["-p", proto, "-m", proto, "--dport", str(port["host_port"]),
             "-j", "DNAT", "--to-destination", "%s:%d" % (ip, port["container_port"])]
    fwd = ["-d", str(ip), "-o", bridge, "-p", proto, "-m", proto,
           "--dport", str(port["container_port"]), "-j", "ACCEPT"]
    return [(NAT, chains.dnat, dnat), (FILTER, chains.fwd, fwd)]


def add_network_rules(chains, bridge, subnet, name):
    rs = RuleSet(chains)
    try:
        for table, chain, spec in network_rules(chains, bridge, subnet):
            add_rule(rs, table, chain, spec, "net", name)
    except BaseException:
        rs.undo()
        raise
    return rs


def rule_present(chains, table, chain, spec, scope, ident, snap=None):
    """Whether the rule is there: as printed in ``snap`` (a :func:`snapshot`), else per ``-C``."""
    return _present(table, chain, commented(chains, spec, scope, ident), snap)


def jump_present(chains, table, builtin, match, chain, snap=None):
    return _present(table, builtin, _jump_spec(chains, match, chain), snap)


def _present(table, chain, full, snap):  # -C also finds a rule printed in another spelling
    return full in (snap or {}).get(table, {}).get(chain, ()) or \
        run(["-t", table, "-C", chain] + full, check=False)[0] == 0
