#!/usr/bin/python3
"""Write the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/.

Request seeds are serialized protobuf messages (proto/virtioforwarder.proto,
compiled with protoc --python_out into a temporary directory; needs Debian's
python3-protobuf and protoc). Config seeds are text files. Valid requests and
configs plus edge cases just inside and just outside each limit, so the
fuzzer starts from every branch of the decoders. Re-running rewrites the
named seeds (files merged in by run.py --update-corpus are kept)."""

import importlib
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def load_pb2():
    tmp = tempfile.mkdtemp(prefix="vrelay-pb2-")
    subprocess.run(["protoc", "--python_out=" + tmp,
                    "--proto_path=" + os.path.join(ROOT, "proto"), "virtioforwarder.proto"],
                   check=True)
    sys.path.insert(0, tmp)
    try:
        return importlib.import_module("virtioforwarder_pb2"), tmp
    finally:
        sys.path.pop(0)


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pci(msg, dom, bus, slot, fn):
    a = msg.pci_addrs.add()
    a.domain, a.bus, a.slot, a.function = dom, bus, slot, fn


def port_requests(pb):
    P = pb.PortControlRequest
    seeds = {}

    def req(seed, op, **kw):
        m = P(op=op)
        for addr in kw.pop("pci", []):
            pci(m, *addr)
        for k, v in kw.items():
            setattr(m, k, v)
        seeds[seed] = m.SerializeToString()

    req("add_pci", P.ADD, pci=[(0, 5, 8, 1)], virtio_id=1)
    req("add_pci_unconditional", P.ADD, pci=[(0, 5, 8, 2)], virtio_id=2, conditional=False)
    req("add_id63", P.ADD, pci=[(0xffff, 0xff, 0x1f, 7)], virtio_id=63)
    req("add_bond2", P.ADD, pci=[(0, 5, 8, 1), (0, 5, 8, 2)], name="net_bonding0",
        mode=4, virtio_id=3)
    req("add_bond8", P.ADD, pci=[(0, 5, 8, i) for i in range(8)], name="net_bonding_vm7",
        mode=6, virtio_id=7)
    req("add_devargs", P.ADD, name="net_memif0,role=server,socket=/run/vrelay/memif0.sock",
        virtio_id=4)
    req("add_name_pci", P.ADD, name="05:08.3", virtio_id=5)
    req("add_sock_pci", P.ADD_SOCK, pci=[(0, 5, 8, 4)],
        vhost_path="/run/vrelay/virtio-forwarder8.sock")
    req("add_sock_bond", P.ADD_SOCK, pci=[(0, 6, 0, 0), (0, 6, 0, 1)], name="net_bonding1",
        vhost_path="/run/vrelay/bond1.sock", virtio_id=9)
    req("add_sock_devargs", P.ADD_SOCK, name="net_tap0,iface=vr0",
        vhost_path="/run/vrelay/tap0.sock")
    req("remove_id", P.REMOVE, virtio_id=3)
    req("remove_pci", P.REMOVE, pci=[(0, 5, 8, 1)], virtio_id=1, conditional=True)
    req("remove_sock_path", P.REMOVE_SOCK, vhost_path="/run/vrelay/virtio-forwarder8.sock")
    req("remove_sock_pci", P.REMOVE_SOCK, pci=[(0, 5, 8, 4)])
    req("query_pci", P.QUERY_PCI, pci=[(0, 5, 8, 1)], vhost_path="/run/vrelay/vm1.sock")
    # edge cases: each refused by one check
    req("bad_id64", P.ADD, pci=[(0, 5, 8, 1)], virtio_id=64)
    req("bad_bond9", P.ADD, pci=[(0, 5, 8, i % 8) for i in range(9)], name="net_bonding0",
        virtio_id=1)
    req("bad_bond_dup", P.ADD, pci=[(0, 5, 8, 1), (0, 5, 8, 1)], name="net_bonding0",
        virtio_id=1)
    req("bad_bond_mode7", P.ADD, pci=[(0, 5, 8, 1), (0, 5, 8, 2)], name="net_bonding0",
        mode=7, virtio_id=1)
    req("bad_function8", P.ADD, pci=[(0, 5, 8, 8)], virtio_id=1)
    req("bad_relative_path", P.ADD_SOCK, pci=[(0, 5, 8, 1)], vhost_path="relative.sock")
    req("long_path", P.ADD_SOCK, pci=[(0, 5, 8, 1)], vhost_path="/" + "p" * 106)
    req("long_devargs", P.ADD, name="net_null0," + "x" * 1013, virtio_id=1)
    seeds["bad_op5"] = b"\x08\x05"
    seeds["missing_op"] = b"\x18\x01"
    return seeds


