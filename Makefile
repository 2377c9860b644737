# Entry points that are not the fast test suite (scripts/test.sh).

.PHONY: vm-test
# The molecule scenario in two Debian 12 VMs (extensions/molecule/vm/README.md): builds and caches
# the guest image when missing, then destroy, create, prepare, converge, idempotence, check,
# verify, destroy.
vm-test:
	bash scripts/vm/run-scenario.sh
