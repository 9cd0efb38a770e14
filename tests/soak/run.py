#!/usr/bin/python3
"""make soak: vrelayd under everything at once, for 30 minutes by default
(VRELAY_SOAK_MINUTES), built with ASan and UBSan (build-asan/). Not part of
make test.

Two daemons. B is never stopped until the end; at once, it
  - carries a counted flow on relay 0 (memif) for the whole run,
  - adds and removes relay 1 by config reload, its guest reconnecting and
    sending both ways each cycle,
  - takes random control messages on all four ZeroMQ services,
  - takes malformed vhost-user messages on relay 2's socket.
A is killed with SIGKILL and restarted over and over; its relay (client
mode) must reconnect to its guest and carry traffic each time.

The run passes with: relay 0's flow exact (sent = relayed = received, no
drop), B's mbufs in use and hugepage heap back to their values after the
warm-up, no mbuf leaked, B exiting 0 on SIGTERM, and no sanitizer report
from either daemon. It ends with a line of figures."""

import os
import random
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
os.environ.setdefault("VRELAY_BUILD", os.path.join(ROOT, "build-asan"))
# the pure-Python protobuf parses random bytes without logging each refusal
os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"

import vrtest  # noqa: E402
from vrtest import (CountedFlow, Scratch, Vrelayd, check, guest_pmd, memif_args,  # noqa: E402
                    stable, wait_for)
from vrctl import Client  # noqa: E402
import test_hostile  # noqa: E402  (the malformed vhost-user messages)
from test_churn import write_config  # noqa: E402
import vhostuser  # noqa: E402

MINUTES = float(os.environ.get("VRELAY_SOAK_MINUTES", "30"))


def sanitizer_env(s):
    os.environ["ASAN_OPTIONS"] = ("log_path=%s:detect_leaks=0:abort_on_error=0"
                                  % s.path("asan"))
    os.environ["UBSAN_OPTIONS"] = "print_stacktrace=1:log_path=%s" % s.path("ubsan")


def sanitizer_reports(s):
    return [f for f in os.listdir(s.dir) if f.startswith(("asan.", "ubsan."))]


class Loop(threading.Thread):
    """One activity repeated until stop; the first failure ends the run."""

    def __init__(self, name, step, stop):
        super().__init__(name=name, daemon=True)
        self.step, self.stop, self.count, self.error = step, stop, 0, None

    def run(self):
        try:
            while not self.stop.is_set():
                self.step()
                self.count += 1
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = "%s: %s" % (self.name, e)
            self.stop.set()


def fuzz_step(s, rnd):
    c = Client(s.dir, timeout_ms=300)
    P = c.pb.PortControlRequest

    def harmless(svc, p):
        # a random message that happens to be a valid request would change
        # relays on purpose: not what this loop tests
        if svc != "port_control":
            return True
        try:
            m = P()
            m.ParseFromString(p)
            return not m.HasField("op")
        except Exception:  # noqa: BLE001
            return True

    def step():
        for svc in ("port_control", "stats", "config", "core_sched"):
            p = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 512)))
            if harmless(svc, p):
                c.raw(svc, p, timeout_ms=300)
    return step


def garbage_step(s, figures):
    kinds = test_hostile.garbage_vhost_user()
    state = {"i": 0}
    figures["known_leaks"] = 0

    def step():
        name, steps = kinds[state["i"] % len(kinds)]
        state["i"] += 1
        figures["known_leaks"] += name in test_hostile.MMAP_FAILS
        keep = []
        fe = vhostuser.Frontend(s.path("relay2.sock"))
        try:
            for data, fds in steps:
                if not fe.send(data, [test_hostile.open_fd(k, keep) for k in fds]):
                    break
            fe.s.settimeout(2)
            try:
                while fe.s.recv(4096):  # until vrelayd closes it (1 s message bound)
                    pass
            except OSError:
                pass
        finally:
            fe.close()
            for fd in keep:
                os.close(fd)
    return step


def restart_step(s, a, figures):
    def step():
        time.sleep(random.uniform(5, 15))  # a kill at a random moment of traffic
        a.kill()
        t0 = time.monotonic()
        a.start()
        wait_for(lambda: a.relay(0)["state"] == "connected", 20, "A's guest to reconnect")
        wait_for(lambda: a.relay(0)["vm2dev"]["tx_pkts"] > 1000, 20, "traffic through A")
        figures["restart_max"] = max(figures.get("restart_max", 0), time.monotonic() - t0)
    return step


B = None


