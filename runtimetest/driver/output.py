"""What the driver prints: one line per finished case, details for failures, a summary.

The last line is always `N passed, N failed, N skipped`.
"""

from .runner import ERROR, FAIL, PASS, SKIP, TIMEOUT

LABELS = {PASS: "PASS", FAIL: "FAIL", ERROR: "ERROR", TIMEOUT: "TIMEOUT", SKIP: "SKIP"}
DETAIL_LINES = 40


def _indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.splitlines())


class Printer:
    def __init__(self, out, total):
        self.out = out
        self.total = total
        self.done = 0

    def write(self, text):
        self.out.write(text + "\n")
        self.out.flush()

    def header(self, runtime, cases_dir):
        self.write(f"runtimetest: {self.total} case(s) from {cases_dir} with {runtime.name} ({runtime.program})")

    def case(self, result):
        self.done += 1
        seconds = result.timings.get("total", 0.0)
        line = f"{LABELS[result.status]:7} {result.name}  {seconds:.2f}s"
        if result.desc:
            line += f"  - {result.desc}"
        self.write(f"[{self.done}/{self.total}] {line}")
        if result.status in (FAIL, ERROR, TIMEOUT):
            # details, when present, begin with the reason
            for detail in result.details or [result.reason]:
                self.write(_indent(detail))
            self._show_stream("stderr", result.stderr)
            if result.status == TIMEOUT:
                self._show_stream("stdout", result.stdout)
        elif result.status == SKIP and result.reason:
            self.write(_indent(result.reason))

    def _show_stream(self, name, data):
        if not data:
            return
        from .compare import escape

        lines = data.decode("utf-8", "replace").splitlines()
        shown = lines[:DETAIL_LINES]
        self.write(f"    container {name} ({len(lines)} line(s)):")
        for line in shown:
            self.write(f"      {escape(line)}")
        if len(lines) > len(shown):
            self.write(f"      ... {len(lines) - len(shown)} more")

    def summary(self, results, total, interrupted=None):
        passed = sum(r.status == PASS for r in results)
        skipped = sum(r.status == SKIP for r in results)
        failed = sum(r.failed for r in results)
        if interrupted:
            self.write(f"interrupted: {total - len(results)} case(s) not run")
        self.write(f"{passed} passed, {failed} failed, {skipped} skipped")
