# Entry points. unit and lint need neither root nor apt: only a Python with the test requirements
# (PYTHON, default the project's venv when it exists, else python3).
VENV ?= /opt/mydocker/venv
PYTHON ?= $(shell test -x $(VENV)/bin/python && echo $(VENV)/bin/python || echo python3)

.PHONY: unit lint sanity test vm-test

# Pure unit tests (no root, no containers).
unit:
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/unit

# ruff on the Python, yamllint on the YAML, ansible-lint (production profile, offline) on the
# roles, playbooks and molecule scenarios, antsibull-changelog lint on the changelog fragments.
lint:
	$(PYTHON) -m ruff check plugins tests bench bin/mydocker scripts
	$(PYTHON) -m pycodestyle --max-line-length 160 --ignore E402,W503,W504,E741,E203,E701,E704 \
		plugins tests bench bin/mydocker scripts
	$(PYTHON) -m yamllint -s .
	MYDOCKER_VENV=$(VENV) bash scripts/ansible-lint.sh
	$(PYTHON) -m antsibull_changelog lint

# ansible-test sanity on a copy of the collection placed under ansible_collections/ (root not needed).
sanity:
	STAGES="sanity" bash scripts/test.sh

# The whole suite, as CI runs it (root: installs packages, starts real containers and VMs).
test:
	bash scripts/test.sh

# The molecule scenario in two Debian 12 VMs (extensions/molecule/vm/README.md): builds and caches
# the guest image when missing, then destroy, create, prepare, converge, idempotence, check,
# verify, destroy.
vm-test:
	bash scripts/vm/run-scenario.sh
