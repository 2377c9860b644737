# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mydocker_container's argument spec is generated from the option table (planning/options.py)."""

from ansible_collections.mydocker.runtime.plugins.module_utils.planning import options as opts
from ansible_collections.mydocker.runtime.plugins.modules import mydocker_container


def test_generated_spec_is_the_hand_written_one():
    assert opts.argument_spec() == mydocker_container.ARGUMENT_SPEC


def test_every_compared_option_is_in_the_spec():
    spec = opts.argument_spec()
    assert set(opts.OPTION_NAMES) <= set(spec)
    assert len(opts.MODULE_OPTIONS) == len(spec)  # no option twice
