"""The network devices and addresses of this process's network namespace, by rtnetlink.

Two dump requests (RTM_GETLINK, RTM_GETADDR) on a NETLINK_ROUTE socket, parsed
with `struct`: the standard library is enough, and the static checker stays
free of a netlink library's import cost (pyroute2 0.9 imports asyncio, ssl and
sqlite3 at start). Only the checker (linux.netDevices) reads devices this way;
the driver, on the host, uses pyroute2 (driver/hostfacts.py).
"""

import socket
import struct

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR, RTM_GETADDR = 16, 18, 20, 22
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFLA_IFNAME = 3
IFA_ADDRESS, IFA_LOCAL = 1, 2

HEADER = struct.Struct("=IHHII")  # struct nlmsghdr
IFINFOMSG = struct.Struct("=BxHiII")  # struct ifinfomsg
IFADDRMSG = struct.Struct("=BBBBI")  # struct ifaddrmsg
RTATTR = struct.Struct("=HH")  # struct rtattr


def _align(length):
    return (length + 3) & ~3


def _attributes(data, offset):
    """The rtattrs of a message body from `offset`, as {type: payload} (first wins)."""
    found = {}
    while offset + RTATTR.size <= len(data):
        length, kind = RTATTR.unpack_from(data, offset)
        if length < RTATTR.size:
            break
        found.setdefault(kind, data[offset + RTATTR.size:offset + length])
        offset += _align(length)
    return found


def dump(request_type, body, reply_type, timeout=5.0):
    """The bodies of every reply of one dump request."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE) as sock:
        sock.settimeout(timeout)
        sock.bind((0, 0))
        sock.send(HEADER.pack(HEADER.size + len(body), request_type, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
        replies = []
        while True:
            data = sock.recv(1 << 16)
            offset = 0
            while offset + HEADER.size <= len(data):
                length, kind, _, _, _ = HEADER.unpack_from(data, offset)
                if length < HEADER.size:
                    raise OSError("netlink: malformed reply")
                if kind == NLMSG_DONE:
                    return replies
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", data, offset + HEADER.size)[0]
                    raise OSError(code, f"netlink dump refused: {code}")
                if kind == reply_type:
                    replies.append(data[offset + HEADER.size:offset + length])
                offset += _align(length)


def links():
    """{index: name} of every network device."""
    names = {}
    for body in dump(RTM_GETLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0), RTM_NEWLINK):
        _, _, index, _, _ = IFINFOMSG.unpack_from(body)
        name = _attributes(body, IFINFOMSG.size).get(IFLA_IFNAME, b"")
        names[index] = name.rstrip(b"\0").decode("utf-8", "replace")
    return names


def addresses():
    """[(device index, "address/prefixlen")] of every address."""
    found = []
    for body in dump(RTM_GETADDR, IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0), RTM_NEWADDR):
        family, prefixlen, _, _, index = IFADDRMSG.unpack_from(body)
        attrs = _attributes(body, IFADDRMSG.size)
        raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
        if raw is not None and family in (socket.AF_INET, socket.AF_INET6):
            found.append((index, f"{socket.inet_ntop(family, raw)}/{prefixlen}"))
    return found


def devices():
    """{name: set of "address/prefixlen"} of every network device."""
    names = links()
    table = {name: set() for name in names.values()}
    for index, address in addresses():
        if index in names:
            table[names[index]].add(address)
    return table

