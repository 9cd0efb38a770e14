"""Helpers for vrelay's system tests: processes, DPDK telemetry, testpmd.

Every DPDK process gets its own --file-prefix and the runtime directory under
a per-test scratch dir; everything started is stopped by PID at teardown,
even when the test fails. Readiness is always polled with a deadline.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("VRELAY_BUILD", os.path.join(ROOT, "build"))
VRELAYD = os.path.join(BUILD, "src", "vrelayd")
TESTPMD = shutil.which("dpdk-testpmd") or "/usr/bin/dpdk-testpmd"
RUNTIME = "/var/run/dpdk"


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def wait_for(pred, timeout, what, interval=0.02):
    """Poll pred() until it returns a truthy value; fail naming what."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except (OSError, ValueError, KeyError) as e:
            last_exc = e
        if time.monotonic() > deadline:
            raise TestFailure("timed out after %.1fs waiting for %s%s" % (
                timeout, what, " (last error: %s)" % last_exc if last_exc else ""))
        time.sleep(interval)


class Telemetry:
    """Client of a DPDK process's telemetry socket (the v2 JSON protocol)."""

    def __init__(self, prefix):
        self.path = os.path.join(RUNTIME, prefix, "dpdk_telemetry.v2")
        self.sock = None

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(self.path)
        s.recv(1024)  # greeting: version, pid, max_output_len
        self.sock = s

    def query(self, cmd):
        if self.sock is None:
            self._connect()
        try:
            self.sock.send(cmd.encode())
            data = self.sock.recv(1 << 20)
        except OSError:
            self.close()
            raise
        if not data:
            self.close()
            raise OSError("telemetry socket closed")
        reply = json.loads(data.decode())
        return reply[cmd.split(",")[0]]

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class Proc:
    """A child process with its output in a log file, stopped by PID."""

    def __init__(self, argv, log_path, stdin=None):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        # restore_signals=False: children inherit SIGPIPE ignored, as QEMU runs
        self.p = subprocess.Popen(argv, stdin=stdin, stdout=self.log,
                                  stderr=subprocess.STDOUT, start_new_session=True,
                                  restore_signals=False)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.p.pid, sig)

    def stop(self, timeout=10.0, sig=signal.SIGTERM):
        if self.alive():
            self.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode


class Scratch:
    """Per-test directory, process list and cleanup."""

    _seq = 0

    def __init__(self, name):
        Scratch._seq += 1
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="vrt-%s-" % name)
        self.tag = "vrt%d_%d" % (os.getpid(), Scratch._seq)
        self.procs = []
        self.keep = None

    def path(self, leaf):
        return os.path.join(self.dir, leaf)

    def prefix(self, role):
        return "%s_%s" % (self.tag, role)

    def spawn(self, argv, log_leaf, stdin=None):
        p = Proc(argv, self.path(log_leaf), stdin=stdin)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in reversed(self.procs):
            if p.alive():
                p.stop(timeout=5, sig=signal.SIGKILL if p.argv[0] == TESTPMD else signal.SIGTERM)
            else:
                p.stop()
        for entry in os.listdir(RUNTIME) if os.path.isdir(RUNTIME) else []:
            if entry.startswith(self.tag):
                shutil.rmtree(os.path.join(RUNTIME, entry), ignore_errors=True)
        for entry in os.listdir("/dev/hugepages") if os.path.isdir("/dev/hugepages") else []:
            if entry.startswith(self.tag):
                try:
                    os.unlink(os.path.join("/dev/hugepages", entry))
                except OSError:
                    pass
        if os.environ.get("VRELAY_KEEP_LOGS"):
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self):
        out = []
        for p in self.procs:
            out.append("---- %s (%s)\n%s" % (os.path.basename(p.log_path), " ".join(p.argv)[:200],
                                            p.output()[-3000:]))
        return "\n".join(out)


def memif_args(path, role, id_=0, name="net_memif0"):
    return "%s,role=%s,id=%d,socket=%s,socket-abstract=no" % (name, role, id_, path)


TEST_DEVICE_KINDS = "pci bond net_ring net_memif net_null net_tap net_pcap net_virtio_user"


