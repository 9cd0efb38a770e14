"""A hostile vhost-user frontend: raw messages (header: request, flags,
size; then the payload), with descriptors passed as SCM_RIGHTS, for tests
that feed vrelayd what QEMU never sends."""

import array
import os
import socket
import struct

VERSION = 0x1
GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER = 1, 2, 3, 4
SET_MEM_TABLE, SET_LOG_BASE, SET_LOG_FD = 5, 6, 7
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM = 15, 16, 17
SET_VRING_ENABLE, SEND_RARP, NET_SET_MTU, SET_SLAVE_REQ_FD, IOTLB_MSG = 18, 19, 20, 21, 22
GET_CONFIG, SET_CONFIG = 24, 25
GET_INFLIGHT_FD, SET_INFLIGHT_FD = 31, 32
NOFD = 1 << 8  # in a vring descriptor message's u64: no descriptor attached


def header(req, size, flags=VERSION):
    return struct.pack("<III", req, flags, size)


def msg(req, payload=b"", flags=VERSION):
    return header(req, len(payload), flags) + payload


def u64(v):
    return struct.pack("<Q", v & (2**64 - 1))


def state(index, num):
    return struct.pack("<II", index, num)


def vring_addr(index, desc, used, avail, flags=0, log=0):
    return struct.pack("<IIQQQQ", index, flags, desc, used, avail, log)


def mem_table(regions, nregions=None):
    """regions: (guest phys addr, size, user addr, mmap offset) tuples."""
    body = struct.pack("<II", len(regions) if nregions is None else nregions, 0)
    for r in regions:
        body += struct.pack("<QQQQ", *[v & (2**64 - 1) for v in r])
    return body


class Frontend:
    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)

    def send(self, data, fds=()):
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        try:
            self.s.sendmsg([data], anc)
            return True
        except OSError:
            return False  # vrelayd (lib/vhost) already closed the connection

    def close(self):
        self.s.close()


def memfd(size):
    fd = os.memfd_create("vrt-guest-mem")
    os.ftruncate(fd, size)
    return fd
