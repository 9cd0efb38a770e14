"""MTU 9000 end to end: a guest with a 9000-byte MTU on a relay of MTU 9000
(mergeable RX buffers), whose device is net_pcap on a veth into a bridge and
peer of MTU 9000. Full-size frames back to back in both directions (TCP),
checksums verified at the peer, and the relay finishing the guest's
checksums and cutting its TSO frames into 9000-byte segments in software
(net_pcap has no offloads).
"""

import re

import vm
from vrtest import check, wait_for

MTU = 9000


class Setup:
    def __init__(self, s):
        self.peer = vm.Peer(s, mtu=MTU)
        dev = self.peer.pcap_device(0)
        self.d = vm.vrelayd(s, self.peer, ["-r", "id=0 device=%s mtu=%d" % (dev, MTU)]).start()
        self.vm = vm.Vm(s, "guest", s.path("relay0.sock"), peer=self.peer).start()
        self.c = self.vm.console
        self.c.run("ip link set eth0 mtu %d" % MTU)
        wait_for(lambda: self.peer.ping(count=1, deadline=2)["rx"] == 1, 30,
                 "the guest to answer a ping")


def shared(s):
    return Setup(s)


def full_size_frames(g, direction, log):
    """tcpdump at the peer for 20 TCP frames of 9000 bytes and more."""
    host = "src" if direction == "from_guest" else "dst"
    t = g.peer.spawn(["tcpdump", "-n", "-v", "-i", "eth0", "-c", "20",
                      "tcp and %s %s and greater %d" % (host, vm.GUEST_IP, MTU)], log)
    wait_for(lambda: "listening on" in t.output(), 10, "tcpdump to start")
    return t


def test_jumbo_ping_both_ways(s):
    g = s.shared
    r = g.peer.ping(count=10, size=MTU - 28, interval=0.05, deadline=20)
    check(r["rx"] == 10, "ping -s %d (DF unset, one 9000-byte frame): %s\nrelay: %s\n%s" % (
        MTU - 28, r["text"], g.d.relay(0), g.c.run("ip -s link show eth0")[1]))
    argv = ["ping", "-n", "-q", "-M", "do", "-c", "10", "-i", "0.05", "-s", str(MTU - 28),
            vm.GUEST_IP]
    out = g.peer.run(*argv, ok=False).stdout
    check(" 0% packet loss" in out, "ping -M do -s %d: %s" % (MTU - 28, out))
    rc, out = g.c.run("ping -c 5 -s %d %s" % (MTU - 28, vm.PEER_IP), ok=False)
    check(rc == 0 and re.search(r"5 packets received", out), "guest ping -s 8972:\n" + out)
    rel = g.d.relay(0)
    check(rel["dev2vm"]["rx_bytes"] / max(1, rel["dev2vm"]["rx_pkts"]) > 1500,
          "the device side carried no jumbo frames: %s" % rel["dev2vm"])


def test_tcp_full_size_frames_both_ways(s):
    g = s.shared
    before = g.d.relay(0)
    t = full_size_frames(g, "from_guest", "tcpdump-up.log")
    up, out = vm.guest_iperf(g.c, g.peer, "-n 16M", seconds=5)
    check(up, "iperf3 guest->peer at MTU 9000:\n" + out[-1500:])
    wait_for(lambda: not t.alive(), 10, "20 full-size frames from the guest at the peer")
    check("incorrect" not in t.output(), "bad checksums:\n" + t.output()[-1500:])
    after = g.d.relay(0)
    o0, o1 = before["vm2dev"]["offload"], after["vm2dev"]["offload"]
    cut = o1["tso_cut"] - o0["tso_cut"]
    segs = o1["tso_segments"] - o0["tso_segments"]
    check(cut > 0 and segs > cut and o1["dropped"] == o0["dropped"],
          "the relay cut no TSO frames at MSS 8948: %s -> %s" % (o0, o1))
    check(o1["device"] == 0, "net_pcap has no offloads, yet: %s" % o1)

    t = full_size_frames(g, "to_guest", "tcpdump-down.log")
    down, out = vm.guest_iperf(g.c, g.peer, "-R -n 16M", seconds=5)
    check(down, "iperf3 peer->guest at MTU 9000:\n" + out[-1500:])
    wait_for(lambda: not t.alive(), 10, "20 full-size frames to the guest at the peer")
    d0, d1 = after["dev2vm"], g.d.relay(0)["dev2vm"]
    avg = (d1["tx_bytes"] - d0["tx_bytes"]) / max(1, d1["tx_pkts"] - d0["tx_pkts"])
    check(avg > 4000, "frames to the guest averaged %.0f bytes" % avg)
    check(d1["drop_full"] == d0["drop_full"], "frames to the guest dropped: %s" % d1)
    print("    MTU 9000 through net_pcap (TCG guest): TCP guest->peer %.0f Mbit/s, "
          "peer->guest %.0f Mbit/s; %d TSO frames cut into %d segments" % (up, down, cut, segs))
