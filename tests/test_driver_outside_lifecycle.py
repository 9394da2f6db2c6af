"""NAME.lifecycle: the steps a case asks the driver to perform, and their errors."""

import os

import pytest

from conftest import FIXTURES, requires_root, run_suite
from fakes.harness import NOTHING, Fake
from runtimetest.driver.cases.load import BrokenCase, discover
from runtimetest.driver.cases.steps import Step, StepError, parse_steps
from runtimetest.driver.outside.lifecycle import Seen
from runtimetest.driver.outside.registry import Findings
from runtimetest.driver.steps import set_field, unjudged_hierarchies
from runtimetest.checker.hooks import UsageError, parse_await_args


def test_steps_parse_with_their_expectations_and_comments():
    steps = parse_steps("# comment\ncreate\nstate created   # trailing\n\nkill SIGTERM fail\n"
                        "start unknown\nexpect awaiting signals\nwait\ndelete\n")
    assert steps == [
        Step("create", None, False, False, 2), Step("state", "created", False, False, 3),
        Step("kill", "SIGTERM", True, False, 5), Step("start", None, True, True, 6),
        Step("expect", "awaiting signals", False, False, 7), Step("wait", None, False, False, 8),
        Step("delete", None, False, False, 9)]


@pytest.mark.parametrize("text, message", [
    ("", "no steps"),
    ("launch\n", "line 1: unknown step 'launch'"),
    ("create\nstate\n", "line 2: `state` needs the expected status"),
    ("kill\n", "line 1: `kill` needs a signal"),
    ("kill SIGNOPE\n", "line 1: `kill SIGNOPE`: no such signal"),
    ("create unknown\n", "line 1: `create` cannot be aimed at an unknown id"),
    ("wait 3\n", "line 1: `wait` takes nothing"),
    ("expect\n", "line 1: `expect` needs the line to wait for"),
    ("start now\n", "line 1: `start` takes no 'now'"),
])
def test_a_bad_step_is_named_by_its_line(text, message):
    with pytest.raises(StepError) as error:
        parse_steps(text)
    assert str(error.value).startswith(message)


def test_a_bad_lifecycle_file_is_a_broken_case_naming_the_file(tmp_path):
    (tmp_path / "c.json").write_text("{}")
    (tmp_path / "c.lifecycle").write_text("create\nexplode\n")
    (tmp_path / "d.json").write_text("{}")
    (tmp_path / "d.exit").write_text("SIGNOTHING\n")
    (tmp_path / "e.json").write_text("{}")
    (tmp_path / "e.exit").write_text("SIGKILL\n")
    cases = {case.name: case for case in discover(str(tmp_path))}
    assert isinstance(cases["c"], BrokenCase)
    assert cases["c"].reason == f"{tmp_path}/c.lifecycle: line 2: unknown step 'explode' " \
                                "(one of create, start, state, kill, wait, expect, delete, edit-config, " \
                                "kill-process, race, join-cgroup, expect-cgroup, expect-gone, expect-kept)"
    assert isinstance(cases["d"], BrokenCase) and "d.exit: no such signal 'SIGNOTHING'" in cases["d"].reason
    assert (cases["e"].expected_exit, cases["e"].expected_signal) == (None, 9)


def test_the_new_steps_parse_with_their_modes_and_values():
    steps = parse_steps("create noid\nkill noid\nkill TERM noid\nkill USR1 caught\ndelete force\n"
                        "race 2 start\nedit-config process.env [\"A=1\"]\nkill-process KILL\n"
                        "join-cgroup pids\nexpect-cgroup\nexpect-gone mount\nexpect-kept ns\n"
                        "edit-config linux.maskedPaths null\n")
    assert steps == [
        Step("create", None, True, False, 1, "noid"), Step("kill", None, True, False, 2, "noid"),
        Step("kill", "TERM", True, False, 3, "noid"), Step("kill", "USR1", False, False, 4, "caught"),
        Step("delete", None, False, False, 5, "force"), Step("race", "start", False, False, 6, None, 2),
        Step("edit-config", "process.env", False, False, 7, None, ["A=1"]),
        Step("kill-process", "KILL", False, False, 8), Step("join-cgroup", "pids", False, False, 9),
        Step("expect-cgroup", None, False, False, 10), Step("expect-gone", "mount", False, False, 11),
        Step("expect-kept", "ns", False, False, 12), Step("edit-config", "linux.maskedPaths", False, False, 13)]


