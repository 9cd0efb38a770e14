#!/usr/bin/python3
"""make bench: vrelayd against dpdk-testpmd io-forwarding the same port pair.

The relay under test (vrelayd, or testpmd with net_vhost + net_memif in io
mode) runs alone on CPU 1; the traffic generators (testpmd) share CPU 0.
Both relays serve the very same kind of port pair: a vhost-user socket whose
frontend is a testpmd net_virtio_user port, and a net_memif server whose
client is another testpmd. Sessions are interleaved A B B A.

Measured:
  throughput   frames/s at the receiving generator over a window, for 64, 512
               and 1518-byte frames, guest-to-device (vm2dev), device-to-guest
               (dev2vm) and both (a generator with both ports reflecting frames,
               so they cross the relay both ways); with the relay thread's
               CPU share over the same window (the 2 vCPUs are shared).
  latency      one frame in flight ping-ponging through the relay both ways:
               time per relay crossing (generator turnaround included, the
               same for both relays).
  instructions user-space instructions of the relay process per forwarded
               frame under valgrind --tool=callgrind: (busy window - idle
               window of the same length) / frames. Also the raw busy/frames.
  scaling      1, 8 and 16 vrelayd relays on one worker: aggregate vm2dev
               throughput and instructions per frame.
  tunnel       (bench/tunnel.py) a guest's frames plainly and through a
               redirect's tunnel, 64 and 1518 bytes: frames/s and
               instructions per frame, and their ratios.

  compare      (--compare OLD_BUILD) instructions per frame of this build's
               vrelayd against another build's, sessions interleaved A B B A:
               the before/after check for a data-plane change.

Usage: bench/run.py [--quick] [--json FILE] [--compare OLD_BUILD [--rounds N]] [--tunnel-only]
"""

import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "system"))
from vrtest import (DOC_IPS, Scratch, Testpmd, Vrelayd, memif_args,  # noqa: E402
                    segments, wait_for)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tunnel  # noqa: E402

RELAY_CPU = "1"
SIZES = (64, 512, 1518)
WINDOW = 3.0
WARMUP = 1.0
TICK = os.sysconf("SC_CLK_TCK")
VALGRIND = ["valgrind", "--tool=callgrind", "--fair-sched=yes", "--instr-atstart=no"]


# ---------------------------------------------------------------- relays

class RelayUnderTest:
    """vrelayd or testpmd relaying s.path('relay0.sock') <-> memif server(s)."""

    def __init__(self, s, kind, n=1, callgrind=False, extra=()):
        self.s, self.kind, self.n = s, kind, n
        self.socks = [s.path("relay%d.sock" % i) for i in range(n)]
        self.memifs = [s.path("memif%d.sock" % i) for i in range(n)]
        self.cg_out = s.path("callgrind.out") if callgrind else None
        pre = VALGRIND + ["--callgrind-out-file=" + self.cg_out] if callgrind else []
        if kind == "vrelay":
            args = ["--retry-us", "1000"] + list(extra)
            for i in range(n):
                args += ["-r", "id=%d cpu=%s device=%s" % (
                    i, RELAY_CPU, memif_args(self.memifs[i], "server", name="net_memif%d" % i))]
            self.d = Vrelayd(s, args, workers=RELAY_CPU, log_level="notice", device_kinds=False)
            self.d.argv = pre + self.d.argv
            self.d.start()
            self.pid = self.d.proc.pid
        else:
            vdevs = []
            for i in range(n):
                vdevs.append("net_vhost%d,iface=%s,queues=1" % (i, self.socks[i]))
                vdevs.append(memif_args(self.memifs[i], "server", name="net_memif%d" % i))
            self.t = Testpmd(s, "testpmd-relay", vdevs, lcores="0@0,1@%s" % RELAY_CPU,
                             extra=["--forward-mode=io", "--port-topology=paired",
                                    "--nb-cores=1", "--rxd=1024", "--txd=1024"])
            # same memory mode as vrelayd (in-memory mode fails under valgrind)
            self.t.argv = pre + [a for a in self.t.argv
                                 if a not in ("--in-memory", "--single-file-segments")]
            self.t.argv.insert(len(pre) + 1, "--huge-unlink")
            self.t.start(timeout=180 if callgrind else 30)
            self.t.cmd("start")
            self.pid = self.t.proc.pid

    def busy_share(self):
        """vrelayd only: share of the worker's cycles spent moving packets in
        the last second (below 1.0: the relay waited for its generator)."""
        if self.kind != "vrelay":
            return float("nan")
        return self.d.workers()[RELAY_CPU]["busy_permille"] / 1000.0

    def worker_ticks(self):
        """CPU ticks used so far by the relay's forwarding lcore thread."""
        for task in glob.glob("/proc/%d/task/*" % self.pid):
            try:
                comm = open(task + "/comm").read().strip()
                if comm.endswith("worker-" + RELAY_CPU):
                    f = open(task + "/stat").read().rsplit(")", 1)[1].split()
                    return int(f[11]) + int(f[12])
            except OSError:
                continue
        return 0

    def callgrind(self, *args):
        p = subprocess.run(["callgrind_control"] + list(args) + [str(self.pid)],
                           capture_output=True, text=True)
        if p.returncode != 0 or "OK" not in p.stdout:
            raise RuntimeError("callgrind_control %s: %s %s" % (args, p.stdout, p.stderr))

    def instructions(self, window_fn):
        """Instructions executed while window_fn() runs."""
        before = set(glob.glob(self.cg_out + "*"))
        self.callgrind("-d")  # dump (and reset) whatever came before
        self.callgrind("-i", "on")
        window_fn()
        self.callgrind("-i", "off")
        self.callgrind("-d")
        files = sorted(set(glob.glob(self.cg_out + "*")) - before,
                       key=lambda f: int(f.rsplit(".", 1)[1]) if f[-1].isdigit() else 0)
        text = open(files[-1]).read()
        counts = [int(n) for n in re.findall(r"^(?:summary|totals): (\d+)", text, re.M)]
        return max(counts) if counts else 0


