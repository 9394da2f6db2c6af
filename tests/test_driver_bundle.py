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


def test_a_bundle_for_a_remapped_root_is_reachable_and_its_rootfs_is_that_roots(tmp_path):
    import os
    import stat

    from runtimetest.driver.bundle import host_ids_of_root, write_bundle

    userns = {"namespaces": [{"type": "user"}],
              "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
              "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}]}
    assert host_ids_of_root({"linux": userns}) == (100000, 200000)
    assert host_ids_of_root({"linux": dict(userns, namespaces=[])}) is None
    identity = [{"containerID": 0, "hostID": 0, "size": 65536}]
    assert host_ids_of_root({"linux": dict(userns, uidMappings=identity, gidMappings=identity)}) is None
    checker = tmp_path / "checker"
    checker.write_text("")
    for config, mode, owner in (({"linux": userns}, 0o711, (100000, 200000)), ({}, 0o700, (0, 0))):
        bundle = write_bundle(config, config, str(checker), parent=str(tmp_path))
        try:
            assert stat.S_IMODE(os.stat(bundle.path).st_mode) == mode
            info = os.stat(bundle.rootfs)
            assert (info.st_uid, info.st_gid) == owner
        finally:
            bundle.remove()