@pytest.mark.parametrize("text, message", [
    ("wait noid\n", "line 1: `wait` cannot be given without an id"),
    ("start caught\n", "line 1: only `kill SIGNAL caught` is caught"),
    ("kill TERM force\n", "line 1: only `delete force` is forced"),
    ("kill TERM caught fail\n", "line 1: `kill`: caught and fail do not go together"),
    ("delete force unknown\n", "line 1: `delete`: force and unknown do not go together"),
    ("state noid unknown\n", "line 1: `state`: noid and unknown do not go together"),
    ("kill NOPE caught\n", "line 1: `kill NOPE`: no such signal"),
    ("race start\n", "line 1: `race` needs a count of 2 or more and an operation (start, delete)"),
    ("race 1 start\n", "line 1: `race` needs a count of 2 or more"),
    ("race 2 kill\n", "line 1: `race` needs a count of 2 or more and an operation (start, delete)"),
    ("edit-config hostname\n", "line 1: `edit-config` needs a field and a JSON value"),
    ("edit-config hostname edited\n", "line 1: `edit-config hostname`: not a JSON value: 'edited'"),
    ("edit-config process..env []\n", "line 1: `edit-config process..env`: not a dotted field name"),
    ("kill-process\n", "line 1: `kill-process` needs a signal"),
    ("kill-process SIGNOPE\n", "line 1: `kill-process SIGNOPE`: no such signal"),
    ("join-cgroup\n", "line 1: `join-cgroup` needs a controller"),
    ("expect-cgroup now\n", "line 1: `expect-cgroup` takes no 'now'"),
    ("expect-gone\n", "line 1: `expect-gone` needs what: cgroup, mount, ns"),
    ("expect-gone files\n", "line 1: `expect-gone` needs what: cgroup, mount, ns"),
    ("expect-kept mount\n", "line 1: `expect-kept` needs what: cgroup, ns"),
])
def test_a_malformed_new_step_is_named_by_its_line(text, message):
    with pytest.raises(StepError) as error:
        parse_steps("create\n" + text)
    assert str(error.value).startswith(message.replace("line 1", "line 2"))


def test_a_malformed_new_step_is_a_broken_case_naming_the_file_and_line(tmp_path):
    (tmp_path / "c.json").write_text("{}")
    (tmp_path / "c.lifecycle").write_text("create\n# fine so far\nrace 2 kill\n")
    case = {case.name: case for case in discover(str(tmp_path))}["c"]
    assert isinstance(case, BrokenCase)
    assert case.reason.startswith(f"{tmp_path}/c.lifecycle: line 3: `race` needs a count")


def test_edit_config_sets_and_deletes_dotted_fields():
    config = {"process": {"env": ["A=1"]}, "hostname": "h"}
    set_field(config, "process.env", ["B=2"])
    set_field(config, "linux.sysctl", {"x": "1"})
    set_field(config, "hostname", None)
    assert config == {"process": {"env": ["B=2"]}, "linux": {"sysctl": {"x": "1"}}}


# -- the new cases against runc, through the driver ------------------------------------------------

NEW_CASES = ("lifecycle-no-id", "lifecycle-signals", "lifecycle-killed-outside", "lifecycle-delete-force",
             "lifecycle-race", "lifecycle-config-edit", "lifecycle-cgroups-relative", "lifecycle-delete-resources",
             "lifecycle-delete-only-created", "lifecycle-unknown-properties", "lifecycle-invalid-rlimit",
             "lifecycle-invalid-namespace")
NEGATIVE_CASES = {
    "lifecycle-signals-negative": ["lifecycle.kill: kill: expected \"the container process reports received "
                                   "SIGURG\", found \"no report in 5s\""],
    "lifecycle-state-annotations-negative": ["lifecycle.state: state.annotations: expected "
                                             "{\"org.runtimetest.edited\": \"after\"}, found "
                                             "{\"org.runtimetest.edited\": \"before\"}"],
    "lifecycle-race-negative": ["lifecycle.race: delete: expected \"1 of 2 to succeed\", found \"0 succeeded\""],
    "lifecycle-config-edit-negative": [],  # the checker's own line: hostname
    "lifecycle-cgroups-relative-negative": ["lifecycle.cgroups-path: linux.cgroupsPath: expected "],
    "lifecycle-delete-resources-negative": ["lifecycle.resources: namespace net:[",
                                            "lifecycle.resources: namespace pid:["],
    "lifecycle-delete-resources-cgroup-negative": ["lifecycle.resources: cgroup: expected \"released\", found "
                                                   "\"/sys/fs/cgroup/"],
}


@pytest.fixture(scope="module")
def new_cases_report(checker_binary, tmp_path_factory):
    names = [*NEW_CASES, *NEGATIVE_CASES, "lifecycle-invalid-version"]
    tmp = tmp_path_factory.mktemp("lifecycle")
    selected = [word for name in names for word in ("-k", name)]
    return run_suite(FIXTURES, tmp, "-j", "2", "--state-dir", str(tmp / "state"), *selected)


