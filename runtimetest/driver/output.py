"""What the driver prints while it runs and when it is done.

In a log (stdout not a terminal): one plain line per finished case, with the
details of every case that did not pass. On a terminal: a live progress bar
with the passed/failed/skipped counts and the cases running, and above it the
same details of every case that did not pass. Either way the run ends with a
summary (time per phase: totals, averages and the slowest; peak memory; the
slowest cases) and, as its very last line, `N passed, N failed, N skipped`.
"""

import shutil
import statistics
import threading
import time

from runtimetest.driver.compare import printable
from runtimetest.driver.runner import DEPARTS, ERROR, FAIL, PASS, PHASES, SKIP, TIMEOUT

LABELS = {PASS: "PASS", FAIL: "FAIL", ERROR: "ERROR", TIMEOUT: "TIMEOUT", SKIP: "SKIP", DEPARTS: "DEPARTS"}
DETAIL_LINES = 40
SLOWEST = 3
PHASE_NAMES = {"create": "create", "start": "start", "run": "run", "cleanup": "clean-up"}


def _indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.splitlines())


def counts(results):
    """(passed, failed, skipped); known departures count with the skipped."""
    return (sum(r.status == PASS for r in results), sum(r.failed for r in results),
            sum(r.status in (SKIP, DEPARTS) for r in results))


def final_line(results):
    passed, failed, skipped = counts(results)
    return f"{passed} passed, {failed} failed, {skipped} skipped"


def milliseconds(seconds):
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def megabytes(value):
    return f"{value / 2**20:.1f} MB"


class Printer:
    def __init__(self, out, total, tty=None):
        self.out = out
        self.total = total
        self.tty = out.isatty() if tty is None else tty
        self.done = 0
        self.results = []
        self.running = {}
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._bar_shown = False
        self._stopped = threading.Event()
        if self.tty:
            # Redraw once a second, so the elapsed time moves while cases run.
            threading.Thread(target=self._tick, name="progress", daemon=True).start()

    def _tick(self):
        while not self._stopped.wait(1.0):
            with self._lock:
                if self._bar_shown:
                    self._draw_bar()

    def write(self, text):
        # Names, paths and runtime messages may hold ESC or other control bytes: never raw on a terminal.
        self.out.write(printable(text, keep_newlines=True) + "\n")
        self.out.flush()

    def note(self, text):
        """A line outside the per-case flow (kept clear of the progress bar)."""
        with self._lock:
            self._clear_bar()
            self.write(text)
            self._draw_bar()

    def header(self, runtime, cases_dir, jobs):
        self.write(f"runtimetest: {self.total} case(s) from {printable(cases_dir)} with {runtime.name} "
                   f"({runtime.program}), {jobs} at once")

    # -- live ---------------------------------------------------------------------
    def case_started(self, name):
        with self._lock:
            self.running[name] = time.monotonic()
            self._draw_bar()

    def case(self, result):
        with self._lock:
            self.running.pop(result.name, None)
            self.done += 1
            self.results.append(result)
            self._clear_bar()
            if not self.tty or result.status != PASS:
                self.write(self._line(result))
                self._details(result)
            self._draw_bar()

    def _line(self, result):
        seconds = result.timings.get("total", 0.0)
        line = f"[{self.done}/{self.total}] {LABELS[result.status]:7} {printable(result.name)}  {seconds:.2f}s"
        if result.exit is not None:
            line += f", {result.exit.describe()}"
        if result.peak_memory is not None:
            line += f", {megabytes(result.peak_memory)}"
        if getattr(result, "cached", False):
            line += " (cached)"
        if result.desc:
            line += f"  - {printable(result.desc)}"
        return line

    def _details(self, result):
        if result.status in (FAIL, ERROR, TIMEOUT):
            for detail in result.details or [result.reason]:  # details begin with the reason
                self.write(_indent(detail))
            if result.outside:
                self.write(f"    the driver's checks ({len(result.outside)} failure line(s)):")
                for line in result.outside[:DETAIL_LINES]:
                    self.write(f"      {line}")
            self._show_stream("stderr", result.stderr)
            if result.status == TIMEOUT:
                self._show_stream("stdout", result.stdout)
        elif result.status in (SKIP, DEPARTS) and result.reason:
            self.write(_indent(result.reason))

    def _show_stream(self, name, data):
        if not data:
            return
        from runtimetest.driver.compare import escape

        lines = data.decode("utf-8", "replace").splitlines()
        shown = lines[:DETAIL_LINES]
        self.write(f"    container {name} ({len(lines)} line(s)):")
        for line in shown:
            self.write(f"      {escape(line)}")
        if len(lines) > len(shown):
            self.write(f"      ... {len(lines) - len(shown)} more")

    def _bar(self, width):
        passed, failed, skipped = counts(self.results)
        cells = 24
        filled = int(cells * self.done / self.total) if self.total else cells
        bar = "#" * filled + "." * (cells - filled)
        running = printable(", ".join(sorted(self.running)))
        text = (f"[{bar}] {self.done}/{self.total}  {passed} passed, {failed} failed, "
                f"{skipped} skipped  {time.monotonic() - self.started:.0f}s")
        if running:
            text += f"  running: {running}"
        return text[: max(10, width - 1)]

    def _draw_bar(self):
        if not self.tty:
            return
        width = shutil.get_terminal_size((100, 20)).columns
        self.out.write("\r\x1b[K" + self._bar(width))
        self.out.flush()
        self._bar_shown = True

    def _clear_bar(self):
        if self.tty and self._bar_shown:
            self.out.write("\r\x1b[K")
            self._bar_shown = False

    # -- at the end -----------------------------------------------------------------
    def summary(self, results, total, interrupted=None, wall=None, left=(), extra=()):
        self._stopped.set()
        with self._lock:
            self._clear_bar()
            for line in summary_lines(results, total, interrupted, wall, left, extra):
                self.write(line)


