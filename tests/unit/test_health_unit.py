# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Healthchecks (engine/health.py, planning/healthopts.py): durations, the test forms, Docker's
merge with the image's check, the status counting, the module's canonical form. Pure."""

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import health
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError
from ansible_collections.mydocker.runtime.plugins.module_utils.planning import healthopts
from ansible_collections.mydocker.runtime.plugins.module_utils.planning.options import MISSING

S = health.SECOND


@pytest.mark.parametrize("text,ns", [("30s", 30 * S), ("1m30s", 90 * S), ("500ms", S // 2), ("1h", 3600 * S),
                                     ("1.5s", 3 * S // 2), ("2us", 2000), ("0", 0), (5, 5 * S), (0.25, S // 4),
                                     ("1h2m3s", 3723 * S), ("-1s", -S)])
def test_durations_as_go_parses_them(text, ns):
    assert health.parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["", "30", "s", "1x", "1m 30s", "ms30", "--1s", True, "1.2.3s"])
def test_bad_durations_are_one_line_naming_the_field(bad):
    with pytest.raises(MyDockerError) as e:
        health.parse_duration(bad, "--health-interval")
    assert str(e.value).startswith("--health-interval: invalid duration") and "\n" not in str(e.value)


@pytest.mark.parametrize("ns,text", [(0, "0s"), (90 * S, "1m30s"), (60 * S, "1m0s"), (S // 2, "500ms"),
                                     (3600 * S, "1h0m0s"), (1500, "1500ns")])
def test_durations_print_as_go_prints_them(ns, text):
    assert health.format_duration(ns) == text
    assert health.parse_duration(text) == ns


def test_test_forms():
    assert health.normalize_test("curl -f x") == ["CMD-SHELL", "curl -f x"]
    assert health.normalize_test(["CMD", "true"]) == ["CMD", "true"]
    assert health.normalize_test(["CMD-SHELL", "exit 0"]) == ["CMD-SHELL", "exit 0"]
    assert health.normalize_test(["NONE"]) == ["NONE"]
    assert health.normalize_test([]) is None and health.normalize_test(None) is None
    for bad in (["true"], ["CMD"], ["CMD-SHELL", "a", "b"], [1], 3):
        with pytest.raises(MyDockerError):
            health.normalize_test(bad)
    assert health.argv_of(["CMD-SHELL", "exit 3"]) == ["/bin/sh", "-c", "exit 3"]
    assert health.argv_of(["CMD", "cat", "/x"]) == ["cat", "/x"]


@pytest.mark.parametrize("spec,msg", [
    ({"test": "true", "interval": "0s"}, "healthcheck.interval: must be more than 0"),
    ({"test": "true", "interval": "-1s"}, "healthcheck.interval: must be more than 0"),
    ({"test": "true", "timeout": 0}, "healthcheck.timeout: must be more than 0"),
    ({"test": "true", "start_period": "-5s"}, "healthcheck.start_period: must be 0 or more"),
    ({"test": "true", "retries": -1}, "healthcheck.retries: must be an integer"),
    ({"test": "true", "interval": "soon"}, "healthcheck.interval: invalid duration"),
    ({"test": "true", "every": "1s"}, "healthcheck: unknown key every"),
])
def test_bad_healthchecks_are_refused(spec, msg):
    with pytest.raises(MyDockerError) as e:
        health.normalize(spec)
    assert str(e.value).startswith(msg)


def test_flags_and_the_image_merge_as_docker():
    image = {"Test": ["CMD-SHELL", "img-check"], "Interval": 5 * S, "Timeout": 2 * S, "StartPeriod": 0, "Retries": 4}
    # nothing given: the image's check, defaults for what it leaves out
    assert health.effective(image, None) == dict(image)
    defaults = {"Test": ["CMD", "x"], "Interval": 30 * S, "Timeout": 30 * S, "StartPeriod": 0, "Retries": 3}
    assert health.effective({"Test": ["CMD", "x"]}, None) == defaults
    # an interval only: the image's test, the new interval
    wish = health.from_flags(interval="1s")
    assert health.effective(image, wish) == dict(image, Interval=S)
    # a new command, everything else the image's
    assert health.effective(image, health.from_flags(cmd="mine"))["Test"] == ["CMD-SHELL", "mine"]
    assert health.effective(image, health.from_flags(disable=True)) is None
    assert health.effective(None, None) is None
    assert health.from_flags() is None
    with pytest.raises(MyDockerError):
        health.from_flags(cmd="x", disable=True)
    with pytest.raises(MyDockerError) as e:
        health.from_flags(cmd="x", interval="0s")
    assert "interval" in str(e.value)
    assert health.from_flags(cmd="x", retries="5")["Retries"] == 5
    # create's argument: the module's spelling or Docker's
    assert health.for_create({"Healthcheck": image}, {"test": ["NONE"]}) is None
    assert health.for_create({}, {"test": "t", "interval": "2s"})["Interval"] == 2 * S
    assert health.for_create({}, {"Test": ["CMD", "t"]})["Test"] == ["CMD", "t"]


def _result(code):
    return {"start": "s", "end": "e", "exitCode": code, "output": ""}


def test_status_counts_consecutive_failures_and_ignores_the_start_period():
    check = {"Retries": 2}
    st = health.initial()
    st = health.next_state(st, _result(1), check, in_start_period=True)
    st = health.next_state(st, _result(1), check, in_start_period=True)
    assert st["status"] == "starting" and st["failingStreak"] == 0
    st = health.next_state(st, _result(1), check, in_start_period=False)
    assert st["status"] == "starting" and st["failingStreak"] == 1
    st = health.next_state(st, _result(0), check, in_start_period=False)
    assert st["status"] == "healthy" and st["failingStreak"] == 0
    st = health.next_state(st, _result(1), check, in_start_period=True)  # healthy once: it counts
    assert st["failingStreak"] == 1 and st["status"] == "healthy"
    st = health.next_state(st, _result(-1), check, in_start_period=False)
    assert st["status"] == "unhealthy" and st["failingStreak"] == 2
    assert len(st["log"]) == health.KEEP_RESULTS
    for _i in range(10):
        st = health.next_state(st, _result(1), check, in_start_period=False)
    assert len(st["log"]) == 5


def test_status_of_a_record():
    assert health.status_of({}) == ""
    assert health.status_of({"healthcheck": {"Test": ["CMD", "x"]}}) == "starting"
    assert health.status_of({"healthcheck": {"Test": ["CMD", "x"]}, "health": {"status": "healthy"}}) == "healthy"


# ------------------------------------------------------------------ the module's form

def test_module_form_is_normalised_before_comparing():
    a = healthopts.resolve(healthopts.norm_healthcheck({"test": ["CMD", "true"], "interval": "1m"}), None)
    b = healthopts.resolve(healthopts.norm_healthcheck({"test": ["CMD", "true"], "interval": "60s",
                                                        "timeout": "30s", "retries": 3}), None)
    assert a == b == {"test": ["CMD", "true"], "interval": "1m0s", "timeout": "30s", "start_period": "0s",
                      "retries": 3}
    # what the record holds reads back as the same
    rec = {"healthcheck": health.for_create({}, healthopts.create_arg(a))}
    assert healthopts.record_healthcheck(rec) == a
    assert healthopts.record_healthcheck({}) is None
    assert healthopts.resolve(MISSING, None, MISSING) is MISSING


def test_test_cli_compatible_semantics():
    image = {"config": {"Healthcheck": {"Test": ["CMD-SHELL", "img"], "Interval": 5 * S}}}
    # false (the default): a healthcheck without test disables the check
    assert healthopts.resolve(healthopts.norm_healthcheck({"interval": "2s"}), image) is None
    # true: the image's test, the task's interval
    kept = healthopts.resolve(healthopts.norm_healthcheck({"interval": "2s", "test_cli_compatible": True}), image)
    assert kept["test"] == ["CMD-SHELL", "img"] and kept["interval"] == "2s"
    assert healthopts.image_default(image)["interval"] == "5s"
    assert healthopts.create_arg(None) == {"test": ["NONE"]}


def test_module_bad_input_names_the_option():
    with pytest.raises(MyDockerError) as e:
        healthopts.norm_healthcheck({"test": "true", "interval": 0})
    assert str(e.value).startswith("healthcheck.interval: must be more than 0")
    with pytest.raises(MyDockerError):
        healthopts.norm_healthcheck("true")


def test_state_healthy_needs_a_check():
    class P:
        pass
    plan = healthopts.with_wait(P(), {"state": "healthy"})
    assert plan.wait_healthy == 300
    plan.after = {"healthcheck": None}
    with pytest.raises(MyDockerError) as e:
        healthopts.check_wait(plan)
    assert "state: healthy needs a healthcheck" in str(e.value)
    plan.after = {"healthcheck": {"test": ["CMD", "x"]}}
    assert healthopts.check_wait(plan) is plan
    assert healthopts.with_wait(P(), {"state": "started"}).wait_healthy is None
    assert healthopts.with_wait(P(), {"state": "healthy", "healthy_wait_timeout": 5}).wait_healthy == 5
