"""Backpressure accounting and lossless moves between workers."""

import signal

from vrtest import (CountedFlow, Vrelayd, check, guest_pmd, memif_args, memif_peer, stable,
                    wait_for)


def test_stalled_peer_counts_every_drop(s):
    """The peer stops reading: the relay holds what it cannot deliver for the
    retry window, then drops and counts it. Nothing vanishes uncounted."""
    memif = s.path("memif.sock")
    d = Vrelayd(s, ["--retry-us", "500", "-r", "id=0 device=%s" % memif_args(memif, "server")]).start()
    peer = memif_peer(s, "peer", memif).start()
    guest = guest_pmd(s, "guest", s.path("relay0.sock")).start()
    wait_for(lambda: d.relay(0)["state"] == "connected", 10, "guest to connect")
    peer.cmd("set fwd rxonly")
    peer.cmd("start")
    peer.proc.send_signal(signal.SIGSTOP)  # the peer stops reading: memif ring fills
    try:
        guest.cmd("set fwd txonly")
        guest.cmd("start")
        wait_for(lambda: d.relay(0)["vm2dev"]["drop_full"] > 1000, 30, "drops while peer is stopped")
        guest.cmd("stop")
        stable(lambda: guest.stats()["opackets"])
    finally:
        peer.proc.send_signal(signal.SIGCONT)
    sent = guest.stats()["opackets"]
    c, received = stable(lambda: (d.relay(0)["vm2dev"], peer.stats()["ipackets"]))
    check(c["rx_pkts"] == sent, "relay took %d of %d" % (c["rx_pkts"], sent))
    check(c["tx_pkts"] + c["drop_full"] == sent,
          "sent %d = delivered %d + dropped %d does not hold" % (sent, c["tx_pkts"], c["drop_full"]))
    check(received == c["tx_pkts"], "peer got %d, relay delivered %d" % (received, c["tx_pkts"]))
    check(c["retries"] > 0, "no backpressure episode counted: %s" % c)


def test_pin_moves_without_loss(s):
    """Both directions move between two workers 20 times under traffic (the
    handoff the load balancer will use): exact counts, no drop."""
    memif = s.path("memif.sock")
    conf = s.path("vrelay.conf")

    def write(cpus):
        with open(conf, "w") as f:
            f.write("[daemon]\nworkers = 0,1\nretry-us = 2000000\n[relay 0]\n"
                    "device = %s\ncpu = %s\n" % (memif_args(memif, "server"), cpus))
    write("0")
    d = Vrelayd(s, ["-c", conf], workers="0,1").start()
    flow = CountedFlow(s, d, memif)
    flow.start()
    for i in range(20):
        cpus = ("1", "0,1", "1,0", "0")[i % 4]
        write(cpus)
        d.reload()
        want = [int(c) for c in cpus.split(",")] * (2 if "," not in cpus else 1)
        wait_for(lambda: [d.relay(0)["vm2dev"]["cpu"], d.relay(0)["dev2vm"]["cpu"]] == want,
                 10, "relay 0 on CPUs %s" % want)
        base = d.relay(0)["vm2dev"]["tx_pkts"]
        wait_for(lambda: d.relay(0)["vm2dev"]["tx_pkts"] > base, 10, "traffic after move %d" % i)
    flow.stop_and_check("after 20 moves")
    w = d.workers()
    check(set(w) == {"0", "1"}, "workers: %s" % w)
