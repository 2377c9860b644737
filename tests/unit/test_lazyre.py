# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""engine/lazyre.py: module-level patterns compiled on first use, and behaving as re's."""

import importlib
import re

import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine.lazyre import LazyPattern, lazy_re

ENGINE = "ansible_collections.mydocker.runtime.plugins.module_utils.engine."


@pytest.mark.parametrize("pattern,flags,text", [
    (r"^(\d+)\s*([kmgt]?)i?b?$", 0, "12 mb"),
    (r"^(\d+)\s*([kmgt]?)$", re.I, "7K"),
    (r"(\d+)(ns|ms|s)", 0, "1s 20ms x 3ns"),
    (r"nomatch", 0, "anything"),
])
def test_the_methods_answer_as_the_compiled_pattern(pattern, flags, text):
    lazy, real = lazy_re(pattern, flags), re.compile(pattern, flags)
    assert lazy._compiled is None
    for name in ("match", "fullmatch", "search"):
        got, want = getattr(lazy, name)(text), getattr(real, name)(text)
        assert (got and got.groups()) == (want and want.groups())
    assert lazy.findall(text) == real.findall(text)
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in real.finditer(text)]
    assert lazy.sub("_", text) == real.sub("_", text)
    assert lazy.compiled() is real or lazy.compiled().pattern == pattern  # re's cache, or the same pattern
    assert lazy.pattern == pattern and lazy.flags == flags


def test_the_engine_defines_no_compiled_pattern_at_module_level():
    """Each would be compiled by every command and task that imports its module."""
    found = 0
    for name in ("validate", "reference", "users", "resources", "view", "health", "logs", "procopts", "devices",
                 "mounts", "sysctl", "registry"):
        mod = importlib.import_module(ENGINE + name)
        for value in vars(mod).values():
            if isinstance(value, LazyPattern):
                found += 1
            assert not isinstance(value, re.Pattern), (name, value.pattern)
    assert found >= 12  # the scan saw patterns (the start path matches a few more by hand)
