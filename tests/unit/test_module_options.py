# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mydocker_container's argument spec is generated from the option table (planning/options.py),
mydocker_network's and mydocker_image's from their planners' MODULE_OPTIONS;
it must say what the module's DOCUMENTATION says (ansible-test's validate-modules checks the
same in the sanity run)."""

import pytest
import yaml

from ansible_collections.mydocker.runtime.plugins.module_utils.planning import image as image_plan
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import network as network_plan
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import options as opts
from ansible_collections.mydocker.runtime.plugins.modules import mydocker_container, mydocker_image, mydocker_network

# the hand-written spec the generated one replaced, kept to prove nothing changed
HAND_WRITTEN = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="started", choices=["present", "started", "stopped", "absent", "healthy"]),
    image=dict(type="str"),
    command=dict(type="raw"),
    entrypoint=dict(type="raw"),
    user=dict(type="str"),
    env=dict(type="dict"),
    volumes=dict(type="list", elements="str"),
    mounts=dict(type="list", elements="dict"),
    tmpfs=dict(type="list", elements="str"),
    read_only=dict(type="bool"),
    shm_size=dict(type="str"),
    published_ports=dict(type="list", elements="str", aliases=["ports"]),
    exposed_ports=dict(type="list", elements="str", aliases=["exposed", "expose"]),
    publish_all_ports=dict(type="bool"),
    network=dict(type="str"),
    ip=dict(type="str"),
    networks=dict(type="list", elements="dict"),
    network_mode=dict(type="str"),
    dns_servers=dict(type="list", elements="str"),
    dns_search_domains=dict(type="list", elements="str"),
    etc_hosts=dict(type="dict"),
    hostname=dict(type="str"),
    working_dir=dict(type="str"),
    memory=dict(type="str"),
    cpus=dict(type="float"),
    cpu_shares=dict(type="int"),
    cpuset_cpus=dict(type="str"),
    pids_limit=dict(type="int"),
    restart_policy=dict(type="str", choices=["no", "on-failure", "always", "unless-stopped"]),
    restart_retries=dict(type="int"),
    comparisons=dict(type="dict"),
    image_name_mismatch=dict(type="str", choices=["recreate", "ignore"]),
    restart=dict(type="bool", default=False),
    recreate=dict(type="bool", default=False),
    auto_remove=dict(type="bool"),
    security_opts=dict(type="list", elements="str"),
    detach=dict(type="bool", default=True),
    stop_timeout=dict(type="int", default=10),
    force_kill=dict(type="bool", default=False),
    purge_networks=dict(type="bool", default=False),
    networks_cli_compatible=dict(type="bool", default=True),
    # issue 11, process and security options (planning/procopts.py)
    capabilities=dict(type="list", elements="str"),
    cap_drop=dict(type="list", elements="str"),
    privileged=dict(type="bool"),
    sysctls=dict(type="dict"),
    ulimits=dict(type="list", elements="str"),
    init=dict(type="bool"),
    stop_signal=dict(type="str"),
    groups=dict(type="list", elements="str"),
    oom_score_adj=dict(type="int"),
    labels=dict(type="dict"),
    devices=dict(type="list", elements="str"),
    memory_swap=dict(type="str"),
    memory_reservation=dict(type="str"),
    pull=dict(type="str", default="never", choices=["missing", "always", "never"]),
    healthcheck=dict(type="dict"),
    log_driver=dict(type="str"),
    log_options=dict(type="dict", aliases=["log_opt"]),
    healthy_wait_timeout=dict(type="float", default=300),
)

SPEC_KEYS = ("type", "elements", "choices", "default", "aliases", "required")


def test_generated_spec_is_the_hand_written_one():
    assert opts.argument_spec() == HAND_WRITTEN


def assert_documented(module, spec, doc=None):
    """``spec`` says of every option what ``module``'s DOCUMENTATION says, and no more options
    (a dict option's suboptions too)."""
    doc = yaml.safe_load(module.DOCUMENTATION)["options"] if doc is None else doc
    assert sorted(spec) == sorted(doc)
    for name, entry in doc.items():
        documented = dict((k, entry[k]) for k in SPEC_KEYS if k in entry)
        if documented.get("required") is False:
            del documented["required"]
        # no_log is no documentation key (the docs say "password" instead)
        own = dict((k, v) for k, v in spec[name].items() if k != "no_log")
        subs = own.pop("options", None)
        assert own == documented, name
        assert (subs is None) == ("suboptions" not in entry), name
        if subs is not None:
            assert_documented(module, subs, entry["suboptions"])


def test_generated_spec_has_the_documented_options():
    assert_documented(mydocker_container, opts.argument_spec())


def test_every_compared_option_is_in_the_spec_once():
    spec = opts.argument_spec()
    assert set(opts.OPTION_NAMES) <= set(spec)
    assert len(opts.MODULE_OPTIONS) == len(spec)
    assert all(o.change in (opts.RECREATE, opts.UPDATE) for o in opts.OPTIONS)
    assert all(o.change is None for o in opts.TASK_OPTIONS)


def test_a_spec_entry_is_a_fresh_copy():
    spec = opts.argument_spec()
    spec["state"]["choices"].append("bogus")
    assert "bogus" not in opts.argument_spec()["state"]["choices"]


# the network and image modules' specs, as they were written by hand
NETWORK_HAND_WRITTEN = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    driver=dict(type="str", default="bridge", choices=["bridge"]),
    subnet=dict(type="str"),
    gateway=dict(type="str"),
    force=dict(type="bool", default=False),
)
IMAGE_HAND_WRITTEN = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    source=dict(type="path"),
    busybox=dict(type="path"),
    force=dict(type="bool", default=False),
    container=dict(type="str"),
    output=dict(type="path"),
    tag=dict(type="list", elements="str"),
    # added with source=pull (issue 10, part 2)
    platform=dict(type="str"),
    force_source=dict(type="bool", default=False),
    registry_username=dict(type="str"),
    registry_password=dict(type="str", no_log=True),
    ca_file=dict(type="path"),
    insecure_registry=dict(type="bool", default=False),
    push=dict(type="bool", default=False),
    build=dict(type="dict", options=dict(path=dict(type="path", required=True), dockerfile=dict(type="str"),
                                         args=dict(type="dict"), nocache=dict(type="bool", default=False))),
    load_path=dict(type="path"),
)


def test_network_and_image_specs_are_the_hand_written_ones():
    assert network_plan.argument_spec() == NETWORK_HAND_WRITTEN
    assert image_plan.argument_spec() == IMAGE_HAND_WRITTEN


@pytest.mark.parametrize("module,spec", [
    (mydocker_network, network_plan.argument_spec),
    (mydocker_image, image_plan.argument_spec),
])
def test_network_and_image_specs_have_the_documented_options(module, spec):
    assert_documented(module, spec())
