"""A QEMU guest live-migrates into another IP subnet and keeps its TCP
session (issue 13; docs/tunnel.md): vrelay-migrate sees the destination
relay's underlay on another prefix and sets up the redirect by itself.

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
from migration import MIGRATE, Pinger
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

    def relay(self, name, iface, under, gw):
        """vrelayd in the host namespace, relay 0 on net_tap iface, with its
        own directories and an underlay address on the LAN iface is."""
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
        self.host_ip("addr", "add", gw + "/24", "dev", iface)
        self.host_ip("link", "set", iface, "up")
        wait_for(lambda: d.tel.query("/vrelay/underlay")["gateway4_mac"] != "", 15,
                 name + " to learn its gateway")
        return d


def test_tcp_survives_a_move_into_another_subnet(s):
    net = Subnets(s)
    a = net.relay("relayA", "vtapA", "192.0.2.100", "192.0.2.1")
    b = net.relay("relayB", "vtapB", "203.0.113.10", "203.0.113.1")
    src = vm.Vm(s, "vm0", os.path.join(a.dir, "relay0.sock"), peer=net).start()
    src.console.run("ip route add default via 192.0.2.1")
    wait_for(lambda: net.ping(count=1, deadline=2)["rx"] == 1, 30, "the guest to answer")
    boot = src.console.boot_id()
    src.console.run("iperf3 -s -D -1")
    wait_for(lambda: src.console.run("netstat -ltn | grep -q ':5201 '", ok=False)[0] == 0, 30,
             "the guest's iperf3 server")
    client = net.spawn(["iperf3", "-c", vm.GUEST_IP, "-t", "40", "-i", "1", "--forceflush",
                        "-f", "m"], "iperf3.log")
    wait_for(lambda: "Mbits/sec" in client.output(), 30, "iperf3 to run")

    uri = "unix:" + s.path("migrate.sock")
    dst = vm.Vm(s, "vm1", os.path.join(b.dir, "relay0.sock"), peer=net, incoming=uri)
    dst.start(wait_ready=False)

    class Pair:  # what Pinger needs
        peer = net
    with Pinger(Pair, "ping.log") as pg:
        p = subprocess.run(net.in_host([
            MIGRATE, "--src", src.qmp_obs_path, "--dst", dst.qmp_obs_path, "--uri", uri,
            "--src-relay", a.dir + ":0", "--dst-relay", b.dir + ":0", "--json"]),
            capture_output=True, text=True, timeout=300)
        report = json.loads(p.stdout) if p.stdout.startswith("{") else None
        check(p.returncode == 0 and report and report["status"] == "completed",
              "vrelay-migrate exited %d: %s %s" % (p.returncode, p.stdout, p.stderr))
        check(report["redirect"] is True, "no redirect for a move into another subnet")
        src.quit()
        pg.wait_replies_after(len(pg.replies()))
        lines = client.output().count("Mbits/sec")
        wait_for(lambda: client.output().count("Mbits/sec") >= lines + 3, 60,
                 "iperf3 to report after the migration")
    outage, lost = pg.outage_ms(), pg.lost()
    wake = 1000 * pg.first_after(report["resume_wall"])
    ra, rb = a.tel.query("/vrelay/redirect,0"), b.tel.query("/vrelay/redirect,0")
    check(ra["role"] == "source" and rb["role"] == "destination", "redirects %s %s" % (ra, rb))
    check(rb["opened"]["pkts"] > 0 and ra["opened"]["pkts"] > 0, "nothing through the tunnel")
    for k in ("auth", "replay", "no_sa", "wrong_peer", "malformed"):
        check(ra["opened"][k] == 0 and rb["opened"][k] == 0, "drops %s: %s %s" % (k, ra, rb))
    wait_for(lambda: not client.alive(), 120, "iperf3 to finish")
    check(client.p.returncode == 0 and "receiver" in client.output(),
          "the TCP session did not survive:\n" + client.output()[-1500:])
    check(dst.console.boot_id() == boot, "the guest rebooted")
    check(not dst.console.oopses(), "guest oops")
    print("    cross-subnet: QEMU downtime %.0f ms, stop->resume %.0f ms, peer outage %.0f ms, "
          "first reply after RESUME %.0f ms, %d probes lost; tunnel A->B %d, B->A %d frames, "
          "%d+%d cut" % (report["downtime_ms"], report["stop_to_resume_ms"], outage, wake,
                         len(lost), rb["opened"]["pkts"], ra["opened"]["pkts"],
                         ra["fragmented"], rb["fragmented"]))
    print("    drops: A dev2vm %s, B dev2vm %s, B underlay %s" % (
        {k: a.relay(0)["dev2vm"][k] for k in ("drop_unready", "drop_full")},
        {k: b.relay(0)["dev2vm"][k] for k in ("drop_unready", "drop_full")},
        {k: b.tel.query("/vrelay/underlay")[k] for k in ("ring_full", "tunnel_unclaimed")}))
    dst.quit()
    for d in (a, b):
        check(d.stop() == 0, "%s exit code" % d.name)
