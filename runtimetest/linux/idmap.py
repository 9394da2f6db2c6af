"""User namespace id maps: /proc/PID/uid_map and gid_map (user_namespaces(7)).

Each line is a range: the first id inside the namespace, the first id in the
parent namespace, and the size. Standard library only.
"""

UID_MAP, GID_MAP = "/proc/self/uid_map", "/proc/self/gid_map"
MAPS = {"uid": UID_MAP, "gid": GID_MAP}


def parse_id_map(text):
    """The ranges of a uid_map or gid_map text: [inside, outside, size], sorted."""
    return sorted([int(field) for field in line.split()] for line in text.splitlines() if line.strip())


def read_id_map(path):
    with open(path) as handle:
        return parse_id_map(handle.read())


def inside_id(mapping, outside):
    """The id inside this user namespace for an id of its parent's, or None when not mapped."""
    for first, parent_first, size in mapping:
        if parent_first <= outside < parent_first + size:
            return first + outside - parent_first
    return None
