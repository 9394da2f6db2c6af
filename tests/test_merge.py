import pytest

from runtimetest.driver.bundle import MergeError, merge


def test_objects_merge_and_scalars_replace():
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_null_deletes_and_arrays_replace():
    assert merge({"a": 1, "l": [1, 2]}, {"a": None, "l": [3]}) == {"l": [3]}


def test_plus_key_appends_to_an_array():
    assert merge({"mounts": [1]}, {"mounts+": [2, 3]}) == {"mounts": [1, 2, 3]}
    assert merge({}, {"mounts+": [2]}) == {"mounts": [2]}


def test_plus_key_errors_name_the_field():
    with pytest.raises(MergeError, match=r"linux\.x\+: appends to linux\.x, which is not an array"):
        merge({"linux": {"x": 1}}, {"linux": {"x+": [1]}})
    with pytest.raises(MergeError, match=r"mounts\+: an appended value should be an array"):
        merge({}, {"mounts+": {}})


def test_base_is_not_modified():
    base = {"a": {"b": [1]}}
    merge(base, {"a": {"b+": [2]}})
    assert base == {"a": {"b": [1]}}
