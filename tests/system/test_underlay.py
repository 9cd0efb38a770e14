"""The relay's own underlay address (issue 13 item 1; docs/tunnel.md): on a
device it shares with a guest, vrelayd answers ARP and neighbour
solicitations for its addresses, learns
its gateway's MAC by asking, and takes ESP-in-UDP to it off the guest's path;
nothing else addressed to it reaches the guest.

vrelayd runs in a network namespace of the test's own, its relay 0 on a
net_tap device there; the kernel's end of that tap stands for the LAN and
its gateway (198.51.100.1/24, 2001:db8:a::1/64)."""

import json
import os
import subprocess

from vrtest import Vrelayd, check, wait_for

RELAY_MAC = "02:00:00:00:00:0a"
IFACE = "vrtul0"


def ns_run(ns, *argv, ok=True):
    r = subprocess.run(["ip", "netns", "exec", ns] + list(argv), capture_output=True, text=True,
                       timeout=20)
    check(r.returncode == 0 or not ok, "%s: %s" % (" ".join(argv), r.stderr))
    return r.stdout


def udp_to(ns, port):
    ns_run(ns, "/usr/bin/python3", "-c",
           "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
           "s.sendto(b'x' * 64, ('198.51.100.10', %d))" % port)


def test_arp_nd_gateway_and_own_frames(s):
    ns = "vrt-ul-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        d = Vrelayd(s, ["--set", "underlay-relay=0", "--set", "underlay-ipv4=198.51.100.10/24",
                        "--set", "underlay-gateway4=198.51.100.1",
                        "--set", "underlay-ipv6=2001:db8:a::10/64",
                        "--set", "underlay-gateway6=2001:db8:a::1",
                        "-r", "id=0 device=net_tap0,iface=%s,mac=%s" % (IFACE, RELAY_MAC)])
        d.argv = ["ip", "netns", "exec", ns] + d.argv
        d.start()
        wait_for(lambda: IFACE in ns_run(ns, "ip", "link"), 10, "the tap in the namespace")
        # the tap's kernel end takes the MAC given to the port: give the
        # gateway one of its own
        ns_run(ns, "ip", "link", "set", IFACE, "address", "02:00:00:00:00:01")
        ns_run(ns, "ip", "addr", "add", "198.51.100.1/24", "dev", IFACE)
        ns_run(ns, "ip", "-6", "addr", "add", "2001:db8:a::1/64", "dev", IFACE, "nodad")
        ns_run(ns, "ip", "link", "set", IFACE, "up")
        gw_mac = json.loads(ns_run(ns, "ip", "-j", "link", "show", IFACE))[0]["address"]

        # vrelayd asks for its gateway once a second until it answers
        for key in ("gateway4_mac", "gateway6_mac"):
            wait_for(lambda: d.tel.query("/vrelay/underlay")[key] == gw_mac, 10,
                     "vrelayd to learn its gateway's MAC %s (%s)" % (gw_mac, key))
        # and answers the LAN's ARP for its own address (its own question
        # taught the kernel already: forget that first)
        ns_run(ns, "ip", "neigh", "flush", "dev", IFACE)
        ns_run(ns, "ip", "-6", "neigh", "flush", "dev", IFACE)
        ns_run(ns, "ping", "-c", "1", "-W", "1", "198.51.100.10", ok=False)

        ns_run(ns, "ping", "-6", "-c", "1", "-W", "1", "2001:db8:a::10", ok=False)

        def neighbour(addr):
            for n in json.loads(ns_run(ns, "ip", "-j", "neigh", "show", addr) or "[]"):
                if n.get("lladdr"):
                    return n["lladdr"]
            return None
        for addr in ("198.51.100.10", "2001:db8:a::10"):
            wait_for(lambda: neighbour(addr) == RELAY_MAC, 10, "the LAN to resolve " + addr)
        # the kernel may have kept the IPv6 entry our own solicitation taught
        # it; its reachability probe (a unicast NS, 5 s on) is answered then
        wait_for(lambda: d.tel.query("/vrelay/underlay")["answered"] >= 2, 15,
                 "both families' questions answered")
        u = d.tel.query("/vrelay/underlay")
        check(u["ctl_frames"] >= 4 and u["ring_full"] == 0, "underlay: %s" % u)

        # its own traffic: ESP-in-UDP to the tunnel, the rest dropped
        before = d.tel.query("/vrelay/underlay")
        udp_to(ns, 4500)
        udp_to(ns, 5201)
        # (no tunnel consumes them yet: taken off the guest's path, counted)
        wait_for(lambda: d.tel.query("/vrelay/underlay")["tunnel_unclaimed"] ==
                 before["tunnel_unclaimed"] + 1, 5, "the UDP 4500 frame to be taken as ESP")
        wait_for(lambda: d.tel.query("/vrelay/underlay")["other_dropped"] >=
                 before["other_dropped"] + 1, 5, "the UDP 5201 frame to be dropped")
        rc = d.stop()
        check(rc == 0, "vrelayd exit code %s" % rc)
    finally:
        subprocess.run(["ip", "netns", "del", ns])
