"""`runtimetest report`: the conformance matrix, read back from a real headless browser.

The reports come from real runs: runc with --no-departures (so a recorded
departure shows as a failure with its lines) and crun with its departures, on
a few cases chosen to give every kind of cell. A third report is the crun one
with hostile names and reasons, which must come out as text, never as markup.
"""

import copy
import json
import os
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from conftest import FIXTURES, ROOT, requires_root, runtimetest
from runtimetest.driver import matrix

CASES = ["hooks-poststart", "process-args", "cgroups-cpu-burst-idle", "lifecycle-delete-created"]
ARTIFACTS = os.path.join(ROOT, "build", "artifacts")
HOSTILE_NAME = 'evil|<img src=x onerror="alert(1)">-case'
HOSTILE_HOST = "<b>host</b>|x"
WINDOW = (1280, 900)


def chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no chromium: `apt-get install chromium` (the Makefile's APT_PACKAGES has it)")


def suite_report(tmp_path, runtime, *args):
    path = tmp_path / f"{runtime}.json"
    result = subprocess.run([sys.executable, "-m", "runtimetest", "suite", "--runtime", runtime, "-j", "2",
                             "--state-dir", str(tmp_path / "state"), "--json", str(path), *args,
                             FIXTURES, *CASES], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert path.exists(), result.stdout + result.stderr
    return path


def hostile_copy(source, target):
    data = json.loads(source.read_text())
    data["host"] = {"name": HOSTILE_HOST, "kernel": "6", "cgroup": "v2"}
    case = copy.deepcopy(data["cases"][0])
    case.update(name=HOSTILE_NAME, status="fail", reason="a | b <script>alert(2)</script>",
                stderr='x.y: f: expected "<i>", found "|" [MUST config.md#hostname]\n', outside_failures=[])
    data["cases"].append(case)
    target.write_text(json.dumps(data))
    return target


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("real containers need root")
    tmp_path = tmp_path_factory.mktemp("matrix")
    runc = suite_report(tmp_path, "runc", "--no-departures")
    crun = suite_report(tmp_path, "crun")
    return [runc, crun, hostile_copy(crun, tmp_path / "hostile.json")]


def expected_counts(path):
    data = json.loads(path.read_text())
    counts = dict.fromkeys(matrix.KINDS, 0)
    for case in data["cases"]:
        counts[matrix.KIND_OF_STATUS[case["status"]]] += 1
    counts["skip"] += len(data["not_run"])
    return counts


class Page(HTMLParser):
    """What a reader sees on the page: per-column counts, failing cells' lines, every tag."""

    def __init__(self):
        super().__init__()
        self.tags, self.counts, self.failing = [], {}, []
        self._column, self._kind, self._in_fail, self._pre = None, None, False, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "td" and "counts" in (attrs.get("class") or ""):
            self._column = attrs["data-column"]
            self.counts[self._column] = {}
        elif tag == "span" and self._column and attrs.get("data-kind"):
            self._kind = attrs["data-kind"]
        elif tag == "td" and attrs.get("class") == "fail":
            self._in_fail = True
            self.failing.append({"title": attrs.get("title"), "lines": ""})
        elif tag == "pre" and self._in_fail and attrs.get("class") == "lines":
            self._pre = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._column, self._in_fail = None, False
        elif tag == "span":
            self._kind = None
        elif tag == "pre" and self._pre is not None:
            self.failing[-1]["lines"], self._pre = self._pre, None

    def handle_data(self, data):
        if self._kind:
            self.counts[self._column][self._kind] = int(data.split()[0])
        if self._pre is not None:
            self._pre += data


def browser(*args, page, tmp_path):
    result = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                             f"--user-data-dir={tmp_path / 'profile'}", *args, f"file://{page}"],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def rendered(reports, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("page")
    page, markdown = tmp_path / "matrix.html", tmp_path / "matrix.md"
    result = runtimetest("report", "--html", str(page), "--markdown", str(markdown), *map(str, reports))
    assert result.returncode == 0, result.stderr
    dom = browser("--dump-dom", page=page, tmp_path=tmp_path).stdout
    parsed = Page()
    parsed.feed(dom)
    return page, markdown, parsed, tmp_path


def test_counts_on_the_page_match_the_reports(reports, rendered):
    _, _, page, _ = rendered
    columns = [matrix.read_report(str(path))[0].label for path in reports]
    assert list(page.counts) == columns
    for path, label in zip(reports, columns):
        assert page.counts[label] == expected_counts(path), label
    runc, crun = (expected_counts(path) for path in reports[:2])
    assert runc["fail"] >= 1 and runc["pass"] >= 1 and runc["skip"] >= 1, runc
    assert crun["departure"] >= 1, crun


def test_a_failing_cell_shows_its_lines_and_reason(reports, rendered):
    _, _, page, _ = rendered
    runc = json.loads(reports[0].read_text())
    failed = [case for case in runc["cases"] if case["status"] == "fail"]
    assert failed
    for case in failed:
        lines = case["stderr"].splitlines() + case["outside_failures"]
        assert any(cell["lines"] == "\n".join(lines) and cell["title"] == case["reason"]
                   for cell in page.failing), case["name"]


def test_text_from_reports_stays_text_in_the_browser(rendered):
    page_path, markdown, page, _ = rendered
    assert "img" not in page.tags and "script" not in page.tags and "i" not in page.tags
    assert any(cell["title"] == "a | b <script>alert(2)</script>" for cell in page.failing)
    text = page_path.read_text()
    assert "http" not in text.replace(matrix.SPEC_BASE, ""), "the page must load nothing"
    row = next(line for line in markdown.read_text().splitlines() if "evil" in line and "-case" in line)
    assert row.replace("\\|", "").count("|") == 2 + 3, row  # the case and three columns


def test_screenshot_is_kept_as_an_artifact(rendered):
    page, _, _, tmp_path = rendered
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, "matrix.png")
    if os.path.exists(shot):
        os.remove(shot)
    browser(f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page=page, tmp_path=tmp_path)
    with open(shot, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == WINDOW
    assert os.path.getsize(shot) > 20_000, "a screenshot of a table is more than a blank page"


# -- without a browser ---------------------------------------------------------------

def test_area_is_the_directory_else_the_first_word():
    assert matrix.area_of("cgroups/memory-limit") == "cgroups"
    assert matrix.area_of("host-cgroup2/deep/x-y") == "host-cgroup2/deep"
    assert matrix.area_of("process-args") == "process"


def test_sections_are_taken_from_failure_lines_only_when_well_formed():
    cell = matrix.Cell("fail", lines=["a: b [MUST config.md#hostname]", 'c: d [MUST "><x>.md]',
                                      "e: f [SHOULD runtime.md#lifecycle]"])
    assert cell.sections() == ["config.md#hostname", "runtime.md#lifecycle"]


@pytest.mark.parametrize("content, message", [
    ("[1]", "not a JSON object"),
    ('{"runtime": {"name": "runc"}, "cases": {}}', "cases: expected list"),
    ('{"runtime": {"name": "runc"}, "cases": [{"name": "a", "status": "weird"}]}', "cases[0].status"),
    ('{"runtime": {}, "cases": []}', "runtime.name: expected str"),
    ("{", "not JSON"),
])
def test_a_bad_report_is_named_with_its_field(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = runtimetest("report", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr and message in result.stderr, result.stderr


@requires_root
def test_markdown_to_stdout_when_no_file_is_named(reports):
    result = runtimetest("report", "--summary", *map(str, reports[:2]))
    assert result.returncode == 0, result.stderr
    assert "## By area" in result.stdout and "## By case" not in result.stdout


def test_a_report_names_its_host_and_the_column_says_it(reports):
    data = json.loads(reports[0].read_text())
    assert data["host"]["name"] == os.uname().nodename and data["host"]["kernel"] == os.uname().release
    assert data["host"]["cgroup_mode"] in ("v1", "hybrid", "v2")
    assert matrix.read_report(str(reports[0]))[0].label == f"runc on {os.uname().nodename}"
