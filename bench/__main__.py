# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python -m bench`` (from the checkout's root): the same as ``python bench/bench.py``."""
import sys

from .main import main

sys.exit(main())
