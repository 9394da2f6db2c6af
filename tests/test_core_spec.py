import pytest

from runtimetest.core.spec import Spec, SpecFieldError, load


def test_getters_return_typed_values_and_none_when_absent():
    spec = Spec({"process": {"user": {"uid": 5}, "args": ["a"], "terminal": False}})
    assert spec.int("process.user.uid") == 5
    assert spec.strings("process.args") == ["a"]
    assert spec.bool("process.terminal") is False
    assert spec.int("process.user.gid") is None
    assert spec.str("hostname", "dflt") == "dflt"


@pytest.mark.parametrize("data,getter,field,message", [
    ({"process": {"user": {"uid": "0"}}}, "int", "process.user.uid", 'should be an integer, found "0"'),
    ({"process": {"user": {"uid": True}}}, "int", "process.user.uid", "should be an integer, found true"),
    ({"hostname": 3}, "str", "hostname", "should be a string, found 3"),
    ({"process": "x"}, "int", "process.user.uid", 'process: spec field should be an object, found "x"'),
])
def test_wrong_types_name_the_field(data, getter, field, message):
    with pytest.raises(SpecFieldError) as raised:
        getattr(Spec(data), getter)(field)
    assert message in str(raised.value)


def test_array_elements_are_checked_and_named():
    with pytest.raises(SpecFieldError, match=r"process\.args\[1\]: spec field should be a string"):
        Spec({"process": {"args": ["a", 2]}}).strings("process.args")


def test_items_know_their_path():
    views = list(Spec({"process": {"rlimits": [{"type": "RLIMIT_CORE", "soft": "x"}]}}).items("process.rlimits"))
    with pytest.raises(SpecFieldError, match=r"process\.rlimits\[0\]\.soft"):
        views[0].int("soft")


def test_load_reports_problems_instead_of_raising(tmp_path):
    assert "cannot read" in load(str(tmp_path / "missing.json")).load_problem
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert "is not JSON" in load(str(bad)).load_problem
    array = tmp_path / "array.json"
    array.write_text("[]")
    assert "should hold a JSON object, found list" in load(str(array)).load_problem
    good = tmp_path / "good.json"
    good.write_text('{"hostname": "h"}')
    spec = load(str(good))
    assert spec.load_problem is None and spec.str("hostname") == "h"
