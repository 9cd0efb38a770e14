"""The virtual-NIC test plan against one booted guest on vrelayd.

One guest (QEMU vhost-user client, vrelayd server, device net_af_packet
into the peer namespace) is shared by all cases here; each case leaves the
guest as it found it.
"""

import re

import vm
from vrtest import check, wait_for

PING_SIZES = [0, 1, 48, 64, 512, 1440, 1500, 1505, 4096, 4192, 32767, 65507]


class Setup:
    def __init__(self, s):
        self.peer = vm.Peer(s)
        self.d = vm.vrelayd(s, self.peer, ["-r", "id=0 device=%s" % self.peer.device(0)]).start()
        self.peer.attach(0)
        self.vm = vm.Vm(s, "guest", s.path("relay0.sock"), peer=self.peer).start()
        self.c = self.vm.console
        wait_for(lambda: self.peer.ping(count=1, deadline=2)["rx"] == 1, 30,
                 "the guest to answer a ping")


def shared(s):
    return Setup(s)


def no_oops(g):
    check(not g.c.oopses(), "guest console shows %s:\n%s" % (g.c.oopses(), g.c.text()[-3000:]))


def iperf(g, args, seconds=3):
    """iperf3 from the guest to the peer; (Mbit/s at the receiver, output)."""
    mbps, out = vm.guest_iperf(g.c, g.peer, args, seconds)
    check(mbps is not None, "no iperf3 receiver summary:\n" + out[-2000:])
    return mbps, out


def test_ping_sizes_and_intervals(s):
    g = s.shared
    for interval in (0.1, 0.01, 0.001):
        for size in PING_SIZES:
            r = g.peer.ping(count=5, size=size, interval=interval, deadline=20)
            if r["tx"] != 5 or r["rx"] != 5:
                rel = g.d.relay(0)
                check(False, "ping -s %d -i %s: %d/%d answered; relay drops: %s\n%s" % (
                    size, interval, r["rx"], r["tx"],
                    {k: (rel[k]["drop_full"], rel[k]["drop_unready"]) for k in ("vm2dev",
                                                                                "dev2vm")},
                    r["text"]))
    r = g.peer.ping(count=1, size=65508, deadline=5)
    check(r["rx"] == 0, "a 65508-byte ping was answered: %s" % r["text"])
    check("too large" in r["text"] or r["tx"] == 0 or r["rx"] == 0,
          "ping -s 65508: %s" % r["text"])
    no_oops(g)