class Vrelayd:
    def __init__(self, scratch, args, workers="1", name="vrelayd", log_level="info",
                 device_kinds=True):
        self.s = scratch
        self.prefix = scratch.prefix(name)
        self.name = name
        # the tests add virtual devices through the control sources, which
        # allow only PCI devices and bonds unless told (docs/security.md)
        # (device_kinds=False: relays only from the command line, and a build
        # older than the allow-list, as bench/run.py --compare runs)
        kinds = [] if not device_kinds or any("control-devices" in a for a in args) else [
            "--set", "control-devices=" + TEST_DEVICE_KINDS]
        self.argv = [VRELAYD, "-w", workers, "--file-prefix", self.prefix,
                     "--socket-dir", scratch.dir, "--control-dir", scratch.dir,
                     "-l", log_level] + kinds + list(args)
        self.proc = None
        self.tel = Telemetry(self.prefix)

    def start(self, wait=True):
        self.tel.close()
        self.proc = self.s.spawn(self.argv, self.name + ".log")
        if wait:
            wait_for(lambda: self.ready(), 30, "vrelayd to answer telemetry")
        return self

    def ready(self):
        check(self.proc.alive(), "vrelayd exited:\n" + self.proc.output()[-2000:])
        try:
            # null until vrelayd registers its commands at the end of start-up
            return self.tel.query("/vrelay/relays") is not None
        except OSError:
            self.tel.close()
            return False

    def relays(self):
        return self.tel.query("/vrelay/relays")

    def relay(self, rid):
        return self.tel.query("/vrelay/relay,%d" % rid)

    def mem(self):
        return self.tel.query("/vrelay/mem")

    def workers(self):
        return self.tel.query("/vrelay/workers")

    def stop(self):
        self.tel.close()
        return self.proc.stop()

    def kill(self):
        self.tel.close()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.p.wait()

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)


class Testpmd:
    """dpdk-testpmd in interactive mode, commands written to its stdin.

    Counters come from its telemetry (/ethdev/stats), never from parsing
    the console, so they are exact."""

    def __init__(self, scratch, name, vdevs, lcores="0,1", extra=(), eal_extra=(), lsc=False):
        self.s = scratch
        self.name = name
        self.prefix = scratch.prefix(name)
        # lcores "0,1" means both testpmd lcores on CPU 0, leaving CPU 1 (the
        # relay worker's) to the relay: "a@b" maps lcore a onto CPU b
        lc = ",".join("%s@0" % c for c in lcores.split(",")) if "@" not in lcores else lcores
        self.argv = [TESTPMD, "--lcores", lc, "--file-prefix", self.prefix, "--no-pci",
                     "--in-memory", "--single-file-segments"]
        for v in vdevs:
            self.argv += ["--vdev", v]
        # virtio_user in server mode notices a lost backend (and accepts the
        # next one) through its link-state interrupt, as QEMU watches its chardev
        self.argv += list(eal_extra) + ["--", "-i"] + ([] if lsc else ["--no-lsc-interrupt"]) + [
                                        "--port-topology=loop",
                                        "--total-num-mbufs=16384"] + list(extra)
        self.tel = Telemetry(self.prefix)
        self.proc = None

    def start(self, timeout=30):
        self.proc = self.s.spawn(self.argv, self.name + ".log", stdin=subprocess.PIPE)
        wait_for(self._up, timeout, "%s telemetry" % self.name)
        return self

    def _up(self):
        check(self.proc.alive(), "%s exited:\n%s" % (self.name, self.proc.output()[-2000:]))
        try:
            self.tel.query("/ethdev/list")
            return True
        except OSError:
            self.tel.close()
            return False

    def cmd(self, line):
        check(self.proc.alive(), "%s exited:\n%s" % (self.name, self.proc.output()[-2000:]))
        self.proc.p.stdin.write((line + "\n").encode())
        self.proc.p.stdin.flush()

    def cmd_sync(self, line, timeout=10):
        """Run a command and wait until testpmd has executed it (an echo marker)."""
        marker = "vrt-mark-%d" % time.monotonic_ns()
        before = len(self.proc.output())
        self.cmd(line)
        self.cmd("set fwd %s" % marker)  # unknown mode: testpmd prints an error naming it
        wait_for(lambda: marker in self.proc.output()[before:], timeout,
                 "%s to run '%s'" % (self.name, line))

    def stats(self, port=0):
        return self.tel.query("/ethdev/stats,%d" % port)

    def link_up(self, port=0):
        try:
            return self.tel.query("/ethdev/link_status,%d" % port).get("status") == "UP"
        except OSError:
            self.tel.close()
            return False

    def stop(self):
        self.tel.close()
        if self.proc.alive():
            try:
                self.cmd("quit")
            except (OSError, TestFailure):
                pass
            try:
                self.proc.p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        return self.proc.stop(timeout=5, sig=signal.SIGKILL)


# ---- traffic ----

DOC_IPS = "--tx-ip=198.51.100.1,198.51.100.2"
JUMBO = ["--max-pkt-len=9600", "--enable-scatter"]


def segments(size, seg=2048):
    """testpmd 'set txpkts' list for a frame of size bytes."""
    out = []
    while size > 0:
        out.append(min(seg, size))
        size -= out[-1]
    return ",".join(map(str, out))


