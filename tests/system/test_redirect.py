"""A guest's TCP session survives a move into another subnet (issue 13;
docs/tunnel.md, "The redirect"), with two vrelayd processes standing for
two hosts and the guest's kernel standing for the VM.

Namespaces the test makes:
  R   the router: LAN A 198.51.100.1/24 on vta (relay A's net_tap), LAN B
      203.0.113.1/24 on vtb (relay B's), the client's link 192.0.2.1/24;
      both vrelayd run here, so their taps' kernel ends are R's interfaces
  C   the client, 192.0.2.10
  G   the guest's kernel: 198.51.100.20 on g0, its gateway 198.51.100.1
  H   the hypervisor: a testpmd joins g1 (g0's veth peer) to the guest's
      vhost-user socket of relay A, then of relay B: the "migration"

The client holds one TCP session to the guest's old address through the
move; afterwards a new address on LAN B is reached directly, and the
tunnel's counters do not move for it. Once the session ended, both relays
end the redirect by themselves."""

import json
import os
import socket
import struct
import subprocess
import threading
import time

import zmq

from vrtest import BUILD, TESTPMD, TestFailure, Vrelayd, check, wait_for

A_MAC, B_MAC, C_MAC, D_MAC = ("02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c",
                              "02:00:00:00:00:0d")
GUEST_MAC = "52:54:00:00:00:20"
GUEST_IP6 = "2001:db8:a::20"
VRELAYCTL = os.path.join(BUILD, "src", "cli", "vrelayctl")
MIGRATE = os.path.join(BUILD, "src", "cli", "vrelay-migrate")

ECHO_SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5001)); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
print("accepted", flush=True)
while True:
    d = c.recv(65536)
    if not d:
        break
    c.sendall(d)
"""

# Sends a numbered line every 10 ms to ADDRESS and reads its echo, and 3 s
# before the end 1 MB at once (full-size segments: sealed, they exceed the
# 1500-byte underlay and go in fragments) unless told no-bulk; prints the
# longest wait for an echo, and exits 0 only if everything came back in order.
ECHO_CLIENT = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[2], 5001), timeout=30)
s.settimeout(30)
end = time.monotonic() + float(sys.argv[1])
n, worst, buf, bulk = 0, 0.0, b"", sys.argv[3] == "no-bulk"
while time.monotonic() < end:
    t = time.monotonic()
    if not bulk and end - t < 3:  # after the move: 1 MB in full-size segments
        bulk = True
        s.sendall(b"B" * 1000000 + b"\n")
        while b"\n" not in buf:
            buf += s.recv(65536)
        line, buf = buf.split(b"\n", 1)
        if line != b"B" * 1000000:
            print("bulk came back as", len(line), "bytes", flush=True); sys.exit(1)
        continue
    s.sendall(b"VRELAY-MARKER %08d\n" % n)
    while b"\n" not in buf:
        d = s.recv(4096)
        if not d:
            print("closed at", n, flush=True); sys.exit(1)
        buf += d
    line, buf = buf.split(b"\n", 1)
    if line != b"VRELAY-MARKER %08d" % n:
        print("out of order at", n, line, flush=True); sys.exit(1)
    worst = max(worst, time.monotonic() - t)
    n += 1
    time.sleep(0.01)
print("echoed", n, "worst_ms", int(worst * 1000), flush=True)
"""


# Sends COUNT numbered UDP datagrams to ADDRESS:5005, one per millisecond.
UDP_SENDER = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t = time.monotonic()
for n in range(int(sys.argv[2])):
    s.sendto(struct.pack("!I", n) + b"x" * 200, (sys.argv[1], 5005))
    t += 0.001
    time.sleep(max(0.0, t - time.monotonic()))
print("sent", n + 1, flush=True)
"""

# Receives them until 3 s pass without one; prints the numbers in arrival order.
UDP_RECEIVER = r"""
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 1 << 24)  # SO_RCVBUFFORCE: what is held arrives at once
s.bind(("0.0.0.0", 5005))
print("listening", flush=True)
got = []
s.settimeout(30)
while True:
    try:
        got.append(struct.unpack("!I", s.recv(2048)[:4])[0])
    except socket.timeout:
        break
    s.settimeout(3)
print("got", " ".join(map(str, got)), flush=True)
"""

# Captures what crosses an interface (both ways) for SECONDS into FILE:
# each frame as a 4-byte length and its bytes.
CAPTURE = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.settimeout(0.2)
end = time.monotonic() + float(sys.argv[2])
with open(sys.argv[3], "wb") as f:
    while time.monotonic() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        f.write(struct.pack("!I", len(d)) + d)
"""

# Sends the frames of FILE (the format above) out of an interface.
INJECT = r"""
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
data = open(sys.argv[2], "rb").read()
while data:
    n = struct.unpack("!I", data[:4])[0]
    s.send(data[4:4 + n])
    data = data[4 + n:]
"""


def ip_sum(hdr):
    """The IPv4 header checksum of hdr (checksum field zero)."""
    t = sum(struct.unpack("!10H", hdr))
    t = (t & 0xffff) + (t >> 16)
    return ~((t & 0xffff) + (t >> 16)) & 0xffff


def frames_of(path):
    data, out = open(path, "rb").read(), []
    while data:
        n = struct.unpack("!I", data[:4])[0]
        out.append(data[4:4 + n])
        data = data[4 + n:]
    return out


def write_frames(path, frames):
    with open(path, "wb") as f:
        for fr in frames:
            f.write(struct.pack("!I", len(fr)) + fr)


def esp_to(frames, mac):
    """The ESP-in-UDP frames (IPv4, port 4500) addressed to mac."""
    return [f for f in frames if f[:6] == bytes.fromhex(mac.replace(":", "")) and
            f[12:14] == b"\x08\x00" and f[23] == 17 and f[36:38] == b"\x11\x94"]


def sh(*argv, ns=None, ok=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 or not ok, "%s: %s" % (" ".join(cmd), r.stderr))
    return r.stdout


