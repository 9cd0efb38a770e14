"""Two relays on two IP subnets with a router between them and a QEMU guest
that live-migrates from one to the other (docs/tunnel.md), for the VM
tests and make demo.

Namespaces: "host" is the router and runs both vrelayd and both QEMUs:
LAN A 192.0.2.0/24 on vtapA (relay A's net_tap, the router 192.0.2.1),
LAN B 203.0.113.0/24 on vtapB (relay B's, the router 203.0.113.1); the
peer (the client) is 198.51.100.2 on a veth behind the router. The guest
boots on relay A as 192.0.2.10 with its gateway 192.0.2.1, and keeps that
configuration on relay B."""

import json
import os
import subprocess

import vm
from migration import MIGRATE, Pinger, roomy_socket_buffers
from vrtest import check, wait_for

CLIENT_IP = "198.51.100.2"


class Subnets(vm.Peer):
    """vm.Peer's namespaces, routed instead of bridged."""

    def __init__(self, s):
        super().__init__(s)
        self.host_ip("link", "del", "br0")
        self.host_ip("addr", "add", "198.51.100.1/24", "dev", "up0")
        self.ip("addr", "flush", "dev", "eth0")
        self.ip("addr", "add", CLIENT_IP + "/24", "dev", "eth0")
        self.ip("route", "add", "default", "via", "198.51.100.1")
        vm.sh(*self.in_host(["sysctl", "-qw", "net.ipv4.ip_forward=1"]))

    def relay(self, name, iface, under, gw, bridge=None):
        """vrelayd in the host namespace, relay 0 on net_tap iface, with its
        own directories and an underlay address on the LAN iface is (the
        router's bridge of that name when given, shared with other relays)."""
        own = self.s.path(name)
        os.mkdir(own)
        d = vm.vrelayd(self.s, self, [
            "--set", "underlay-relay=0", "--set", "underlay-ipv4=%s/24" % under,
            "--set", "underlay-gateway4=" + gw, "--set", "tunnel-tcp-linger=3",
            "-r", "id=0 device=net_tap0,iface=%s" % iface], name=name)
        d.argv = [own if (i > 0 and d.argv[i - 1] in ("--socket-dir", "--control-dir")) else a
                  for i, a in enumerate(d.argv)]
        d.dir = own
        d.start()
        wait_for(lambda: self.host_ip("link", "show", iface, ok=False).returncode == 0, 30,
                 "vrelayd's " + iface)
        self.host_ip("link", "set", iface, "address", "02:00:00:00:0f:%02x" % len(iface + name))
        self.host_ip("link", "set", iface, "up")
        if bridge is None:
            self.host_ip("addr", "add", gw + "/24", "dev", iface)
        else:
            if self.host_ip("link", "show", bridge, ok=False).returncode != 0:
                self.host_ip("link", "add", bridge, "address", "02:00:00:00:0e:01", "type",
                             "bridge", "stp_state", "0", "forward_delay", "0")
                self.host_ip("addr", "add", gw + "/24", "dev", bridge)
                self.host_ip("link", "set", bridge, "up")
            self.host_ip("link", "set", iface, "master", bridge)
        wait_for(lambda: d.tel.query("/vrelay/underlay")["gateway4_mac"] != "", 15,
                 name + " to learn its gateway")
        return d


def boot_on_a(s, ports=(5201,), same_lan=False):
    """Relays A and B (same_lan: both on LAN A, a bridge), the guest booted
    on A with an iperf3 server (one session) on each of ports; returns
    (net, a, b, the QEMU on A)."""
    net = Subnets(s)
    lan = "lanA" if same_lan else None
    a = net.relay("relayA", "vtapA", "192.0.2.100", "192.0.2.1", lan)
    b = net.relay("relayB", "vtapB", *(("192.0.2.101", "192.0.2.1") if same_lan
                                       else ("203.0.113.10", "203.0.113.1")), bridge=lan)
    src = vm.Vm(s, "vm0", os.path.join(a.dir, "relay0.sock"), peer=net).start()
    src.console.run("ip route add default via 192.0.2.1")
    wait_for(lambda: net.ping(count=1, deadline=2)["rx"] == 1, 30, "the guest to answer")
    src.boot = src.console.boot_id()
    roomy_socket_buffers(src)
    for port in ports:
        src.console.run("iperf3 -s -D -1 -p %d" % port)
        wait_for(lambda: src.console.run("netstat -ltn | grep -q ':%d '" % port,
                                         ok=False)[0] == 0, 30, "the guest's iperf3 server")
    return net, a, b, src


def migrate(s, net, src, x, y, name):
    """The guest in QEMU src on relay x moves to a new QEMU (name) on relay
    y by vrelay-migrate alone; returns (the new QEMU, the report)."""
    uri = "unix:" + s.path(name + ".migrate.sock")
    dst = vm.Vm(s, name, os.path.join(y.dir, "relay0.sock"), peer=net, incoming=uri)
    dst.start(wait_ready=False)
    p = subprocess.run(net.in_host([
        MIGRATE, "--src", src.qmp_obs_path, "--dst", dst.qmp_obs_path, "--uri", uri,
        "--src-relay", x.dir + ":0", "--dst-relay", y.dir + ":0", "--json"]),
        capture_output=True, text=True, timeout=300)
    report = json.loads(p.stdout) if p.stdout.startswith("{") else None
    check(p.returncode == 0 and report and report["status"] == "completed",
          "vrelay-migrate exited %d: %s %s" % (p.returncode, p.stdout, p.stderr))
    src.quit()
    dst.boot = src.boot
    return dst, report


def move_under(s, client_argv, leaf, same_lan=False):
    """The guest boots on relay A, the client runs client_argv against it,
    the guest migrates to relay B (vrelay-migrate, which sets up the
    redirect, or on one LAN the handover); returns (a, b, the QEMU on B, the
    client, the report, (outage ms, probes lost, first reply after RESUME
    ms))."""
    net, a, b, src = boot_on_a(s, same_lan=same_lan)
    client = net.spawn(client_argv, leaf)
    wait_for(lambda: "bits/sec" in client.output(), 30, "iperf3 to run")

    class Pair:  # what Pinger needs
        peer = net
    with Pinger(Pair, "ping.log") as pg:
        dst, report = migrate(s, net, src, a, b, "vm1")
        check(report["redirect"] is True and report["handover"] is same_lan,
              "no %s for the move: %s" % ("handover" if same_lan else "redirect", report))
        pg.wait_replies_after(len(pg.replies()))
        lines = client.output().count("bits/sec")
        wait_for(lambda: client.output().count("bits/sec") >= lines + 3, 60,
                 "iperf3 to report after the migration")
    return a, b, dst, client, report, (pg.outage_ms(), pg.lost(),
                                       1000 * pg.first_after(report["resume_wall"]))
