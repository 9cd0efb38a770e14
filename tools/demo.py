#!/usr/bin/python3
"""make demo: a QEMU guest on vrelayd, traffic, a live migration, and a
live migration into another IP subnet.

vrelayd runs with two relays (source and destination) whose devices are
net_tap ports on one bridge, in a network namespace of its own; a peer host
(192.0.2.1) sits on that bridge in another. The demo builds and boots the
guest on relay 0, pings it, measures iperf3 both ways, live-migrates it to
relay 1 with vrelay-migrate while iperf3 runs, and prints what happened.
Then a second guest moves between two vrelayd on two subnets under iperf3
(tests/vm/subnets.py): vrelay-migrate sets up the relays' tunnel, and the
TCP session carries on to the guest's old address.
Everything it starts is stopped and removed at the end.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "vm"))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
import vm  # noqa: E402
from migration import Pair  # noqa: E402
from subnets import move_under  # noqa: E402
from vrtest import Scratch, wait_for  # noqa: E402


def iperf(pair, reverse=False):
    mbps, _ = vm.guest_iperf(pair.vm.console, pair.peer, "-R" if reverse else "")
    return mbps or 0.0


def counters(d, rid):
    r = d.relay(rid)
    return "%-9s vm2dev %8d pkts  dev2vm %8d pkts  drops %d  announced %d  guest %s %s" % (
        r["state"], r["vm2dev"]["tx_pkts"], r["dev2vm"]["tx_pkts"],
        sum(r[k]["drop_full"] + r[k]["drop_unready"] for k in ("vm2dev", "dev2vm")),
        r["vm2dev"]["announced"], r["guest_mac"] or "-", ",".join(r["guest_ips"]) or "-")


def cross_subnet():
    """A guest on 192.0.2.0/24 live-migrates to a relay on 203.0.113.0/24."""
    s = Scratch("demo-subnets")
    try:
        print("\nlive-migrating a guest from relay A (192.0.2.0/24) to relay B "
              "(203.0.113.0/24, another vrelayd behind a router) under iperf3 ...", flush=True)
        a, b, dst, client, report, (outage, lost, wake) = move_under(
            s, ["iperf3", "-c", vm.GUEST_IP, "-t", "25", "-i", "1", "--forceflush", "-f", "m"],
            "iperf3-subnets.log")
        wait_for(lambda: not client.alive(), 120, "iperf3 to finish")
        ra, rb = a.tel.query("/vrelay/redirect,0"), b.tel.query("/vrelay/redirect,0")
        rows = [
            ("redirect set up by vrelay-migrate", "yes" if report["redirect"] else "NO"),
            ("QEMU downtime", "%.0f ms (stop->resume seen on QMP %.0f ms)" % (
                report["downtime_ms"], report["stop_to_resume_ms"])),
            ("peer-visible outage (ping -i 0.01)", "%.0f ms (guest's first reply %.0f ms after "
             "RESUME)" % (outage, wake)),
            ("TCP session (iperf3) survived", "yes" if client.p.returncode == 0 and
             "receiver" in client.output() else "NO"),
            ("tunnel A -> B (client to guest)", "%d frames opened at B, %d cut for the 1500 "
             "underlay" % (rb["opened"]["pkts"], ra["fragmented"])),
            ("tunnel B -> A (guest to client)", "%d frames opened at A" % ra["opened"]["pkts"]),
            ("tunnel drops (auth, replay, no SA)", "%d" % sum(
                r["opened"][k] for r in (ra, rb) for k in ("auth", "replay", "no_sa"))),
        ]
        print("\n%-40s %s" % ("what (cross-subnet)", "result"))
        for k, v in rows:
            print("%-40s %s" % (k, v))
        dst.quit()
        print("\nstopping both vrelayd: exit codes %d %d" % (a.stop(), b.stop()))
    finally:
        s.cleanup()


def main():
    s = Scratch("demo")
    rows = []
    try:
        t0 = time.monotonic()
        print("starting vrelayd (relay 0 = source, relay 1 = destination) and booting the "
              "guest (QEMU TCG, Debian kernel, busybox initramfs) ...", flush=True)
        pair = Pair(s)
        boot = time.monotonic() - t0
        rows.append(("guest boot (QEMU start to answering ping)", "%.1f s" % boot))
        r = pair.peer.ping(count=20, interval=0.05, deadline=10)
        rows.append(("ping peer -> guest", "%d/%d answered" % (r["rx"], r["tx"])))
        up, down = iperf(pair), iperf(pair, reverse=True)
        rows.append(("iperf3 TCP guest -> peer", "%.0f Mbit/s" % up))
        rows.append(("iperf3 TCP peer -> guest", "%.0f Mbit/s" % down))
        print("live-migrating relay 0 -> relay 1 under iperf3 load ...", flush=True)
        client = pair.tcp_session("iperf3-migrate.log", 60)
        seen = pair.migrate_watched("ping-migrate.log", client)
        report, outage, wake = seen["report"], seen["outage"], seen["wake"]
        alive = client.alive()
        client.send_signal(2)
        wait_for(lambda: not client.alive(), 20, "iperf3 to stop")
        rows += [
            ("migration total time", "%.0f ms" % report["total_ms"]),
            ("migration setup time", "%.0f ms" % report["setup_ms"]),
            ("transferred", "%.1f MB" % report["mbytes"]),
            ("QEMU downtime", "%.0f ms (stop->resume seen on QMP %.0f ms)" % (
                report["downtime_ms"], report["stop_to_resume_ms"])),
            ("peer-visible outage (ping -i 0.01)", "%.0f ms (guest's first reply %.0f ms after "
             "RESUME)" % (outage, wake)),
            ("TCP session (iperf3) survived", "yes" if alive and "error" not in
             client.output().lower() else "NO"),
        ]
        r = pair.peer.ping(count=10, interval=0.05, deadline=10)
        rows.append(("ping after migration", "%d/%d answered" % (r["rx"], r["tx"])))
        print("\n%-40s %s" % ("what", "result"))
        for k, v in rows:
            print("%-40s %s" % (k, v))
        print("\nrelay counters:")
        for rid in (0, 1):
            print("  relay %d: %s" % (rid, counters(pair.d, rid)))
        print("\nstopping vrelayd: exit code %d" % pair.d.stop())
        cross_subnet()
        print("total demo time %.0f s" % (time.monotonic() - t0))
        return 0
    finally:
        s.cleanup()
        print("cleaned up: QEMUs, vrelayd, namespaces, sockets and DPDK files removed")


if __name__ == "__main__":
    sys.exit(main())