def main():
    global B
    s = Scratch("soak")
    sanitizer_env(s)
    figures = {}
    stop = threading.Event()
    loops = []
    ok = False
    try:
        check(os.path.exists(vrtest.VRELAYD), "%s missing: build it with make soak"
              % vrtest.VRELAYD)
        memif = s.path("memif.sock")
        conf = s.path("vrelay.conf")
        steady = (0, "device = %s" % memif_args(memif, "server"))
        churn = (1, "device = net_ring1\nmode = client\nsocket = %s" % s.path("g1.sock"))
        spare = (2, "device = net_ring2")
        write_config(conf, [steady, spare])
        B = Vrelayd(s, ["-c", conf, "--set", "zmq-core-sched=ipc://%s" % s.path("core_sched")],
                    name="vrelayd_b").start()
        flow = CountedFlow(s, B, memif)
        a = Vrelayd(s, ["--control-dir", s.path("a"), "-r",
                        "id=0 device=net_ring0 mode=client socket=%s" % s.path("ga.sock")],
                    name="vrelayd_a")
        os.mkdir(s.path("a"))
        a.start()  # a server-mode guest waits for its client before it is up
        guest_a = guest_pmd(s, "guest_a", s.path("ga.sock"), server=True).start()
        guest_a.cmd("set fwd txonly")
        guest_a.cmd("start")
        wait_for(lambda: a.relay(0)["state"] == "connected", 20, "A's guest")

        churn_loop = churn_cycle(s, conf, steady, spare, churn, B.prefix)
        # warm-up: one-time allocations (lib/vhost, net_ring's named rings)
        # are in the baseline, as in test_churn
        for _ in range(2):
            churn_loop()
        base_heap = B.tel.query("/eal/heap_info,0")["Alloc_size"]
        base_in_use = stable(lambda: B.mem()["mbufs_in_use"])
        base_fds = len(os.listdir("/proc/%d/fd" % B.proc.pid))
        flow.start()  # after the baselines: mbufs in flight are not in them
        loops = [Loop("churn", churn_loop, stop),
                 Loop("fuzz", fuzz_step(s, random.Random(7)), stop),
                 Loop("vhost-garbage", garbage_step(s, figures), stop),
                 Loop("kill-restart", restart_step(s, a, figures), stop)]
        t0 = time.monotonic()
        for lp in loops:
            lp.start()
        deadline = t0 + MINUTES * 60
        while time.monotonic() < deadline and not stop.is_set():
            stop.wait(5)
            check(B.proc.alive(), "vrelayd B died")
        stop.set()
        for lp in loops:
            lp.join(60)
        errors = [lp.error for lp in loops if lp.error]
        check(not errors, "; ".join(errors))
        elapsed = time.monotonic() - t0

        flow.stop_and_check("relay 0 through the soak")
        m = B.mem()
        check(m["mbufs_leaked"] == 0, "%d mbufs leaked" % m["mbufs_leaked"])
        in_use = stable(lambda: B.mem()["mbufs_in_use"])
        check(in_use == base_in_use, "mbufs in use: %d after the warm-up, %d at the end"
              % (base_in_use, in_use))
        heap = B.tel.query("/eal/heap_info,0")["Alloc_size"]
        check(heap == base_heap, "hugepage heap: %d bytes after the warm-up, %d at the end"
              % (base_heap, heap))
        fds = len(os.listdir("/proc/%d/fd" % B.proc.pid))
        check(fds <= base_fds + figures["known_leaks"],
              "descriptors: %d after the warm-up, %d at the end, of which %d lib/vhost's "
              "known leak" % (base_fds, fds, figures["known_leaks"]))
        sent = flow.guest.stats()["opackets"]
        check(B.stop() == 0, "vrelayd B did not exit 0 on SIGTERM")
        a.stop()
        reports = sanitizer_reports(s)
        check(not reports, "sanitizer reports: %s (kept in %s)" % (reports, s.dir))
        counts = {lp.name: lp.count for lp in loops}
        print("soak %.1f min: relay 0 carried %d frames exactly; %d add/remove cycles; "
              "%d x4 random control messages; %d malformed vhost-user connections "
              "(descriptors %d -> %d, %d of them lib/vhost's known leak); %d SIGKILL restarts of A "
              "(traffic back within %.2f s at worst); mbufs in use %d -> %d; heap %d -> %d "
              "bytes; 0 sanitizer reports"
              % (elapsed / 60, sent, counts["churn"], counts["fuzz"], counts["vhost-garbage"],
                 base_fds, fds, figures["known_leaks"], counts["kill-restart"], figures.get("restart_max", 0),
                 base_in_use, in_use, base_heap, heap))
        ok = True
    except vrtest.TestFailure as e:
        stop.set()
        print("soak FAILED: %s" % e)
        s.keep = True
    finally:
        stop.set()
        if not ok:
            os.environ["VRELAY_KEEP_LOGS"] = "1"
            print("logs in %s" % s.dir)
        s.cleanup()
    print("%d passed, %d failed" % (int(ok), int(not ok)))
    return 0 if ok else 1


def churn_cycle(s, conf, steady, spare, churn, b_prefix):
    """One add/remove cycle of relay 1 with relays 0 and 2 kept."""
    tel = vrtest.Telemetry(b_prefix)
    state = {"guest": None}

    def r1():
        return tel.query("/vrelay/relay,1")

    def step():
        write_config(conf, [steady, spare, churn])
        os.kill(B.proc.pid, signal.SIGHUP)
        wait_for(lambda: 1 in tel.query("/vrelay/relays"), 10, "relay 1 to appear")
        if state["guest"] is None:
            state["guest"] = guest_pmd(s, "guest1_soak", s.path("g1.sock"), server=True).start()
            state["guest"].cmd("set fwd txonly")
            state["guest"].cmd("start")
        wait_for(lambda: r1()["state"] == "connected", 10, "guest 1 to reconnect")
        wait_for(lambda: r1()["vm2dev"]["tx_pkts"] > 0 and r1()["dev2vm"]["rx_pkts"] > 0, 10,
                 "traffic both ways through relay 1")
        write_config(conf, [steady, spare])
        os.kill(B.proc.pid, signal.SIGHUP)
        wait_for(lambda: 1 not in tel.query("/vrelay/relays"), 10, "relay 1 to go")
    return step


if __name__ == "__main__":
    sys.exit(main())
