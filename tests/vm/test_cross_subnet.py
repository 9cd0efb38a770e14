"""A QEMU guest live-migrates into another IP subnet and keeps its TCP
session (issue 13; docs/tunnel.md): vrelay-migrate sees the destination
relay's underlay on another prefix and sets up the redirect by itself
(topology: tests/vm/subnets.py)."""

import os

import vm
from migration import UDP_STREAM, udp_outcome
from subnets import boot_on_a, migrate, move_under
from vrtest import check, wait_for


def tunnel_checks(a, b):
    ra, rb = a.tel.query("/vrelay/redirect,0"), b.tel.query("/vrelay/redirect,0")
    check(ra["role"] == "source" and rb["role"] == "destination", "redirects %s %s" % (ra, rb))
    check(rb["opened"]["pkts"] > 0 and ra["opened"]["pkts"] > 0, "nothing through the tunnel")
    for k in ("auth", "replay", "no_sa", "wrong_peer", "malformed"):
        check(ra["opened"][k] == 0 and rb["opened"][k] == 0, "drops %s: %s %s" % (k, ra, rb))
    return ra, rb


def finish(a, b, dst):
    check(dst.console.boot_id() == dst.boot, "the guest rebooted")
    check(not dst.console.oopses(), "guest oops")
    dst.quit()
    for d in (a, b):
        check(d.stop() == 0, "%s exit code" % d.name)


def test_tcp_survives_a_move_into_another_subnet(s):
    a, b, dst, client, report, (outage, lost, wake) = move_under(
        s, ["iperf3", "-c", vm.GUEST_IP, "-t", "40", "-i", "1", "--forceflush", "-f", "m"],
        "iperf3.log")
    ra, rb = tunnel_checks(a, b)
    wait_for(lambda: not client.alive(), 120, "iperf3 to finish")
    check(client.p.returncode == 0 and "receiver" in client.output(),
          "the TCP session did not survive:\n" + client.output()[-1500:])
    print("    cross-subnet under TCP: QEMU downtime %.0f ms, stop->resume %.0f ms, peer "
          "outage %.0f ms, first reply after RESUME %.0f ms, %d probes lost; tunnel A->B %d, "
          "B->A %d frames, %d+%d cut" % (report["downtime_ms"], report["stop_to_resume_ms"],
                                         outage, wake, len(lost), rb["opened"]["pkts"],
                                         ra["opened"]["pkts"], ra["fragmented"],
                                         rb["fragmented"]))
    finish(a, b, dst)


def test_udp_stream_loses_nothing(s):
    """10 Mbit/s of numbered UDP datagrams from the client through the move:
    iperf3's receiver (the guest) counts every one lost or out of order."""
    udp_through_the_move(s, same_lan=False)


def test_udp_stream_loses_nothing_on_one_lan(s):
    """The same within one LAN: the source passes on what reaches it while
    the LAN relearns where the guest is (a handover), the destination holds
    it with the rest until the guest runs."""
    udp_through_the_move(s, same_lan=True)


