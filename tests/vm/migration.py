"""Live migration between two relays of one vrelayd, for the VM tests and
make demo: the guest moves between relay 0 and relay 1 (device vtap0 and
vtap1 on the same bridge), each time into a new QEMU started with
-incoming, driven by vrelay-migrate.

Outage as the peer sees it: the longest silence in the replies to
ping -D -i 0.01, less the probe interval."""

import json
import os
import re
import subprocess

import vm
from vrtest import BUILD, check, wait_for

MIGRATE = os.path.join(BUILD, "src", "cli", "vrelay-migrate")
INTERVAL = 0.01


# 10 Mbit/s of numbered UDP datagrams from the peer to the guest, 20 s:
# iperf3's receiver (the guest) counts each one lost or out of order
UDP_STREAM = ["iperf3", "-c", vm.GUEST_IP, "-u", "-b", "10M", "-l", "1200", "-t", "20", "-i",
              "1", "--forceflush", "-f", "m", "--get-server-output"]


def udp_outcome(out):
    """(lost, sent, out of order) from UDP_STREAM's output."""
    # the receiver's summary: "... 0/20834 (0%)  receiver"; the server's own
    # report names datagrams received out of order
    m = re.search(r"(\d+)/(\d+) \([\d.e+-]+%\)\s+receiver", out)
    check(m is not None, "no receiver summary:\n" + out[-1500:])
    reordered = sum(int(x) for x in re.findall(r"(\d+) datagrams received out-of-order", out))
    return int(m.group(1)), int(m.group(2)), reordered


def roomy_socket_buffers(guest):
    """A TCG guest resumes slowly: a socket buffer of 8 MiB, not 208 KiB,
    keeps the datagrams that reach it meanwhile (else its own kernel drops
    them, counted RcvbufErrors, after the relays delivered them)."""
    guest.console.run("echo 8388608 > /proc/sys/net/core/rmem_max; "
                      "echo 8388608 > /proc/sys/net/core/rmem_default")


class Pinger:
    """ping -D -i 0.01 from the peer for the duration of a with-block."""

    def __init__(self, pair, leaf):
        self.pair, self.leaf = pair, leaf

    def __enter__(self):
        self.p = self.pair.peer.spawn(["ping", "-D", "-n", "-i", str(INTERVAL), vm.GUEST_IP],
                                      self.leaf)
        wait_for(lambda: "bytes from" in self.p.output(), 10, "the first reply")
        return self

    def __exit__(self, *exc):
        self.p.stop(sig=2)

    def replies(self):
        return [float(t) for t in re.findall(r"^\[([\d.]+)\] \d+ bytes from", self.p.output(),
                                             re.M)]

    def first_after(self, wall):
        """Seconds from wall to the first reply after it."""
        later = [t for t in self.replies() if t >= wall]
        return later[0] - wall if later else float("inf")

    def lost(self):
        """Probes sent but never answered (sequence numbers)."""
        seqs = {int(n) for n in re.findall(r"icmp_seq=(\d+)", self.p.output())}
        return [n for n in range(min(seqs), max(seqs)) if n not in seqs] if seqs else []

    def outage_ms(self):
        t = self.replies()
        gaps = [b - a for a, b in zip(t, t[1:])]
        return max(0.0, (max(gaps) - INTERVAL) * 1000) if gaps else float("inf")

    def wait_replies_after(self, n_before, more=20):
        wait_for(lambda: len(self.replies()) >= n_before + more, 20, "replies to resume")


