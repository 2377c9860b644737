"""Parsing and validation of resource limits (plugins/module_utils/resources.py)."""
import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import resources as R
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError

MIB = 1024 * 1024


@pytest.mark.parametrize("value,expected", [
    ("100m", 100 * MIB),
    ("100M", 100 * MIB),
    ("100mb", 100 * MIB),
    ("100MB", 100 * MIB),
    ("100MiB", 100 * MIB),
    ("1g", 1 << 30),
    ("1gb", 1 << 30),
    ("1.5g", 3 << 29),
    ("8192k", 8 * MIB),
    (" 7m ", 7 * MIB),
    ("1048576000", 1000 * MIB),
    ("6291456", 6291456),
    ("6291456b", 6291456),
    (6291456, 6291456),
    (100 * MIB, 100 * MIB),
    (float(64 * MIB), 64 * MIB),
    ("1t", 1 << 40),
])
def test_parse_memory_ok(value, expected):
    assert R.parse_memory(value) == expected


def test_parse_memory_rounds_down_to_page_size():
    assert R.parse_memory(6291456 + 100) == 6291456
    assert R.parse_memory(10 * MIB + 4095) % 4096 == 0


@pytest.mark.parametrize("value,fragment", [
    ("5m", "minimum is 6MiB"),
    ("6291455", "minimum is 6MiB"),
    ("512k", "minimum is 6MiB"),
    (6291455, "minimum is 6MiB"),
    (0, "must be positive"),
    ("0", "must be positive"),
    ("-100m", "must be positive"),
    (-1, "must be positive"),
    ("100x", "invalid memory"),
    ("m", "invalid memory"),
    ("100 mega", "invalid memory"),
    ("1e9", "invalid memory"),
    ("", "invalid memory"),
    (True, "invalid memory"),
    ([100], "invalid memory"),
    (float("nan"), "not a number"),
    ("99999999t", "too large"),
])
def test_parse_memory_errors(value, fragment):
    with pytest.raises(MyDockerError) as exc:
        R.parse_memory(value)
    msg = str(exc.value)
    assert fragment in msg
    assert "memory" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("value,expected", [
    ("0.5", 0.5), (1, 1.0), ("2", 2.0), (0.01, 0.01), (" 1.25 ", 1.25), ("0.123456", 0.12346),
])
def test_parse_cpus_ok(value, expected):
    result = R.parse_cpus(value, host_cpus=2)
    assert isinstance(result, float)
    assert result == expected


def test_parse_cpus_default_host_count(monkeypatch):
    monkeypatch.setattr(R.os, "cpu_count", lambda: 3)
    assert R.parse_cpus("3") == 3.0
    with pytest.raises(MyDockerError, match="the host has only 3 CPUs"):
        R.parse_cpus("3.5")


@pytest.mark.parametrize("value,fragment", [
    ("0", "greater than 0"),
    (0, "greater than 0"),
    ("-1", "greater than 0"),
    ("0.001", "minimum is 0.01"),
    ("3", "the host has only 2 CPUs"),
    ("2.01", "the host has only 2 CPUs"),
    ("half", "use a number"),
    ("", "use a number"),
    (None, "use a number"),
    (True, "use a number"),
    ("nan", "not a number"),
    ("inf", "not a number"),
])
def test_parse_cpus_errors(value, fragment):
    with pytest.raises(MyDockerError) as exc:
        R.parse_cpus(value, host_cpus=2)
    assert fragment in str(exc.value)
    assert "cpus" in str(exc.value)


def test_parse_cpus_one_cpu_host_wording():
    with pytest.raises(MyDockerError, match=r"the host has only 1 CPU$"):
        R.parse_cpus(2, host_cpus=1)


@pytest.mark.parametrize("value,expected", [(2, 2), ("512", 512), (262144, 262144), (1024.0, 1024)])
def test_parse_cpu_shares_ok(value, expected):
    assert R.parse_cpu_shares(value) == expected


@pytest.mark.parametrize("value,fragment", [
    (1, "between 2 and 262144"),
    (0, "between 2 and 262144"),
    (262145, "between 2 and 262144"),
    ("-5", "between 2 and 262144"),
    ("abc", "must be an integer"),
    (1.5, "must be an integer"),
    (None, "must be an integer"),
    (False, "must be an integer"),
])
def test_parse_cpu_shares_errors(value, fragment):
    with pytest.raises(MyDockerError) as exc:
        R.parse_cpu_shares(value)
    assert fragment in str(exc.value)
    assert "cpu_shares" in str(exc.value)


@pytest.mark.parametrize("value,expected", [
    ("0-1", "0-1"),
    ("0,1", "0-1"),
    ("1,0", "0-1"),
    ("1", "1"),
    (1, "1"),
    ("0,2", "0,2"),
    ("0-2,3,5", "0-3,5"),
    (" 3 , 1-2 ", "1-3"),
    ("2-2", "2"),
    ("0,0,1", "0-1"),
])
def test_parse_cpuset_ok(value, expected):
    assert R.parse_cpuset(value, available="0-7") == expected