def udp_through_the_move(s, same_lan):
    a, b, dst, client, report, (outage, lost, wake) = move_under(s, UDP_STREAM, "iperf3-udp.log",
                                                                 same_lan)
    if not same_lan:
        tunnel_checks(a, b)
    wait_for(lambda: not client.alive(), 120, "iperf3 to finish")
    lost_dgrams, total, reordered = udp_outcome(client.output())
    print("    %s under 10 Mbit/s UDP: QEMU downtime %.0f ms, peer outage %.0f ms; "
          "%d of %d datagrams lost, %d out of order" % (
              "one LAN" if same_lan else "cross-subnet", report["downtime_ms"], outage,
              lost_dgrams, total, reordered))
    held = b.relay(0)["dev2vm"]["held"]
    print("      %d held at B for the guest on its way, %d through the tunnel (passed on by "
          "A: %d)%s" % (held, b.relay(0)["dev2vm"]["tunnel"]["in"],
                        a.relay(0)["dev2vm"]["tunnel"]["out"],
                        "; markers A %d B %d" % tuple(
                            x.tel.query("/vrelay/underlay")["markers"] for x in (a, b))
                        if same_lan else ""))
    where = ""
    if lost_dgrams or reordered:  # the guest's own drops, or the relays'
        where = "; guest %s; A dev2vm %s; B dev2vm %s" % (
            dst.console.run("grep Udp: /proc/net/snmp")[1].replace("\n", " | "),
            a.relay(0)["dev2vm"], b.relay(0)["dev2vm"])
    # one LAN: B waited for A's marker before what reached it directly went in
    check(not same_lan or b.tel.query("/vrelay/underlay")["markers"] >= 1,
          "B took no marker from A")
    check(total > 10000 and lost_dgrams == 0 and reordered == 0,
          "UDP through the switchover: %d of %d lost, %d out of order%s" % (
              lost_dgrams, total, reordered, where))
    finish(a, b, dst)


def test_twenty_moves_back_and_forth(s):
    """The guest moves A to B to A ... (20; VRELAY_MIGRATIONS to change)
    under two iperf3 TCP sessions with its old address, one from the client
    and one to it (-R). Away, the redirect carries them; home, it ends on
    both relays, never a chain. Both sessions carry data after every move
    and end cleanly; the guest never reboots."""
    net, a, b, guest = boot_on_a(s, ports=(5201, 5202))
    clients = [net.spawn(["iperf3", "-c", vm.GUEST_IP, "-p", str(port), "-t", "900", "-i", "1",
                          "--forceflush", "-f", "m"] + extra, "iperf3-%d.log" % port)
               for port, extra in ((5201, []), (5202, ["-R"]))]
    for c in clients:
        wait_for(lambda: "bits/sec" in c.output(), 30, "iperf3 to run")
    count = int(os.environ.get("VRELAY_MIGRATIONS", "20"))
    downtimes = []
    try:
        for i in range(count):
            x, y = (a, b) if i % 2 == 0 else (b, a)
            guest, report = migrate(s, net, guest, x, y, "vm%d" % (i + 1))
            downtimes.append(report["downtime_ms"])
            roles = [d.tel.query("/vrelay/redirect,0").get("role", "none") for d in (a, b)]
            want = ["source", "destination"] if y is b else ["none", "none"]
            check(roles == want and report["redirect_moved"] == ("none" if y is b else "home"),
                  "move %d: redirects %s, report %s, learned A %s B %s" % (i + 1, roles, report, a.relay(0)["guest_ips"], b.relay(0)["guest_ips"]))
            for c in clients:
                lines = c.output().count("bits/sec")
                wait_for(lambda: c.output().count("bits/sec") >= lines + 2, 60,
                         "iperf3 to report after move %d" % (i + 1))
                check(c.alive(), "an iperf3 session ended at move %d:\n%s" % (
                    i + 1, c.output()[-1500:]))
    finally:
        for c in clients:
            c.send_signal(2)
            wait_for(lambda: not c.alive(), 20, "iperf3 client to stop")
    for c in clients:
        out = c.output()
        check("error" not in out.lower(), "an iperf3 session broke:\n" + out[-1500:])
    under = [d.tel.query("/vrelay/underlay") for d in (a, b)]
    print("    %d moves between two subnets under two iperf3 sessions: both alive; QEMU "
          "downtime median %.0f ms (%.0f-%.0f); redirects made %d, ended going home %d" % (
              count, sorted(downtimes)[count // 2], min(downtimes), max(downtimes),
              under[0]["redirects_added"], under[0]["ended_op"]))
    check(under[0]["redirects_added"] == (count + 1) // 2 and
          under[0]["ended_op"] == count // 2, "relay A's redirects: %s" % under[0])
    finish(a, b, guest)
