#!/usr/bin/env python
"""Side-by-side start-up benchmark: mydocker against podman (Debian's, with runc).

Run as root with the collection's interpreter, from anywhere:

    /opt/mydocker/venv/bin/python bench/bench.py [--runs 15] [--big-mb 300]

The benchmark is the package in this directory (bench/__init__.py lists its modules, bench/main.py
has the run's outline); bench/README.md says what it measures and how it cleans up.
"""
import os
import sys

# bench/ is a package: import it from the checkout's root, not its files from this directory
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from bench.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
