# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""comparisons, restart_retries, image_name_mismatch and the port and command spellings of
mydocker_container as community.docker's docker_container reads them (no root, no containers)."""

import copy

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import comparisons as cmp
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import container as cp
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import options as opts
from ansible_collections.mydocker.runtime.tests.unit.test_container_plan import BASE, RECORD, facts, plan


def test_defaults_are_strict_but_exposed_ports():
    modes = cmp.parse(None, opts.OPTIONS)
    assert modes["env"] == "strict" and modes["image"] == "strict" and modes["exposed_ports"] == "allow_more_present"


def test_wildcard_then_named_options_and_aliases():
    modes = cmp.parse({"*": "ignore", "ports": "allow_more_present", "restart_retries": "strict"}, opts.OPTIONS)
    assert modes["env"] == "ignore" and modes["published_ports"] == "allow_more_present"
    assert modes["restart_policy"] == "strict"


@pytest.mark.parametrize("value, words", [
    ({"*": "allow_more_present"}, "wildcard * can only be strict or ignore"),
    ({"nope": "strict"}, "unknown module option 'nope'"),
    ({"state": "ignore"}, "'state' cannot be compared"),
    ({"env": "loose"}, "unknown comparison mode 'loose'"),
    ({"image": "allow_more_present"}, "image is a value, not a list or a dict"),
    ({"ports": "strict", "published_ports": "ignore"}, "aliases of published_ports"),
    ("strict", "expected a mapping"),
])
def test_bad_comparisons_fail_in_one_line(value, words):
    with pytest.raises(MyDockerError) as e:
        cmp.parse(value, opts.OPTIONS, opts.TASK_OPTIONS)
    assert str(e.value).startswith("comparisons: ") and words in str(e.value)


def test_env_change_names_the_field_and_ignore_or_more_present_keep_the_container():
    assert plan(env={"A": "2"}).actions[0] == "recreate: env changed"
    assert plan(env={"A": "2"}, comparisons={"env": "ignore"}).actions == []
    assert plan(env={"A": "2"}, comparisons={"*": "ignore"}).actions == []
    # the container has A=1 and LANG=C (the image's): wishing only LANG is fine with more present
    assert plan(env={}, comparisons={"env": "allow_more_present"}).actions == []
    assert plan(env={}).actions[0] == "recreate: env changed"
    assert plan(env={"B": "1"}, comparisons={"env": "allow_more_present"}).actions[0] == "recreate: env changed"


def test_lists_allow_more_present():
    assert plan(volumes=["/srv/a:/a"]).actions[0] == "recreate: volumes changed"
    assert plan(volumes=["/srv/a:/a"], comparisons={"volumes": "allow_more_present"}).actions == []
    assert plan(published_ports=[], comparisons={"ports": "allow_more_present"}).actions == []
    assert plan(published_ports=["8080:80", "9090:90"], comparisons={"ports": "allow_more_present"}).actions[0] \
        == "recreate: published_ports changed"


def test_ignore_on_update_options_and_the_image():
    assert plan(memory="128m").actions == ["update: memory"]
    assert plan(memory="128m", comparisons={"memory": "ignore"}).actions == []
    drift = {"memory": (64 * 1024 * 1024, 32 * 1024 * 1024)}
    assert plan(fkw={"cgroup_diff": drift}).actions == ["update: memory (changed on the host)"]
    assert plan(fkw={"cgroup_diff": drift}, comparisons={"memory": "ignore"}).actions == []
    new_image = {"name": "busybox", "layer": "bbbb", "config": {"Env": ["PATH=/bin", "LANG=C"]}}
    assert plan(fkw={"image": new_image}).actions[0] == "recreate: image changed (new layer)"
    assert plan(fkw={"image": new_image}, comparisons={"image": "ignore"}).actions == []


def test_image_name_mismatch():
    rec = dict(copy.deepcopy(RECORD), imageId="sha256:1")
    img = {"name": "other", "layer": "aaaa", "imageId": "sha256:1", "config": {"Env": ["PATH=/bin", "LANG=C"]}}
    p = dict(BASE, image="other")
    assert cp.decide(p, facts(record=rec, image=img)).actions[0] == "recreate: image changed"
    assert cp.decide(dict(p, image_name_mismatch="ignore"), facts(record=rec, image=img)).actions == []
    with pytest.raises(MyDockerError, match="^image_name_mismatch: "):
        cp.decide(dict(p, image_name_mismatch="maybe"), facts(record=rec, image=img))


def test_restart_retries_needs_restart_policy_as_in_community_docker():
    with pytest.raises(MyDockerError) as e:
        plan(restart_policy=None, restart_retries=5)
    assert str(e.value) == ("restart_retries: needs restart_policy (missing parameter(s) required by "
                            "'restart_retries': restart_policy)")
    assert plan(restart_policy="on-failure", restart_retries=5).actions == ["update: restart_policy"]
    assert plan(restart_policy="on-failure", restart_retries=3).actions == []


def test_unless_stopped_is_its_own_policy():
    p = plan(restart_policy="unless-stopped", restart_retries=None)
    assert p.actions == ["update: restart_policy"] and p.restart_policy == "unless-stopped"
    with pytest.raises(MyDockerError, match="^detach: .*unless-stopped"):
        plan(record=None, detach=False, restart_policy="unless-stopped", restart_retries=None)