def dir_counters(d, rid, name):
    """A direction's counters, with the relay-wide ones (nombuf) beside them."""
    r = d.relay(rid)
    return dict(r[name], nombuf=r["nombuf"])


def stable(read, timeout=20.0, what="counters to settle"):
    """Wait until read() returns the same value twice 200 ms apart."""
    last = [None]

    def same():
        v = read()
        ok = v == last[0]
        last[0] = v
        return ok
    wait_for(same, timeout, what, interval=0.2)
    return last[0]


def send_oneway(d, rid, tx, rx, size, count, direction, timeout=120):
    """tx sends >= count frames of size bytes through relay rid to rx.

    Returns (sent, received, relay direction counters) once everything has
    settled, after asserting exact conservation at every hop."""
    rx.cmd("set fwd rxonly")
    rx.cmd("start")
    tx.cmd("set fwd txonly")
    tx.cmd("set txpkts " + segments(size))
    base_tx = tx.stats()["opackets"]
    base_rx = rx.stats()["ipackets"]
    base = dir_counters(d, rid, direction)
    tx.cmd("start")
    wait_for(lambda: tx.stats()["opackets"] - base_tx >= count, timeout,
             "%d frames of %d bytes sent" % (count, size))
    tx.cmd("stop")
    sent = stable(lambda: tx.stats()["opackets"]) - base_tx
    c = stable(lambda: (dir_counters(d, rid, direction), rx.stats()["ipackets"]))[0]
    received = rx.stats()["ipackets"] - base_rx
    rx.cmd("stop")
    delta = {k: c[k] - base[k] for k in ("rx_pkts", "tx_pkts", "tx_bytes", "drop_full",
                                          "drop_unready", "nombuf")}
    check(delta["rx_pkts"] == sent,
          "%s %dB: relay took %d frames, sender sent %d" % (direction, size, delta["rx_pkts"],
                                                           sent))
    check(delta["tx_pkts"] + delta["drop_full"] + delta["drop_unready"] == delta["rx_pkts"],
          "%s %dB: relay counters do not add up: %s" % (direction, size, delta))
    check(received == delta["tx_pkts"],
          "%s %dB: receiver got %d frames, relay delivered %d" % (direction, size, received,
                                                                delta["tx_pkts"]))
    check(delta["tx_bytes"] == delta["tx_pkts"] * size,
          "%s %dB: relay delivered %d bytes for %d frames" % (direction, size, delta["tx_bytes"],
                                                            delta["tx_pkts"]))
    return sent, received, delta


def guest_pmd(s, name, sock, queues=1, server=False, extra=(), lcores="0,1"):
    v = "net_virtio_user0,path=%s,queues=%d%s" % (sock, queues, ",server=1" if server else "")
    args = [DOC_IPS] + list(extra)
    if queues > 1:
        args += ["--rxq=%d" % queues, "--txq=%d" % queues]
    return Testpmd(s, name, [v], lcores=lcores, extra=args, lsc=server)


def memif_peer(s, name, sock, extra=()):
    return Testpmd(s, name, [memif_args(sock, "client")], extra=[DOC_IPS] + list(extra))


class CountedFlow:
    """A guest-to-device flow through relay rid that another activity must
    not disturb: started, later stopped and checked exact at every hop."""

    def __init__(self, s, d, memif, rid=0, sock=None):
        self.d, self.rid = d, rid
        self.peer = memif_peer(s, "peer%d" % rid, memif).start()
        self.guest = guest_pmd(s, "guest%d" % rid, sock or s.path("relay%d.sock" % rid)).start()
        wait_for(lambda: d.relay(rid)["state"] == "connected", 10,
                 "guest %d to connect" % rid)

    def start(self):
        self.peer.cmd("set fwd rxonly")
        self.peer.cmd("start")
        self.guest.cmd("set fwd txonly")
        self.guest.cmd("start")

    def stop_and_check(self, what):
        """Stop sending; sent == taken == delivered == received, no drop."""
        self.guest.cmd("stop")
        sent = stable(lambda: self.guest.stats()["opackets"])
        c, received = stable(lambda: (self.d.relay(self.rid)["vm2dev"],
                                      self.peer.stats()["ipackets"]))
        check(sent > 0, "%s: no traffic on relay %d" % (what, self.rid))
        check(c["rx_pkts"] == sent == c["tx_pkts"] == received,
              "%s: guest sent %d, relay %d took %d and delivered %d, peer got %d" % (
                  what, sent, self.rid, c["rx_pkts"], c["tx_pkts"], received))
        check(c["drop_full"] == 0 and c["drop_unready"] == 0,
              "%s: relay %d dropped: %s" % (what, self.rid, c))
        return sent