class Net:
    """The namespaces and links; removed whatever happens."""

    def __init__(self, tag):
        self.ns = {k: "vrt-%s-%s" % (tag, k) for k in "RCGH"}

    def __enter__(self):
        for n in self.ns.values():
            sh("ip", "netns", "add", n)
        R, C, G, H = (self.ns[k] for k in "RCGH")
        sh("ip", "link", "add", "c0", "netns", C, "type", "veth", "peer", "c1", "netns", R)
        sh("ip", "link", "add", "g0", "netns", G, "type", "veth", "peer", "g1", "netns", H)
        sh("ip", "addr", "add", "192.0.2.1/24", "dev", "c1", ns=R)
        sh("ip", "addr", "add", "2001:db8:c::1/64", "dev", "c1", "nodad", ns=R)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=R)
        sh("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", ns=R)
        sh("ip", "addr", "add", "192.0.2.10/24", "dev", "c0", ns=C)
        sh("ip", "addr", "add", "2001:db8:c::10/64", "dev", "c0", "nodad", ns=C)
        sh("ip", "link", "set", "g0", "address", GUEST_MAC, ns=G)
        sh("ip", "addr", "add", "198.51.100.20/24", "dev", "g0", ns=G)
        sh("ip", "addr", "add", GUEST_IP6 + "/64", "dev", "g0", "nodad", ns=G)
        # a veth leaves checksums to its peer, which af_packet does not finish:
        # the guest's kernel does them, as a virtio guest without offloads would
        sh("ethtool", "-K", "g0", "tx", "off", ns=G)
        for ns, dev in ((R, "c1"), (C, "c0"), (G, "g0"), (H, "g1"), (R, "lo"), (C, "lo"),
                        (G, "lo")):
            sh("ip", "link", "set", dev, "up", ns=ns)
        sh("ip", "route", "add", "default", "via", "192.0.2.1", ns=C)
        sh("ip", "-6", "route", "add", "default", "via", "2001:db8:c::1", ns=C)
        sh("ip", "route", "add", "default", "via", "198.51.100.1", ns=G)
        sh("ip", "-6", "route", "add", "default", "via", "2001:db8:a::1", ns=G)
        # g1 carries whatever the guest sends, to any MAC
        sh("ip", "link", "set", "g1", "promisc", "on", ns=H)
        return self

    def __exit__(self, *exc):
        for n in self.ns.values():
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def relay(s, net, name, iface, mac, addr, gw, extra=()):
    """vrelayd in the router's namespace on net_tap iface, its underlay addr
    (IPv4 /24 or IPv6 /64) behind gw, which the router takes."""
    fam, plen = ("6", "64") if ":" in addr else ("4", "24")
    d = Vrelayd(s, list(extra) + [
                    "--set", "underlay-relay=0", "--set", "underlay-ipv%s=%s/%s" % (fam, addr, plen),
                    "--set", "underlay-gateway%s=%s" % (fam, gw),
                    "-r", "id=0 device=net_tap0,iface=%s,mac=%s" % (iface, mac)], name=name)
    own = s.path(name)
    os.mkdir(own)
    d.argv = [own if (i > 0 and d.argv[i - 1] in ("--socket-dir", "--control-dir")) else a
              for i, a in enumerate(d.argv)]
    d.argv = ["ip", "netns", "exec", net.ns["R"]] + d.argv
    d.dir = own
    d.start()
    router_side(net, iface, mac)
    return d


def router_side(net, iface, mac):
    """The router's end of a relay's net_tap (made anew by every start)."""
    R = net.ns["R"]
    wait_for(lambda: iface in sh("ip", "link", ns=R), 10, iface + " in the router")
    # the tap's kernel end took the port's MAC: the router gets its own
    sh("ip", "link", "set", iface, "address", mac[:-2] + "f" + mac[-1], ns=R)
    sh("ip", "link", "set", iface, "up", ns=R)
    # each LAN is a bridge: relays A and D (vta, vtd) share LAN A, B and C
    # (vtb, vtc) LAN B
    sh("ip", "link", "set", iface, "master", lan(net, "a" if iface in ("vta", "vtd") else "b"),
       ns=R)


def lan(net, which):
    """The router's bridge for LAN which ("a", "b"; made once), with the
    gateway addresses of both families."""
    R, br = net.ns["R"], "br" + which
    if br not in sh("ip", "link", ns=R):
        sh("ip", "link", "add", br, "address", "02:00:00:00:01:0" + which, "type", "bridge",
           "stp_state", "0", "forward_delay", "0", ns=R)
        sh("ip", "addr", "add", ("198.51.100" if which == "a" else "203.0.113") + ".1/24",
           "dev", br, ns=R)
        sh("ip", "addr", "add", "2001:db8:%s::1/64" % which, "dev", br, "nodad", ns=R)
        sh("ip", "link", "set", br, "up", ns=R)
    return br


def hypervisor(s, net, name, sock):
    """A testpmd joining the guest's veth to a relay's vhost-user socket."""
    p = s.spawn(["ip", "netns", "exec", net.ns["H"], TESTPMD, "--lcores", "0@0,1@0",
                 "--file-prefix", s.prefix(name), "--no-pci", "--in-memory",
                 "--single-file-segments", "--vdev", "net_af_packet0,iface=g1",
                 "--vdev", "net_virtio_user1,path=" + sock, "--", "--no-lsc-interrupt",
                 "--port-topology=paired", "--forward-mode=io", "--auto-start",
                 "--total-num-mbufs=8192", "--stats-period=0"], name + ".log",
                stdin=subprocess.PIPE)
    return p


