"""vrelayd without root (issue 12 item 9): started as root and dropped to a
configured user after start-up, or started unprivileged outright; either
way relays added afterwards carry traffic, every frame counted."""

import contextlib
import os
import subprocess

from vrtest import CountedFlow, Vrelayd, check, memif_args, wait_for
from vrctl import Client

NOBODY = 65534


@contextlib.contextmanager
def hugetlbfs_for(s, uid, size="256M"):
    """A hugetlbfs the user may grow its memory in, unmounted afterwards."""
    mnt = s.path("huge")
    os.mkdir(mnt)
    subprocess.run(["mount", "-t", "hugetlbfs", "-o",
                    "size=%s,uid=%d,gid=%d,mode=0700" % (size, uid, uid), "nodev", mnt],
                   check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", mnt])


def task_caps(pid):
    """CapEff of every thread of pid, and the process's real/effective uid."""
    caps, uids = {}, None
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("CapEff:"):
                    caps[tid] = int(line.split()[1], 16)
                if line.startswith("Uid:"):
                    uids = [int(x) for x in line.split()[1:]]
    return caps, uids


def flow_through_added_relay(s, d):
    """Relay 1 added over ZeroMQ after the drop: exact counts end to end."""
    memif = s.path("memif1.sock")
    c = Client(s.dir)
    try:
        P = c.pb.PortControlRequest
        r = c.port(op=P.ADD, virtio_id=1, conditional=False,
                   name=memif_args(memif, "server", name="net_memif1"))
        check(c.ok(r), "ADD after the drop: %s" % r)
    finally:
        c.close()
    flow = CountedFlow(s, d, memif, rid=1)
    flow.start()
    wait_for(lambda: d.relay(1)["vm2dev"]["tx_pkts"] > 10000, 20, "traffic on relay 1")
    flow.stop_and_check("relay 1, added without root")


def test_drop_to_user_after_start(s):
    """Sockets owned by the user vrelayd becomes need no CAP_CHOWN: no
    thread keeps any capability."""
    with hugetlbfs_for(s, NOBODY) as huge:
        d = Vrelayd(s, ["--retry-us", "2000000", "--set", "user=nobody", "--set", "group=nogroup",
                        "--socket-owner", "nobody", "--socket-group", "nogroup",
                        "--set", "huge-dir=" + huge, "-r", "id=0 device=net_ring0"]).start()
        wait_for(lambda: "running as nobody" in d.proc.output(), 10, "the drop's log line")
        caps, uids = task_caps(d.proc.pid)
        check(uids == [NOBODY] * 4, "uids after the drop: %s" % uids)
        check(all(v == 0 for v in caps.values()), "threads kept capabilities: %s" % caps)
        check(os.stat(s.dir).st_uid == NOBODY, "the socket directory was not given to nobody")
        flow_through_added_relay(s, d)
        rc = d.stop()
        check(rc == 0, "exit code after the drop: %s" % rc)


def test_socket_owner_keeps_only_chown(s):
    """With a socket owner configured, the control thread keeps CAP_CHOWN
    (bit 0) and nothing else; the other threads keep nothing."""
    with hugetlbfs_for(s, NOBODY) as huge:
        d = Vrelayd(s, ["--set", "user=nobody", "--socket-owner", "root",
                        "--set", "huge-dir=" + huge, "-r", "id=0 device=net_ring0"]).start()
        wait_for(lambda: "keeping CAP_CHOWN" in d.proc.output(), 10, "the drop's log line")
        caps, _ = task_caps(d.proc.pid)
        check(caps[str(d.proc.pid)] == 1, "control thread CapEff %x" % caps[str(d.proc.pid)])
        check(all(v == 0 for t, v in caps.items() if t != str(d.proc.pid)),
              "other threads kept capabilities: %s" % caps)
        d.stop()


def test_start_unprivileged(s):
    """No root at all: nobody with a hugetlbfs of its own."""
    os.chown(s.dir, NOBODY, NOBODY)
    runtime = s.path("xdg")
    os.mkdir(runtime)
    os.chown(runtime, NOBODY, NOBODY)
    with hugetlbfs_for(s, NOBODY) as huge:
        d = Vrelayd(s, ["--retry-us", "2000000", "--set", "huge-dir=" + huge,
                        "-r", "id=0 device=net_ring0"])
        d.argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
                  "--inh-caps=-all", "--"] + d.argv
        # DPDK puts an unprivileged process's runtime files under XDG_RUNTIME_DIR
        d.tel.path = os.path.join(runtime, "dpdk", d.prefix, "dpdk_telemetry.v2")
        os.environ["XDG_RUNTIME_DIR"] = runtime
        try:
            d.start()
        finally:
            del os.environ["XDG_RUNTIME_DIR"]
        caps, uids = task_caps(d.proc.pid)
        check(uids == [NOBODY] * 4 and all(v == 0 for v in caps.values()),
              "uids %s, capabilities %s" % (uids, caps))
        flow_through_added_relay(s, d)
        check(d.stop() == 0, "exit code")
