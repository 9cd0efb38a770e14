"""Live migration between two relays of one vrelayd, for the VM tests and
make demo: the guest moves between relay 0 and relay 1 (device vtap0 and
vtap1 on the same bridge), each time into a new QEMU started with
-incoming, driven by vrelay-migrate."""

import json
import os
import subprocess

import vm
from vrtest import BUILD, check, wait_for

MIGRATE = os.path.join(BUILD, "tools", "vrelay-migrate")


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

    def destination(self, kind="tcp", extra=(), ram=None):
        """A new QEMU on the other relay, waiting for the guest."""
        self.n += 1
        uri = self.uri(kind)
        dst = vm.Vm(self.s, "vm%d" % self.n, self.s.path("relay%d.sock" % (1 - self.rid)),
                    peer=self.peer, incoming=uri,
                    extra=extra, ram=ram)
        dst.start(wait_ready=False)
        return dst, uri

    def migrate(self, dst, uri, args=(), ok=True):
        """Run vrelay-migrate; returns (exit code, its JSON report or None).
        On success the guest lives in dst from now on."""
        p = subprocess.run(self.peer.in_host([
            MIGRATE, "--src", self.vm.qmp_obs_path, "--dst", dst.qmp_obs_path, "--uri", uri,
            "--src-relay", "%s:%d" % (self.s.dir, self.rid),
            "--dst-relay", "%s:%d" % (self.s.dir, 1 - self.rid), "--json"] + list(args)),
            capture_output=True, text=True, timeout=300)
        report = json.loads(p.stdout) if p.stdout.strip().startswith("{") else None
        if ok:
            check(p.returncode == 0 and report and report["status"] == "completed",
                  "vrelay-migrate exited %d: %s %s" % (p.returncode, p.stdout, p.stderr))
        if p.returncode == 0:
            self.vm.quit()
            self.vm = dst
            self.rid = 1 - self.rid
        return p.returncode, report, p.stderr