def stats_requests(pb):
    S = pb.StatsRequest
    seeds = {
        "all": S().SerializeToString(),
        "relays": S(relay=[0, 1, 2]).SerializeToString(),
        "relay63_inactive_off": S(relay=[63], include_inactive=False).SerializeToString(),
        "delay": S(relay=[1, 5], delay=1000).SerializeToString(),
        "delay_max": S(delay=60000, include_inactive=True).SerializeToString(),
        "all64": S(relay=list(range(64))).SerializeToString(),
        "bad_delay": S(delay=60001).SerializeToString(),
        "bad_relay64": S(relay=[64]).SerializeToString(),
        "bad_65_relays": S(relay=[i % 64 for i in range(65)]).SerializeToString(),
        # the same ids unpacked (field 1 as plain varints): protobuf accepts both
        "unpacked": b"\x08\x01\x08\x02\x10\x00",
    }
    return seeds


def sched_requests(pb):
    C = pb.CoreSchedRequest
    seeds = {}

    def upd(name, entries, op=C.UPDATE):
        m = C(op=op)
        for rid, vf2virtio, virtio2vf in entries:
            e = m.relay_cpu_map.add()
            e.relay_number, e.vf2virtio_cpu, e.virtio2vf_cpu = rid, vf2virtio, virtio2vf
        seeds[name] = m.SerializeToString()

    upd("get_eal_cores", [], op=C.GET_EAL_CORES)
    upd("update_one", [(0, 1, 2)])
    upd("update_three", [(0, 1, 2), (1, 2, 1), (5, 3, 3)])
    upd("update_leave", [(2, -1, 4), (3, 4, -1)])
    upd("update_max", [(63, 125, 125)])
    upd("update_64", [(i, i % 4, (i + 1) % 4) for i in range(64)])
    upd("bad_empty", [])
    upd("bad_dup", [(1, 1, 1), (1, 2, 2)])
    upd("bad_cpu126", [(1, 126, 1)])
    upd("bad_cpu_minus2", [(1, -2, 1)])
    upd("bad_relay64", [(64, 1, 1)])
    upd("bad_relay_negative", [(-1, 1, 1)])
    seeds["config_request"] = pb.ConfigRequest().SerializeToString()
    seeds["bad_op2"] = b"\x08\x02"
    return seeds


