"""QEMU guests on vrelayd for the VM tests: QMP, the serial console, and a
peer host in a network namespace.

Topology (one Peer per test):

    guest eth0 --virtio/vhost-user--> vrelayd relay k --net_tap--> vtapK
                 (host namespace: vrelayd, QEMU, bridge br0 <- vtapK, up0)
                                                        up0 <--veth--> eth0 in
                                                  the peer namespace: 192.0.2.1,
                                                  2001:db8::1, ping, iperf3, tcpdump

Two relays on one bridge are the source and destination of a live
migration: the bridge's MAC table is the network that must learn the
guest's new place. For jumbo frames a relay's device is net_pcap on a veth
into the bridge instead (Peer.pcap_device).
"""

import json
import os
import random
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "system"))
from vrtest import BUILD, TestFailure, Vrelayd, check, wait_for  # noqa: E402
import guest  # noqa: E402

QEMU = "qemu-system-x86_64"
# Guest RAM 256 MiB + 8 KiB: not a multiple of 256 KiB, which keeps QEMU 7.2
# TCG off the migration dirty-bitmap path that corrupts guests (see
# ../shared/notes/qemu-vhost-on-this-machine.md).
GUEST_RAM = "262152K"
GUEST_IP, GUEST_IP6 = "192.0.2.10", "2001:db8::10"
PEER_IP, PEER_IP6 = "192.0.2.1", "2001:db8::1"
GUEST_MAC = "52:54:00:00:02:0a"