def test_flood_ping_every_size(s):
    g = s.shared
    for size in PING_SIZES:
        r = g.peer.ping(count=200, size=size, flood=True, deadline=60)
        # flood sends the next probe on each reply or every 10 ms: a probe
        # may be outstanding at the end, nothing more may go missing
        check(r["tx"] >= 1 and r["tx"] - r["rx"] <= max(2, r["tx"] // 100),
              "ping -f -s %d: %d of %d answered\n%s" % (size, r["rx"], r["tx"], r["text"]))
    no_oops(g)


def test_link_status(s):
    g = s.shared
    for _ in range(2):
        g.vm.qmp.execute("set_link", name="nic0", up=False)
        wait_for(lambda: g.c.run("cat /sys/class/net/eth0/operstate")[1].strip() == "down", 20,
                 "the guest's eth0 to go down")
        wait_for(lambda: g.d.relay(0)["state"] != "connected", 10,
                 "vrelayd to show relay 0 not connected")
        check(g.peer.ping(count=2, interval=0.1, deadline=2)["rx"] == 0,
              "the guest answered with its link down")
        g.vm.qmp.execute("set_link", name="nic0", up=True)
        wait_for(lambda: g.c.run("cat /sys/class/net/eth0/operstate")[1].strip() == "up", 20,
                 "the guest's eth0 to come up")
        wait_for(lambda: g.d.relay(0)["state"] == "connected", 10,
                 "vrelayd to show relay 0 connected")
        wait_for(lambda: g.peer.ping(count=1, deadline=2)["rx"] == 1, 20,
                 "pings after the link came back")


# Sent from the peer namespace: an ICMP echo request for the guest's VLAN
# address in an 802.1Q frame (the peer's kernel has no 8021q module here,
# so the peer speaks VLAN through a raw socket and tcpdump).
TAGGED_ECHO = r"""
import socket, struct, sys
dst_mac, src_mac, vid, src, dst, n = sys.argv[1:7]
def csum(b):
    b += b"\0" * (len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
mac = lambda m: bytes.fromhex(m.replace(":", ""))
sk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sk.bind(("eth0", 0))
for seq in range(int(n)):
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x7672, seq) + b"vrelay-vlan" * 4
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    sk.send(mac(dst_mac) + mac(src_mac) + struct.pack("!HHH", 0x8100, int(vid), 0x0800) +
            ip + icmp)
"""


def test_vlan_passes_through(s):
    """A VLAN device in the guest: tagged echo requests from the wire reach
    it, its tagged replies reach the wire, tags intact both ways."""
    g = s.shared
    peer_mac = g.peer.run("cat", "/sys/class/net/eth0/address").stdout.strip()
    g.c.run("ip link add link eth0 name eth0.100 type vlan id 100 && "
            "ip addr add 198.51.100.10/24 dev eth0.100 && ip link set eth0.100 up && "
            "ip neigh replace 198.51.100.1 lladdr %s dev eth0.100" % peer_mac)
    try:
        replies = g.peer.spawn(["tcpdump", "-n", "-e", "-l", "-i", "eth0", "-c", "5",
                                "vlan 100 and icmp[icmptype] == icmp-echoreply"],
                               "tcpdump-vlan.log")
        wait_for(lambda: "listening on" in replies.output(), 10, "tcpdump to start")
        g.peer.run("/usr/bin/python3", "-c", TAGGED_ECHO, vm.GUEST_MAC, peer_mac, "100",
                   "198.51.100.1", "198.51.100.10", "5")
        wait_for(lambda: not replies.alive(), 20, "5 tagged echo replies from the guest")
        out = replies.output()
        check(out.count("vlan 100") >= 5 and "198.51.100.10 > 198.51.100.1" in out,
              "tagged replies:\n" + out)
        check(g.peer.ping(count=2, interval=0.05, deadline=5)["rx"] == 2,
              "untagged traffic after the VLAN case")
    finally:
        g.c.run("ip link del eth0.100")


def test_mac_change(s):
    g = s.shared
    new = "52:54:00:00:02:0b"
    g.c.run("ip link set eth0 address %s" % new)
    try:
        g.peer.ip("neigh", "flush", "dev", "eth0")
        r = g.peer.ping(count=5, interval=0.05, deadline=10)
        check(r["rx"] == 5, "pings after the MAC change: %s" % r["text"])
        neigh = g.peer.ip("neigh", "show", vm.GUEST_IP).stdout
        check(new in neigh, "the peer did not learn the new MAC: %s" % neigh)
    finally:
        g.c.run("ip link set eth0 address %s" % vm.GUEST_MAC)
        g.peer.ip("neigh", "flush", "dev", "eth0")
    check(g.peer.ping(count=3, interval=0.05, deadline=10)["rx"] == 3, "pings after restoring")


def test_promisc_toggled_30s(s):
    g = s.shared
    pinger = g.peer.spawn(["ping", "-n", "-q", "-i", "0.05", "-w", "35", vm.GUEST_IP],
                          "ping-promisc.log")
    _, out = g.c.run("n=0; end=$(($(date +%s) + 30)); while [ $(date +%s) -lt $end ]; do "
                     "ip link set eth0 promisc on; ip link set eth0 promisc off; n=$((n+1)); "
                     "done; echo toggles=$n", timeout=90)
    toggles = int(re.search(r"toggles=(\d+)", out).group(1))
    check(toggles > 10, "only %d promisc toggles in 30 s" % toggles)
    wait_for(lambda: not pinger.alive(), 20, "ping to end")
    r = vm.parse_ping(pinger.output())
    check(r["tx"] > 100 and r["rx"] >= r["tx"] - 3,
          "pings during %d promisc toggles: %d of %d answered" % (toggles, r["rx"], r["tx"]))
    check(g.d.proc.alive(), "vrelayd died")
    no_oops(g)


def offload_counts(g):
    """The relay's guest-to-device offload counters (telemetry)."""
    return g.d.relay(0)["vm2dev"]["offload"]


def offload_delta(before, after):
    return {k: after[k] - before[k] for k in after}


def test_offloads_toggled(s):
    """vrelay offers checksum offload and TSO (VIRTIO_NET_F_CSUM,
    HOST_TSO4/6), so tx/sg/tso start on in the guest and really toggle.
    After every change TCP runs, its checksums verify at the peer, and the
    relay's counters say who finished the frames: with tx off nothing is
    left to the relay; with tso on the relay cuts the guest's TCP frames
    (net_tap's TSO is not used: offload.h); with tso off it cuts nothing."""
    g = s.shared
    feats = g.c.run("ethtool -k eth0")[1]
    for f in ("tx-checksumming: on", "scatter-gather: on", "tcp-segmentation-offload: on"):
        check(f in feats, "guest offloads: '%s' missing:\n%s" % (f, feats))
    for feat in ("tx", "sg", "tso", "gso", "gro"):
        for state in ("off", "on"):
            g.c.run("ethtool -K eth0 %s %s" % (feat, state), ok=False)
            tcpdump = g.peer.spawn(["tcpdump", "-n", "-v", "-i", "eth0", "-c", "20",
                                    "tcp and src %s" % vm.GUEST_IP], "tcpdump-%s-%s.log" % (
                                        feat, state))
            wait_for(lambda: "listening on" in tcpdump.output(), 10, "tcpdump to start")
            before = offload_counts(g)
            mbps, _ = iperf(g, "-n 4M", seconds=2)
            delta = offload_delta(before, offload_counts(g))
            check(mbps > 0, "iperf3 after ethtool -K %s %s: %s Mbit/s" % (feat, state, mbps))
            wait_for(lambda: not tcpdump.alive(), 10, "tcpdump to take 20 packets")
            check("incorrect" not in tcpdump.output(),
                  "bad checksums after -K %s %s:\n%s" % (feat, state, tcpdump.output()[-1500:]))
            check(delta["dropped"] == 0, "offload drops after -K %s %s: %s" % (feat, state, delta))
            if (feat, state) == ("tx", "off"):
                check(delta["device"] + delta["csum_sw"] + delta["tso_cut"] == 0,
                      "tx off, yet the guest left work to the relay: %s" % delta)
            elif (feat, state) == ("tso", "off"):
                check(delta["tso_cut"] == 0 and delta["device"] + delta["csum_sw"] > 0,
                      "tso off: %s" % delta)
            elif state == "on" and feat in ("tx", "sg", "tso"):
                check(delta["tso_cut"] > 0 and delta["tso_segments"] > delta["tso_cut"],
                      "-K %s on: the relay cut no TCP frames: %s" % (feat, delta))
    feats = g.c.run("ethtool -k eth0")[1]
    check("tcp-segmentation-offload: on" in feats, "tso did not come back on:\n" + feats)
    no_oops(g)


def test_tso_ipv6_and_udp_checksums(s):
    """TCP over IPv6 is cut by the relay too (DPDK 22.11's GSO cannot), and a
    UDP checksum the guest leaves is finished: the peer receives every
    datagram with a correct checksum (the kernel drops bad ones)."""
    g = s.shared
    srv = g.peer.spawn(["iperf3", "-s", "-1", "--forceflush", "-B", vm.PEER_IP6],
                       "iperf3-server-v6.log")
    wait_for(lambda: "Server listening" in srv.output(), 10, "the peer's IPv6 iperf3 server")
    before = offload_counts(g)
    _, out = g.c.run("iperf3 -6 -c %s -n 4M -f m" % vm.PEER_IP6, timeout=90)
    srv.p.wait(10)
    delta = offload_delta(before, offload_counts(g))
    check(re.search(r"[\d.]+ Mbits/sec.*receiver", out), "IPv6 iperf3:\n" + out[-1500:])
    check(delta["tso_cut"] > 0 and delta["dropped"] == 0, "IPv6 TSO counters: %s" % delta)
    tcpdump = g.peer.spawn(["tcpdump", "-n", "-v", "-i", "eth0", "-c", "20",
                            "udp and src %s" % vm.GUEST_IP], "tcpdump-udp.log")
    wait_for(lambda: "listening on" in tcpdump.output(), 10, "tcpdump to start")
    mbps, out = iperf(g, "-u -b 5M -l 1400", seconds=2)
    loss = re.findall(r"(\d+)/(\d+) \(([\d.]+)%\).*receiver", out)
    check(loss and int(loss[-1][0]) == 0, "UDP datagrams lost (bad checksums?):\n" + out[-1500:])
    wait_for(lambda: not tcpdump.alive(), 10, "tcpdump to take 20 datagrams")
    check("incorrect" not in tcpdump.output() and "bad udp cksum" not in tcpdump.output(),
          "bad UDP checksums:\n" + tcpdump.output()[-1500:])
    no_oops(g)


def test_iperf3_tcp_both_ways_and_udp(s):
    g = s.shared
    up, _ = iperf(g, "")
    down, _ = iperf(g, "-R")
    udp, out = iperf(g, "-u -b 20M")
    loss = re.findall(r"(\d+)/(\d+) \(([\d.]+)%\).*receiver", out)
    print("    iperf3 through vrelay (TCG guest): TCP guest->peer %.0f Mbit/s, "
          "peer->guest %.0f Mbit/s, UDP %.1f Mbit/s, loss %s" % (up, down, udp,
                                                                  loss[-1] if loss else "?"))
    check(up > 1 and down > 1 and udp > 1, "throughput %s/%s/%s Mbit/s" % (up, down, udp))
    r0 = g.d.relay(0)
    check(r0["vm2dev"]["tx_pkts"] > 1000 and r0["dev2vm"]["tx_pkts"] > 1000,
          "relay counters: %s" % r0)
