# Copyright (c) mydocker.runtime contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The start-up benchmark, mydocker against podman (bench/README.md). Run it with
``python bench/bench.py`` (or ``python -m bench`` from the checkout's root).

- ``main``: the command line and the order of the run;
- ``peers``: the two runtimes behind one interface;
- ``cases``: images, the interleaved timing rounds, the networking set-up, helper memory;
- ``ipam``: IP allocation through mydocker's engine;
- ``report``: the markdown tables;
- ``hostnet``: the host's routes, ports, loopback fetch and iptables dumps;
- ``cleanup``: removing and verifying everything the run created;
- ``common``: paths, log, running commands, /proc helpers, statistics.
"""
