# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker build``: an image from a Containerfile (``containerfile`` parses it).

FROM an image of the store (or ``scratch``); RUN in a real container of this runtime
(``containers.create`` + ``start`` from the layers so far, no network), its upper directory
becoming the step's layer (whiteouts kept); COPY and ADD of files of the build context
(``--chown``, ``.dockerignore``; ADD unpacks a local tar archive, no URLs) written as a layer;
WORKDIR a layer only when it makes the directory; ENV, ARG, USER, LABEL, EXPOSE, ENTRYPOINT,
CMD, VOLUME and STOPSIGNAL the image config.  A layer is written as ``export`` writes it and
kept as that tar, so the image exports with the diff ids it is stored with.

The build cache: ``<root>/image/buildcache/<key>.json`` ({"layer", "diffId"}), ``key`` the
sha256 of the chain parent image + every instruction so far (expanded) + its inputs (the
contents, modes and owners of what COPY/ADD copy; the build arguments a RUN sees).  A step whose
key is there, and whose layer is on disk, is not run again; a build whose every step is cached
makes no new layer and gives the image the same ID (the ID is the digest of its layers and
config).  ``check=True`` only tells whether the build would change anything (the planner's
prediction): a cache miss means it would.

A failed step raises ``FILE:LINE: INSTRUCTION ...``; its container is removed, and the layers
this build made that no image uses are removed again: no half image is left.
"""

import hashlib
import json
import os
import shutil
import tempfile
import time

from . import containerfile as cf
from . import containers, imageconfig, layers, layerwrite
from . import imagestore as images
from . import reference as refs
from .buildcontext import Context, copy_into, lookup
from .errors import MyDockerError, NotFound
from .store import Paths, makedirs, read_json, state_lock, write_json


def _sha(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cache_path(paths, key):
    return os.path.join(paths.images, "buildcache", key + ".json")


class _State:
    def __init__(self, paths, ctx, args, no_cache, check, log):
        self.paths, self.ctx, self.build_args, self.no_cache, self.check, self.log = \
            paths, ctx, dict(args or {}), no_cache, check, log
        self.layers, self.dids, self.history, self.created = [], [], [], []
        self.config = imageconfig.from_image_config({})
        self.args = {}
        self.chain = ""
        self.cmd_set = False
        self.miss = None  # check mode: the first step that would run

    def say(self, text):
        if self.log is not None:
            self.log.write(text + "\n")
            self.log.flush()

    def env(self):
        """The variables an instruction's words are expanded with: ARGs, then ENV over them."""
        out = dict(self.args)
        out.update(containers.parse_env(self.config.get("Env") or []))
        return out

    def lowers(self):
        return [layers.layer_dir(self.paths, n) for n in reversed(self.layers)]

    def step(self, text):
        self.chain = _sha(self.chain + "\n" + text)
        return self.chain

    def hist(self, ins, empty):
        h = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "created_by": ins.text()}
        if empty:
            h["empty_layer"] = True
        self.history.append(h)


def _layer_from_dir(st, src_dir):
    """Make the directory ``src_dir`` a layer of the store. Returns (name, diff id)."""
    name, did, made = layerwrite.store_dir(st.paths, src_dir, st.lowers(), "build layer")
    if made:
        st.created.append(name)
    return name, did


def _fs_step(st, ins, key, make):
    """A step that changes files: from the cache, or ``make(st)`` -> (name, diff id)."""
    cached = None if st.no_cache else read_json(_cache_path(st.paths, key))
    if isinstance(cached, dict) and layers.present(st.paths, cached.get("layer")):
        st.say(" ---> Using cache %s" % cached["layer"][:12])
        name, did = cached["layer"], cached["diffId"]
    elif st.check:
        st.miss = st.miss or ins
        return False
    else:
        name, did = make(st)
        with state_lock(st.paths):
            makedirs(os.path.dirname(_cache_path(st.paths, key)))
            write_json(_cache_path(st.paths, key), {"layer": name, "diffId": did})
        st.say(" ---> %s" % name[:12])
    st.layers.append(name)
    st.dids.append(did)
    st.hist(ins, False)
    return True


