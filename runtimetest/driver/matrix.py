"""`runtimetest report`: a conformance matrix from the JSON reports of several runs.

    runtimetest report --html matrix.html --markdown matrix.md runc.json crun.json ...

Each report (`runtimetest suite --json FILE`) is one column: its runtime on its
host. Rows are the cases, grouped by area: the case's directory below the case
directory when it has one ("cgroups/memory-limit"), else the first
dash-separated word of its name. A cell is pass, fail (a failure, an error or a
timeout), departure (failed as a recorded departure says) or skip; its reason
shows on hover, a failing cell lists its lines. Spec sections cited by a case's
failure lines (`[MUST config.md#hostname]`) link to the runtime-spec.

The HTML page is self-contained (inline CSS, no script, nothing fetched). All
text from the reports is escaped: HTML-escaped in the page, pipes and markup
escaped in the Markdown.
"""

import html
import json
import os
import re
import sys

from runtimetest.driver.reports import ReportError, read_json_report

SPEC_BASE = "https://github.com/opencontainers/runtime-spec/blob/main/"
KINDS = ("pass", "fail", "departure", "skip")
KIND_OF_STATUS = {"pass": "pass", "fail": "fail", "error": "fail", "timeout": "fail",
                  "departure": "departure", "skip": "skip"}
# The checker's and the driver's failure lines end in "[LEVEL file.md#anchor]".
SECTION = re.compile(r"\[(?:MUST|SHOULD|MAY) ([A-Za-z0-9_-]+\.md(?:#[A-Za-z0-9_.-]+)?)\]\s*$")


class MatrixError(Exception):
    """A report that cannot be read: the message names the file and the field."""


class Cell:
    def __init__(self, status, reason="", lines=(), details=()):
        self.status = status
        self.kind = KIND_OF_STATUS[status] if status in KIND_OF_STATUS else "skip"
        self.reason = reason
        self.lines = list(lines)
        self.details = list(details)

    def sections(self):
        return [m.group(1) for m in map(SECTION.search, self.lines) if m]


class Column:
    def __init__(self, path, runtime, spec_version, host, cgroup):
        self.path = path
        self.runtime = runtime
        self.spec_version = spec_version
        self.host = host
        self.cgroup = cgroup
        self.label = f"{runtime} on {host}"
        self.cells = {}

    def counts(self):
        counts = dict.fromkeys(KINDS, 0)
        for cell in self.cells.values():
            counts[cell.kind] += 1
        return counts

    def subtitle(self):
        parts = [f"runtime-spec {self.spec_version}" if self.spec_version else "",
                 f"cgroup {self.cgroup}" if self.cgroup else ""]
        return ", ".join(p for p in parts if p)


class Case:
    def __init__(self, name, description="", area=None):
        self.name = name
        self.description = description
        self.area = area or area_of(name)


def area_of(name):
    """The case's directory below the case directory if it has one, else its name's first word."""
    directory = name.rpartition("/")[0]
    return directory if directory else name.split("-", 1)[0]


# -- reading reports ---------------------------------------------------------------

def _field(path, data, key, kind, where=""):
    value = data.get(key)
    if not isinstance(value, kind):
        expected = " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
        raise MatrixError(f"{path}: {where}{key}: expected {expected}, found {json.dumps(value)[:60]}")
    return value


def _strings(path, data, key, where):
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MatrixError(f"{path}: {where}{key}: expected a list of strings")
    return value


def read_report(path):
    """One column from a `suite --json` report."""
    try:
        data = read_json_report(path)
    except ReportError as error:
        raise MatrixError(str(error)) from None
    runtime = _field(path, data, "runtime", dict)
    name = _field(path, runtime, "name", str, "runtime.")
    spec_version = runtime.get("spec_version") if isinstance(runtime.get("spec_version"), str) else ""
    host = data.get("host") if isinstance(data.get("host"), dict) else {}
    column = Column(path, name, spec_version, str(host.get("name") or "unknown host"), host.get("cgroup_mode") or host.get("cgroup") or "")
    cases = {}
    for index, record in enumerate(_field(path, data, "cases", list)):
        where = f"cases[{index}]."
        if not isinstance(record, dict):
            raise MatrixError(f"{path}: cases[{index}]: expected an object")
        case_name = _field(path, record, "name", str, where)
        status = _field(path, record, "status", str, where)
        if status not in KIND_OF_STATUS:
            raise MatrixError(f"{path}: {where}status: expected one of {', '.join(KIND_OF_STATUS)}, "
                              f"found {json.dumps(status)[:60]}")
        reason = record.get("reason") if isinstance(record.get("reason"), str) else ""
        stderr = record.get("stderr") if isinstance(record.get("stderr"), str) else ""
        lines = stderr.splitlines() + _strings(path, record, "outside_failures", where)
        column.cells[case_name] = Cell(status, reason, lines, _strings(path, record, "details", where))
        description = record.get("description")
        area = record.get("area") if isinstance(record.get("area"), str) and record.get("area") else None
        cases[case_name] = Case(case_name, description if isinstance(description, str) else "", area)
    for case_name in _strings(path, data, "not_run", ""):
        column.cells.setdefault(case_name, Cell("skip", "not run: the run was interrupted"))
        cases.setdefault(case_name, Case(case_name))
    return column, cases


