#!/bin/sh
# Build a static, self-contained Python program: Debian's libpython linked
# statically with a small C entry, and the modules the program imports appended
# to the binary as a zip archive that the interpreter imports from in place.
#
#   build/freeze.sh PYTHON OUTPUT [ENTRY_MODULE]
#
# ENTRY_MODULE (default runtimetest.checker.main) names the module whose entry() runs.
# PYTHON must be the interpreter whose libpython3.X.a is linked (Debian's
# python3, or a venv made from it): the archive holds its byte code. Nothing is
# unpacked at run time, so the binary starts in any rootfs (read-only, no /tmp,
# noexec mounts), as any uid, within a few MiB. The Makefile and
# Dockerfile.static both build through this one script.
set -eu
python=${1:?usage: freeze.sh PYTHON OUTPUT [ENTRY_MODULE]}
output=${2:?usage: freeze.sh PYTHON OUTPUT [ENTRY_MODULE]}
entry=${3:-runtimetest.checker.main}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/runtimetest-freeze.XXXXXX")
trap 'rm -rf "$work"' EXIT

config() { "$python" -c "import sysconfig; print(sysconfig.$1)"; }
include=$(config "get_paths()['include']")
libpython=$(config "get_config_var('LIBDIR')")/$(config "get_config_var('LIBRARY')")
[ -f "$libpython" ] || { echo "freeze.sh: $libpython is missing (Debian package python3-dev)" >&2; exit 1; }

# python-prctl's C part is built into the binary, from its source release on
# PyPI at the version build/requirements.txt pins; its Python part goes in the archive.
prctl_version=$(sed -n 's/^python-prctl==//p' "$here/requirements.txt")
"$python" -m pip download --quiet --no-cache-dir --no-deps --no-binary :all: \
    "python-prctl==$prctl_version" -d "$work" >/dev/null
tar -xzf "$work/python-prctl-$prctl_version.tar.gz" -C "$work"
prctl_src=$work/python-prctl-$prctl_version

# libpython3.X.a holds the modules Debian builds into its interpreter (zlib and
# pyexpat among them): their libraries are linked too.
cc=${CC:-gcc}
flags="-O2 -fno-strict-aliasing -I$include"
$cc $flags -DENTRY_MODULE="\"$entry\"" -c "$here/static_main.c" -o "$work/main.o"
$cc $flags -c "$here/syscall_module.c" -o "$work/syscall.o"
$cc $flags -I"$prctl_src" -c "$prctl_src/_prctlmodule.c" -o "$work/prctl.o"
$cc -static -o "$work/program" "$work/main.o" "$work/syscall.o" "$work/prctl.o" "$libpython" \
    -lcap -lexpat -lz -lm -lpthread -ldl -lutil 2>"$work/link.log" \
    || { cat "$work/link.log" >&2; exit 1; }
strip "$work/program"

PYTHONPATH="$prctl_src" "$python" "$here/collect.py" "$entry" "$work/modules.zip"
cat "$work/program" "$work/modules.zip" > "$work/out"
chmod 0755 "$work/out"
mkdir -p "$(dirname "$output")"
mv "$work/out" "$output"
echo "built $output ($(wc -c < "$output") bytes)"