def test_parse_cpuset_available_as_iterable():
    assert R.parse_cpuset("1", available=[0, 1]) == "1"
    assert R.parse_cpuset("1", available={1}) == "1"


@pytest.mark.parametrize("value,fragment", [
    ("2", "CPU 2 not available on this host (available: 0-1)"),
    ("0-3", "CPU 2-3 not available on this host (available: 0-1)"),
    ("1-0", "goes backwards"),
    ("a", "use a CPU list"),
    ("0-", "use a CPU list"),
    ("0,,1", "use a CPU list"),
    ("-1", "use a CPU list"),
    ("0;1", "use a CPU list"),
    ("", "empty CPU list"),
    ("99999", "out of range"),
    (None, "use a CPU list"),
])
def test_parse_cpuset_errors(value, fragment):
    with pytest.raises(MyDockerError) as exc:
        R.parse_cpuset(value, available="0-1")
    assert fragment in str(exc.value)
    assert "cpuset_cpus" in str(exc.value)


def test_parse_cpuset_default_reads_online_file(tmp_path, monkeypatch):
    online = tmp_path / "online"
    online.write_text("0-2,4\n")
    monkeypatch.setattr(R, "CPUS_ONLINE_FILE", str(online))
    assert R.parse_cpuset("4,0") == "0,4"
    with pytest.raises(MyDockerError, match="CPU 3 not available"):
        R.parse_cpuset("3")


def test_online_cpus_real_host():
    cpus = R.online_cpus()
    assert cpus and 0 in cpus


@pytest.mark.parametrize("value,expected", [
    (100, 100), ("5", 5), (1, 1), (-1, None), (0, None), ("-1", None), ("max", None), ("0", None),
])
def test_parse_pids_limit(value, expected):
    assert R.parse_pids_limit(value) == expected


@pytest.mark.parametrize("value,fragment", [
    (-2, "must be positive"), ("-100", "must be positive"), ("ten", "must be an integer"),
    (2.5, "must be an integer"), (None, "must be an integer"),
])
def test_parse_pids_limit_errors(value, fragment):
    with pytest.raises(MyDockerError) as exc:
        R.parse_pids_limit(value)
    assert fragment in str(exc.value)
    assert "pids_limit" in str(exc.value)


def test_normalize_resources_full():
    res = R.normalize_resources(
        {"memory": "100m", "cpus": "0.5", "cpu_shares": "512", "cpuset_cpus": "1,0", "pids_limit": "64"},
        available_cpus="0-1", host_cpus=2)
    assert res == {"memory": 100 * MIB, "cpus": 0.5, "cpu_shares": 512, "cpuset_cpus": "0-1",
                   "pids_limit": 64}


def test_normalize_resources_empty_and_none():
    expected = dict.fromkeys(R.RESOURCE_KEYS)
    assert R.normalize_resources(None) == expected
    assert R.normalize_resources({}) == expected
    assert R.normalize_resources({"memory": None, "cpus": "", "cpuset_cpus": None,
                                  "pids_limit": -1, "cpu_shares": 1024}) == expected


def test_normalize_resources_idempotent():
    once = R.normalize_resources({"memory": "1g", "cpus": 1, "cpu_shares": 2, "cpuset_cpus": "0",
                                  "pids_limit": 0}, available_cpus="0", host_cpus=1)
    assert once == R.normalize_resources(once, available_cpus="0", host_cpus=1)
    assert once == {"memory": 1 << 30, "cpus": 1.0, "cpu_shares": 2, "cpuset_cpus": "0",
                    "pids_limit": None}


def test_normalize_resources_errors():
    with pytest.raises(MyDockerError, match="unknown resource option 'mem'"):
        R.normalize_resources({"mem": "100m"})
    with pytest.raises(MyDockerError, match="expected a mapping"):
        R.normalize_resources("100m")
    with pytest.raises(MyDockerError, match="invalid memory '1m'"):
        R.normalize_resources({"memory": "1m"})
    with pytest.raises(MyDockerError, match="invalid cpus"):
        R.normalize_resources({"cpus": 0}, host_cpus=2)
    with pytest.raises(MyDockerError, match="invalid cpuset_cpus"):
        R.normalize_resources({"cpuset_cpus": "5"}, available_cpus="0-1")
    with pytest.raises(MyDockerError, match="invalid pids_limit"):
        R.normalize_resources({"pids_limit": -7})
    with pytest.raises(MyDockerError, match="invalid cpu_shares"):
        R.normalize_resources({"cpu_shares": 1})


@pytest.mark.parametrize("value,expected", [
    (None, "unlimited"), (0, "0B"), (512, "512B"), (1024, "1KiB"), (6291456, "6MiB"),
    (100 * MIB, "100MiB"), (3 << 29, "1.5GiB"), (1 << 40, "1TiB"), (1536, "1.5KiB"),
    (100 * MIB + 1, "100MiB"), (int(2.25 * MIB), "2.25MiB"),
])
def test_format_bytes(value, expected):
    assert R.format_bytes(value) == expected