class Pair:
    """vrelayd with relays 0 and 1, and the guest booted on relay 0."""

    def __init__(self, s):
        self.s = s
        self.peer = vm.Peer(s)
        self.d = vm.vrelayd(s, self.peer, ["-r", "id=0 device=%s" % self.peer.device(0),
                                           "-r", "id=1 device=%s" % self.peer.device(1)]).start()
        self.peer.attach(0)
        self.peer.attach(1)
        self.n = 0
        self.rid = 0
        self.vm = vm.Vm(s, "vm0", s.path("relay0.sock"), peer=self.peer).start()
        wait_for(lambda: self.peer.ping(count=1, deadline=2)["rx"] == 1, 30,
                 "the guest to answer a ping")
        self.port = 47000 + os.getpid() % 1000 * 10

    def uri(self, kind):
        if kind == "unix":
            return "unix:" + self.s.path("migrate%d.sock" % self.n)
        if kind == "tcp6":
            return "tcp:[::1]:%d" % (self.port + self.n % 10)
        return "tcp:127.0.0.1:%d" % (self.port + self.n % 10)

    def destination(self, kind="tcp", ram=None, start=True):
        """A QEMU for the other relay waiting for the guest (started unless
        start is false: vrelay-migrate --dst-start runs its argv), its URI."""
        self.n += 1
        uri = self.uri(kind)
        dst = vm.Vm(self.s, "vm%d" % self.n, self.s.path("relay%d.sock" % (1 - self.rid)),
                    peer=self.peer, incoming=uri, ram=ram)
        if start:
            dst.start(wait_ready=False)
        return dst, uri

    def migrate_argv(self, dst, uri, args=(), relays=True):
        """vrelay-migrate's command line, in the host namespace; relays: hand
        the source relay's addresses to the destination relay."""
        argv = [MIGRATE, "--src", self.vm.qmp_obs_path, "--dst", dst.qmp_obs_path, "--uri", uri,
                "--json"]
        if relays:
            argv += ["--src-relay", "%s:%d" % (self.s.dir, self.rid),
                     "--dst-relay", "%s:%d" % (self.s.dir, 1 - self.rid)]
        return self.peer.in_host(argv + list(args))

    def migrate(self, dst, uri, args=()):
        """Run vrelay-migrate, which must succeed; the guest lives in dst from
        now on. Returns its JSON report."""
        p = subprocess.run(self.migrate_argv(dst, uri, args), capture_output=True, text=True,
                           timeout=300)
        report = json.loads(p.stdout) if p.stdout.strip().startswith("{") else None
        check(p.returncode == 0 and report and report["status"] == "completed",
              "vrelay-migrate exited %d: %s %s" % (p.returncode, p.stdout, p.stderr))
        self.vm.quit()
        self.vm = dst
        self.rid = 1 - self.rid
        return report

    def migrate_once(self, kind="tcp", args=()):
        dst, uri = self.destination(kind)
        return self.migrate(dst, uri, args)

    def tcp_session(self, leaf, seconds):
        """iperf3 TCP from the peer to the guest, running when this returns."""
        self.vm.console.run("iperf3 -s -D -1")
        wait_for(lambda: self.vm.console.run("netstat -ltn | grep -q ':5201 '",
                                             ok=False)[0] == 0,
                 30, "the guest's iperf3 server to listen")
        client = self.peer.spawn(["iperf3", "-c", vm.GUEST_IP, "-t", str(seconds), "-i", "1",
                                  "--forceflush", "-f", "m"], leaf)
        wait_for(lambda: "Mbits/sec" in client.output(), 30, "iperf3 to run")
        return client

    def migrate_watched(self, leaf, client=None, kind="tcp"):
        """One migration under ping -i 0.01 (and the iperf3 client, if any):
        returns once replies (and iperf3 reports) flow again, with the
        report and what the peer saw."""
        with Pinger(self, leaf) as pg:
            report = self.migrate_once(kind)
            pg.wait_replies_after(len(pg.replies()))
            if client is not None:
                lines = client.output().count("Mbits/sec")
                wait_for(lambda: client.output().count("Mbits/sec") >= lines + 2, 30,
                         "iperf3 to report after the migration")
        return {"report": report, "outage": pg.outage_ms(), "lost": pg.lost(),
                "wake": 1000 * pg.first_after(report["resume_wall"])}
