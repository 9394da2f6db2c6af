"""--cache DIR and --bless with the fake runtime: a known result is not run again; a blessed case passes next time."""

import pytest

from conftest import requires_root
from fakes.harness import NOTHING, Fake

pytestmark = requires_root
LINE = 'process.args: process.args: expected ["a"], found ["b"] [MUST config.md#process]'


@pytest.fixture
def fake(tmp_path):
    made = Fake(tmp_path)
    yield made
    made.clean()


def statuses(fake):
    results, _ = fake.results()
    return {name: case["status"] for name, case in results.items()}


def test_a_second_run_with_the_cache_runs_nothing_and_reports_the_same(fake, tmp_path):
    fake.case("passes", out="TAP version 13\n1..0\n")
    fake.case("fails", args=["/runtimetest", "--exit", "3"])
    cache = ["--cache", str(tmp_path / "cache")]
    first = fake.run(*cache)
    first_statuses, bundles = statuses(fake), fake._lines("bundles")
    assert first_statuses == {"passes": "pass", "fails": "fail"} and len(bundles) == 2
    assert "cached" not in first.stdout

    second = fake.run(*cache)
    assert statuses(fake) == first_statuses
    assert fake._lines("bundles") == bundles  # no container was made
    assert second.stdout.splitlines()[-1] == first.stdout.splitlines()[-1] == "1 passed, 1 failed, 0 skipped"
    assert second.returncode == first.returncode == 1
    assert sum(" (cached)" in line for line in second.stdout.splitlines()) == 2
    assert "2 case(s) cached: not run again" in second.stdout
    results, _ = fake.results()
    assert "expected 0, found exit 3" in results["fails"]["reason"]
    assert fake.leftovers() == NOTHING


def test_changing_a_case_file_runs_that_case_again(fake, tmp_path):
    fake.case("one", out="TAP version 13\n1..0\n")
    fake.case("two", out="TAP version 13\n1..0\n")
    cache = ["--cache", str(tmp_path / "cache")]
    fake.run(*cache)
    (fake.cases / "two.desc").write_text("now described\n")
    again = fake.run(*cache)
    lines = again.stdout.splitlines()
    assert any("PASS" in line and " one " in line + " " and "(cached)" in line for line in lines)
    assert any("PASS" in line and " two " in line + " " and "(cached)" not in line for line in lines)
    assert "1 case(s) cached" in again.stdout


def test_without_cache_nothing_is_cached(fake, tmp_path):
    fake.case("passes", out="TAP version 13\n1..0\n")
    fake.run()
    second = fake.run()
    assert "cached" not in second.stdout and len(fake._lines("bundles")) == 2


def test_bless_writes_the_golden_files_and_the_next_run_passes(fake):
    fake.case("says", args=["/runtimetest", "--say", LINE], out="old stdout\n")
    fake.case("quiet", err="a line that never comes [MUST x#y]\n")
    blessed = fake.run("--bless")
    assert blessed.returncode == 1  # the run itself failed; the files are now rewritten
    assert (fake.cases / "says.err").read_text() == LINE + "\n"
    assert (fake.cases / "says.out").read_text() == "TAP version 13\n1..0\n"
    assert not (fake.cases / "quiet.err").exists()  # no line: no NAME.err
    assert f"+++ {fake.cases / 'says.err'}" in blessed.stdout and f"+{LINE}" in blessed.stdout
    assert "-old stdout" in blessed.stdout
    assert "bless: 2 case(s) rewritten, 0 refused" in blessed.stdout
    assert f"-a line that never comes [MUST x#y]" in blessed.stdout
    after = fake.run()
    assert after.returncode == 0 and statuses(fake) == {"says": "pass", "quiet": "pass"}, after.stdout


def test_bless_keeps_a_pattern_that_still_matches(fake):
    fake.case("says", args=["/runtimetest", "--say", LINE, "--say", "new: x: y [MUST a#b]"],
              err="re:process\\.args: .*\n")
    fake.run("--bless")
    assert (fake.cases / "says.err").read_text() == "re:process\\.args: .*\nnew: x: y [MUST a#b]\n"


def test_bless_refuses_a_case_that_errored_or_timed_out(fake):
    fake.case("slow", args=["/runtimetest", "--say", LINE, "--sleep", "30"], timeout="1")
    run = fake.run("--bless")
    assert "bless: slow: refused: its run timed out" in run.stdout
    assert not (fake.cases / "slow.err").exists()


def test_a_cache_directory_that_cannot_be_made_is_a_usage_error_naming_it(fake, tmp_path):
    fake.case("passes", out="TAP version 13\n1..0\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    run = fake.run("--cache", str(blocker / "cache"))
    assert run.returncode == 2 and f"--cache {blocker / 'cache'}: Not a directory" in run.stderr
    assert fake.leftovers() == NOTHING