def oneway_generator(s, relay, size, direction, i=0):
    """One process, one lcore on CPU 0, chained topology over three ports:
    net_null (source) -> relay input -> relay output -> net_null (sink).

    Two generator processes (txonly + rxonly) would time-slice CPU 0 and
    move one ring's worth of frames per slice: they, not the relay, would
    be measured. net_null makes frames without touching their bytes; they
    exist only in the processes' shared memory."""
    guest = "net_virtio_user%d,path=%s,queue_size=1024" % (i, relay.socks[i])
    dev = memif_args(relay.memifs[i], "client", name="net_memif%d" % i)
    relay_in, relay_out = (guest, dev) if direction == "vm2dev" else (dev, guest)
    # ports follow --vdev order: 0 null, 1 relay input, 2 relay output;
    # chained: rx0 (null source) -> tx1 (into the relay), rx2 (out of the
    # relay) -> tx0 (null sink); rx1 stays idle
    g = Testpmd(s, "gen-%s-%d" % (direction, size),
                ["net_null%d,size=%d" % (i, size), relay_in, relay_out],
                extra=["--port-topology=chained", "--nb-cores=1", "--rxd=1024", "--txd=1024",
                       "--forward-mode=io"])
    g.start(timeout=180)
    wait_for(lambda: g.link_up(1) and g.link_up(2), 120, "generator links up")
    return g


def rate(fn, window=WINDOW):
    a = fn()
    t0 = time.monotonic()
    time.sleep(window)
    b = fn()
    return (b - a) / (time.monotonic() - t0)


def measure_oneway(relay, g, window=WINDOW):
    g.cmd("start")
    time.sleep(WARMUP)
    t0 = relay.worker_ticks()
    pps = rate(lambda: g.stats(2)["ipackets"], window)
    cpu = (relay.worker_ticks() - t0) / TICK / window
    busy = relay.busy_share()
    g.cmd("stop")
    return pps, cpu, busy