def _temp_image(st):
    """An untagged image record of the layers so far, for a RUN container; its key."""
    key = _sha("%s %d %f" % (st.chain, os.getpid(), time.time()))
    rec = {"name": "<build %s>" % key[:12], "id": key[:12], "digest": "sha256:" + key, "layer": st.layers[-1],
           "layers": list(st.layers), "diffIds": list(st.dids), "created": time.strftime("%Y-%m-%d %H:%M:%S"),
           "size": 0, "source": "build", "format": "build", "config": dict(st.config), "repoDigests": [],
           "buildTemporary": True}
    with state_lock(st.paths):
        makedirs(os.path.join(st.paths.images, "images"))
        write_json(images._record_path(st.paths, key), rec)
    return key


def _run(st, ins):
    argv = cf.command(ins)
    if not st.layers:
        raise ins.error("cannot run in an image without layers (FROM scratch): there is no shell")
    env = dict(st.args)
    env.update(containers.parse_env(st.config.get("Env") or []))
    key = st.step("RUN %s %s" % (json.dumps(argv), json.dumps(sorted(st.args.items()))))

    def make(st):
        tkey = _temp_image(st)
        cid = None
        out = tempfile.TemporaryFile()
        try:
            rec = containers.create(st.paths, tkey, command=argv, entrypoint="", env=env,
                                    workdir=st.config.get("WorkingDir") or "/",
                                    user=st.config.get("User") or None)
            cid = rec.id
            null = os.open(os.devnull, os.O_RDONLY)
            try:
                _pid, notify = containers.start(st.paths, cid, stdio=(null, out.fileno(), out.fileno()),
                                                attached=True)
            finally:
                os.close(null)
            code = containers.wait_exit(notify)
            containers._wait_monitor(containers.find(st.paths, cid), 30)
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
            if st.log is not None and text:
                st.log.write(text if text.endswith("\n") else text + "\n")
            if code != 0:
                last = [ln for ln in text.splitlines() if ln.strip()]
                raise ins.error("exit %d: %s%s" % (code, ins.raw if ins.json is None else json.dumps(ins.json),
                                                   (" (" + last[-1].strip() + ")") if last else ""))
            return _layer_from_dir(st, os.path.join(st.paths.overlay_dir(cid), "upper"))
        finally:
            out.close()
            if cid is not None:
                containers.remove(st.paths, cid, force=True)
            with state_lock(st.paths):
                p = images._record_path(st.paths, tkey)
                if os.path.exists(p):
                    os.unlink(p)

    return _fs_step(st, ins, key, make)


