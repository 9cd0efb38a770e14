#!/usr/bin/python3
"""make demo: vrelayd relaying between a guest and a device, end to end.

Until QEMU guests exist (issue 5), the guest is dpdk-testpmd with a
net_virtio_user port (a real vhost-user frontend) and the device is a
net_memif port whose other end is a second testpmd. The demo starts vrelayd
with one relay, sends counted traffic guest-to-device, device-to-guest and
both ways, prints vrelayd's counters and rates, then stops everything.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "system"))
from vrtest import (Scratch, Vrelayd, guest_pmd, memif_args, memif_peer,  # noqa: E402
                    send_oneway, wait_for)


def row(*cols):
    print("  %-22s %14s %14s %12s %14s %10s" % cols)


def show_relay(d):
    r = d.relay(0)
    print("\nrelay 0: %s, socket %s, device %s" % (r["state"], r["socket"],
                                                    r["device_stats"]["name"]))
    row("direction", "packets", "bytes", "drops", "pps", "CPU")
    for name in ("vm2dev", "dev2vm"):
        c = r[name]
        row(name, c["tx_pkts"], c["tx_bytes"],
            c["drop_full"] + c["drop_unready"] + c["nombuf"], c["pps"], c["cpu"])
    ds = r["device_stats"]
    print("  device: ipackets %d opackets %d imissed %d errors %d" % (
        ds["ipackets"], ds["opackets"], ds["imissed"], ds["ierrors"] + ds["oerrors"]))


def main():
    s = Scratch("demo")
    try:
        memif = s.path("memif.sock")
        print("starting vrelayd: relay 0 = vhost-user %s <-> net_memif" % s.path("relay0.sock"))
        d = Vrelayd(s, ["--retry-us", "2000000",
                        "-r", "id=0 device=%s" % memif_args(memif, "server")]).start()
        peer = memif_peer(s, "device-peer", memif).start()
        guest = guest_pmd(s, "guest", s.path("relay0.sock")).start()
        wait_for(lambda: d.relay(0)["state"] == "connected", 10, "the guest to connect")
        print("guest connected (testpmd net_virtio_user); device peer connected (testpmd memif)")
        print("\nsending counted traffic (64-byte frames):")
        for direction, tx, rx in (("vm2dev", guest, peer), ("dev2vm", peer, guest)):
            sent, received, _ = send_oneway(d, 0, tx, rx, 64, 200000, direction)
            print("  %s: sent %d, received %d, lost %d" % (direction, sent, received,
                                                          sent - received))
        print("\nguest-to-device flow running; vrelayd's rates after 2 s:")
        peer.cmd("set fwd rxonly")
        peer.cmd("start")
        guest.cmd("set fwd txonly")
        guest.cmd("start")
        first = d.relay(0)["vm2dev"]["tx_pkts"]
        wait_for(lambda: d.relay(0)["vm2dev"]["tx_pkts"] > first, 5, "traffic")
        time.sleep(2.1)  # two samples of the one-second rate timer
        show_relay(d)
        guest.cmd("stop")
        print("\nworkers:", {cpu: {k: w[k] for k in ("dirs", "busy_permille", "pkts")}
                             for cpu, w in d.workers().items()})
        print("memory:", d.mem())
        print("\nstopping vrelayd (SIGTERM): exit code %d" % d.stop())
        return 0
    finally:
        s.cleanup()
        print("cleaned up: processes stopped, sockets and DPDK runtime files removed")


if __name__ == "__main__":
    sys.exit(main())