def ctl(d, *args):
    r = subprocess.run([VRELAYCTL, "-d", d.dir] + list(args), capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout + r.stderr


def counters(d, direction):
    return d.relay(0)[direction]["tunnel"]


def guest_on(d):
    return d.relay(0).get("state") == "connected"


def start_session(s, net, v6=False, seconds=8, extra=(), extra_b=()):
    """Relays A and B (with extra options), the guest on A, a TCP session
    from the client to its old address running; returns (a, b, hypervisor,
    client). v6: the underlay and the session are IPv6."""
    C, G = net.ns["C"], net.ns["G"]
    # a session ends 3 s after its FINs (the default linger is 10 s); any
    # ICMP the router sent the guest during the move is one, idle after 2 s
    linger = ["--set", "tunnel-tcp-linger=3", "--set", "tunnel-other-idle=2"] + list(extra)
    under = (("2001:db8:a::10", "2001:db8:a::1"), ("2001:db8:b::10", "2001:db8:b::1")) if v6 \
        else (("198.51.100.10", "198.51.100.1"), ("203.0.113.10", "203.0.113.1"))
    a = relay(s, net, "relayA", "vta", A_MAC, *under[0], extra=linger)
    b = relay(s, net, "relayB", "vtb", B_MAC, *under[1], extra=linger + list(extra_b))
    for d in (a, b):
        wait_for(lambda: d.tel.query("/vrelay/underlay")["gateway%d_mac" % (6 if v6 else 4)]
                 != "", 15, "%s to learn its gateway" % d.name)
    hv = hypervisor(s, net, "hvA", os.path.join(a.dir, "relay0.sock"))
    wait_for(lambda: guest_on(a), 30, "the guest on relay A")
    guest = GUEST_IP6 if v6 else "198.51.100.20"
    sh("ping", "-c", "3", "-i", "0.2", "-W", "2", guest, ns=C)
    wait_for(lambda: a.relay(0).get("guest_mac") == GUEST_MAC and
             guest in a.relay(0).get("guest_ips", []), 10, "relay A to learn the guest")
    server = s.spawn(["ip", "netns", "exec", G, "/usr/bin/python3", "-c",
                      ECHO_SERVER.replace('socket.socket()', 'socket.socket(socket.AF_INET6)')
                      .replace('"0.0.0.0"', '"::"') if v6 else ECHO_SERVER], "echo_server.log")
    wait_for(lambda: "listening" in server.output(), 10, "the guest's echo server")
    client = s.spawn(["ip", "netns", "exec", C, "/usr/bin/python3", "-c", ECHO_CLIENT, str(seconds),
                      guest, "bulk"], "echo_client.log")
    # the session is established before the move
    wait_for(lambda: "accepted" in server.output(), 30, "the client's session")
    return a, b, hv, client


def test_same_lan_handover(s):
    """A move between two relays on one LAN (A to D) under 1000 numbered
    UDP datagrams a second: vrelay-migrate sets up a handover, and what
    reaches A after the guest stopped there, before D's announcement moved
    the LAN, goes on to D, which holds it for the guest with what reaches
    it directly: nothing is lost between the relays, what arrives is in
    order, and both end the handover once the guest runs on D."""
    with Net("rh%d" % os.getpid()) as net:
        G, C = net.ns["G"], net.ns["C"]
        a = relay(s, net, "relayA", "vta", A_MAC, "198.51.100.10", "198.51.100.1")
        d = relay(s, net, "relayD", "vtd", D_MAC, "198.51.100.11", "198.51.100.1",
                  extra=["--set", "hold-ms=10000"])
        for r in (a, d):
            wait_for(lambda: r.tel.query("/vrelay/underlay")["gateway4_mac"] != "", 15,
                     "%s to learn its gateway" % r.name)
        hv = hypervisor(s, net, "hvA", os.path.join(a.dir, "relay0.sock"))
        wait_for(lambda: guest_on(a), 30, "the guest on relay A")
        sh("ping", "-c", "3", "-i", "0.2", "-W", "2", "198.51.100.20", ns=C)
        wait_for(lambda: "198.51.100.20" in a.relay(0).get("guest_ips", []), 10,
                 "relay A to learn the guest")
        rx = s.spawn(["ip", "netns", "exec", G, "/usr/bin/python3", "-c", UDP_RECEIVER],
                     "udp_rx.log")
        wait_for(lambda: "listening" in rx.output(), 10, "the guest's receiver")
        tx = s.spawn(["ip", "netns", "exec", C, "/usr/bin/python3", "-c", UDP_SENDER,
                      "198.51.100.20", "6000"], "udp_tx.log")

        def stop():
            # the guest stops on A; QEMU reports STOP only after it stopped
            # the vrings, here 300 ms later (a TCG QEMU under load may take
            # that long, and meanwhile the LAN still sends to A)
            wait_for(lambda: a.relay(0)["dev2vm"]["tx_pkts"] > 1000, 10, "the stream to run")
            leave(hv, a)
            time.sleep(0.3)
        r = migrate(s, a, d, lambda: arrive(s, net, d, "hvD"), stop)
        check(r["status"] == "completed" and r["handover"] is True and r["redirect"] is True,
              "report %s" % r)
        wait_for(lambda: not tx.alive() and not rx.alive(), 30, "the stream to end")
        got = [int(x) for x in rx.output().split("got", 1)[1].split()]
        wait_for(lambda: d.tel.query("/vrelay/redirect,0")["state"] == "none", 10,
                 "D to end the handover")
        ra, rd = a.tel.query("/vrelay/underlay"), d.tel.query("/vrelay/underlay")
        passed, taken = counters(a, "dev2vm")["out"], counters(d, "dev2vm")["in"]
        print("    same LAN: %d of 6000 datagrams reached the guest, in order; %d passed on "
              "by A after the guest stopped there, %d taken by D, %d held by D; markers "
              "A %d D %d" % (len(got), passed, taken, d.relay(0)["dev2vm"]["held"],
                             ra["markers"], rd["markers"]))
        # the relays lost nothing between them; what the guest missed, the
        # stand-in hypervisor did (its testpmd forwards only seconds after
        # the vrings start): tests/vm/test_cross_subnet.py shows a QEMU
        # guest's stream whole
        check(got == sorted(got), "out of order")
        # (A passes on all it gets; the LAN's ARP probes for the guest among
        # them are not IP, which a handover does not carry: a few)
        check(passed > 50 and passed - 10 <= taken <= passed,
              "A passed on %d frames, D took %d" % (passed, taken))
        # D's announcement of the guest reached A too, after everything the
        # LAN still sent A: A passed it on as the marker D waits for before
        # what reaches it directly goes in (docs/tunnel.md, "Same LAN")
        check(ra["markers"] >= 1 and 1 <= rd["markers"] <= ra["markers"],
              "markers: A passed on %d, D took %d" % (ra["markers"], rd["markers"]))
        check(ra["ended_op"] == 1 and rd["ended_handover"] == 1,
              "handover ends: A %s D %s" % (ra, rd))
        for r in (a, d):
            check(r.stop() == 0, "%s exit code" % r.name)


def leave(hv, a):
    """The guest's hypervisor on relay a stops."""
    hv.stop(timeout=5)
    wait_for(lambda: not guest_on(a), 10, "the guest gone from " + a.name)


def arrive(s, net, b, name):
    """The guest starts on relay b (its hypervisor named name); returns the
    hypervisor."""
    hv = hypervisor(s, net, name, os.path.join(b.dir, "relay0.sock"))
    wait_for(lambda: guest_on(b), 30, "the guest on " + b.name)
    return hv


def switch_hypervisor(s, net, hv, a, b, name="hvB"):
    """The guest leaves relay a and starts on relay b (its hypervisor
    named name); returns the new hypervisor."""
    leave(hv, a)
    return arrive(s, net, b, name)


def session_survived(client):
    wait_for(lambda: not client.alive(), 90, "the client's session to end")
    out = client.output()
    check(client.p.returncode == 0, "the TCP session did not survive: %s" % out)
    return out.strip()


def both_end_it(a, b, ended_sessions=1):
    """The session ended (FIN both ways): after the linger, both relays end
    the redirect by themselves and count why."""
    for d in (a, b):
        wait_for(lambda: d.tel.query("/vrelay/redirect,0")["state"] == "none", 15,
                 "%s to end the redirect once its session ended" % d.name)
        u = d.tel.query("/vrelay/underlay")
        check(u["ended_sessions"] == ended_sessions, "%s: %s" % (d.name, u))
    for d in (a, b):
        check(d.stop() == 0, "%s exit code" % d.name)


def test_rekeys_lose_nothing(s):
    """With an SA replaced every 200 packets (tunnel-rekey-packets), a
    12-second session through the tunnel sees several rekeys each way; no
    frame finds the peer without its SA (no_sa, unclaimed), none fails to
    open, and the session's echoes all come back."""
    with Net("rk%d" % os.getpid()) as net:
        a, b, hv, client = start_session(s, net, seconds=12,
                                         extra=["--set", "tunnel-rekey-packets=200"])
        rc, out = ctl(a, "redirect", "0", b.dir, "0")
        check(rc == 0, "vrelayctl redirect: %s" % out)
        first = {d.name: d.tel.query("/vrelay/redirect,0")["spi_out4"] for d in (a, b)}
        switch_hypervisor(s, net, hv, a, b)
        session_survived(client)
        ra, rb = a.tel.query("/vrelay/redirect,0"), b.tel.query("/vrelay/redirect,0")
        print("    rekeys: A out %d in %d, B out %d in %d; opened A %d B %d" % (
            ra["rekeys_out"], ra["rekeys_in"], rb["rekeys_out"], rb["rekeys_in"],
            ra["opened"]["pkts"], rb["opened"]["pkts"]))
        for me, peer in ((ra, rb), (rb, ra)):
            check(me["rekeys_out"] >= 2 and peer["rekeys_in"] >= me["rekeys_out"] - 1,
                  "rekeys: A %s B %s" % (ra, rb))
            check(all(me["opened"][k] == 0 for k in ("auth", "replay", "no_sa", "malformed")),
                  "drops while rekeying: A %s B %s" % (ra["opened"], rb["opened"]))
        check(ra["spi_out4"] != first["relayA"] and rb["spi_out4"] != first["relayB"],
              "the SPIs did not change: %s" % first)
        for d in (a, b):
            u = d.tel.query("/vrelay/underlay")
            check(u["tunnel_unclaimed"] == 0, "%s: unclaimed ESP %s" % (d.name, u))
        both_end_it(a, b)


def test_redirect_ends_when_its_flows_go_idle(s):
    """Only pings cross the tunnel (ICMP: idle after tunnel-other-idle, 2 s
    here): once they stop, each relay sees its flows end idle and ends the
    redirect by itself, no sooner than that timeout."""
    with Net("ri%d" % os.getpid()) as net:
        a, b, hv, client = start_session(s, net, seconds=1)
        session_survived(client)  # ended before the move: not carried
        rc, out = ctl(a, "redirect", "0", b.dir, "0")
        check(rc == 0, "vrelayctl redirect: %s" % out)
        switch_hypervisor(s, net, hv, a, b)
        sh("ping", "-c", "5", "-i", "0.2", "-W", "2", "198.51.100.20", ns=net.ns["C"])
        last = time.monotonic()
        for d in (a, b):
            r = d.tel.query("/vrelay/redirect,0")
            check(r["state"] != "none" and
                  r["flows_sealed"]["flows_added"] + r["flows_opened"]["flows_added"] > 0,
                  "%s carried no flow: %s" % (d.name, r))
        for d in (a, b):
            wait_for(lambda: d.tel.query("/vrelay/redirect,0")["state"] == "none", 20,
                     "%s to end the redirect once its flows went idle" % d.name)
            u = d.tel.query("/vrelay/underlay")
            check(u["ended_sessions"] == 1 and u["ended_op"] == 0, "%s: %s" % (d.name, u))
        check(time.monotonic() - last >= 2, "ended before the idle timeout")
        for d in (a, b):
            check(d.stop() == 0, "%s exit code" % d.name)


def test_tcp_session_survives_a_cross_subnet_move(s):
    with Net("rd%d" % os.getpid()) as net:
        G, C = net.ns["G"], net.ns["C"]
        a, b, hv, client = start_session(s, net)
        # what crosses LAN B while the session goes through the tunnel
        cap = s.spawn(["ip", "netns", "exec", net.ns["R"], "/usr/bin/python3", "-c", CAPTURE,
                       "vtb", "4", s.path("lan_b.frames")], "capture.log")
        # the move: the redirect first (keys made by A, handed to B), then
        # the guest leaves A and starts on B
        rc, out = ctl(a, "redirect", "0", b.dir, "0")
        check(rc == 0, "vrelayctl redirect: %s" % out)
        check(a.tel.query("/vrelay/redirect,0")["role"] == "source", "A's redirect")
        check(b.tel.query("/vrelay/redirect,0")["role"] == "destination", "B's redirect")
        switch_hypervisor(s, net, hv, a, b)
        # LAN B saw the session only as ESP: no marker the client sent in clear
        wait_for(lambda: not cap.alive(), 20, "the capture to end")
        seen = frames_of(s.path("lan_b.frames"))
        to_b = esp_to(seen, B_MAC)
        check(len(to_b) > 20, "%d ESP frames to B in %d captured" % (len(to_b), len(seen)))
        check(not any(b"VRELAY-MARKER" in f for f in seen), "a marker in clear on LAN B")
        # what an attacker on LAN B can send B while the session runs: a
        # replayed frame, a forged one (a sequence number not seen yet), one
        # cut short, one for an SPI B does not have: each dropped and counted
        whole = [f for f in to_b if struct.unpack("!H", f[20:22])[0] & 0x3fff == 0]
        f0 = whole[len(whole) // 2]
        fresh = struct.pack("!I", struct.unpack("!I", f0[46:50])[0] + 1000000)
        forged = f0[:46] + fresh + f0[50:-5] + bytes([f0[-5] ^ 1]) + f0[-4:]
        short = f0[:14 + 20 + 8 + 12]
        short = short[:16] + struct.pack("!H", len(short) - 14) + short[18:24] + b"\0\0" + \
            short[26:]
        short = short[:24] + struct.pack("!H", ip_sum(short[14:34])) + short[26:38] + \
            struct.pack("!H", len(short) - 34) + short[40:]
        foreign = f0[:42] + b"\x7f\x7f\x7f\x7f" + f0[46:]
        got = {}
        # each is sent again until B counts it (at most 5 times, 1 s apart):
        # B's device queue can be full under the session's bulk and drop a
        # copy before anything looks at it. B may never have had the
        # replayed frame's original for the same reason: its first copy
        # then opens as new, and the next one is the replay.
        for name, f in (("replay", f0), ("forged", forged), ("short", short),
                        ("foreign", foreign)):
            o, u = b.tel.query("/vrelay/redirect,0")["opened"], b.tel.query("/vrelay/underlay")

            def moved():
                o2 = b.tel.query("/vrelay/redirect,0")["opened"]
                u2 = b.tel.query("/vrelay/underlay")
                d = {k: o2[k] - o[k] for k in ("replay", "auth", "malformed", "no_sa")}
                d["unclaimed"] = u2["tunnel_unclaimed"] - u["tunnel_unclaimed"]
                return {k: v for k, v in d.items() if v}
            for _ in range(5):
                write_frames(s.path("attack.frames"), [f])
                sh("/usr/bin/python3", "-c", INJECT, "vtb", s.path("attack.frames"),
                   ns=net.ns["R"])
                try:
                    wait_for(lambda: moved(), 1, "B to count the %s frame" % name)
                    break
                except TestFailure:
                    pass
            got[name] = moved()
        check(got == {"replay": {"replay": 1}, "forged": {"auth": 1}, "short": {"no_sa": 1},
                      "foreign": {"unclaimed": 1}}, "attacks counted as %s" % got)
        out = session_survived(client)
        ra, rb = a.tel.query("/vrelay/redirect,0"), b.tel.query("/vrelay/redirect,0")
        # nothing else was dropped: the session's own frames all opened
        for k in ("auth", "replay", "no_sa", "wrong_peer", "malformed"):
            want = int(k in ("replay", "auth", "no_sa"))
            check(ra["opened"][k] == 0 and rb["opened"][k] == want,
                  "drops %s: %s %s" % (k, ra, rb))
        # both ways through the tunnel, counted where they entered and left
        check(counters(a, "dev2vm")["out"] > 0 and counters(b, "dev2vm")["in"] > 0,
              "client to guest: A %s B %s" % (counters(a, "dev2vm"), counters(b, "dev2vm")))
        check(counters(b, "vm2dev")["out"] > 0 and counters(a, "vm2dev")["in"] > 0,
              "guest to client: B %s A %s" % (counters(b, "vm2dev"), counters(a, "vm2dev")))
        wait_for(lambda: b.tel.query("/vrelay/redirect,0")["opened"]["pkts"] ==
                 counters(b, "dev2vm")["in"], 5, "what B opened to be what went to its guest")
        cut_and_made_whole((a, ra), (b, rb))
        print("    %s; tunnel A->B %d frames, B->A %d, %d and %d cut in two" % (
            out, rb["opened"]["pkts"], ra["opened"]["pkts"], ra["fragmented"],
            rb["fragmented"]))

        # a new address on LAN B goes direct: the tunnel sees none of it
        sh("ip", "addr", "add", "203.0.113.20/24", "dev", "g0", ns=G)
        sh("ip", "rule", "add", "from", "203.0.113.20", "table", "100", ns=G)
        sh("ip", "route", "add", "default", "via", "203.0.113.1", "table", "100", ns=G)
        before = [counters(b, "vm2dev"), counters(b, "dev2vm"), counters(a, "dev2vm")]
        sh("ping", "-c", "5", "-i", "0.2", "-W", "2", "203.0.113.20", ns=C)
        after = [counters(b, "vm2dev"), counters(b, "dev2vm"), counters(a, "dev2vm")]
        check(before == after, "new session through the tunnel: %s -> %s" % (before, after))

        both_end_it(a, b)


class FakeQemu:
    """The QMP side of a QEMU whose guest is the testpmd hypervisor, enough
    for vrelay-migrate: the source's "migrate" runs move() (STOP first, as
    QEMU stops the guest, then RESUME on the destination) and reports
    MIGRATION completed, or failed when move is None."""

    def __init__(self, path, status, move=None, stop=None):
        self.status, self.move, self.stop, self.conns = status, move, stop, []
        self.migration = None  # query-migrate's status
        self.peer = None  # the destination, told to RESUME
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(path)
        self.ls.listen(4)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        try:
            while True:
                c, _ = self.ls.accept()
                self.conns.append(c)
                threading.Thread(target=self.client, args=(c,), daemon=True).start()
        except OSError:
            return

    def send(self, obj):
        for c in self.conns:
            try:
                c.sendall(json.dumps(obj).encode() + b"\r\n")
            except OSError:
                pass

    def event(self, name, **data):
        self.send({"event": name, "data": data,
                   "timestamp": {"seconds": int(time.time()), "microseconds": 0}})

    def migrate(self):
        self.migration = "active"
        self.event("MIGRATION", status="active")
        if self.move is None:
            self.migration = "failed"
            self.event("MIGRATION", status="failed")
            return
        if self.stop is not None:  # QEMU stops the vrings before it says STOP
            self.stop()
        self.event("STOP")
        self.move()
        self.peer.event("RESUME")
        self.status, self.migration = "postmigrate", "completed"
        self.event("MIGRATION", status="completed")

    def client(self, c):
        c.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
        for line in c.makefile("rb"):
            cmd = json.loads(line).get("execute")
            ret = {}
            if cmd == "query-status":
                ret = {"status": self.status, "running": self.status == "running"}
            elif cmd == "query-migrate" and self.migration:
                ret = {"status": self.migration, "ram": {"transferred": 1}}
            c.sendall(json.dumps({"return": ret}).encode() + b"\r\n")
            if cmd == "migrate":
                threading.Thread(target=self.migrate, daemon=True).start()

    def close(self):
        self.ls.close()
        for c in self.conns:
            c.close()


def migrate(s, a, b, move, stop=None, b_ctl=None, ns=None):
    """vrelay-migrate between fake QEMUs whose "migration" is move (None:
    it fails), after stop when given; its JSON report. b_ctl: how to reach
    b's control (default its directory); ns: the namespace to run in."""
    n = len([f for f in os.listdir(s.dir) if f.endswith(".qmp")])
    src = FakeQemu(s.path("src%d.qmp" % n), "running", move, stop)
    src.peer = FakeQemu(s.path("dst%d.qmp" % n), "inmigrate")
    try:
        p = subprocess.run((["ip", "netns", "exec", ns] if ns else []) + [
                            MIGRATE, "--src", src.ls.getsockname(), "--dst",
                            src.peer.ls.getsockname(), "--uri", "unix:" + s.path("m.sock"),
                            "--src-relay", a.dir + ":0", "--dst-relay", (b_ctl or b.dir) + ":0",
                            "--json"],
                           capture_output=True, text=True, timeout=60)
    finally:
        src.close()
        src.peer.close()
    check(p.stdout.startswith("{"), "vrelay-migrate: %s %s" % (p.stdout, p.stderr))
    return json.loads(p.stdout)


def test_vrelay_migrate_sets_up_the_redirect(s):
    """vrelay-migrate needs no option for a move into another subnet: it
    sees the destination's underlay on another prefix and sets up the
    redirect before the guest moves; a migration that fails leaves none."""
    with Net("rm%d" % os.getpid()) as net:
        a, b, hv, client = start_session(s, net)
        r = migrate(s, a, b, None)
        check(r["status"] == "failed" and r["redirect"] is False, "report %s" % r)
        for d in (a, b):
            check(d.tel.query("/vrelay/redirect,0")["state"] == "none",
                  "%s kept the redirect of a failed migration" % d.name)
            check(d.tel.query("/vrelay/underlay")["ended_op"] == 1, "not undone on " + d.name)
        r = migrate(s, a, b, lambda: switch_hypervisor(s, net, hv, a, b))
        check(r["status"] == "completed" and r["redirect"] is True and r["announced"] >= 2,
              "report %s" % r)
        print("    " + session_survived(client))
        both_end_it(a, b)


def test_vrelay_migrate_over_tcp_with_curve(s):
    """Relays on two hosts: B is controlled over tcp:// with CURVE only, and
    vrelay-migrate reaches it through a file naming its endpoints and keys
    (docs/control.md). The redirect's keys cross that channel; the session
    survives the move."""
    with Net("rc%d" % os.getpid()) as net:
        R = net.ns["R"]
        sh("ip", "link", "set", "lo", "up", ns=R)
        srv_pub, srv_sec = zmq.curve_keypair()
        cli_pub, cli_sec = zmq.curve_keypair()
        for name, text in (("b-server.key", srv_sec), ("client.key", cli_sec),
                           ("b-clients", cli_pub)):
            with open(s.path(name), "wb") as f:
                f.write(text + b"\n")
            os.chmod(s.path(name), 0o600)
        eps = {"port-control": 5601, "stats": 5602, "config": 5603}
        over_tcp = sum((["--set", "zmq-%s=tcp://127.0.0.1:%d" % kv] for kv in eps.items()), []) + \
            ["--set", "curve-secret-key=" + s.path("b-server.key"),
             "--set", "curve-client-keys=" + s.path("b-clients")]
        with open(s.path("host-b"), "w") as f:
            f.write("".join("zmq-%s = tcp://127.0.0.1:%d\n" % kv for kv in eps.items()) +
                    "curve-server-key = %s\ncurve-secret-key = %s\n" % (
                        srv_pub.decode(), s.path("client.key")))
        a, b, hv, client = start_session(s, net, extra_b=over_tcp)
        check(not os.path.exists(os.path.join(b.dir, "port_control")),
              "B still has an ipc:// port control endpoint")
        r = migrate(s, a, b, lambda: switch_hypervisor(s, net, hv, a, b), b_ctl=s.path("host-b"),
                    ns=R)
        check(r["status"] == "completed" and r["redirect"] is True and r["announced"] >= 2,
              "report %s" % r)
        check(b.tel.query("/vrelay/redirect,0")["role"] == "destination", "B's redirect")
        print("    " + session_survived(client))
        both_end_it(a, b)


def second_session(s, net):
    """The guest takes an address on LAN B (routed by source) and the
    client opens a session to it, on port 5002; returns the client."""
    G, C = net.ns["G"], net.ns["C"]
    sh("ip", "addr", "add", "203.0.113.20/24", "dev", "g0", ns=G)
    sh("ip", "rule", "add", "from", "203.0.113.20", "table", "100", ns=G)
    sh("ip", "route", "add", "default", "via", "203.0.113.1", "table", "100", ns=G)
    server = s.spawn(["ip", "netns", "exec", G, "/usr/bin/python3", "-c",
                      ECHO_SERVER.replace("5001", "5002")], "echo_server_b.log")
    wait_for(lambda: "listening" in server.output(), 10, "the guest's second echo server")
    client = s.spawn(["ip", "netns", "exec", C, "/usr/bin/python3", "-c",
                      ECHO_CLIENT.replace("5001", "5002"), "25", "203.0.113.20", "no-bulk"],
                     "echo_client_b.log")
    wait_for(lambda: "accepted" in server.output(), 30, "the session to the LAN B address")
    return client


def test_moves_back_and_forth(s):
    """The guest goes A to B, home to A, to B again and home, each move by
    vrelay-migrate alone, under a TCP session to its LAN A address and,
    from its first stay on B, one to an address it took there. Each move
    ends the redirect of the LAN it arrives on (never a chain through a
    host it left) and makes one for the LAN it leaves."""
    with Net("rb%d" % os.getpid()) as net:
        a, b, hv, client = start_session(s, net, seconds=30)
        hvs, clients = [hv], [client]
        for i in range(4):
            x, y = (a, b) if i % 2 == 0 else (b, a)
            r = migrate(s, x, y, lambda: hvs.append(
                switch_hypervisor(s, net, hvs[-1], x, y, "hv%d" % i)))
            check(r["status"] == "completed", "move %d: %s" % (i + 1, r))
            roles = [d.tel.query("/vrelay/redirect,0").get("role", "none") for d in (a, b)]
            # the first move sets up a redirect before it; the others end
            # the one the guest has and make one for what it leaves at the STOP
            made = (r["redirect"], r["redirect_moved"], r["own_redirect"])
            check(made == ((True, "none", False) if i == 0 else (False, "home", True)) and
                  roles == (["source", "destination"] if y is b else
                            ["destination", "source"]), "move %d: %s %s" % (i + 1, r, roles))
            if i == 0:
                clients.append(second_session(s, net))
            # where the guest is, its frames from that LAN's address skip the tunnel
            here, addr = (a, "198.51.100.20") if y is a else (b, "203.0.113.20")
            before = counters(here, "dev2vm")["out"], counters(here, "vm2dev")["in"]
            sh("ping", "-c", "3", "-i", "0.2", "-W", "2", addr, ns=net.ns["C"])
            check((counters(here, "dev2vm")["out"], counters(here, "vm2dev")["in"]) == before,
                  "move %d: %s's own address through the tunnel" % (i + 1, here.name))
        for c in clients:
            print("    " + session_survived(c))
        for d in (a, b):
            u = d.tel.query("/vrelay/underlay")
            check(u["redirects_added"] == 4 and u["ended_op"] == 3, "%s: %s" % (d.name, u))
            check(d.stop() == 0, "%s exit code" % d.name)


def test_redirect_moves_onward(s):
    """A to B, then on to C on B's LAN, then home: at the second move A's
    redirect is moved to end at C (B keeps nothing: nothing depends on a
    host the guest left), and the session to the old address survives all
    three moves."""
    with Net("ro%d" % os.getpid()) as net:
        a, b, hv, client = start_session(s, net, seconds=20)
        c = relay(s, net, "relayC", "vtc", C_MAC, "203.0.113.11", "203.0.113.1",
                  extra=["--set", "tunnel-tcp-linger=3"])
        wait_for(lambda: c.tel.query("/vrelay/underlay")["gateway4_mac"] != "", 15,
                 "relay C to learn its gateway")
        hvs = [hv]
        for i, (x, y, want) in enumerate((
                (a, b, {"a": "source", "b": "destination", "c": "none"}),
                (b, c, {"a": "source", "b": "none", "c": "destination"}),
                (c, a, {"a": "none", "b": "none", "c": "none"}))):
            r = migrate(s, x, y, lambda: hvs.append(
                switch_hypervisor(s, net, hvs[-1], x, y, "hv%d" % i)))
            roles = {n: d.tel.query("/vrelay/redirect,0").get("role", "none")
                     for n, d in (("a", a), ("b", b), ("c", c))}
            check(r["status"] == "completed" and roles == want,
                  "move %s to %s: %s %s" % (x.name, y.name, r, roles))
            if y is c:
                check(r["redirect_moved"] == "onward" and r["redirect"] is False,
                      "onward: %s" % r)
                check(a.tel.query("/vrelay/redirect,0")["peer"] == "203.0.113.11",
                      "A's redirect ends at C now")
                # the session runs through C's end of the tunnel, both ways
                wait_for(lambda: counters(c, "dev2vm")["in"] > 20 and
                         counters(c, "vm2dev")["out"] > 20, 15, "the session through C")
        print("    " + session_survived(client))
        for d in (a, b, c):
            check(d.stop() == 0, "%s exit code" % d.name)


def cut_and_made_whole(*relays):
    """Full-size frames crossed in fragments both ways, made whole again:
    for each (vrelayd, its redirect's telemetry)."""
    for d, r in relays:
        u = d.tel.query("/vrelay/underlay")
        check(r["under_mtu"] == 1500 and r["fragmented"] > 0 and r["frag_failed"] == 0,
              "%s cut nothing: %s" % (d.name, r))
        check(u["reassembled"] > 0, "%s made nothing whole: %s" % (d.name, u))


def test_ipv6_guest_over_an_ipv6_underlay(s):
    """The same move with IPv6 everywhere: the underlay (outer IPv6, the
    gateways resolved by ND), the guest's old address and its session,
    whose full-size segments cross in outer IPv6 fragments."""
    with Net("r6%d" % os.getpid()) as net:
        a, b, hv, client = start_session(s, net, v6=True)
        rc, out = ctl(a, "redirect", "0", b.dir, "0")
        check(rc == 0, "vrelayctl redirect: %s" % out)
        check(b.tel.query("/vrelay/redirect,0")["peer"] == "2001:db8:a::10", "B's peer")
        switch_hypervisor(s, net, hv, a, b)
        print("    " + session_survived(client))
        check(counters(b, "vm2dev")["out"] > 0 and counters(a, "vm2dev")["in"] > 0,
              "guest to client: B %s A %s" % (counters(b, "vm2dev"), counters(a, "vm2dev")))
        ra, rb = a.tel.query("/vrelay/redirect,0"), b.tel.query("/vrelay/redirect,0")
        check(ra["opened"]["pkts"] > 0 and ra["answered"] >= 0, "A: %s" % ra)
        # the session's full-size segments, cut over the IPv6 underlay too
        cut_and_made_whole((a, ra), (b, rb))
        both_end_it(a, b)


def test_underlay_down_and_the_peer_killed(s):
    """Faults: LAN B's link goes down for 2 s under the session (TCP rides it
    out, nothing is counted as forged); then relay B is killed and started
    again without its redirect: A runs on, B counts what A still sends as
    unclaimed, and both exit cleanly."""
    with Net("rk%d" % os.getpid()) as net:
        R = net.ns["R"]
        a, b, hv, client = start_session(s, net)
        rc, out = ctl(a, "redirect", "0", b.dir, "0")
        check(rc == 0, "vrelayctl redirect: %s" % out)
        switch_hypervisor(s, net, hv, a, b)
        sh("ip", "link", "set", "vtb", "down", ns=R)
        time.sleep(2)  # the fault's length, not a wait for readiness
        sh("ip", "link", "set", "vtb", "up", ns=R)
        print("    " + session_survived(client))
        rb = b.tel.query("/vrelay/redirect,0")
        check(rb["opened"]["auth"] == 0 and rb["opened"]["malformed"] == 0, "B: %s" % rb)

        b.kill()
        before = a.tel.query("/vrelay/redirect,0")["sealed"]["pkts"]
        sh("ping", "-c", "3", "-i", "0.2", "-W", "1", "198.51.100.20", ns=net.ns["C"], ok=False)
        check(a.tel.query("/vrelay/redirect,0")["sealed"]["pkts"] > before,
              "A stopped sealing when its peer went")
        b.start()
        router_side(net, "vtb", B_MAC)
        wait_for(lambda: b.tel.query("/vrelay/underlay")["gateway4_mac"] != "", 15,
                 "relay B back, its gateway learned")
        check(b.tel.query("/vrelay/redirect,0")["state"] == "none", "B kept a redirect")
        # what A sends now reaches a B that has no such SPI: counted there
        wait_for(lambda: (sh("ping", "-c", "1", "-W", "1", "198.51.100.20", ns=net.ns["C"],
                             ok=False) and
                          b.tel.query("/vrelay/underlay")["tunnel_unclaimed"] > 0), 15,
                 "B to count A's frames as unclaimed")
        check(a.relay(0)["state"] in ("waiting", "connected"), "relay A: %s" % a.relay(0))
        for d in (a, b):
            check(d.stop() == 0, "%s exit code" % d.name)


def test_redirect_refusals(s):
    """What REDIRECT refuses, each with its reason; nothing half made."""
    with Net("rf%d" % os.getpid()) as net:
        a = relay(s, net, "relayA", "vta", A_MAC, "198.51.100.10", "198.51.100.1")
        plain = Vrelayd(s, ["-r", "id=0 device=net_null0"], name="plain")
        own = s.path("plain")
        os.mkdir(own)
        plain.argv = [own if (i > 0 and plain.argv[i - 1] in ("--socket-dir", "--control-dir"))
                      else x for i, x in enumerate(plain.argv)]
        plain.dir = own
        plain.start()
        # the peer has no underlay address at all
        rc, out = ctl(a, "redirect", "0", plain.dir, "0")
        check(rc == 1 and "no underlay address family in common" in out, out)
        # no guest was ever seen on relay 0, and none named
        b = relay(s, net, "relayB", "vtb", B_MAC, "203.0.113.10", "203.0.113.1")
        for d in (a, b):
            wait_for(lambda: d.tel.query("/vrelay/underlay")["gateway4_mac"] != "", 10,
                     "%s's gateway" % d.name)
        rc, out = ctl(a, "redirect", "0", b.dir, "0")
        check(rc == 1 and "has not learned its guest" in out, out)
        # a relay that does not exist
        rc, out = ctl(a, "redirect", "3", b.dir, "0", GUEST_MAC, "198.51.100.20")
        check(rc == 1 and "relay 3 does not exist" in out, out)
        # the destination relay does not exist: the source's half is undone
        rc, out = ctl(a, "redirect", "0", b.dir, "5", GUEST_MAC, "198.51.100.20")
        check(rc == 1 and "relay 5 does not exist" in out, out)
        check(a.tel.query("/vrelay/redirect,0")["state"] == "none", "half a redirect left on A")
        # and a good one twice
        rc, out = ctl(a, "redirect", "0", b.dir, "0", GUEST_MAC, "198.51.100.20")
        check(rc == 0, out)
        rc, out = ctl(a, "redirect", "0", b.dir, "0", GUEST_MAC, "198.51.100.20")
        check(rc == 1 and "has one already" in out, out)
        # UNREDIRECT ends it at once, once
        for d in (a, b):
            rc, out = ctl(d, "unredirect", "0")
            check(rc == 0, "unredirect: " + out)
            check(d.tel.query("/vrelay/redirect,0")["state"] == "none", "redirect left")
            check(d.tel.query("/vrelay/underlay")["ended_op"] == (2 if d is a else 1),
                  "not counted: %s" % d.tel.query("/vrelay/underlay"))
        rc, out = ctl(a, "unredirect", "0")
        check(rc == 1 and "no redirect" in out, "a second unredirect: %s" % out)
        for d in (a, b, plain):
            check(d.stop() == 0, "%s exit code" % d.name)
