# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory plugin's pure parts: host variables of a record, filters, config file names."""

import pytest

pytest.importorskip("ansible")

from ansible_collections.mydocker.runtime.plugins.inventory import mydocker_containers as inv

RECORD = {
    "pid": "131875", "id": "6696563329", "name": "web", "command": "sleep 1000",
    "createdTime": "2025-03-17 15:45:14", "status": "running", "networkName": "net", "ip": "10.9.0.2",
    "portmapping": ["8080:80/tcp"], "image": "busybox", "hostname": "web", "labels": {"app": "shop"},
}


def test_host_vars_of_a_full_record():
    hv = inv.host_vars(RECORD, "/var/lib/mydocker")
    assert hv == {
        "ansible_connection": "mydocker.runtime.mydocker",
        "ansible_mydocker_root": "/var/lib/mydocker",
        "mydocker_name": "web", "mydocker_id": "6696563329", "mydocker_image": "busybox",
        "mydocker_status": "running", "mydocker_network": "net", "mydocker_ip": "10.9.0.2",
        "mydocker_labels": {"app": "shop"}, "mydocker_hostname": "web",
        "mydocker_command": "sleep 1000", "mydocker_created": "2025-03-17 15:45:14",
        "mydocker_ports": ["8080:80/tcp"], "mydocker_pid": "131875",
    }
    hv["mydocker_labels"]["x"] = "y"
    assert RECORD["labels"] == {"app": "shop"}  # a copy, not the record's


def test_host_vars_of_a_minimal_record():
    hv = inv.host_vars({"id": "1234567890", "status": "exited", "pid": "", "portmapping": None,
                        "labels": "not a dict"}, "/r")
    assert hv["mydocker_name"] == "1234567890"  # the name defaults to the ID
    assert hv["mydocker_network"] == "" and hv["mydocker_ip"] == ""
    assert hv["mydocker_labels"] == {}
    assert hv["mydocker_ports"] == []
    assert hv["mydocker_pid"] == ""


@pytest.mark.parametrize("filters", [
    "include: true",
    [{"keep": True}],
    [{"include": True, "exclude": False}],
    [{"include": 3}],
    ["include"],
])
def test_validate_filters_refuses(filters):
    with pytest.raises(ValueError):
        inv.validate_filters(filters)


def test_validate_filters_accepts():
    assert inv.validate_filters(None) == []
    f = [{"include": "a == 1"}, {"exclude": True}]
    assert inv.validate_filters(f) is f


def _eval(hostvars):
    # a tiny evaluator for the tests: "key=value" conditions
    def evaluate(cond):
        key, value = cond.split("=", 1)
        return str(hostvars.get(key)) == value
    return evaluate


def test_filter_host_first_match_decides():
    filters = [{"exclude": "name=web2"}, {"include": "status=exited"}, {"include": "app=shop"},
               {"exclude": True}]
    assert inv.filter_host(_eval({"name": "web2", "app": "shop"}), filters) is False
    assert inv.filter_host(_eval({"name": "db", "status": "exited"}), filters) is True
    assert inv.filter_host(_eval({"name": "web1", "app": "shop"}), filters) is True
    assert inv.filter_host(_eval({"name": "other"}), filters) is False


def test_filter_host_default_keeps():
    assert inv.filter_host(_eval({}), []) is True
    assert inv.filter_host(_eval({"name": "a"}), [{"exclude": "name=b"}]) is True
    assert inv.filter_host(_eval({}), [{"include": False}, {"exclude": False}]) is True


def test_verify_file_names(tmp_path):
    plugin = inv.InventoryModule()
    for name, ok in [("inv.mydocker.yml", True), ("inv.mydocker.yaml", True), ("mydocker.yml", True),
                     ("inv.docker.yml", False), ("inv.yml", False)]:
        path = tmp_path / name
        path.write_text("plugin: mydocker.runtime.mydocker_containers\n")
        assert plugin.verify_file(str(path)) is ok, name
