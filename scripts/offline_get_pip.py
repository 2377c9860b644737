# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads from a host this
machine cannot reach: it runs pip from a pip wheel fetched from PyPI beside it (scripts/test.sh
puts both into ~/.ansible/test/cache/), with the arguments get-pip.py would use."""

import glob
import os
import sys


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    wheels = sorted(glob.glob(os.path.join(here, "pip-*.whl")))
    if not wheels:
        sys.exit("no pip wheel beside %s" % __file__)
    sys.path.insert(0, wheels[-1])
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel
    # get-pip.py's own flags: they only say not to add setuptools and wheel, which we never do
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    sys.exit(pip_main(["install", "--upgrade", "--force-reinstall"] + args))


if __name__ == "__main__":
    main()
