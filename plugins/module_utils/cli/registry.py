# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``mydocker pull``, ``push``, ``login`` and ``logout``: the registry commands.

Insecure registries (TLS unverified, or plain HTTP when they speak no TLS): any loopback address,
those in ``$MYDOCKER_INSECURE_REGISTRIES`` (comma-separated ``host:port``) and the one a command
names with ``--insecure``.  ``--ca-file`` gives a CA bundle for TLS.

``PARSERS`` maps each command name to the function that adds its sub-parser."""

import getpass
import os
import sys

from ..engine.errors import MyDockerError
from .output import out

INSECURE_ENV = "MYDOCKER_INSECURE_REGISTRIES"


def _insecure(a, domain):
    names = [x.strip() for x in os.environ.get(INSECURE_ENV, "").split(",") if x.strip()]
    if getattr(a, "insecure", False):
        names.append(domain)
    return names


def _progress():
    if not sys.stdout.isatty():
        return None

    def say(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    return say


def cmd_pull(a):
    from ..engine import pull, reference
    ref = reference.parse(a.image)
    pull.pull(a.root, a.image, platform=a.platform, insecure=_insecure(a, ref.domain), ca_file=a.ca_file,
              progress=_progress())
    out(str(ref))
    return 0


def cmd_push(a):
    from ..engine import push, reference
    ref = reference.parse(a.image)
    res = push.push(a.root, a.image, insecure=_insecure(a, ref.domain), ca_file=a.ca_file, progress=_progress())
    out("%s: digest: %s size: %d" % (ref.tag or ref.digest, res["digest"], res["size"]))
    return 0


def _password(a):
    if a.password_stdin:
        if a.password is not None:
            raise MyDockerError("--password and --password-stdin are mutually exclusive")
        pw = sys.stdin.read()
        return pw[:-1] if pw.endswith("\n") else pw
    if a.password is not None:
        return a.password
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    raise MyDockerError("no password given: use -p or --password-stdin")


def cmd_login(a):
    from ..engine import auth, reference
    from ..engine.registry import Registry
    user = a.username
    if not user:
        if not sys.stdin.isatty() or a.password_stdin:
            raise MyDockerError("no user name given: use -u")
        user = input("Username: ").strip()
    password = _password(a)
    domain = auth.key_of(a.registry)
    domain = "docker.io" if domain == auth.HUB_KEY else domain
    reference.parse(domain + "/x")  # one line naming a bad registry name
    reg = Registry(domain, credentials=(user, password), insecure=_insecure(a, domain), ca_file=a.ca_file)
    reg.check_login()
    auth.save(a.root, domain, user, password)
    out("Login Succeeded")
    return 0


def cmd_logout(a):
    from ..engine import auth
    if auth.remove(a.root, a.registry):
        out("Removing login credentials for %s" % auth.key_of(a.registry))
    else:
        out("Not logged in to %s" % auth.key_of(a.registry))
    return 0


# ------------------------------------------------------------------ parsers

def _tls_flags(s):
    s.add_argument("--ca-file", default=None, help="CA bundle to verify the registry's TLS certificate")
    s.add_argument("--insecure", action="store_true",
                   help="allow unverified TLS or plain HTTP for this registry")


def _p_pull(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("--platform", default=None, help="os/arch[/variant] (default: the host's)")
    _tls_flags(s)
    s.add_argument("image", metavar="NAME[:TAG|@DIGEST]")
    s.set_defaults(fn=cmd_pull)
    return s


def _p_push(sub, name, help):
    s = sub.add_parser(name, help=help)
    _tls_flags(s)
    s.add_argument("image", metavar="NAME[:TAG]")
    s.set_defaults(fn=cmd_push)
    return s


def _p_login(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("-u", "--username", default=None)
    s.add_argument("-p", "--password", default=None)
    s.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _tls_flags(s)
    s.add_argument("registry", metavar="REGISTRY")
    s.set_defaults(fn=cmd_login)
    return s


def _p_logout(sub, name, help):
    s = sub.add_parser(name, help=help)
    s.add_argument("registry", metavar="REGISTRY")
    s.set_defaults(fn=cmd_logout)
    return s


PARSERS = {
    "pull": _p_pull,
    "push": _p_push,
    "login": _p_login,
    "logout": _p_logout,
}
