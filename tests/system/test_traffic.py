"""End-to-end traffic through one relay with exact counts at every hop."""

from vrtest import (JUMBO, Vrelayd, check, guest_pmd, memif_args, memif_peer, send_oneway,
                    wait_for, Testpmd, DOC_IPS)

NO_DROP = ["--retry-us", "2000000"]  # a shared 2-vCPU machine stalls peers for ms


def connected(d, rid=0):
    return d.relay(rid)["state"] == "connected"


def test_exact_counts_memif_server_mode(s):
    memif = s.path("memif.sock")
    d = Vrelayd(s, NO_DROP + ["-r", "id=0 device=%s" % memif_args(memif, "server")]).start()
    peer = memif_peer(s, "peer", memif).start()
    guest = guest_pmd(s, "guest", s.path("relay0.sock")).start()
    wait_for(lambda: connected(d), 10, "guest to connect")
    for size in (64, 512, 1514):
        for direction, tx, rx in (("vm2dev", guest, peer), ("dev2vm", peer, guest)):
            sent, received, delta = send_oneway(d, 0, tx, rx, size, 20000, direction)
            check(received == sent and delta["drop_full"] == 0,
                  "%s %dB: sent %d received %d" % (direction, size, sent, received))


def test_jumbo_exact_counts(s):
    """MTU 9000: multi-segment mbufs and mergeable RX buffers both ways."""
    dev = s.path("dev.sock")
    d = Vrelayd(s, NO_DROP + ["-r", "id=0 mtu=9000 device=net_vhost0,iface=%s" % dev]).start()
    peer = Testpmd(s, "peer", ["net_virtio_user0,path=%s" % dev], extra=[DOC_IPS] + JUMBO).start()
    guest = guest_pmd(s, "guest", s.path("relay0.sock"), extra=JUMBO).start()
    wait_for(lambda: connected(d), 10, "guest to connect")
    for size in (2049, 4000, 9000):
        for direction, tx, rx in (("vm2dev", guest, peer), ("dev2vm", peer, guest)):
            sent, received, _ = send_oneway(d, 0, tx, rx, size, 3000, direction)
            check(received == sent, "%s %dB: sent %d received %d" % (direction, size, sent,
                                                                    received))


def test_client_mode(s):
    """vrelayd connects to a guest that listens (QEMU's vhost-user server)."""
    memif = s.path("memif.sock")
    sock = s.path("guest.sock")
    d = Vrelayd(s, NO_DROP + ["-r", "id=0 mode=client socket=%s device=%s" % (
        sock, memif_args(memif, "server"))]).start()
    guest = guest_pmd(s, "guest", sock, server=True).start()
    peer = memif_peer(s, "peer", memif).start()
    wait_for(lambda: connected(d), 10, "vrelayd to connect to the guest")
    for direction, tx, rx in (("vm2dev", guest, peer), ("dev2vm", peer, guest)):
        sent, received, _ = send_oneway(d, 0, tx, rx, 64, 20000, direction)
        check(received == sent, "%s: sent %d received %d" % (direction, sent, received))


def test_multiqueue_spread(s):
    """4 queue pairs: both directions spread over the queues the guest enabled."""
    memif = s.path("memif.sock")
    d = Vrelayd(s, NO_DROP + ["-r", "id=0 queues=4 device=%s" % memif_args(memif, "server")]).start()
    peer = memif_peer(s, "peer", memif,
                      extra=["--txonly-multi-flow", "--rxq=4", "--txq=4"]).start()
    guest = guest_pmd(s, "guest", s.path("relay0.sock"), queues=4,
                      extra=["--txonly-multi-flow"]).start()
    wait_for(lambda: connected(d), 10, "guest to connect")
    wait_for(lambda: d.relay(0)["vrings_enabled"] == "0xff", 10, "8 vrings enabled")
    for direction, tx, rx in (("vm2dev", guest, peer), ("dev2vm", peer, guest)):
        sent, received, _ = send_oneway(d, 0, tx, rx, 64, 40000, direction)
        check(received == sent, "%s: sent %d received %d" % (direction, sent, received))
        q = d.relay(0)[direction]["queue_pkts"]
        check(len(q) == 4 and sum(q) == sent, "%s per-queue counts %s != %d" % (direction, q, sent))
        busy = [n for n in q if n > sent // 10]
        check(len(busy) >= 3, "%s: traffic not spread over the queues: %s" % (direction, q))