@requires_root
@pytest.mark.parametrize("name", NEW_CASES)
def test_a_new_lifecycle_case_passes_against_runc(new_cases_report, name):
    case = new_cases_report["by_name"][name]
    assert case["status"] == "pass", "\n".join(case["details"] or [case["reason"]])


@requires_root
@pytest.mark.parametrize("name", sorted(NEGATIVE_CASES))
def test_a_new_negative_case_fails_for_its_reason(new_cases_report, name):
    case = new_cases_report["by_name"][name]
    assert case["status"] == "pass", "\n".join(case["details"] or [case["reason"]])
    for start in NEGATIVE_CASES[name]:
        assert any(line.startswith(start) for line in case["outside_failures"]), case["outside_failures"]
    if name == "lifecycle-config-edit-negative":
        assert case["outside_failures"] == []  # judged inside: the checker saw the hostname as created


@requires_root
def test_runc_accepting_an_invalid_oci_version_is_its_recorded_departure(new_cases_report):
    case = new_cases_report["by_name"]["lifecycle-invalid-version"]
    assert case["status"] == "departure", case
    assert "opencontainers/runc#1846" in case["reason"]


@requires_root
def test_the_runtime_cgroups_the_driver_made_are_gone(new_cases_report):
    ids = [case["container_id"] for case in new_cases_report["cases"]]
    left = [path for path in os.listdir("/sys/fs/cgroup/pids/runtimetest")
            if any(path.startswith(cid) for cid in ids)] if os.path.isdir("/sys/fs/cgroup/pids/runtimetest") else []
    assert left == []


def test_await_signal_takes_every_and_a_number_of_seconds():
    assert parse_await_args([]) == (False, 3600.0)
    assert parse_await_args(["--every", "5"]) == (True, 5.0)
    assert parse_await_args(["5", "--every"]) == (True, 5.0)
    for bad in (["soon"], ["5", "6"], ["--every", "x"]):
        with pytest.raises(UsageError):
            parse_await_args(bad)


# -- faults only a fake runtime makes ------------------------------------------------------------

@pytest.fixture
def fake(tmp_path):
    made = Fake(tmp_path)
    yield made
    made.clean()


@requires_root
def test_a_runtime_that_accepts_operations_without_an_id_fails_their_checks(fake):
    fake.case("noid", lifecycle=["create", "start noid", "state noid", "kill noid", "delete noid",
                                 "kill KILL", "delete"], args=["/runtimetest", "--sleep", "30"], exit="SIGKILL")
    fake.run(faults=["no-id-ok"])
    results, _ = fake.results()
    case = results["noid"]
    assert case["status"] == "fail", case
    assert case["outside_failures"] == [
        f'lifecycle.{op}: {op}: expected "an error", found "success" (step {line} `{op} noid`: '
        f'no container id given) [MUST runtime.md#{op}]'
        for line, op in ((2, "start"), (3, "state"), (4, "kill"), (5, "delete"))]
    assert fake.leftovers() == NOTHING


@requires_root
def test_a_runtime_whose_two_starts_both_succeed_fails_the_race(fake):
    fake.case("race", lifecycle=["create", "race 2 start", "kill KILL", "delete"],
              args=["/runtimetest", "--sleep", "30"], exit="SIGKILL")
    fake.run(faults=["start-twice"])
    results, _ = fake.results()
    case = results["race"]
    assert case["status"] == "fail", case
    assert case["outside_failures"] == ['lifecycle.race: start: expected "1 of 2 to succeed", found "2 succeeded" '
                                        '(step 2 `race 2 start`) [MUST runtime.md#operations]']
    assert fake.leftovers() == NOTHING


# -- lifecycle.cgroups-path on layouts this host does not have -------------------------------------

def placement_failures(found, wanted="rel", runtime="/rt/x-runtime"):
    findings = Findings()
    findings.run("lifecycle.cgroups-path", Seen(Step("expect-cgroup", None, False, False, 4), None, wanted=wanted,
                                                found=found, runtime_cgroups={key: runtime for key in found},
                                                unmanaged=unjudged_hierarchies(found)))
    return findings.lines


