#!/usr/bin/env bash
# Install everything, the test dependencies too, and run the whole test suite:
#   lint (ruff, yamllint, ansible-lint, antsibull-changelog lint), galaxy (build, install and
#   use the collection tarball), pytest (unit tests and real-container tests), ansible-test
#   sanity, units and integration (the modules' targets), the molecule scenario against
#   localhost, the molecule scenario whose instances are mydocker containers (a Debian image
#   with python3, debootstrapped once and cached), and then the molecule scenario in two Debian 12
#   VMs (make vm-test; it builds and caches the guest image first).
# STAGES="pytest sanity" bash scripts/test.sh runs only some stages; extra arguments go to pytest.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MYDOCKER_VENV:-/opt/mydocker/venv}"
STAGES="${STAGES:-lint galaxy pytest sanity units integration molecule molecule_containers vm}"
export PATH="$VENV/bin:$PATH"
export ANSIBLE_PYTHON_INTERPRETER="$VENV/bin/python"

bash "$REPO/scripts/install.sh"
# what only the tests use: a real registry (CNCF distribution), skopeo and podman to read what we
# write (runc: the tests run podman with --runtime runc, and Debian's podman brings only crun), tini for --init,
# openssl and htpasswd for the TLS and basic-auth registry
test_need=()
for pkg in docker-registry skopeo podman runc buildah tini openssl apache2-utils; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || test_need+=("$pkg")
done
if [ "${#test_need[@]}" -gt 0 ]; then
    echo "test.sh: apt-get install ${test_need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${test_need[@]}" >/dev/null
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/requirements-test.txt"
# the README's molecule line, and the linters, without activating the venv
bash "$REPO/scripts/link-commands.sh" "$VENV" "${MYDOCKER_BINDIR:-/usr/local/bin}" molecule ansible-lint antsibull-changelog

declare -a results=()
stage() {  # stage NAME COMMAND...: run a stage, time it, remember how it went
    local name=$1 start rc
    shift
    case " $STAGES " in *" $name "*) ;; *) return 0 ;; esac
    echo "=== $name: $*"
    start=$(date +%s)
    set +e
    "$@"
    rc=$?
    set -e
    results+=("$name rc=$rc $(( $(date +%s) - start ))s")
    echo "=== $name: rc=$rc after $(( $(date +%s) - start ))s"
    if [ "$rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
passed=0
failed=0

# ansible-test wants the collection at .../ansible_collections/mydocker/runtime: test a copy of
# the files git knows (as they are in the work tree) placed there.
ac_copy() {
    local dest=/tmp/mydocker-ansible-test/ansible_collections/mydocker/runtime
    rm -rf /tmp/mydocker-ansible-test
    mkdir -p "$dest"
    if git -C "$REPO" rev-parse >/dev/null 2>&1; then
        (cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
            | xargs -0 -I{} sh -c 'test -e "{}" && cp -a --parents "{}" "$0"' "$dest")
    else
        cp -a "$REPO/." "$dest"
    fi
    echo "$dest"
}

run_lint() {
    # pycodestyle with ansible-test's pep8 settings: what ruff does not check (blank lines, indents)
    (cd "$REPO" && python -m ruff check plugins tests bench bin/mydocker scripts \
        && python -m pycodestyle --max-line-length 160 --ignore E402,W503,W504,E741,E203,E701,E704 plugins tests bench bin/mydocker scripts \
        && python -m yamllint -s . \
        && bash scripts/ansible-lint.sh && python -m antsibull_changelog lint)
}
run_galaxy() { bash "$REPO/scripts/galaxy-roundtrip.sh"; }
run_pytest() { (cd "$REPO" && python -m pytest -p no:cacheprovider -ra "$@" tests); }
run_sanity() { (cd "$AC" && ansible-test sanity --python 3.11 --color no); }
run_units() { (cd "$AC" && ansible-test units --python 3.11 --requirements --color no); }
run_integration() { (cd "$AC" && ansible-test integration --python 3.11 --allow-destructive --color no); }
run_molecule() { (cd "$REPO" && molecule test -s default); }
# the scenario links this checkout as the collection it tests (its dependency step)
run_molecule_containers() { (cd "$REPO" && molecule test -s containers); }
run_vm() { bash "$REPO/scripts/vm/run-scenario.sh"; }

stage lint run_lint
stage galaxy run_galaxy
stage pytest run_pytest "$@"
case " $STAGES " in
    *" sanity "*|*" units "*|*" integration "*)
        bash "$REPO/scripts/ansible-test-offline.sh" "$VENV/bin/python"
        AC="$(ac_copy)"
        ;;
esac
stage sanity run_sanity
stage units run_units
stage integration run_integration
stage molecule run_molecule
stage molecule_containers run_molecule_containers
stage vm run_vm

echo "=== summary"
printf '%s\n' "${results[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" = 0 ]