def read_reports(paths):
    """The columns, in the order given, and every case any of them has, sorted by area then name."""
    columns, cases = [], {}
    for path in paths:
        column, found = read_report(path)
        same = [c for c in columns if c.label == column.label]
        if same:  # two reports of one runtime on one host: tell them apart by file
            column.label += f" ({os.path.basename(path)})"
        columns.append(column)
        for name, case in found.items():
            if name not in cases or not cases[name].description:
                cases[name] = case
    return columns, sorted(cases.values(), key=lambda c: (c.area, c.name))


def by_area(cases):
    areas = {}
    for case in cases:
        areas.setdefault(case.area, []).append(case)
    return areas


def row_sections(case, columns):
    """The spec sections the case's lines cite, in first-seen order: a negative case's expected
    lines (its cells that pass) say what it is about; else those of the cells that did not pass."""
    cells = [c.cells[case.name] for c in columns if case.name in c.cells]
    for chosen in ([c for c in cells if c.kind == "pass"], cells):
        sections = list(dict.fromkeys(s for cell in chosen for s in cell.sections()))
        if sections:
            return sections
    return []


def spec_url(section):
    return SPEC_BASE + section


# -- HTML --------------------------------------------------------------------------

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1f24; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; vertical-align: top; text-align: left; }
thead th { background: #f6f8fa; position: sticky; top: 0; }
th small { display: block; font-weight: normal; color: #57606a; }
tr.area th { background: #eaeef2; font-size: 1.05em; }
tr.area small { display: inline; margin-left: 0.5em; }
th.case { font-weight: normal; font-family: ui-monospace, monospace; }
th.case a { font-family: system-ui, sans-serif; font-size: 0.85em; margin-left: 0.4em; }
td.pass { background: #dafbe1; } td.fail { background: #ffd8d3; font-weight: bold; }
td.departure { background: #fff1c2; } td.skip { background: #eef0f2; color: #57606a; }
td.none { color: #8c959f; }
td.fail details { font-weight: normal; } td.departure summary { color: #57606a; }
pre { margin: 0.3em 0; white-space: pre-wrap; max-width: 60em; font-size: 0.85em; }
.count { display: inline-block; margin-right: 0.5em; padding: 0 4px; border-radius: 3px; }
.count.pass { background: #dafbe1; } .count.fail { background: #ffd8d3; }
.count.departure { background: #fff1c2; } .count.skip { background: #eef0f2; }
"""


def _e(text):
    return html.escape(str(text), quote=True)


def _header_cells(columns):
    for column in columns:
        yield (f'<th data-column="{_e(column.label)}">{_e(column.runtime)}'
               f"<small>{_e(column.host)}</small><small>{_e(column.subtitle())}</small></th>")


def _count_cells(columns):
    for column in columns:
        counts = column.counts()
        spans = "".join(f'<span class="count {kind}" data-kind="{kind}">{counts[kind]} {kind}</span>'
                        for kind in KINDS)
        yield f'<td class="counts" data-column="{_e(column.label)}">{spans}</td>'


def _cell_html(cell):
    if cell is None:
        return '<td class="none" title="not in this report">–</td>'
    title = cell.reason or cell.status
    label = cell.status if cell.kind == "fail" else cell.kind
    body = _e(label)
    if cell.kind == "fail" or (cell.kind == "departure" and cell.lines):  # a departure's lines too
        lines = cell.lines or [cell.reason]
        listed = "\n".join(lines)
        more = "\n\n".join(cell.details)
        body += (f'<details><summary>{len(lines)} line(s)</summary><pre class="lines">{_e(listed)}</pre>'
                 + (f'<pre class="diff">{_e(more)}</pre>' if more else "") + "</details>")
    return f'<td class="{cell.kind}" title="{_e(title)}">{body}</td>'


def _case_row(case, columns):
    links = "".join(f'<a href="{_e(spec_url(s))}">§{_e(s)}</a>' for s in row_sections(case, columns))
    head = f'<th class="case" title="{_e(case.description)}">{_e(case.name)}{links}</th>'
    return f"<tr>{head}{''.join(_cell_html(c.cells.get(case.name)) for c in columns)}</tr>"


def render_html(columns, cases, title="OCI runtime conformance matrix"):
    width = len(columns) + 1
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
           f"<h1>{_e(title)}</h1>",
           f"<p>{len(cases)} case(s), {len(columns)} run(s). Hover a cell for its reason; "
           "a failing cell lists its lines.</p>",
           '<table class="matrix"><thead>',
           f'<tr><th>case</th>{"".join(_header_cells(columns))}</tr>',
           f'<tr class="totals"><th>counts</th>{"".join(_count_cells(columns))}</tr>',
           "</thead><tbody>"]
    for area, members in by_area(cases).items():
        out.append(f'<tr class="area"><th colspan="{width}" id="area-{_e(area)}">'
                   f"{_e(area)} <small>{len(members)} case(s)</small></th></tr>")
        out.extend(_case_row(case, columns) for case in members)
    out.append("</tbody></table></body></html>")
    return "\n".join(out) + "\n"


# -- Markdown ----------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md(text):
    """Text from a report as literal Markdown table content: markup and pipes escaped, one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _md_cell(cell):
    if cell is None:
        return "–"
    if cell.kind == "fail":
        reason = cell.reason if len(cell.reason) <= 100 else cell.reason[:99] + "…"
        return f"**{cell.status}**: {md(reason)}" if reason else f"**{cell.status}**"
    return cell.kind


def _area_counts(column, members):
    counts = dict.fromkeys(KINDS, 0)
    for case in members:
        cell = column.cells.get(case.name)
        if cell:
            counts[cell.kind] += 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "–"


def render_markdown(columns, cases, summary_only=False, title="OCI runtime conformance matrix"):
    labels = [md(c.label) for c in columns]
    out = [f"# {md(title)}", ""]
    out += [f"- {md(c.label)}: {md(c.subtitle()) or 'no details in the report'}" for c in columns] + [""]
    totals = [[kind] + [str(c.counts()[kind]) for c in columns] for kind in KINDS]
    out += _table(["cases"] + labels, totals) + [""]
    areas = by_area(cases)
    out += ["## By area", ""]
    out += _table(["area", "cases"] + labels,
                  [[md(area), str(len(members))] + [_area_counts(c, members) for c in columns]
                   for area, members in areas.items()]) + [""]
    if summary_only:
        return "\n".join(out)
    out += ["## By case", ""]
    rows = []
    for area, members in areas.items():
        rows.append([f"**{md(area)}**"] + [""] * len(columns))
        for case in members:
            links = " ".join(f"[{md(s)}]({spec_url(s)})" for s in row_sections(case, columns))
            rows.append([f"{md(case.name)} {links}".strip()] + [_md_cell(c.cells.get(case.name)) for c in columns])
    out += _table(["case"] + labels, rows) + [""]
    return "\n".join(out)


# -- the sub-command ---------------------------------------------------------------

def add_parser(commands):
    report = commands.add_parser("report", help="a conformance matrix (HTML, Markdown) from JSON reports")
    report.add_argument("reports", nargs="+", metavar="REPORT.json",
                        help="reports written by `runtimetest suite --json`, one column each")
    report.add_argument("--html", metavar="FILE", help="write a self-contained HTML page")
    report.add_argument("--markdown", metavar="FILE",
                        help="write a Markdown table (default, to stdout, when neither --html nor --markdown)")
    report.add_argument("--summary", action="store_true",
                        help="Markdown: only the counts per run and per area, not every case")
    report.add_argument("--title", default="OCI runtime conformance matrix")


def run(options):
    try:
        columns, cases = read_reports(options.reports)
    except MatrixError as error:
        sys.stderr.write(f"runtimetest report: {error}\n")
        return 2
    outputs = []
    if options.html:
        outputs.append((options.html, render_html(columns, cases, options.title)))
    markdown = render_markdown(columns, cases, options.summary, options.title)
    if options.markdown:
        outputs.append((options.markdown, markdown))
    elif not options.html:
        sys.stdout.buffer.write(markdown.encode("utf-8", "backslashreplace"))  # names may not be UTF-8
    for path, text in outputs:
        try:
            with open(path, "w", encoding="utf-8", errors="backslashreplace") as handle:
                handle.write(text)
        except OSError as error:
            sys.stderr.write(f"runtimetest report: cannot write {path}: {error.strerror}\n")
            return 2
    return 0