def test_a_relative_path_is_judged_below_the_runtime_cgroup_in_every_v1_controller():
    placed = {"cpu,cpuacct": "/rt/x-runtime/rel", "memory": "/rt/x-runtime/rel", "name=systemd": "/elsewhere",
              "": "/"}
    assert placement_failures(placed) == []  # name=systemd and a hybrid host's cgroup2 are not judged
    assert placement_failures({**placed, "memory": "/rel"}) == [
        'lifecycle.cgroups-path: linux.cgroupsPath: expected "/rt/x-runtime/rel", found "/rel" '
        "(the memory hierarchy, step 4 `expect-cgroup`) [MAY config-linux.md#cgroups-path]"]


def test_on_cgroup_v2_the_runtime_cgroup_or_its_parent_is_the_place():
    assert placement_failures({"": "/rt/x-runtime/rel"}) == []
    assert placement_failures({"": "/rt/rel"}) == []  # runc: its own cgroup has processes, so its parent
    assert len(placement_failures({"": "/rel"})) == 1


def test_an_absolute_path_is_judged_below_the_root():
    assert placement_failures({"pids": "/abs/path"}, wanted="/abs/path") == []
    assert len(placement_failures({"pids": "/rt/x-runtime/abs/path"}, wanted="/abs/path")) == 1


def test_the_host_views_of_cgroup_hierarchies_and_mounts_are_read_from_their_tables(tmp_path):
    from runtimetest.driver import resources

    mounts = tmp_path / "mounts"
    mounts.write_text("cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid 0 0\n"
                      "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0\n"
                      "cgroup /sys/fs/cgroup/systemd cgroup rw,xattr,name=systemd 0 0\n"
                      "proc /proc proc rw 0 0\n")
    assert resources.hierarchies(str(mounts)) == {"": "/sys/fs/cgroup/unified",
                                                  "cpu,cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
                                                  "name=systemd": "/sys/fs/cgroup/systemd"}
    info = tmp_path / "mountinfo"
    info.write_text("30 1 0:5 / /run/bundle\\040x/rootfs rw - overlay overlay rw\n"
                    "31 1 0:4 net:[4026532000] /run/netns/a rw - nsfs nsfs rw\n"
                    "32 1 0:6 / /proc rw - proc proc rw\n")
    assert resources.mounts_naming(["/run/bundle x"], str(info)) == ["/run/bundle x/rootfs"]
    assert resources.mounts_naming(["rtt-none"], str(info)) == []
    assert resources.nsfs_mounts("net:[4026532000]", str(info)) == ["/run/netns/a"]


def test_join_cgroup_on_a_pure_v2_host_makes_the_unified_cgroup(tmp_path):
    """`join-cgroup pids` where no v1 hierarchy has pids: the unified one holds every controller
    (on the v2 VM the step made nothing and the container was killed)."""
    from runtimetest.driver.resources import MadeCgroup

    unified, pids_v1 = tmp_path / "unified", tmp_path / "pids"
    unified.mkdir()
    pids_v1.mkdir()
    mounts = tmp_path / "mounts"
    mounts.write_text(f"cgroup2 {unified} cgroup2 rw,nosuid 0 0\n")
    made = MadeCgroup("runtimetest/joined", only="pids", mounts=str(mounts))
    assert list(made.places) == [""] and made.places[""] == str(unified / "runtimetest" / "joined")
    mounts.write_text(f"cgroup2 {unified} cgroup2 rw 0 0\ncgroup {pids_v1} cgroup rw,nosuid,pids 0 0\n")
    hybrid = MadeCgroup("runtimetest/joined2", only="pids", mounts=str(mounts))
    assert list(hybrid.places) == ["pids"]


def test_a_cgroup_made_below_the_cgroup2_root_needs_no_cpuset_copied(tmp_path):
    """The v2 root has no cpuset.cpus: a child's empty one is inherited, not copied (the VM's -k runs)."""
    from runtimetest.driver.resources import _inherit_cpuset

    child = tmp_path / "runtimetest"
    child.mkdir()
    (child / "cpuset.cpus").write_text("\n")
    (child / "cpuset.mems").write_text("\n")
    _inherit_cpuset(str(tmp_path), str(child))
    assert (child / "cpuset.cpus").read_text() == "\n"


@requires_root
def test_a_process_in_a_mount_namespace_of_a_reused_number_but_another_root_is_no_holder(tmp_path):
    """The kernel reuses a released namespace's number; another container's mount namespace that got it
    has another / (its own bundle), and is not the released one."""
    from runtimetest.driver import resources

    mine = resources.namespaces("self")["mnt"]
    here = resources.root_of("self")
    assert f"process {os.getpid()}" in resources.holders(mine, root=here)
    assert f"process {os.getpid()}" not in resources.holders(mine, root=("/elsewhere/rootfs", "/dev/other"))
    assert f"process {os.getpid()}" in resources.holders(mine)  # without a root, the number alone decides
