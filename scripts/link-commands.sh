#!/usr/bin/env bash
# Make commands of the virtual environment runnable by name: a symlink BINDIR/NAME ->
# VENV/bin/NAME for each NAME. A name is linked when BINDIR/NAME does not exist or is already a
# symlink into VENV/bin (then it is refreshed); anything else there (another ansible, a file of
# the administrator's) is left alone and reported. A NAME missing from the venv is skipped.
#   link-commands.sh VENV BINDIR NAME...
# scripts/install.sh links ansible-core's commands, scripts/test.sh the test tools (molecule,
# ansible-lint, antsibull-changelog) once requirements-test.txt is installed.
set -euo pipefail
if [ "$#" -lt 3 ]; then
    echo "usage: link-commands.sh VENV BINDIR NAME..." >&2
    exit 2
fi
venv=$1
bindir=$2
shift 2
mkdir -p "$bindir"
for name in "$@"; do
    src="$venv/bin/$name"
    dst="$bindir/$name"
    if [ ! -x "$src" ]; then
        echo "link-commands: $name: not in $venv/bin, skipped"
        continue
    fi
    if [ -L "$dst" ]; then
        case "$(readlink "$dst")" in
            "$venv/bin/"*) ;;
            *)
                echo "link-commands: $dst links to $(readlink "$dst"), left alone"
                continue
                ;;
        esac
    elif [ -e "$dst" ]; then
        echo "link-commands: $dst exists and is not a link into $venv/bin, left alone"
        continue
    fi
    if [ "$(readlink "$dst" 2>/dev/null || true)" != "$src" ]; then
        ln -sfn "$src" "$dst"
        echo "link-commands: $dst -> $src"
    fi
done