def test_empty_command_means_the_images_cmd():
    same = {"name": "busybox", "layer": "aaaa", "config": {"Env": ["PATH=/bin", "LANG=C"], "Cmd": ["sleep", "1000"]}}
    assert plan(command=[], fkw={"image": same}).actions == []
    assert plan(command="", fkw={"image": same}).actions == []
    other = {"name": "busybox", "layer": "aaaa", "config": {"Env": ["PATH=/bin", "LANG=C"], "Cmd": ["sh"]}}
    assert plan(command=[], fkw={"image": other}).actions[0] == "recreate: command changed"
    p = plan(record=None, command=[], fkw={"image": other})
    assert p.steps[0].args["command"] == ["sh"] and p.after["command"] == ["sh"]
    with pytest.raises(MyDockerError, match="^command: needed"):
        plan(record=None, command=[])  # the image has no Cmd


def test_port_spellings_compare_as_docker_does():
    rng = opts.norm_ports(["9010-9012:9010-9012"])
    assert rng == opts.norm_ports(["9010:9010", "9011:9011", "9012:9012"])
    assert opts.norm_ports(["9001"]) == ["0.0.0.0::9001/tcp"]
    assert opts.norm_ports(["9010-9050:9010"]) == ["0.0.0.0:9010-9050:9010/tcp"]
    assert opts.norm_ports(["8000:80", "10000:80"]) == opts.norm_ports(["8000:80/tcp", "10000:80/tcp"])
    with pytest.raises(MyDockerError, match="^published_ports: .*IPv6"):
        opts.norm_ports(["[::1]:9001:9001"])
    with pytest.raises(MyDockerError, match="^published_ports: .*host name"):
        opts.norm_ports(["localhost:9001:9001"])


def test_a_chosen_host_port_is_compared_by_what_was_asked():
    rec = copy.deepcopy(RECORD)
    rec["ports"] = [{"host_ip": "", "host_port": 33000, "container_port": 9001, "proto": "tcp", "auto": True},
                    {"host_ip": "", "host_port": 9033, "container_port": 9010, "proto": "tcp", "auto": True,
                     "host_range": "9010-9050"},
                    {"host_ip": "", "host_port": 40000, "container_port": 80, "proto": "tcp", "auto": True,
                     "all": True}]
    rec["publishAllPorts"] = True
    ports = ["9001", "9010-9050:9010"]
    assert cp.decide(dict(BASE, published_ports=ports), facts(record=rec)).actions == []
    assert cp.decide(dict(BASE, published_ports=ports, publish_all_ports=True), facts(record=rec)).actions == []
    assert cp.decide(dict(BASE, published_ports=["9001", "9010-9051:9010"]), facts(record=rec)).actions[0] \
        == "recreate: published_ports changed"
    assert cp.decide(dict(BASE, published_ports=ports, publish_all_ports=False), facts(record=rec)).actions[0] \
        == "recreate: publish_all_ports changed"
    # 'all' is publish_all_ports
    assert cp.decide(dict(BASE, published_ports=ports + ["all"]), facts(record=rec)).actions == []
    with pytest.raises(MyDockerError, match="^published_ports: 'all' contradicts"):
        cp.decide(dict(BASE, published_ports=["all"], publish_all_ports=False), facts(record=rec))


def test_exposed_ports_more_present_by_default():
    rec = dict(copy.deepcopy(RECORD), exposedPorts=["80/tcp", "443/tcp", "9001/tcp"])
    assert cp.decide(dict(BASE, exposed_ports=["9001"]), facts(record=rec)).actions == []
    assert cp.decide(dict(BASE, exposed_ports=["9002"]), facts(record=rec)).actions[0] \
        == "recreate: exposed_ports changed"
    assert cp.decide(dict(BASE, exposed_ports=["9001"], comparisons={"exposed_ports": "strict"}),
                     facts(record=rec)).actions[0] == "recreate: exposed_ports changed"
    # a record from before exposedPorts: the image's and the published ports
    old = copy.deepcopy(RECORD)
    old["config"] = {"ExposedPorts": ["443/tcp"]}
    assert opts.config_of_record(old)["exposed_ports"] == ["80/tcp", "443/tcp"]


def test_create_passes_expose_and_publish_all_and_check_mode_predicts_them():
    img = {"name": "busybox", "layer": "aaaa", "config": {"Cmd": ["sh"], "ExposedPorts": {"443/tcp": {}}}}
    p = plan(record=None, exposed_ports=["9000-9001/udp"], publish_all_ports=True, published_ports=["9001"],
             fkw={"image": img})
    args = p.steps[0].args
    assert args["options"]["expose"] == ["9000/udp", "9001/udp"] and args["options"]["publish_all"] is True
    assert args["options"]["ports"] == ["0.0.0.0::9001/tcp"]
    assert p.after["exposed_ports"] == ["443/tcp", "9000/udp", "9001/tcp", "9001/udp"]
    with pytest.raises(MyDockerError, match="^publish_all_ports: publishing ports needs a network"):
        plan(record=None, network=None, ip=None, published_ports=None, publish_all_ports=True, fkw={"image": img})