def phase_stats(results):
    """{phase: (total, average, slowest (seconds, name))} over the cases that ran that phase."""
    stats = {}
    for phase in PHASES:
        values = [(r.timings[phase], printable(r.name)) for r in results if phase in r.timings]
        if values:
            total = sum(v for v, _ in values)
            stats[phase] = (total, total / len(values), max(values))
    return stats


def memory_stats(results):
    values = [(r.peak_memory, printable(r.name)) for r in results if r.peak_memory is not None]
    if not values:
        return None
    return statistics.mean(v for v, _ in values), max(values)


def slowest(results, count=SLOWEST):
    ran = [r for r in results if "total" in r.timings and r.status != SKIP]
    return sorted(ran, key=lambda r: -r.timings["total"])[:count]


def summary_lines(results, total, interrupted=None, wall=None, left=(), extra=()):
    """`extra`: lines of the per-check departures (cases/per_check.py) and the cache (cache.py)."""
    lines = []
    if wall is not None:
        lines.append(f"ran {len(results)} of {total} case(s) in {wall:.1f}s")
    stats = phase_stats(results)
    if stats:
        lines.append("  time per case:   total       average     slowest")
        for phase, (phase_total, average, (worst, name)) in stats.items():
            lines.append(f"  {PHASE_NAMES[phase]:14} {milliseconds(phase_total):>9}   {milliseconds(average):>9}"
                         f"   {milliseconds(worst):>9} ({name})")
    memory = memory_stats(results)
    if memory:
        average, (peak, name) = memory
        lines.append(f"  peak memory (container cgroup): average {megabytes(average)}, "
                     f"highest {megabytes(peak)} ({name})")
    worst = slowest(results)
    if worst:
        lines.append("  slowest cases: " + ", ".join(f"{printable(r.name)} {r.timings['total']:.2f}s" for r in worst))
    for cid in left:
        lines.append(f"left for `runtimetest clean`: container {cid} (the runtime would not delete it)")
    departed = sorted(printable(r.name) for r in results if r.status == DEPARTS)
    if departed:
        lines.append(f"{len(departed)} known departure(s) of the runtime from the runtime-spec, "
                     f"counted as skipped: {', '.join(departed)}")
    lines.extend(extra)
    stale = sorted(printable(r.name) for r in results if r.stale_departure)
    if stale:
        lines.append(f"recorded departure(s) no longer seen, the record can go: {', '.join(stale)}")
    if interrupted:
        from runtimetest.driver.children import signal_name

        lines.append(f"interrupted by {signal_name(interrupted)}: {total - len(results)} case(s) not run")
    lines.append(final_line(results))
    return lines
