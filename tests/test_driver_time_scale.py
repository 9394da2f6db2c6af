"""suite --time-scale: a slow (emulated) machine's factor, for the driver's bounds and the checker's probes."""

from conftest import FIXTURES, runtimetest
from runtimetest.driver import hostfacts


def test_the_scale_reaches_the_checker_as_an_annotation_only_when_not_1():
    spec = {"ociVersion": "1.0.2"}
    assert hostfacts.annotate(spec, spec, "/bundle", time_scale=4)["annotations"]["org.runtimetest.time-scale"] == "4"
    assert "org.runtimetest.time-scale" not in hostfacts.annotate(spec, spec, "/bundle")["annotations"]


def test_a_scale_below_1_is_refused():
    run = runtimetest("suite", "--time-scale", "0.5", FIXTURES, "uts-hostname")
    assert run.returncode == 2 and "--time-scale 0.5: must be 1 or more" in run.stderr
