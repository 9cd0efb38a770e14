"""vrelay-migrate's refusals, without guests: bad arguments (exit 2), a QMP
peer that is not there or not QMP, and a destination that is not waiting
for a migration (exit 3), each with a message naming the fault."""

import json
import os
import socket
import subprocess
import threading

from vrtest import BUILD, check

MIGRATE = os.path.join(BUILD, "src", "cli", "vrelay-migrate")


def run(*args):
    p = subprocess.run([MIGRATE] + list(args), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stderr


class FakeQmp:
    """A QMP server answering query-status with a fixed state."""

    def __init__(self, path, status, greet=True):
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(path)
        self.ls.listen(4)
        self.status, self.greet = status, greet
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        try:
            while True:
                c, _ = self.ls.accept()
                threading.Thread(target=self.client, args=(c,), daemon=True).start()
        except OSError:
            return

    def client(self, c):
        with c:
            if not self.greet:
                c.sendall(b"hello, not QMP\n")
                return
            c.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
            f = c.makefile("rb")
            for line in f:
                cmd = json.loads(line).get("execute")
                ret = {"status": self.status} if cmd == "query-status" else {}
                c.sendall(json.dumps({"return": ret}).encode() + b"\r\n")

    def close(self):
        self.ls.close()


def test_usage_errors(s):
    for args, words in [((), "required"),
                        (("--src", "a", "--dst", "b"), "required"),
                        (("--src", "a", "--dst", "b", "--uri", "c", "--max-bandwidth", "x"),
                         "'x' is not a positive number"),
                        (("--src", "a", "--dst", "b", "--uri", "c", "--downtime-limit", "-5"),
                         "'-5'"),
                        (("--src", "a", "--dst", "b", "--uri", "c", "--src-relay", "/d:1"),
                         "go together"),
                        (("--src", "a", "--dst", "b", "--uri", "c", "--compress"),
                         "give --multifd N too"),
                        (("--src", "a", "--dst", "b", "--uri", "c", "--multifd", "300"),
                         "1..255 channels"),
                        (("--src", "a", "--dst", "b", "--uri", "c", "extra"), "nothing else")]:
        rc, err = run(*args)
        check(rc == 2 and words in err, "%s: exit %d: %s" % (args, rc, err))


def test_unreachable_and_wrong_peers(s):
    rc, err = run("--src", s.path("none.qmp"), "--dst", s.path("none2.qmp"), "--uri", "unix:x")
    check(rc == 3 and "source QEMU: cannot connect" in err and "none.qmp" in err,
          "exit %d: %s" % (rc, err))
    rc, err = run("--src", "tcp:[::1]:1", "--dst", "tcp:127.0.0.1:1", "--uri", "unix:x")
    check(rc == 3 and "cannot connect" in err, "tcp: exit %d: %s" % (rc, err))
    fakes = [FakeQmp(s.path("src.qmp"), "running"), FakeQmp(s.path("running.qmp"), "running"),
             FakeQmp(s.path("junk.qmp"), "running", greet=False)]
    try:
        rc, err = run("--src", s.path("src.qmp"), "--dst", s.path("junk.qmp"), "--uri", "unix:x")
        check(rc == 3 and "does not greet as QMP" in err, "junk: exit %d: %s" % (rc, err))
        rc, err = run("--src", s.path("src.qmp"), "--dst", s.path("running.qmp"), "--uri",
                      "unix:x")
        check(rc == 3 and "'running', not waiting for a migration" in err,
              "not incoming: exit %d: %s" % (rc, err))
        rc, err = run("--src", s.path("src.qmp"), "--dst", s.path("never.qmp"), "--uri",
                      "unix:x", "--dst-start", "exit 7")
        check(rc == 3 and "exited (status 7) before its QMP came up" in err,
              "dst-start: exit %d: %s" % (rc, err))
        rc, err = run("--src", s.path("src.qmp"), "--dst", "unix:" + s.path("running.qmp"),
                      "--uri", "unix:x", "--src-relay", "%s:0" % s.dir, "--dst-relay",
                      "%s:1" % s.dir)
        check(rc == 3, "relays: exit %d: %s" % (rc, err))
    finally:
        for f in fakes:
            f.close()
