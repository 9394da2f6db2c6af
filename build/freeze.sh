#!/bin/sh
# Build the static in-container checker: PyInstaller one-file, then staticx.
#
#   build/freeze.sh PYTHON OUTPUT
#
# PYTHON must be an interpreter whose libpython and extension modules carry no
# RPATH/RUNPATH (staticx refuses those): Debian's python3, in a venv made from it,
# with python-prctl compiled by that same interpreter. The Makefile and
# Dockerfile.static both build through this one script.
set -eu
python=${1:?usage: freeze.sh PYTHON OUTPUT}
output=${2:?usage: freeze.sh PYTHON OUTPUT}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/runtimetest-freeze.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$work/dist" --workpath "$work/build" "$here/runtimetest.spec"
# --no-compress: an xz-compressed archive costs far more at every start than it saves on disk.
"$python" -m staticx --no-compress "$work/dist/runtimetest-dynamic" "$work/runtimetest"
chmod 0755 "$work/runtimetest"
mkdir -p "$(dirname "$output")"
mv "$work/runtimetest" "$output"
echo "built $output"