def _copy(st, ins):
    if ins.cmd == "ADD" and any("://" in s for s in (ins.json or ins.raw.split())):
        raise ins.error("of a URL is not supported (only files of the build context)")
    srcs, dest = cf.sources(ins, st.env())
    if not dest.startswith("/"):
        dest = os.path.join(st.config.get("WorkingDir") or "/", dest)
    owner = _owner(st, ins)
    mode = None
    if ins.flags.get("chmod"):
        try:
            mode = int(ins.flags["chmod"], 8)
        except ValueError:
            raise ins.error("--chmod=%s: not an octal mode" % ins.flags["chmod"])
    plan = st.ctx.resolve(srcs, dest, ins, unpack=ins.cmd == "ADD")
    key = st.step("%s %s %s %s %s" % (ins.cmd, plan.digest(), dest, owner, mode))

    def make(st):
        stage = tempfile.mkdtemp(prefix=".stage-", dir=st.paths.layers)
        try:
            os.chmod(stage, 0o755)
            copy_into(plan, stage, st.lowers(), owner, mode)
            return _layer_from_dir(st, stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    return _fs_step(st, ins, key, make)


def _owner(st, ins):
    spec = ins.flags.get("chown")
    if not spec:
        return (0, 0)
    spec = cf.expand(spec, st.env(), ins.where)
    from . import users
    tmp = tempfile.mkdtemp(prefix=".users-", dir=st.paths.layers)
    try:  # the image's /etc/passwd and /etc/group as they are in the layers so far
        for f in ("passwd", "group"):
            found = lookup(st.lowers(), "/etc/" + f)
            dst = os.path.join(tmp, f)
            if found and os.path.isfile(found):
                shutil.copyfile(found, dst)
            else:
                open(dst, "w").close()
        try:
            u = users.resolve(spec, os.path.join(tmp, "passwd"), os.path.join(tmp, "group"))
        except MyDockerError as e:
            raise ins.error("--chown=%s: %s" % (spec, e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return (u["uid"], u["gid"] if ":" in spec else u["uid"])


def _workdir(st, ins):
    wd = cf.expand(ins.raw, st.env(), ins.where)
    wd = os.path.normpath(os.path.join(st.config.get("WorkingDir") or "/", wd))
    st.config["WorkingDir"] = wd
    key = st.step("WORKDIR %s" % wd)
    if not st.layers or lookup(st.lowers(), wd) is not None:
        st.hist(ins, True)
        return True

    def make(st):
        stage = tempfile.mkdtemp(prefix=".stage-", dir=st.paths.layers)
        try:
            os.chmod(stage, 0o755)
            from .buildcontext import make_parents
            make_parents(stage, wd, st.lowers(), include_self=True)
            return _layer_from_dir(st, stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    return _fs_step(st, ins, key, make)


def _meta(st, ins):
    c = st.config
    env = st.env()
    if ins.cmd == "ENV":
        cur = containers.parse_env(c.get("Env") or [])
        for k, v in cf.pairs(ins, env):
            cur[k] = v
        c["Env"] = ["%s=%s" % kv for kv in cur.items()]
    elif ins.cmd == "ARG":
        for k, default in cf.pairs(ins, env):
            value = st.build_args.get(k, default)
            if value is not None:
                st.args[k] = value
    elif ins.cmd == "USER":
        c["User"] = cf.expand(ins.raw, env, ins.where)
    elif ins.cmd == "LABEL":
        c["Labels"] = dict(c.get("Labels") or {}, **dict(cf.pairs(ins, env)))
    elif ins.cmd == "EXPOSE":
        ports = set(c.get("ExposedPorts") or [])
        for w in cf.words(ins, env):
            p, _s, proto = w.partition("/")
            if not p.isdigit() or proto not in ("", "tcp", "udp", "sctp"):
                raise ins.error("invalid port %r" % w)
            ports.add("%s/%s" % (p, proto or "tcp"))
        c["ExposedPorts"] = sorted(ports)
    elif ins.cmd == "CMD":
        c["Cmd"] = cf.command(ins)
        st.cmd_set = True
    elif ins.cmd == "ENTRYPOINT":
        c["Entrypoint"] = cf.command(ins)
        if not st.cmd_set:
            c["Cmd"] = []  # as Docker: an ENTRYPOINT resets the base image's CMD
    elif ins.cmd == "VOLUME":
        vols = [cf.expand(v, env, ins.where) for v in ins.json] if ins.json is not None else cf.words(ins, env)
        c["Volumes"] = sorted(set(c.get("Volumes") or []) | set(vols))
    elif ins.cmd == "STOPSIGNAL":
        sig = cf.expand(ins.raw, env, ins.where)
        try:
            imageconfig.parse_signal(sig)
        except MyDockerError as e:
            raise ins.error(str(e))
        c["StopSignal"] = sig
    st.step("%s %s" % (ins.cmd, json.dumps([c, sorted(st.args.items())], sort_keys=True)))
    st.hist(ins, True)
    return True


def _from(st, ins, meta_args):
    name = cf.expand(ins.raw, meta_args, ins.where).split()[0]
    if name == "scratch":
        st.step("FROM scratch")
        return None
    try:
        base = images.get_image(st.paths, name)
    except NotFound:
        raise ins.error("%s: image not found (pull or import it first)" % name)
    st.layers = list(base["layers"])
    st.dids = layerwrite.base_diff_ids(st.paths, st.layers, base)
    cfg = imageconfig.from_image_config({})
    cfg.update(base.get("config") or {})
    st.config = cfg
    hist = base.get("history")
    if not isinstance(hist, list) or len([h for h in hist if not h.get("empty_layer")]) != len(st.layers):
        hist = [{"created_by": "mydocker %s" % (base.get("source") or "import")} for _n in st.layers]
    st.history = list(hist)
    st.step("FROM %s" % base["digest"])
    return base


def _find_file(context, containerfile):
    if containerfile:
        path = os.path.abspath(containerfile)
    else:
        path = os.path.join(context, "Containerfile")
        if not os.path.isfile(path):
            path = os.path.join(context, "Dockerfile")
    if not os.path.isfile(path):
        raise MyDockerError("no Containerfile: %s does not exist" % path)
    return path


def build(root, context, tags, containerfile=None, build_args=None, no_cache=False, log=None, check=False):
    """Build the image of the Containerfile in ``context`` and give it every reference of
    ``tags``. Returns {"image": record (None in check mode), "changed", "id", "steps",
    "layersMade"}; ``check``: change nothing, say whether the build would change anything."""
    paths = root if isinstance(root, Paths) else Paths(root)
    tags = [tags] if isinstance(tags, str) else list(tags or [])
    if not tags:
        raise MyDockerError("build needs an image name (-t NAME[:TAG])")
    trefs = []
    for t in tags:
        r = refs.parse(t)
        if r.digest:
            raise MyDockerError("invalid tag %s: a build cannot be named by a digest" % t)
        trefs.append(r)
    context = os.path.abspath(context)
    if not os.path.isdir(context):
        raise MyDockerError("build context %s is not a directory" % context)
    path = _find_file(context, containerfile)
    with open(path, encoding="utf-8", errors="replace") as f:
        instructions = cf.parse(f.read(), os.path.basename(path))
    if not check:
        paths.ensure()
    st = _State(paths, Context(context), build_args, no_cache, check, log)
    meta_args = {}
    total = len(instructions)
    try:
        for n, ins in enumerate(instructions, 1):
            st.say("STEP %d/%d: %s" % (n, total, ins.text()))
            if ins.cmd == "ARG" and not st.chain:
                for k, default in cf.pairs(ins, meta_args):
                    v = st.build_args.get(k, default)
                    if v is not None:
                        meta_args[k] = v
            elif ins.cmd == "FROM":
                _from(st, ins, meta_args)
            elif ins.cmd == "RUN":
                _run(st, ins)
            elif ins.cmd in ("COPY", "ADD"):
                _copy(st, ins)
            elif ins.cmd == "WORKDIR":
                _workdir(st, ins)
            else:
                _meta(st, ins)
            if check and st.miss is not None:
                return {"image": None, "changed": True, "id": None, "steps": total,
                        "reason": "%s: %s is not cached" % (st.miss.where, st.miss.cmd), "layersMade": []}
        if not st.layers:
            raise MyDockerError("%s: the image has no layer (FROM scratch needs a COPY or ADD)" % path)
        return _finish(st, trefs, check)
    except BaseException:
        if st.created:
            _forget(st)
        raise


def _forget(st):
    """Remove the layers this failed build made that no image uses (with their cache entries)."""
    with state_lock(st.paths):
        for n in st.created:
            images._gc_layer(st.paths, n)


def _finish(st, trefs, check):
    paths = st.paths
    config = dict(st.config)
    if check:
        key = layerwrite.image_key(st.layers, st.dids, config)
        table = images._repos(paths)
        changed = any(table.get(str(r)) != key for r in trefs)
        return {"image": images.read_image(paths, str(trefs[0])) if not changed else None, "changed": changed,
                "id": key[:12], "steps": len(st.history), "layersMade": []}
    rec, changed = layerwrite.write_image(paths, trefs, st.layers, st.dids, config, "build", st.history)
    return {"image": rec, "changed": changed, "id": rec["id"], "steps": len(st.history),
            "layersMade": list(st.created)}
