# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest collects tests/unit and tests/system in one run (scripts/test.sh's pytest stage): two test
files with the same basename break the collection of both ("import file mismatch")."""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM = os.path.join(os.path.dirname(HERE), "system")


def _tests(d):
    return set(n for n in os.listdir(d) if n.startswith("test_") and n.endswith(".py")) if os.path.isdir(d) else set()


def test_unit_and_system_test_files_have_distinct_names():
    assert sorted(_tests(HERE) & _tests(SYSTEM)) == []


def test_unit_tests_import_their_helpers_by_the_collection_path():
    """ansible-test units runs tests/unit from the collection: ``from fakes import ...`` or
    ``from test_x import ...`` work under plain pytest only."""
    bare = []
    for name in sorted(_tests(HERE) | {"fakes.py"}):
        with open(os.path.join(HERE, name)) as f:
            for n, line in enumerate(f, 1):
                if line.startswith(("from fakes ", "import fakes", "from test_", "import test_")):
                    bare.append("%s:%d" % (name, n))
    assert bare == []