def measure_both(relay, gen, size, window=WINDOW, in_flight=16):
    """gen holds both ports and reflects every frame back (io, loop topology)."""
    gen.cmd("set txpkts " + segments(size))
    gen.cmd("set burst %d" % min(32, in_flight))
    gen.cmd("set fwd io")
    gen.cmd("start tx_first %d" % max(1, in_flight // 32))
    time.sleep(WARMUP)
    t0 = relay.worker_ticks()
    pps = rate(lambda: gen.stats(0)["ipackets"] + gen.stats(1)["ipackets"], window)
    cpu = (relay.worker_ticks() - t0) / TICK / window
    busy = relay.busy_share()
    gen.cmd("stop")
    time.sleep(0.3)
    return pps, cpu, busy


def both_generator(s, relay):
    return Testpmd(s, "gen2", ["net_virtio_user0,path=%s,queue_size=1024" % relay.socks[0],
                               memif_args(relay.memifs[0], "client", name="net_memif9")],
                   extra=[DOC_IPS, "--rxd=1024", "--txd=1024"]).start(timeout=180)


# ---------------------------------------------------------------- sessions

def throughput_session(kind, sizes):
    s = Scratch("bench-" + kind)
    out = {}
    try:
        relay = RelayUnderTest(s, kind)
        for size in sizes:
            for d in ("vm2dev", "dev2vm"):
                g = oneway_generator(s, relay, size, d)
                out[(size, d)] = measure_oneway(relay, g)
                g.stop()
        gen = both_generator(s, relay)
        wait_for(lambda: gen.link_up(0) and gen.link_up(1), 60, "generator links up")
        for size in sizes:
            out[(size, "both")] = measure_both(relay, gen, size)
        # set burst 1 + tx_first 1: one frame on each port, two in flight
        pps = measure_both(relay, gen, 64, in_flight=1)[0]
        out["latency_us"] = 2e6 / pps if pps else float("nan")
        return out
    finally:
        s.cleanup()


def instruction_session(kind, cases):
    """(size, direction) -> (busy, idle, frames) instructions under callgrind.

    A fresh relay process per case: testpmd's net_vhost under valgrind does
    not always take a second frontend connection (both relays get the same
    treatment)."""
    out = {}
    for size, direction in cases:
        s = Scratch("cg-" + kind)
        try:
            relay = RelayUnderTest(s, kind, callgrind=True)
            idle = relay.instructions(lambda: time.sleep(WINDOW))
            g = oneway_generator(s, relay, size, direction)
            g.cmd("start")
            time.sleep(WARMUP)
            box = {}

            def window():
                a = g.stats(2)["ipackets"]
                time.sleep(WINDOW)
                box["frames"] = g.stats(2)["ipackets"] - a
            busy = relay.instructions(window)
            out[(size, direction)] = (busy, idle, box["frames"])
        finally:
            s.cleanup()
    return out


def scaling_generators(s, relay, n, per_process=8):
    """vm2dev on every relay; per process, ports [null, guest, memif] per relay
    in chained topology (see oneway_generator): each memif output feeds the
    next relay's null sink, each null source the next relay's guest port."""
    gens = []
    for first in range(0, n, per_process):
        vdevs = []
        for i in range(first, min(n, first + per_process)):
            vdevs += ["net_null%d,size=64" % i,
                      "net_virtio_user%d,path=%s,queue_size=1024" % (i, relay.socks[i]),
                      memif_args(relay.memifs[i], "client", name="net_memif%d" % i)]
        g = Testpmd(s, "gen%d" % first, vdevs,
                    extra=["--port-topology=chained", "--nb-cores=1", "--rxd=1024",
                           "--txd=1024", "--forward-mode=io", "--total-num-mbufs=65536"])
        g.start(timeout=300)
        k = len(vdevs) // 3
        wait_for(lambda: all(g.link_up(3 * j + 1) and g.link_up(3 * j + 2) for j in range(k)),
                 300, "generator links up")
        gens.append((g, k))
    return gens


def scaling_session(n, callgrind=False):
    """n vrelayd relays on one worker, 64-byte vm2dev on every relay."""
    s = Scratch("scale%d" % n)
    try:
        relay = RelayUnderTest(s, "vrelay", n=n, callgrind=callgrind)
        gens = scaling_generators(s, relay, n)

        def total():
            return sum(g.stats(3 * j + 2)["ipackets"] for g, k in gens for j in range(k))
        if callgrind:
            idle = relay.instructions(lambda: time.sleep(WINDOW))
        for g, _ in gens:
            g.cmd("start")
        time.sleep(WARMUP)
        if not callgrind:
            t0 = relay.worker_ticks()
            pps = rate(total)
            cpu = (relay.worker_ticks() - t0) / TICK / WINDOW
            return {"pps": pps, "cpu": cpu}
        box = {}

        def window():
            a = total()
            time.sleep(WINDOW)
            box["frames"] = total() - a
        busy = relay.instructions(window)
        return {"busy": busy, "idle": idle, "frames": box["frames"]}
    finally:
        s.cleanup()


# ---------------------------------------------------------------- report

def median(xs):
    """Wall-clock rates here swing 3x between identical runs: medians, not means."""
    return statistics.median(xs) if xs else float("nan")


def ratio(a, b):
    return a / b if b else float("nan")


def report(res, args):
    lines = []
    w = lines.append
    w("Throughput (medians of frames/s at the receiving generator; relay alone on CPU %s, "
      "generators share CPU 0; %d interleaved sessions per relay, %.0f s windows)"
      % (RELAY_CPU, len(res["tput"]["vrelay"]), WINDOW))
    w("")
    w("| size | direction | vrelay kpps | testpmd kpps | ratio | best vrelay | best testpmd | "
      "best ratio | vrelay CPU | testpmd CPU | vrelay busy |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        for d in ("vm2dev", "dev2vm", "both"):
            a = [r[(size, d)] for r in res["tput"]["vrelay"]]
            b = [r[(size, d)] for r in res["tput"]["testpmd"]]
            ap, bp = median([x[0] for x in a]), median([x[0] for x in b])
            ac, bc = median([x[1] for x in a]), median([x[1] for x in b])
            busy = median([x[2] for x in a])
            ab, bb = max(x[0] for x in a), max(x[0] for x in b)
            w("| %d | %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.0f%% | %.0f%% | %.0f%% |" % (
                size, d, ap / 1e3, bp / 1e3, ratio(ap, bp), ab / 1e3, bb / 1e3, ratio(ab, bb),
                ac * 100, bc * 100, busy * 100))
    w("")
    w("'best' is the highest of the interleaved samples: what each relay did when "
      "the shared host left it the CPU (slow phases of the host hit either relay).")
    w("")
    w("Every sample (kpps, in session order), to show the spread:")
    for size in args.sizes:
        for d in ("vm2dev", "dev2vm", "both"):
            w("- %d %s: vrelay %s; testpmd %s" % (size, d, " ".join(
                "%.0f" % (r[(size, d)][0] / 1e3) for r in res["tput"]["vrelay"]), " ".join(
                "%.0f" % (r[(size, d)][0] / 1e3) for r in res["tput"]["testpmd"])))
    w("")
    w("'vrelay busy' is the share of the worker's cycles spent in passes that moved "
      "frames; below 100% the relay waited for the generator (which shares CPU 0 "
      "with everything else) and the row measures the generator, not the relay.")
    la = median([r["latency_us"] for r in res["tput"]["vrelay"]])
    lb = median([r["latency_us"] for r in res["tput"]["testpmd"]])
    w("")
    w("Latency, one 64-byte frame in flight, per relay crossing (generator "
      "turnaround included): vrelay %.1f us, testpmd %.1f us, ratio %.2f" % (la, lb, ratio(la, lb)))
    w("")
    w("Instructions per forwarded frame under callgrind (relay process, user space, "
      "%.0f s windows). Under valgrind the relay is saturated, so busy-window "
      "instructions / frames is the per-frame cost including the loop; "
      "'minus idle' subtracts an idle window of the same length, which "
      "over-subtracts (a saturated window has few empty polls) and is shown "
      "for reference only." % WINDOW)
    w("")
    w("| size | direction | vrelay | testpmd | ratio | vrelay minus idle | testpmd minus idle |")
    w("|---:|---|---:|---:|---:|---:|---:|")
    for key in sorted(set(res["instr"]["vrelay"]) & set(res["instr"]["testpmd"])):
        a = res["instr"]["vrelay"][key]
        b = res["instr"]["testpmd"][key]
        ra, rb = a[0] / a[2], b[0] / b[2]
        w("| %d | %s | %.0f | %.0f | %.2f | %.0f | %.0f |" % (
            key[0], key[1], ra, rb, ratio(ra, rb), (a[0] - a[1]) / a[2], (b[0] - b[1]) / b[2]))
    w("")
    w("Scaling: N vrelayd relays on one worker, 64-byte vm2dev on every relay")
    w("")
    w("| relays | aggregate kpps | vs 1 relay | worker CPU | instructions/frame (callgrind) |")
    w("|---:|---:|---:|---:|---:|")
    one = res["scale"][str(args.scale[0])].get("pps", float("nan"))
    for n in args.scale:
        r = res["scale"][str(n)]
        if "pps" not in r:
            w("| %d | failed | | | |" % n)
            continue
        ipf = r["busy"] / r["frames"] if r.get("frames") else float("nan")
        w("| %d | %.0f | %.2f | %.0f%% | %.0f |" % (n, r["pps"] / 1e3, ratio(r["pps"], one),
                                                   r["cpu"] * 100, ipf))
    for e in res["errors"]:
        w("")
        w("Stage failed: " + e)
    return "\n".join(lines)


def compare(old_build, rounds):
    """This build's vrelayd against old_build's: instructions per 64-byte
    frame each way, sessions A B B A per round (the same load on both)."""
    import vrtest
    builds = {"before": os.path.join(os.path.abspath(old_build), "src", "vrelayd"),
              "after": vrtest.VRELAYD}
    cases = [(64, "vm2dev"), (64, "dev2vm")]
    per = {k: {c: [] for c in cases} for k in builds}
    for k in ["before", "after", "after", "before"] * rounds:
        vrtest.VRELAYD = builds[k]
        for c, (busy, _idle, frames) in instruction_session("vrelay", cases).items():
            per[k][c].append(busy / frames)
            print("  %s %d %s: %.1f instructions/frame" % (k, c[0], c[1], busy / frames),
                  flush=True)
    vrtest.VRELAYD = builds["after"]
    # A session where the relay was not saturated (the shared host slowed
    # the generator) counts idle polls as well: the least of the samples is
    # the per-frame cost, the median shows how often that happened.
    lines = ["| size | direction | before (least) | after (least) | change | before (median) | "
             "after (median) | samples before | samples after |",
             "|---:|---|---:|---:|---:|---:|---:|---|---|"]
    for c in cases:
        b, a = min(per["before"][c]), min(per["after"][c])
        lines.append("| %d | %s | %.1f | %.1f | %+.2f%% | %.1f | %.1f | %s | %s |" % (
            c[0], c[1], b, a, 100 * (a - b) / b, median(per["before"][c]),
            median(per["after"][c]), " ".join("%.1f" % x for x in per["before"][c]),
            " ".join("%.1f" % x for x in per["after"][c])))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", metavar="OLD_BUILD", default=None,
                    help="instructions per frame against another build directory's vrelayd")
    ap.add_argument("--rounds", type=int, default=1, help="A B B A rounds for --compare")
    ap.add_argument("--quick", action="store_true", help="one size, one session each")
    ap.add_argument("--json", default=None)
    ap.add_argument("--tunnel-only", action="store_true", help="the tunnel stage alone")
    args = ap.parse_args()
    if args.compare:
        print(compare(args.compare, args.rounds))
        return 0
    if args.tunnel_only:
        print(tunnel.report(tunnel.stage(RelayUnderTest, (64, 1518), WINDOW, WARMUP,
                                         1 if args.quick else 2), median))
        return 0
    args.sizes = (64,) if args.quick else SIZES
    args.scale = (1, 8) if args.quick else (1, 8, 16)
    order = ["vrelay", "testpmd"] if args.quick else ["vrelay", "testpmd", "testpmd", "vrelay"] * 2
    res = {"tput": {"vrelay": [], "testpmd": []}, "instr": {}, "scale": {}, "errors": []}

    def stage(name, fn):
        print(name, flush=True)
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - a failed stage is reported, the rest runs
            res["errors"].append("%s: %s" % (name, str(e).splitlines()[0]))
            print("  failed: %s" % res["errors"][-1], flush=True)
            return None
    for kind in order:
        r = stage("throughput session: %s" % kind, lambda: throughput_session(kind, args.sizes))
        if r:
            res["tput"][kind].append(r)
    cases = [(size, d) for size in (64, 1518) if size in args.sizes or size == 64
             for d in ("vm2dev", "dev2vm")]
    for kind in ("vrelay", "testpmd"):
        res["instr"][kind] = stage("instruction session: %s" % kind,
                                   lambda: instruction_session(kind, cases)) or {}
    for n in args.scale:
        r = stage("scaling session: %d relays" % n, lambda: scaling_session(n)) or {}
        r.update(stage("scaling callgrind: %d relays" % n,
                       lambda: scaling_session(n, callgrind=True)) or {})
        res["scale"][str(n)] = r
    res["tunnel"] = stage("tunnel sessions", lambda: tunnel.stage(
        RelayUnderTest, (64, 1518), WINDOW, WARMUP, 1 if args.quick else 2))
    text = report(res, args)
    if res["tunnel"]:
        text += "\n\n" + tunnel.report(res["tunnel"], median)
    print()
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"report": text, "raw": repr(res)}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
