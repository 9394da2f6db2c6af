"""Files of /proc that more than one part reads: a process's argv and status, meminfo, CPU lists.

Standard library only: the checker and the driver both import it.
"""


def parse_cmdline(raw):
    """argv from the bytes of /proc/PID/cmdline (NUL-separated, usually NUL-terminated)."""
    if raw.endswith(b"\0"):
        raw = raw[:-1]
    return [part.decode("utf-8", "surrogateescape") for part in raw.split(b"\0")] if raw else []


def read_cmdline(pid):
    """argv of a process; OSError when it cannot be read."""
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        return parse_cmdline(handle.read())


def cmdline(pid):
    """argv of a process, or None when it is gone or cannot be read (or `pid` names none)."""
    try:
        return read_cmdline(pid)
    except (OSError, TypeError, ValueError):
        return None


def parse_status(text):
    """/proc/PID/status as a dict of field -> text value (stripped)."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key] = value.strip()
    return fields


def read_status(path="/proc/self/status"):
    """A status file's fields; OSError when it cannot be read."""
    with open(path) as handle:
        return parse_status(handle.read())


def meminfo_kib(key, path="/proc/meminfo"):
    """A /proc/meminfo count in KiB (MemTotal, SwapTotal, ...); None when not listed. OSError when unreadable."""
    with open(path) as handle:
        for line in handle:
            name, _, value = line.partition(":")
            if name == key and value.split():
                return int(value.split()[0])
    return None


def parse_cpu_list(text):
    """A Linux CPU or node list ("0-3,7") as a sorted list of numbers; ValueError when malformed."""
    numbers = set()
    for part in text.replace(" ", "").split(","):
        if part:
            low, _, high = part.partition("-")
            numbers.update(range(int(low), int(high or low) + 1))
    return sorted(numbers)


def format_cpu_list(cpus):
    """Sorted CPU numbers as a Linux CPU list: [0, 1, 2, 5] -> "0-2,5"."""
    runs = []
    for cpu in cpus:
        if runs and cpu == runs[-1][1] + 1:
            runs[-1][1] = cpu
        else:
            runs.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
