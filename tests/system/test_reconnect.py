"""Guests and vrelayd going away and coming back: traffic returns within 2 s."""

import time

from vrtest import Vrelayd, check, guest_pmd, memif_args, memif_peer, wait_for

RECOVERY_S = 2.0


def start_flow(peer, guest):
    """Device-to-guest traffic that keeps flowing while the guest comes and goes."""
    guest.cmd("set fwd rxonly")
    guest.cmd("start")
    peer.cmd("set fwd txonly")
    peer.cmd("start")


def guest_receiving(guest):
    base = guest.stats()["ipackets"]
    return lambda: guest.stats()["ipackets"] > base + 100


def time_to_traffic(guest, what):
    """Seconds from now (the restarted side is ready) until the guest receives."""
    t0 = time.monotonic()
    guest.cmd("set fwd rxonly")
    guest.cmd("start")
    wait_for(guest_receiving(guest), 10, "traffic after %s" % what)
    return time.monotonic() - t0


def reconnect_rounds(s, d, peer, sock, server, rounds=3):
    for i in range(rounds):
        guest = guest_pmd(s, "guest%d" % i, sock, server=server).start()
        took = time_to_traffic(guest, "guest start %d" % i)
        check(took <= RECOVERY_S, "round %d: traffic back after %.2fs (> %.1fs)" % (
            i, took, RECOVERY_S))
        r = d.relay(0)
        check(r["connects"] == i + 1, "round %d: connects=%d" % (i, r["connects"]))
        guest.stop()
        wait_for(lambda: d.relay(0)["state"] == "waiting", 10, "relay to see the disconnect")
        check(d.relay(0)["disconnects"] == i + 1, "round %d: disconnect not counted" % i)
        drops = d.relay(0)["dev2vm"]["drop_unready"]
        wait_for(lambda: d.relay(0)["dev2vm"]["drop_unready"] > drops, 10,
                 "device traffic to be counted as peer-not-ready while no guest")


def test_guest_reconnect_server_mode(s):
    memif = s.path("memif.sock")
    d = Vrelayd(s, ["-r", "id=0 device=%s" % memif_args(memif, "server")]).start()
    peer = memif_peer(s, "peer", memif).start()
    start_flow(peer, peer)  # peer transmits; nobody listens yet
    peer.cmd("stop")
    peer.cmd("set fwd txonly")
    peer.cmd("start")
    reconnect_rounds(s, d, peer, s.path("relay0.sock"), server=False)


def test_guest_reconnect_client_mode(s):
    memif = s.path("memif.sock")
    sock = s.path("guest.sock")
    d = Vrelayd(s, ["-r", "id=0 mode=client socket=%s device=%s" % (
        sock, memif_args(memif, "server"))]).start()
    peer = memif_peer(s, "peer", memif).start()
    peer.cmd("set fwd txonly")
    peer.cmd("start")
    reconnect_rounds(s, d, peer, sock, server=True)


def test_vrelayd_restart_client_mode(s):
    """vrelayd dies (SIGTERM and SIGKILL) and comes back; the guest stays up."""
    memif = s.path("memif.sock")
    sock = s.path("guest.sock")
    args = ["-r", "id=0 mode=client socket=%s device=%s" % (sock, memif_args(memif, "server"))]
    d = Vrelayd(s, args).start()
    guest = guest_pmd(s, "guest", sock, server=True).start()
    guest.cmd("set fwd rxonly")
    guest.cmd("start")
    for i, how in enumerate(("SIGTERM", "SIGKILL", "SIGTERM")):
        peer = memif_peer(s, "peer%d" % i, memif).start()
        peer.cmd("set fwd txonly")
        peer.cmd("start")
        wait_for(guest_receiving(guest), 10, "traffic before restart %d" % i)
        peer.stop()
        if how == "SIGKILL":
            d.kill()
        else:
            check(d.stop() == 0, "vrelayd did not exit cleanly on SIGTERM")
            check(not __import__("os").path.exists(memif), "memif socket left behind")
        d = Vrelayd(s, args, name="vrelayd%d" % i).start()
        t_ready = time.monotonic()
        wait_for(lambda: d.relay(0)["state"] == "connected", 10,
                 "vrelayd to reconnect to the guest after restart %d (%s)" % (i, how))
        took = time.monotonic() - t_ready
        check(took <= RECOVERY_S, "restart %d (%s): guest reconnected after %.2fs" % (
            i, how, took))
        # the device peer reconnects to vrelayd's new memif socket
        peer = memif_peer(s, "peer%db" % i, memif).start()
        t_peer = time.monotonic()
        peer.cmd("set fwd txonly")
        peer.cmd("start")
        wait_for(guest_receiving(guest), 10, "traffic after vrelayd restart %d (%s)" % (i, how))
        took = time.monotonic() - t_peer
        check(took <= RECOVERY_S, "restart %d (%s): traffic back %.2fs after the device "
              "peer was up" % (i, how, took))
        peer.stop()
    check(guest.proc.alive(), "the guest died while vrelayd restarted")
