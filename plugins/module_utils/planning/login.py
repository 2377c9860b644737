# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning for the ``mydocker_login`` module: the wanted login against the credentials file
(``engine.auth``).  ``present`` with the user and password already stored changes nothing and
asks no registry; otherwise the registry is asked to accept them (a GET of ``/v2/``, also in
check mode: a wrong password fails the check run as it would fail the real one) and the plan
stores them.  ``absent`` forgets a stored login.  The diff shows the registry, the user and
whether a login is stored, never the password.

Plain Python; knows nothing of Ansible."""

from ..engine import auth
from ..engine.errors import MyDockerError
from ..engine.registry import Registry
from .plan import Option, Plan, apply_steps, build_argument_spec

MODULE_OPTIONS = (
    Option("registry", "str", required=True, aliases=["registry_url"]),
    Option("state", "str", default="present", choices=["present", "absent"]),
    Option("username", "str"),
    Option("password", "str"),
    Option("ca_file", "path"),
    Option("insecure_registry", "bool", default=False),
)


def argument_spec():
    spec = build_argument_spec(MODULE_OPTIONS)
    spec["password"]["no_log"] = True
    return spec


class LoginPlan(Plan):
    def __init__(self, root, registry):
        super().__init__(registry)
        self.root = root
        self.credentials = None   # (user, password) to store; not in any step's arguments


def _domain(registry):
    key = auth.key_of(registry)
    return "docker.io" if key == auth.HUB_KEY else key


def _view(registry, creds):
    return {"registry": registry, "loggedIn": bool(creds), "username": creds[0] if creds else None}


def plan_login(root, registry, state="present", username=None, password=None, ca_file=None,
               insecure_registry=False):
    domain = _domain(registry)
    plan = LoginPlan(root, domain)
    stored = auth.stored(root, domain)
    plan.before = _view(domain, stored)
    plan.after = dict(plan.before)
    if state == "absent":
        if username or password:
            raise MyDockerError("options username and password only apply to state=present")
        if stored:
            plan.add("logout", "logout: %s" % domain)
            plan.after = _view(domain, None)
        return plan
    if not username or not password:
        raise MyDockerError("state=present needs username and password")
    if stored == (username, password):
        return plan
    reg = Registry(domain, credentials=(username, password), insecure=[domain] if insecure_registry else [],
                   ca_file=ca_file)
    reg.check_login()
    plan.credentials = (username, password)
    why = "new login" if not stored else ("user %s -> %s" % (stored[0], username) if stored[0] != username
                                          else "password changed")
    plan.add("login", "login: %s as %s (%s)" % (domain, username, why))
    plan.after = _view(domain, plan.credentials)
    return plan


def _login(plan):
    auth.save(plan.root, plan.name, plan.credentials[0], plan.credentials[1])


def _logout(plan):
    auth.remove(plan.root, plan.name)


STEPS = {"login": _login, "logout": _logout}


def apply(plan):
    apply_steps(STEPS, plan, plan)
    return plan.after
