"""--keep-logs: what it takes to run a case again by hand, without the driver.

Next to a case's runtime log and stdio, its kept work directory gets:

    config.json    the merged config, as the runtime got it
    spec.json      the spec the checker was told (/spec.json in the rootfs)
    bundle/        the bundle's small files as they were at create (config.json, rootfs/spec.json, ...)
    bundle.txt     the bundle's layout: every file with its size and mode, and for a
                   large one (the checker binary) where it was copied from
    repro.sh       recreates the bundle in a fresh directory and runs the runtime's
                   commands as the driver ran them (same binary, global options such
                   as --root, the same create/start/kill/delete), with the container's
                   stdout and stderr written to OUT (default: ./repro-out) and its
                   stderr printed at the end

The driver's own checks from outside (hooks, lifecycle) are not remade: their
lines are in the run's report. A case with a terminal is not replayed (its
console socket is the driver's).
"""

import hashlib
import os
import shlex
import shutil
import stat

KEEP_BELOW = 1 << 20  # files of the bundle at least this large are recreated from their source
PLACEHOLDER_ID = "$id"
WAIT_SECONDS = 120


def _digest(path):
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def save_bundle(work, bundle_path, checker):
    """Keep config.json, spec.json, the bundle's small files and its layout in `work`.

    Returns what repro.sh needs besides: the large files' sources, owners and modes.
    """
    copies = os.path.join(work, "bundle")
    layout = []
    kept = Kept(stat.S_IMODE(os.stat(bundle_path).st_mode))
    sources = kept.sources
    checker_digest = None
    for directory, names, files in os.walk(bundle_path):
        names.sort()
        for name in sorted(files) + [n for n in names]:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, bundle_path)
            info = os.lstat(path)
            mode = stat.S_IMODE(info.st_mode)
            if (info.st_uid, info.st_gid) != (0, 0):
                kept.owners[relative] = (info.st_uid, info.st_gid)
            if stat.S_ISDIR(info.st_mode):
                layout.append(f"{relative}/  directory {mode:04o}")
                os.makedirs(os.path.join(copies, relative), exist_ok=True)
                continue
            if not stat.S_ISREG(info.st_mode):
                layout.append(f"{relative}  not a regular file: not kept")
                continue
            if info.st_size < KEEP_BELOW:
                os.makedirs(os.path.dirname(os.path.join(copies, relative)), exist_ok=True)
                shutil.copy2(path, os.path.join(copies, relative))
                layout.append(f"{relative}  {info.st_size} bytes {mode:04o}")
                continue
            checker_digest = checker_digest or _digest(checker)
            digest = _digest(path)
            source = checker if digest == checker_digest else None
            layout.append(f"{relative}  {info.st_size} bytes {mode:04o} sha256 {digest}: "
                          + (f"a copy of {source}" if source else "not kept (too large, source unknown)"))
            if source:
                sources[relative] = (source, mode)
    with open(os.path.join(work, "bundle.txt"), "w") as handle:
        handle.write("\n".join(layout) + "\n")
    shutil.copyfile(os.path.join(bundle_path, "config.json"), os.path.join(work, "config.json"))
    spec = os.path.join(bundle_path, "rootfs", "spec.json")
    if os.path.exists(spec):
        shutil.copyfile(spec, os.path.join(work, "spec.json"))
    return kept


class Kept:
    """What repro.sh recreates beyond the kept copies: the bundle's mode, large files, owners."""

    def __init__(self, mode):
        self.mode = mode
        self.sources = {}  # relative path -> (source, mode)
        self.owners = {}  # relative path -> (uid, gid), for what root does not own


def _without_placement(argv):
    """The runtime's own command line: the shell that placed it in a cgroup of the case's dropped."""
    if argv[:2] == ["/bin/sh", "-c"] and "--" in argv:
        return argv[argv.index("--") + 1:]
    return list(argv)


def _shell_word(word, bundle_path, work, cid):
    """`word` quoted for sh, with the run's bundle, work directory and id made the script's own."""
    quoted = shlex.quote(word)
    for old, new in ((bundle_path, '"$bundle"'), (work, '"$out"'), (cid, '"$id"')):
        if old and old in word:
            parts = word.split(old)
            quoted = new.join(shlex.quote(part) if part else "" for part in parts)
            break
    return quoted


def _command_line(event, bundle_path, work, cid):
    argv = _without_placement(event.result.argv)
    words = " ".join(_shell_word(word, bundle_path, work, cid) for word in argv)
    if event.op == "create" and event.target == "container":
        return f'{words} <"$here/stdin" >"$out/stdout" 2>"$out/stderr"'
    return f"{words} >/dev/null 2>&1"


def write_script(work, bundle_path, cid, events, kept, terminal, plain):
    """repro.sh in `work`: the bundle recreated and the runtime's commands run again."""
    lines = ["#!/bin/sh",
             "# Runs this case again as the driver ran it: usage: repro.sh [OUT]",
             "set -u",
             'here=$(cd "$(dirname "$0")" && pwd)',
             'out=${1:-$PWD/repro-out}',
             'mkdir -p "$out"',
             'out=$(cd "$out" && pwd)',
             "id=rtt-repro-$$",
             'bundle=$(mktemp -d "${TMPDIR:-/tmp}/runtimetest-repro-XXXXXX")',
             'cp -a "$here/bundle/." "$bundle/"',
             f'sed "s|{_sed_text(bundle_path)}|$bundle|g" "$here/config.json" > "$bundle/config.json"',
             f'chmod {kept.mode:04o} "$bundle"']
    for relative, (source, mode) in sorted(kept.sources.items()):
        lines.append(f'cp {shlex.quote(source)} "$bundle"/{shlex.quote(relative)} && '
                     f'chmod {mode:04o} "$bundle"/{shlex.quote(relative)}')
    for relative, (uid, gid) in sorted(kept.owners.items()):
        lines.append(f'chown -h {uid}:{gid} "$bundle"/{shlex.quote(relative)}')
    if terminal:
        lines += ['echo "repro.sh: this case has a terminal (process.terminal): its console socket '
                  'was the driver\'s, it is not replayed" >&2', 'rm -rf "$bundle"', "exit 2"]
    started = False
    for event in events:
        if plain and started and event.op != "start":
            lines += [_wait_for_stop(events[0])]
            plain = False
        lines.append(_command_line(event, bundle_path, work, cid))
        started = started or event.op == "start"
    lines += ['rm -rf "$bundle"', 'cat "$out/stderr"']
    path = os.path.join(work, "repro.sh")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(path, 0o755)
    return path


def _wait_for_stop(create):
    """Poll `state` until the container has stopped, as the driver waited for its process."""
    argv = _without_placement(create.result.argv)
    program = shlex.quote(argv[0])
    global_words = _global_without_log(argv[1:argv.index("create")])
    return (f"n=0; while [ $n -lt {WAIT_SECONDS * 10} ] && ! {program} {global_words} state \"$id\" 2>/dev/null "
            f"| grep -q '\"status\": *\"stopped\"'; do sleep 0.1; n=$((n + 1)); done")


def _global_without_log(words):
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word in ("--log", "--log-format"):
            skip = True
            continue
        kept.append(shlex.quote(word))
    return " ".join(kept)


def _sed_text(path):
    return "".join("\\" + ch if ch in r".[]*^$\|/" else ch for ch in path)