CONFIGS = {
    "full": """# vrelay test configuration

[daemon]
workers = 2-3,5
socket-dir = /tmp/vr-sockets   # trailing comment
log-level = debug
  mtu=9000
mode = client
queues = 4

[relay 0]
device = 0000:03:00.0

[ relay 5 ]
device = net_memif0,role=server,socket=/run/memif.sock
socket = /run/vrelay/vm5.sock
mode = server
queues = 2
mtu = 1500
mrgbuf = no
cpu = 3,5
""",
    "daemon_keys": """[daemon]
workers = 0x6
main-cpu = 0
file-prefix = vr-test
socket-owner = qemu
socket-group = kvm
socket-mode = 0600
retry-us = 250
log-level = 4
mrgbuf = off
huge-dir = /dev/hugepages
pid-file = /run/vrelay/vrelayd.pid
vfio-vf-token = 14d63f20-8445-11ea-8900-1f9ce7d5650d
""",
    "control": """[daemon]
workers = 1,2
control-dir = /run/vrelay
control-owner = root
control-group = nova
control-mode = 0660
zmq-port-control = ipc:///run/vrelay/port_control
zmq-stats = tcp://127.0.0.1:5555
zmq-config = off
zmq-core-sched = ipc:///run/vrelay/core_sched
curve-secret-key = /etc/vrelay/server.key
curve-client-keys = /etc/vrelay/clients
ovsdb = /run/openvswitch/db.sock
watch-file = /run/vrelay/commands
dynamic-sockets = yes
socket-pattern = vm%u.sock
""",
    "bond": """[daemon]
workers = 1-4

[relay 3]
device = net_bonding0
member = 0000:05:08.1
member = 05:08.2
bond-mode = 4
ident = tap1234-ab
cpu = 1,2
socket = /run/vrelay/bond3.sock

[relay 63]
device = net_bonding_big
member = 0000:06:00.0
member = 0000:06:00.1
member = 0000:06:00.2
member = 0000:06:00.3
member = 0000:06:00.4
member = 0000:06:00.5
member = 0000:06:00.6
member = 0000:06:00.7
bond-mode = 0
""",
    "devargs": """[daemon]
workers = 0xff00000000000000000000000000000
main-cpu = 0

[relay 1]
device = net_tap0,iface=vr0
[relay 2]
device = net_af_packet0,iface=eth1,qpairs=2
queues = 32
mtu = 68
[relay 4]
device = net_ring0
mode = client
mrgbuf = true
""",
    "empty": "",
    "comments": "\n  # only a comment\n\n\t\n",
    "bad_dup_relay": "[relay 1]\ndevice = a\n[relay 1]\ndevice = b\n",
    "bad_section": "[relays 1]\nmtu = 9001\nqueues = 0\n[daemon] workers = 1\n",
    "bad_invalid": "[daemon]\nworkers = 1\nmain-cpu = 1\n[relay 0]\ndevice = a\ncpu = 2\n"
                   "[relay 1]\ndevice = b\nsocket = /run/vrelay/relay0.sock\n",
}

VFCONFS = {
    "basic": """VIRTIOFWD_CPU_MASK=1,2
VIRTIOFWD_STATIC_VFS=(0000:05:08.1=1 0000:05:08.2=2)
VIRTIOFWD_CPU_PINS=(0:1,1 1:1,2)
VIRTIOFWD_LOG_LEVEL=6
""",
    "default_file": """# virtio-forwarder configuration, as shipped
VIRTIOFWD_BIND_VFIO_PCI=
VIRTIOFWD_CPU_MASK=0x6
VIRTIOFWD_LOG_LEVEL=6
VIRTIOFWD_OVSDB_SOCK_PATH=/usr/local/var/run/openvswitch/db.sock
VIRTIOFWD_HUGETLBFS_MOUNT_POINT=/mnt/huge
VIRTIOFWD_SOCKET_OWNER=libvirt-qemu
VIRTIOFWD_SOCKET_GROUP=kvm
VIRTIOFWD_ZMQ_PORT_CONTROL_EP=
VIRTIOFWD_ZMQ_STATS_EP=ipc:///var/run/virtio-forwarder/stats
VIRTIOFWD_ZMQ_CORE_SCHED_EP=ipc:///var/run/virtio-forwarder/core_sched
VIRTIOFWD_ZMQ_CONFIG_EP=ipc:///var/run/virtio-forwarder/config
VIRTIOFWD_SOCKET_DIR=/tmp/virtio-forwarder
VIRTIOFWD_SOCKET_FNAME_PATTERN=virtio-forwarder%u.sock
VIRTIOFWD_PID_DIR=/var/run/virtio-forwarder
VIRTIOFWD_JUMBO=
VIRTIOFWD_MRGBUF=y
VIRTIOFWD_TSO=
VIRTIOFWD_ZERO_COPY=
VIRTIOFWD_VHOST_CLIENT=
VIRTIOFWD_DYNAMIC_SOCKETS=
VIRTIOFWD_CPU_NIC_SAME_NUMA=
VIRTIOFWD_STATIC_VFS=()
VIRTIOFWD_CPU_PINS=()
VIO4WD_CORE_SCHED_ENABLE=false
VIO4WD_CORE_SCHED_SENSITIVITY=25
""",
    "ipc_control": """export VIRTIOFWD_IPC_PORT_CONTROL=y
export VIRTIOFWD_CPU_MASK="1-3"
VIRTIOFWD_ZMQ_PORT_CONTROL_EP='ipc:///run/vf/port_control'
VIRTIOFWD_STATIC_VFS="05:00.1=0 05:00.2=63"
VIRTIOFWD_CPU_PINS=( '0:2' "63:3,1" )   # vf_to_vm,vm_to_vf
VIRTIOFWD_VHOST_CLIENT=1
VIRTIOFWD_JUMBO=yes
VIRTIOFWD_MASTER_LCORE=0
VIRTIOFWD_VFIO_VF_TOKEN=0
VIO4WD_CORE_SCHED_ENABLE=true
VIRTIOFWD_ZMQ_CORE_SCHED_EP=tcp://127.0.0.1:5560
""",
    "warnings": """VIRTIOFWD_CPU_MASK=1
VIRTIOFWD_TSO=y
VIRTIOFWD_ZERO_COPY=y
VIRTIOFWD_CPU_NIC_SAME_NUMA=y
VIRTIOFWD_BIND_VFIO_PCI=y
VIRTIOFWD_BINARY=/usr/bin/virtio-forwarder
VIRTIOFWD_SOMETHING_NEW=1
OTHER_VARIABLE=x
VIRTIOFWD_DYNAMIC_SOCKETS=y
""",
    "bad_expansion": "VIRTIOFWD_CPU_MASK=$CPUS\n",
    "bad_both_ovsdb_ipc": "VIRTIOFWD_IPC_PORT_CONTROL=y\nVIRTIOFWD_OVSDB_SOCK_PATH=/run/db.sock\n",
    "bad_array": "VIRTIOFWD_LOG_LEVEL=(1 2)\nVIRTIOFWD_STATIC_VFS=(0000:05:08.1=1\n",
    "bad_quote": "VIRTIOFWD_SOCKET_DIR=\"/tmp/x\nVIRTIOFWD_CPU_PINS=(1:a)\\\n",
}