class Qmp:
    """A QMP client on one of a QEMU's QMP sockets; events are kept."""

    def __init__(self, path, timeout=30):
        self.sock = wait_for(lambda: self._connect(path), timeout, "QMP socket %s" % path)
        self.buf = b""
        self.events = []
        self._read()  # greeting
        self.execute("qmp_capabilities")

    @staticmethod
    def _connect(path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            return None

    def _read(self, timeout=60):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("QMP: no message within %ds" % timeout)
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise TestFailure("QMP: QEMU closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd, timeout=60, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read(timeout)
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise TestFailure("QMP %s: %s" % (cmd, r["error"].get("desc", r["error"])))
            return r.get("return")

    def wait_event(self, name, timeout=60, pred=lambda e: True):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name and pred(e):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("QMP: no %s event within %ds" % (name, timeout))
            r = self._read(left)
            if "event" in r:
                self.events.append(r)

    def close(self):
        self.sock.close()


class Vm:
    """One QEMU process running the test guest; console on its stdio.

    vhost: "client" (QEMU connects to vrelayd's socket) or "server" (QEMU
    listens, vrelayd's relay is in client mode)."""

    def __init__(self, s, name, sock, vhost="client", queues=1, incoming=None, extra=(),
                 netdev_extra="", device_extra="", peer=None, ram=None, nic=True):
        self.s, self.name, self.sock = s, name, sock
        self.qmp_path = s.path(name + ".qmp")
        self.qmp_obs_path = s.path(name + ".qmp2")
        vmlinuz, initrd = guest.ensure(BUILD)
        ram = ram or GUEST_RAM
        chardev = "socket,id=vu0,path=%s" % sock
        chardev += ",server=on,wait=off" if vhost == "server" else ",reconnect=1"
        mq = ",queues=%d" % queues if queues > 1 else ""
        dev_mq = ",mq=on" if queues > 1 else ""
        self.argv = [
            QEMU, "-machine", "q35,accel=tcg", "-m", ram, "-smp", "1",
            "-nodefaults", "-display", "none", "-no-user-config",
            "-object", "memory-backend-memfd,id=mem,size=%s,share=on" % ram,
            "-numa", "node,memdev=mem",
            "-kernel", vmlinuz, "-initrd", initrd,
            "-append", "console=ttyS0 panic=-1 loglevel=4 vr.ip=%s/24 vr.ip6=%s/64" % (
                GUEST_IP, GUEST_IP6),
            "-serial", "stdio",
            "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
            "-qmp", "unix:%s,server=on,wait=off" % self.qmp_obs_path,
        ] + (["-incoming", incoming] if incoming else []) + list(extra)
        if nic:
            self.argv += [
                "-chardev", chardev,
                "-netdev", "vhost-user,id=net0,chardev=vu0%s%s" % (mq, netdev_extra),
                # vectors=0: INTx; QEMU 7.2 TCG segfaults with vhost-user + MSI-X
                "-device", "virtio-net-pci,netdev=net0,id=nic0,mac=%s,vectors=0%s%s" % (
                    GUEST_MAC, dev_mq, device_extra),
            ]
        else:  # a slot for hot-plugging it (q35's root bus has none)
            self.argv += ["-device", "pcie-root-port,id=rp1,chassis=1,slot=1"]
        if peer is not None:  # in the host namespace, for migration over TCP there
            self.argv = peer.in_host(self.argv)
        self.proc = None
        self.qmp = None
        self.console = None

    def start(self, wait_ready=True, timeout=90):
        for p in (self.qmp_path, self.qmp_obs_path):
            if os.path.exists(p):
                os.unlink(p)
        self.proc = self.s.spawn(self.argv, self.name + ".console", stdin=subprocess.PIPE)
        self.console = Console(self)
        self.qmp = Qmp(self.qmp_path)
        if wait_ready:
            self.console.wait_ready(timeout)
        return self

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def kill(self):
        if self.qmp:
            self.qmp.close()
            self.qmp = None
        self.proc.stop(timeout=5, sig=9)

    def quit(self):
        try:
            self.qmp.execute("quit")
        except (TestFailure, OSError):
            pass
        self.qmp.close()
        self.qmp = None
        self.proc.stop(timeout=10)


class Console:
    """The guest's serial shell: run() types a command and waits for its
    end marker; nothing is timed, everything is matched."""

    def __init__(self, vm):
        self.vm = vm
        self.seq = 0
        self.ready_at = 0

    def text(self):
        return self.vm.proc.output().replace("\r", "")

    def wait_for_text(self, needle, timeout, since=0):
        def seen():
            check(self.vm.alive(), "QEMU %s exited:\n%s" % (self.vm.name, self.text()[-3000:]))
            at = self.text().find(needle, since)
            return at + 1 if at >= 0 else None
        return wait_for(seen, timeout, "'%s' on %s's console" % (needle, self.vm.name)) - 1

    def wait_ready(self, timeout=90, since=None):
        at = self.wait_for_text(guest.READY_LINE, timeout,
                                self.ready_at if since is None else since)
        self.ready_at = at + len(guest.READY_LINE)

    def write(self, line):
        self.vm.proc.p.stdin.write(line.encode() + b"\n")
        self.vm.proc.p.stdin.flush()

    def run(self, cmd, timeout=60, ok=True):
        """(exit status, output) of a shell command in the guest."""
        self.seq += 1
        start = len(self.text())
        # printf, so the marker text typed differs from the one printed
        self.write("%s; printf '@@END %%d %%d@@\\n' %d $?" % (cmd, self.seq))
        tag = "@@END %d " % self.seq
        at = self.wait_for_text(tag, timeout, start)
        # the marker may be seen before its status and closing @@ arrive
        self.wait_for_text("@@", timeout, at + len(tag))
        out = self.text()
        rc = int(out[at + len(tag):].split("@@", 1)[0])
        body = out[start:at]
        if ok:
            check(rc == 0, "guest: '%s' exited %d:\n%s" % (cmd, rc, body[-2000:]))
        return rc, body

    def boot_id(self):
        """The guest kernel's boot id: changes when the guest reboots. (QEMU's
        own stderr shares the console log, so the id is picked out.)"""
        out = self.run("cat /proc/sys/kernel/random/boot_id")[1]
        ids = re.findall(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", out,
                         re.M)
        check(len(ids) == 1, "no boot id in:\n" + out)
        return ids[0]

    def oopses(self):
        t = self.text()
        return [w for w in ("Oops", "Call Trace", "BUG:", "Kernel panic", "general protection")
                if w in t]


def sh(*argv, ok=True, timeout=60):
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if ok and p.returncode != 0:
        raise TestFailure("%s: exit %d: %s" % (" ".join(argv), p.returncode, p.stderr.strip()))
    return p


class Peer:
    """Two network namespaces: "host", where vrelayd and QEMU run and the
    relays' net_tap devices join bridge br0 (the network that must learn
    where a guest is), and "peer", the peer host on a veth from br0, with
    192.0.2.1 and 2001:db8::1. Both removed by cleanup().

    (net_af_packet is not used: DPDK 22.11 opens it with
    PACKET_FANOUT_FLAG_DEFRAG, so the kernel hands it IP fragments
    reassembled, cut to its frame size: fragmented pings never arrive.)"""

    def __init__(self, s, mtu=1500):
        self.s, self.mtu = s, mtu
        tag = "%d-%04x" % (os.getpid(), random.randrange(0x10000))
        self.host_ns, self.ns = "vrth-" + tag, "vrtp-" + tag
        s.procs.append(_Cleanup(self.cleanup))
        sh("ip", "netns", "add", self.host_ns)
        sh("ip", "netns", "add", self.ns)
        self.host_ip("link", "set", "lo", "up")
        self.host_ip("link", "add", "br0", "mtu", str(mtu), "type", "bridge")
        self.host_ip("link", "set", "br0", "up")
        self.host_ip("link", "add", "up0", "mtu", str(mtu), "type", "veth", "peer", "name",
                     "eth0", "netns", self.ns)
        self.host_ip("link", "set", "up0", "master", "br0", "up")
        self.ip("link", "set", "lo", "up")
        self.ip("link", "set", "eth0", "mtu", str(mtu), "up")
        self.ip("addr", "add", PEER_IP + "/24", "dev", "eth0")
        self.ip("addr", "add", PEER_IP6 + "/64", "dev", "eth0", "nodad")

    @staticmethod
    def device(k):
        """vrelayd devargs for device k: a tap in the host namespace."""
        return "net_tap%d,iface=vtap%d" % (k, k)

    def pcap_device(self, k):
        """vrelayd devargs for device k as net_pcap on veth vrpK, whose other
        end vrpbK is on the bridge: the Linux-reachable device that carries
        jumbo frames (DPDK 22.11's net_tap stops at 1522 bytes, net_af_packet
        at 1518). vrpbK's offloads are off, so what reaches the capture is
        finished, MTU-sized frames, as a NIC would receive them."""
        dev, br_end = "vrp%d" % k, "vrpb%d" % k
        self.host_ip("link", "add", dev, "mtu", str(self.mtu), "type", "veth", "peer", "name",
                     br_end, "mtu", str(self.mtu))
        sh(*self.in_host(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % dev]))
        sh(*self.in_host(["ethtool", "-K", br_end, "tx", "off", "tso", "off", "gso", "off"]))
        self.host_ip("link", "set", br_end, "master", "br0", "up")
        self.host_ip("link", "set", dev, "up")
        return "net_pcap%d,iface=%s" % (k, dev)

    def attach(self, k, timeout=30):
        """Put device k's tap (made by vrelayd) on the bridge."""
        wait_for(lambda: self.host_ip("link", "show", "vtap%d" % k, ok=False).returncode == 0,
                 timeout, "vrelayd's vtap%d" % k)
        self.host_ip("link", "set", "vtap%d" % k, "master", "br0", "up")

    def in_host(self, argv):
        return ["ip", "netns", "exec", self.host_ns] + list(argv)

    def host_ip(self, *args, ok=True):
        return sh("ip", "-n", self.host_ns, *args, ok=ok)

    def ip(self, *args, ok=True):
        return sh("ip", "-n", self.ns, *args, ok=ok)

    def run(self, *argv, ok=True, timeout=60):
        return sh("ip", "netns", "exec", self.ns, *argv, ok=ok, timeout=timeout)

    def spawn(self, argv, log_leaf):
        return self.s.spawn(["ip", "netns", "exec", self.ns] + list(argv), log_leaf)

    def iperf_server(self):
        """A one-test iperf3 server on the peer, listening when this returns.
        Each gets a log of its own: a reused log already says 'listening'."""
        self.servers = getattr(self, "servers", 0) + 1
        srv = self.spawn(["iperf3", "-s", "-1", "--forceflush", "-B", PEER_IP],
                         "iperf3-server-%d.log" % self.servers)
        wait_for(lambda: "Server listening" in srv.output(), 10, "the peer's iperf3 server")
        return srv

    def ping(self, dst=GUEST_IP, count=3, size=56, interval=0.2, deadline=None, flood=False):
        argv = ["ping", "-n", "-q", "-c", str(count), "-s", str(size)]
        argv += ["-f"] if flood else ["-i", str(interval)]
        if deadline:
            argv += ["-w", str(deadline)]
        p = self.run(*(argv + [dst]), ok=False, timeout=(deadline or 60) + 30)
        return parse_ping(p.stdout + p.stderr)

    def cleanup(self):
        sh("ip", "netns", "del", self.ns, ok=False)
        sh("ip", "netns", "del", self.host_ns, ok=False)


def vrelayd(s, peer, args, **kw):
    """A Vrelayd (not started) that runs in the peer's host namespace.

    retry-us 20000: a TCG guest drains its RX ring a hundred times slower
    than a KVM one and is descheduled on these shared vCPUs for milliseconds;
    the default 1 ms retry window would drop what a real guest takes."""
    d = Vrelayd(s, ["--retry-us", "20000"] + list(args), **kw)
    d.argv = peer.in_host(d.argv)
    return d


def guest_iperf(console, peer, args="", seconds=3):
    """iperf3 from the guest to a fresh server on the peer: (Mbit/s at the
    receiver, or None without a summary; the client's output)."""
    srv = peer.iperf_server()
    length = "" if "-n " in args else "-t %d " % seconds
    _, out = console.run("iperf3 -c %s %s-f m %s" % (PEER_IP, length, args),
                         timeout=seconds + 60)
    rates = re.findall(r"([\d.]+) Mbits/sec.*receiver", out)
    srv.p.wait(10)
    return (float(rates[-1]) if rates else None), out


def parse_ping(out):
    """{'tx': n, 'rx': n, 'text': out} from ping's summary."""
    res = {"tx": 0, "rx": 0, "text": out}
    for line in out.splitlines():
        if "packets transmitted" in line:
            parts = line.split(",")
            res["tx"] = int(parts[0].split()[0])
            res["rx"] = int(parts[1].split()[0])
    return res


class _Cleanup:
    """A Scratch process-list entry that runs a cleanup function."""

    def __init__(self, fn):
        self.fn = fn
        self.argv = ["(cleanup)"]
        self.log_path = os.devnull
        self.done = False

    def alive(self):
        return not self.done

    def stop(self, timeout=0, sig=None):
        if not self.done:
            self.done = True
            self.fn()

    def output(self):
        return ""
