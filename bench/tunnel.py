"""make bench, the tunnel stage: one relay's guest-to-device direction
carrying a guest's frames plainly, then the same frames through a redirect
(the destination's side: sealed with AES-256-GCM, onto the same device),
in the same run, so the ratio of the two is the tunnel's cost.

Both sessions run the same vrelayd configuration (an underlay on relay 0,
its gateway's MAC given), the same generator and the same frames: UDP from
the guest's old address 198.51.100.20, which the redirect diverts. The
generator replays them from a pcap file (net_pcap, infinite_rx) into the
guest's virtio port and takes what comes out of the relay's memif device.
Frames are counted where the device took them (vm2dev tx_pkts, or the
sealed frames sent, a 1518-byte frame being two IPv4 fragments over the
1500-byte underlay: docs/tunnel.md, MTU)."""

import os
import struct
import time

from vrtest import Scratch, Testpmd, memif_args, wait_for

OLD_IP = bytes([198, 51, 100, 20])
CLIENT_IP = bytes([192, 0, 2, 10])


def write_pcap(path, size, n=64):
    """n UDP/IPv4 frames of size bytes from the old address, ports varied."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            ip_len = size - 14
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, i, 0, 64, 17, 0, OLD_IP,
                             CLIENT_IP)
            csum = sum(struct.unpack("!10H", ip))
            csum = (csum & 0xffff) + (csum >> 16)
            csum = ~((csum & 0xffff) + (csum >> 16)) & 0xffff
            ip = ip[:10] + struct.pack("!H", csum) + ip[12:]
            udp = struct.pack("!HHHH", 40000 + i, 5201, ip_len - 20, 0)
            frame = (b"\x02\x00\x00\x00\x01\x01" + b"\x52\x54\x00\x00\x00\x20" + b"\x08\x00" +
                     ip + udp).ljust(size, b"\0")
            f.write(struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame)


def redirect(relay):
    """A destination's redirect on relay 0 with fixed test keys."""
    import vrctl
    c = vrctl.Client(relay.s.dir)
    pb = c.pb
    req = pb.PortControlRequest(op=pb.PortControlRequest.REDIRECT, virtio_id=0,
                                announce=["52:54:00:00:00:20", "198.51.100.20"])
    req.redirect.role = pb.PortControlRequest.Redirect.DESTINATION
    req.redirect.peer = "203.0.113.10"
    req.redirect.gateway_mac = "02:00:00:00:01:01"
    for i in range(4):
        req.redirect.sa.add(spi=0x1000 + i, key=bytes([0x40 + i]) * 32, salt=b"salt")
    r = c.call("port_control", req, pb.PortControlResponse)
    c.close()
    if r.status != pb.PortControlResponse.OK:
        raise RuntimeError("REDIRECT refused: %s" % r.error_code_source)


def session(relay_cls, size, tunnelled, callgrind, window, warmup):
    """(frames/s, instructions per frame or None) for one relay process."""
    s = Scratch("tun-%s-%d" % ("tunnel" if tunnelled else "plain", size))
    try:
        relay = relay_cls(s, "vrelay", callgrind=callgrind, extra=[
            "--set", "underlay-relay=0", "--set", "underlay-ipv4=198.51.100.10/24",
            "--set", "underlay-gateway4=198.51.100.1",
            "--set", "underlay-gateway4-mac=02:00:00:00:01:01"])
        if tunnelled:
            redirect(relay)
        pcap = s.path("frames.pcap")
        write_pcap(pcap, size)
        g = Testpmd(s, "gen-tun-%d" % size,
                    ["net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap,
                     "net_virtio_user1,path=%s,queue_size=1024" % relay.socks[0],
                     memif_args(relay.memifs[0], "client", name="net_memif2")],
                    extra=["--port-topology=chained", "--nb-cores=1", "--rxd=1024",
                           "--txd=1024", "--forward-mode=io"])
        g.start(timeout=180)
        wait_for(lambda: g.link_up(1) and g.link_up(2), 120, "generator links up")

        # frames the device took: plain ones, or sealed ones (in pieces)
        pieces = 2 if tunnelled and size - 14 + 65 > 1500 else 1

        def taken():
            d = relay.d.relay(0)["vm2dev"]
            return d["tunnel"]["sealed_sent"] / pieces if tunnelled else d["tx_pkts"]
        g.cmd("start")
        time.sleep(warmup)
        if not callgrind:
            a, t0 = taken(), time.monotonic()
            time.sleep(window)
            pps = (taken() - a) / (time.monotonic() - t0)
            out = (pps, None)
        else:
            box = {}

            def measured():
                a = taken()
                time.sleep(window)
                box["frames"] = taken() - a
            busy = relay.instructions(measured)
            out = (None, busy / box["frames"] if box["frames"] else float("nan"))
        d = relay.d.relay(0)["vm2dev"]
        if tunnelled and d["tunnel"]["out"] == 0:
            raise RuntimeError("nothing went through the tunnel: %s" % d)
        if tunnelled:
            r = relay.d.tel.query("/vrelay/redirect,0")
            print("    sealed %d, underlay ring full %d, device full %d" % (
                r["sealed"]["pkts"], r["under_full"], d["drop_full"]), flush=True)
        g.stop()
        return out
    finally:
        s.cleanup()


def stage(relay_cls, sizes, window, warmup, rounds):
    """{size: {"plain": [...], "tunnel": [...]}} of (pps, ipf) samples,
    sessions interleaved plain, tunnel, tunnel, plain."""
    res = {}
    for size in sizes:
        res[size] = {"plain": [], "tunnel": []}
        for kind in ["plain", "tunnel", "tunnel", "plain"][:2 * rounds]:
            pps = session(relay_cls, size, kind == "tunnel", False, window, warmup)[0]
            ipf = session(relay_cls, size, kind == "tunnel", True, window, warmup)[1]
            res[size][kind].append((pps, ipf))
            print("  %s %d: %.0f kpps, %.0f instructions/frame" % (kind, size, pps / 1e3, ipf),
                  flush=True)
    return res


def report(res, median):
    lines = ["Tunnel against plain relaying, guest to device on one worker (frames the "
             "device took; the tunnel seals each with AES-256-GCM, tracks its session and "
             "sends it on the same device, a 1518-byte frame as two fragments; sessions "
             "interleaved in this run)", "",
             "| size | plain kpps | tunnel kpps | ratio | plain instr/frame | "
             "tunnel instr/frame | ratio |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for size, r in sorted(res.items()):
        pp = median([x[0] for x in r["plain"]])
        tp = median([x[0] for x in r["tunnel"]])
        pi = min(x[1] for x in r["plain"])
        ti = min(x[1] for x in r["tunnel"])
        lines.append("| %d | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f |" % (
            size, pp / 1e3, tp / 1e3, tp / pp if pp else float("nan"), pi, ti,
            ti / pi if pi else float("nan")))
    return "\n".join(lines)


if __name__ == "__main__":
    os.sys.exit("run through bench/run.py")