def offload_seed(flags, mss, fill, dev, v6=False, udp=False, vlan=False, payload=3000):
    """fuzz_offload input: request flags, MSS, mbuf fill, device offloads, then
    a guest frame whose IP lengths are right (the checksum is left as garbage)."""
    import struct
    l4 = struct.pack("!HHHH", 5001, 5201, 8 + payload, 0x5a5a) if udp else \
        struct.pack("!HHIIBBHHH", 40000, 5201, 0xfffff000, 77, (32 // 4) << 4, 0x18 | 0x81,
                    512, 0x5a5a, 0) + b"\x01" * 12
    body = l4 + bytes((i * 7 + 3) & 0xff for i in range(payload))
    proto = 17 if udp else 6
    if v6:
        l3 = struct.pack("!IHBB", 6 << 28, len(body), proto, 64) + \
            bytes.fromhex("20010db8" + "0" * 22 + "10") + bytes.fromhex("20010db8" + "0" * 22 + "01")
        etype = b"\x86\xdd"
    else:
        l3 = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, 0x4000, 64, proto, 0,
                         bytes([192, 0, 2, 10]), bytes([192, 0, 2, 1]))
        etype = b"\x08\x00"
    l2 = bytes.fromhex("020000000001525400 00020a".replace(" ", ""))
    l2 += (b"\x81\x00\x00\x07" if vlan else b"") + etype
    return struct.pack("<BHHB", flags, mss, fill, dev) + l2 + l3 + body


OFFLOADS = {
    "csum_tcp4": offload_seed(1, 0, 2047, 0),
    "csum_udp6_vlan_chain": offload_seed(1, 0, 999, 0, v6=True, udp=True, vlan=True),
    "tso_tcp4_sw": offload_seed(3, 1448, 2047, 1 | (7 << 2), payload=20000),
    "tso_tcp6_sw_small_room": offload_seed(3, 1428, 700, 0, v6=True, payload=9000),
    "tso_tcp4_device": offload_seed(3, 1448, 2047, 2, payload=8000),
    "tso_jumbo_mss": offload_seed(3, 8948, 2047, 0, payload=30000),
    "tso_udp_refused": offload_seed(3, 1000, 2047, 0, udp=True),
}


def main():
    pb, tmp = load_pb2()
    try:
        sets = {"port_request": port_requests(pb), "stats_request": stats_requests(pb),
                "sched_request": sched_requests(pb), "config": CONFIGS, "vfconf": VFCONFS,
                "offload": OFFLOADS}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for target, seeds in sets.items():
        for name, data in seeds.items():
            write(target, name, data)
        print("%s: %d seeds" % (target, len(seeds)))


if __name__ == "__main__":
    main()
