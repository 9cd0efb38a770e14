"""Hardening (issue 12): what a hostile guest, a local user with control
access or a mistaken operator does must not stop, hijack or own vrelayd.
Each test names the item of the issue it guards."""

import contextlib
import grp
import os
import pwd
import signal
import struct
import subprocess
import time

from vrtest import VRELAYD, CountedFlow, Vrelayd, check, memif_args, wait_for
from vrctl import Client


def run_vrelayd(args, timeout=20):
    """vrelayd run to its end; a hang fails the test instead of the suite."""
    try:
        p = subprocess.run([VRELAYD] + args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        check(False, "vrelayd %s hung for %d s" % (args, timeout))
    return p.returncode, p.stdout + p.stderr


def answers(s, what):
    """The stats service answers within 2 s: the control thread is free."""
    c = Client(s.dir, timeout_ms=2000)
    try:
        t0 = time.monotonic()
        r = c.stats()
        check(r is not None, "no stats reply %s" % what)
        return time.monotonic() - t0
    finally:
        c.close()


def stops_on_sigterm(d, what):
    d.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: not d.proc.alive(), 10, "vrelayd to stop on SIGTERM %s" % what)


def test_config_not_a_regular_file(s):
    """Item 1 and 15: a FIFO, a directory or /dev/zero as config is refused
    at once by what it is (no hang, no 'larger than 1 MiB', no 'no worker
    CPUs')."""
    fifo = s.path("conf.fifo")
    os.mkfifo(fifo)
    link = s.path("zero.conf")
    os.symlink("/dev/zero", link)
    for path, kind in ((fifo, "is a FIFO"), (s.dir, "is a directory"),
                       ("/dev/zero", "is a character device"), (link, "is a character device")):
        rc, out = run_vrelayd(["-w", "1", "-c", path, "--check"])
        check(rc == 2, "--check -c %s: exit %d, want 2:\n%s" % (path, rc, out))
        check(path in out and kind in out and "not a regular file" in out,
              "--check -c %s: message lacks %r:\n%s" % (path, kind, out))


def test_config_replaced_by_fifo_then_sighup(s):
    """Item 1: SIGHUP after the config became a FIFO: the reload is refused,
    the relays and the control services stay, SIGTERM still works."""
    conf = s.path("vrelay.conf")
    with open(conf, "w") as f:
        f.write("[relay 0]\ndevice = net_ring0\n")
    d = Vrelayd(s, ["-c", conf]).start()
    check(d.relays() == [0], "relays: %s" % d.relays())
    os.unlink(conf)
    os.mkfifo(conf)
    at = len(d.proc.output())
    d.reload()
    wait_for(lambda: "reload refused" in d.proc.output()[at:], 10, "the reload to be refused")
    check("is a FIFO" in d.proc.output()[at:], "refusal does not say FIFO:\n%s"
          % d.proc.output()[at:])
    answers(s, "after SIGHUP on a FIFO config")
    check(d.relays() == [0], "relays after the refused reload: %s" % d.relays())
    stops_on_sigterm(d, "after SIGHUP on a FIFO config")


def test_watch_file_fifo_or_dev_zero(s):
    """Item 1: --watch-file a FIFO at start, then replaced by a symlink to
    /dev/zero: refused (logged once each), the control thread keeps answering
    and a regular file put back is followed again."""
    cmds = s.path("cmds")
    os.mkfifo(cmds)
    d = Vrelayd(s, ["--watch-file", cmds]).start()
    wait_for(lambda: "watch-file refused" in d.proc.output(), 10, "the FIFO to be refused")
    check("is a FIFO" in d.proc.output(), "no reason:\n%s" % d.proc.output()[-800:])
    answers(s, "with a FIFO as watch file")
    os.unlink(cmds)
    at = len(d.proc.output())
    os.symlink("/dev/zero", cmds)
    wait_for(lambda: "is a character device" in d.proc.output()[at:], 10,
             "/dev/zero to be refused")
    answers(s, "with /dev/zero as watch file")
    os.unlink(cmds)
    with open(cmds, "w") as f:
        f.write("add 3 net_ring3\n")
    wait_for(lambda: d.relays() == [3], 10, "the command of the regular file put back")
    stops_on_sigterm(d, "after the FIFO and /dev/zero")


def test_pid_file_never_through_a_link(s):
    """Item 10: --set pid-file=LINK must not overwrite the link's target, nor
    a file another user owns; a plain path gets the pid."""
    target = s.path("precious")
    with open(target, "w") as f:
        f.write("keep me\n")
    link = s.path("vrelay.pid")
    os.symlink(target, link)
    d = Vrelayd(s, ["--set", "pid-file=" + link]).start()
    wait_for(lambda: "pid file" in d.proc.output(), 10, "the pid file refusal")
    check("is a symbolic link" in d.proc.output(), "no reason:\n%s" % d.proc.output()[-600:])
    check(open(target).read() == "keep me\n", "the link's target was overwritten")
    d.stop()
    check(os.path.islink(link), "the link was removed at stop")
    other = s.path("other.pid")
    with open(other, "w") as f:
        f.write("someone else's\n")
    os.chown(other, 65534, 65534)
    d = Vrelayd(s, ["--set", "pid-file=" + other], name="vrelayd2").start()
    wait_for(lambda: "owned by uid 65534" in d.proc.output(), 10, "a foreign pid file refused")
    check(open(other).read() == "someone else's\n", "a foreign pid file was overwritten")
    d.stop()
    check(os.path.exists(other), "a foreign pid file was removed at stop")
    mine = s.path("mine.pid")
    d = Vrelayd(s, ["--set", "pid-file=" + mine], name="vrelayd3").start()
    check(open(mine).read() == "%d\n" % d.proc.pid, "pid file: %r" % open(mine).read())
    d.stop()
    check(not os.path.exists(mine), "the pid file stayed after stop")


def test_socket_modes(s):
    """Item 10: a world-writable vhost-user socket mode is refused like a
    world-writable control mode; the sockets are made with the mode asked."""
    rc, out = run_vrelayd(["-w", "1", "--socket-mode", "0777", "-r", "id=0 device=net_ring0",
                           "--check"])
    check(rc == 2 and "socket-mode 0777" in out and "any local user" in out,
          "socket-mode 0777: exit %d:\n%s" % (rc, out))
    d = Vrelayd(s, ["--socket-mode", "0640", "--set", "control-mode=0600",
                    "-r", "id=0 device=net_ring0"]).start()
    sock = os.stat(s.path("relay0.sock")).st_mode & 0o777
    ctl = os.stat(s.path("port_control")).st_mode & 0o777
    check(sock == 0o640, "vhost-user socket mode %o, want 640" % sock)
    check(ctl == 0o600, "control endpoint mode %o, want 600" % ctl)
    d.stop()


def test_core_sched_counts_what_moved(s):
    """Item 15: moving a relay to the CPU it is on says nothing moved."""
    d = Vrelayd(s, ["-r", "id=0 device=net_ring0 cpu=1"]).start()
    c = Client(s.dir)
    try:
        S = c.pb.CoreSchedRequest
        check(c.sched(S.UPDATE, [(0, 1, 1)]).status == c.pb.CoreSchedResponse.OK, "refused")
        wait_for(lambda: "core scheduler:" in d.proc.output(), 10, "the scheduler's log line")
        check("0 of 1 relays moved" in d.proc.output(),
              "log:\n%s" % d.proc.output()[-600:])
    finally:
        c.close()


def expect_config_error(args, *words):
    """Refused with exit 2, one line naming the problem, no EAL usage text,
    both by --check and at start."""
    for mode in (["--check"], []):
        rc, out = run_vrelayd(args + mode)
        check(rc == 2, "vrelayd %s: exit %d, want 2:\n%s" % (args + mode, rc, out[-1500:]))
        for w in words:
            check(w in out, "vrelayd %s: message lacks %r:\n%s" % (args + mode, w, out[-1500:]))
        check(len(out.strip().splitlines()) == 1, "want one line, got:\n%s" % out[-1500:])


def test_check_catches_what_start_refuses(s):
    """Item 12: every configuration mistake that start-up would refuse (or
    that would make every later add fail) is refused by --check too."""
    r0 = ["-w", "1", "-r", "id=0 device=net_ring0"]
    expect_config_error(r0 + ["--set", "zmq-stats=tcp://127.0.0.1:5999",
                              "--file-prefix", "hostile-chk"],
                        "tcp://127.0.0.1:5999", "curve-secret-key")
    expect_config_error(r0 + ["--socket-owner", "no-such-user-vrelay"],
                        "no-such-user-vrelay", "no such user")
    expect_config_error(r0 + ["--set", "vfio-vf-token=not-a-uuid"], "vfio-vf-token",
                        "not a UUID")
    expect_config_error(["-w", "100", "-r", "id=0 device=net_ring0"], "worker CPU 100",
                        "does not exist")
    expect_config_error(["-w", "1", "-r", "id=0 device=0000:05:00.1", "-r",
                         "id=1 device=05:00.1,foo=1"], "relays 0 and 1", "0000:05:00.1")
    expect_config_error(["-w", "1", "-r", "id=0 device=net_ring0 device=net_ring1"],
                        "'device' is given twice")
    expect_config_error(["-w", "1", "-r", "id=0 device=,,,="], "device ',,,='", "no name")
    expect_config_error(["-w", "1", "-r", "id=0 device=net_ring0,,x=1"], "empty argument")
    conf = s.path("twice.conf")
    with open(conf, "w") as f:
        f.write("[daemon]\nworkers = 1\n[relay 0]\ndevice = net_ring0\ndevice = net_ring1\n")
    expect_config_error(["-c", conf], "twice.conf:5", "'device' is given twice")
    vf = s.path("virtioforwarder")
    with open(vf, "w") as f:
        f.write("VIRTIOFWD_CPU_MASK=1\nVIRTIOFWD_CPU_PINS=(0:1,5)\n")
    expect_config_error(["-c", vf], "relay 0", "CPU 5 is not a worker CPU")


def test_second_frontend_refused(s):
    """Item 5: a second frontend on a server socket with a guest running is
    refused and counted; the first guest's flow stays exact, and its vring
    state is untouched (the relay stays connected)."""
    from vrtest import CountedFlow, guest_pmd, memif_args
    memif = s.path("memif.sock")
    # a long retry window: the shared 2-vCPU host stalls peers for ms
    d = Vrelayd(s, ["--retry-us", "2000000", "-r",
                    "id=0 device=%s" % memif_args(memif, "server")]).start()
    flow = CountedFlow(s, d, memif)
    flow.start()
    intruder = guest_pmd(s, "intruder", s.path("relay0.sock"))
    intruder.start(timeout=60)
    wait_for(lambda: d.relay(0)["frontends_refused"] == 1, 20, "the second frontend refused")
    # the refused frontend's port fails to probe: testpmd runs with no port
    wait_for(lambda: "No probed ethernet devices" in intruder.proc.output(), 20,
             "the intruder's port to fail")
    r = d.relay(0)
    check(r["state"] == "connected" and r["connects"] == 1,
          "relay 0 after the intruder: state %s, connects %d" % (r["state"], r["connects"]))
    intruder.stop()
    check(d.relay(0)["state"] == "connected", "the intruder's exit ended the guest's session")
    flow.stop_and_check("next to a refused second frontend")


def test_stats_delay_holds_up_nobody(s):
    """Item 2: a stats request with delay=8000 is answered after its delay,
    while other clients of the same service and of the others are answered
    at once (with a REP socket they all waited the 8 s)."""
    import zmq
    d = Vrelayd(s, ["-r", "id=0 device=net_ring0"]).start()
    c = Client(s.dir, timeout_ms=3000)
    slow = c.ctx.socket(zmq.REQ)
    slow.setsockopt(zmq.LINGER, 0)
    slow.connect(c.eps["stats"])
    try:
        t0 = time.monotonic()
        slow.send(c.pb.StatsRequest(delay=8000).SerializeToString())
        for _ in range(5):
            t1 = time.monotonic()
            r = c.stats()
            took = time.monotonic() - t1
            check(len(r.relay) == 1 and took < 2.0,
                  "a stats request took %.1f s next to a delayed one" % took)
            check(c.config() is not None, "no config reply next to a delayed stats request")
        check(slow.poll(0) == 0, "the delayed request came back before its delay")
        check(slow.poll(15000) != 0, "no reply to the delayed request in 15 s")
        secs = time.monotonic() - t0
        r = c.pb.StatsResponse()
        r.ParseFromString(slow.recv())
        check(len(r.relay) == 1, "delayed reply: %s" % r)
        check(7.5 < secs < 15, "the delayed reply came after %.1f s" % secs)
    finally:
        slow.close()
        c.close()


def test_garbage_connections_hold_up_nobody(s):
    """Item 2: fifty connections sending random bytes to every endpoint do
    not delay a well-formed request on another endpoint."""
    import socket as so
    d = Vrelayd(s, ["-r", "id=0 device=net_ring0"]).start()
    conns = []
    rnd = open("/dev/urandom", "rb")
    try:
        for i in range(50):
            c = so.socket(so.AF_UNIX, so.SOCK_STREAM)
            c.connect(s.path(("port_control", "config", "core_sched")[i % 3]))
            c.setblocking(False)
            try:
                c.send(rnd.read(4096))
            except OSError:
                pass
            conns.append(c)
        c = Client(s.dir, timeout_ms=3000)
        try:
            t0 = time.monotonic()
            r = c.stats()
            took = time.monotonic() - t0
        finally:
            c.close()
        check(len(r.relay) == 1 and took < 1.0,
              "stats took %.2f s next to 50 garbage connections" % took)
        check(d.proc.alive(), "vrelayd died")
    finally:
        rnd.close()
        for c in conns:
            c.close()


def test_numa_move_under_traffic(s):
    """Item 6: the pool moves to the guest's NUMA node on the control thread
    with the directions paused (VRELAY_TEST_NUMA_MOVE makes every connect
    move, to the same node, on a one-node machine): three guests in turn,
    each sending across its move, every frame counted at every hop; retired
    pools are freed once their mbufs are home, none leaks. The device is
    net_null: its restart loses no peer."""
    from vrtest import guest_pmd, stable
    d = Vrelayd(s, ["--retry-us", "2000000", "-r", "id=0 device=net_null0"])
    os.environ["VRELAY_TEST_NUMA_MOVE"] = "1"
    try:
        d.start()
    finally:
        del os.environ["VRELAY_TEST_NUMA_MOVE"]
    for i in range(3):
        pools = d.mem()["pools_created"]
        guest = guest_pmd(s, "guest%d" % i, s.path("relay0.sock")).start()
        before = d.relay(0)
        guest.cmd("set fwd txonly")
        guest.cmd("start")
        wait_for(lambda: d.mem()["pools_created"] == pools + 1, 10, "the pool move %d" % i)
        moved_at = guest.stats()["opackets"]
        wait_for(lambda: guest.stats()["opackets"] > moved_at + 10000, 10,
                 "traffic after move %d" % i)
        guest.cmd("stop")
        sent = stable(lambda: guest.stats()["opackets"])
        after = stable(lambda: d.relay(0))
        took = after["vm2dev"]["rx_pkts"] - before["vm2dev"]["rx_pkts"]
        gave = after["vm2dev"]["tx_pkts"] - before["vm2dev"]["tx_pkts"]
        dev = after["device_stats"]["opackets"] - before["device_stats"]["opackets"]
        check(sent > 0 and sent == took == gave == dev,
              "move %d: guest sent %d, relay took %d and gave %d, device sent %d" % (
                  i, sent, took, gave, dev))
        guest.stop()
        wait_for(lambda: d.relay(0)["state"] == "waiting", 10, "guest %d gone" % i)
    check(d.proc.output().count("pool moved to NUMA node") == 3, "not three moves logged")
    wait_for(lambda: d.mem()["pools_retired"] == 0, 10, "retired pools freed")
    m = d.mem()
    check(m["mbufs_leaked"] == 0, "mbufs leaked: %s" % m)


def test_self_loop_device(s):
    """Item 3: a relay whose device is a vhost-user frontend of one of
    vrelayd's own sockets is refused by name (DPDK's virtio_user and
    lib/vhost deadlock on the memory lock in one process); before, the add
    never answered and the control thread was stuck for good."""
    d = Vrelayd(s, ["-r", "id=0 device=net_ring0"]).start()
    c = Client(s.dir, timeout_ms=15000)
    try:
        P = c.pb.PortControlRequest
        r = c.port(op=P.ADD, virtio_id=1, conditional=False,
                   name="net_virtio_user1,path=%s" % s.path("relay0.sock"))
        check(not c.ok(r) and "names relay 0's vhost-user socket" in r.error_code_source,
              "self-loop ADD: %s" % r)
        answers(s, "after a self-loop add")
        check(d.relays() == [0] and d.relay(0)["state"] == "waiting",
              "relays after the refused self-loop: %s" % d.relays())
    finally:
        c.close()
    stops_on_sigterm(d, "after a self-loop")
    # the config file too: the relay's own socket, and another relay's
    expect_config_error(["-w", "1", "--socket-dir", s.dir, "-r", "id=0 device=net_ring0", "-r",
                         "id=1 device=net_virtio_user1,path=%s" % s.path("relay0.sock")],
                        "names relay 0's vhost-user socket")


def add_refused(c, device, words, what):
    """A port-control ADD of device as relay 1, refused with words in its reason."""
    P = c.pb.PortControlRequest
    r = c.port(op=P.ADD, virtio_id=1, conditional=False, name=device)
    check(not c.ok(r) and words in r.error_code_source, "%s: %s" % (what, r))


def test_control_devices_allow_list(s):
    """Item 8: the runtime control sources add only the device kinds the
    operator allows (default PCI and bonds), and a path in devargs must lie
    inside the socket directory: no root-owned file written elsewhere, no
    socket outside it. The watch file is held to the same rule."""
    outside = "/tmp/vrelay-hostile-%d.pcap" % os.getpid()
    cmds = s.path("cmds")
    d = Vrelayd(s, ["--set", "control-devices=pci bond", "--watch-file", cmds]).start()
    c = Client(s.dir)
    try:
        add_refused(c, "net_pcap9,rx_iface=lo,tx_pcap=" + outside, "kind net_pcap is not allowed",
                    "net_pcap under the default list")
        add_refused(c, "net_af_packet0,iface=lo", "net_af_packet is not allowed",
                    "net_af_packet")
        with open(cmds, "w") as f:
            f.write("add 2 net_ring2\n")
        wait_for(lambda: "refused" in d.proc.output() and "net_ring is not allowed"
                 in d.proc.output(), 10, "the watch file's add refused")
        check(d.relays() == [], "relays: %s" % d.relays())
    finally:
        c.close()
    d.stop()
    d = Vrelayd(s, ["--set", "control-devices=net_pcap net_memif net_ring"],
                name="vrelayd2").start()
    c = Client(s.dir)
    try:
        P = c.pb.PortControlRequest
        add_refused(c, "net_pcap9,rx_iface=lo,tx_pcap=" + outside, "outside the socket directory",
                    "a pcap file outside the socket directory")
        add_refused(c, "net_memif9,role=server,socket=/tmp/elsewhere.sock,socket-abstract=no",
                    "/tmp/elsewhere.sock", "a memif socket outside the socket directory")
        r = c.port(op=P.ADD, virtio_id=1, conditional=False,
                   name="net_memif9,role=server,socket=%s/../x.sock,socket-abstract=no" % s.dir)
        check(not c.ok(r), "a path escaping with '..': %s" % r)
        check(c.ok(c.port(op=P.ADD, virtio_id=1, conditional=False, name="net_ring1")),
              "an allowed kind refused")
    finally:
        c.close()
    check(not os.path.exists(outside), "a file was written outside the socket directory")
    rc, out = run_vrelayd(["-w", "1", "--set", "control-devices=pci net_memif0", "--check"])
    check(rc == 2 and "net_memif0" in out, "a kind with an instance number: %d %s" % (rc, out))



@contextlib.contextmanager
def libvirt_accounts():
    """libvirt's libvirt-qemu user and kvm group, made for the test when the
    host lacks them and removed again."""
    made = []
    try:
        if subprocess.run(["getent", "group", "kvm"], capture_output=True).returncode != 0:
            subprocess.run(["groupadd", "--system", "kvm"], check=True)
            made.append(["groupdel", "kvm"])
        if subprocess.run(["getent", "passwd", "libvirt-qemu"],
                          capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--no-create-home", "--gid", "kvm",
                            "--shell", "/usr/sbin/nologin", "libvirt-qemu"], check=True)
            made.insert(0, ["userdel", "libvirt-qemu"])
        yield pwd.getpwnam("libvirt-qemu").pw_uid, grp.getgrnam("kvm").gr_gid
    finally:
        for argv in made:
            subprocess.run(argv)


def test_libvirt_owner_by_default(s):
    """Item 11: with no socket owner or group configured, server sockets go
    to libvirt-qemu:kvm as virtio-forwarder's do, so QEMU under libvirt can
    connect; a configured owner wins."""
    with libvirt_accounts() as (uid, gid):
        d = Vrelayd(s, ["-r", "id=0 device=net_ring0", "-r", "id=1 device=net_ring1"]).start()
        st = os.stat(s.path("relay0.sock"))
        check((st.st_uid, st.st_gid) == (uid, gid),
              "default owner %d:%d, want libvirt-qemu:kvm %d:%d" % (st.st_uid, st.st_gid,
                                                                     uid, gid))
        d.stop()
        d = Vrelayd(s, ["--socket-owner", "root", "-r", "id=0 device=net_ring0"]).start()
        st = os.stat(s.path("relay0.sock"))
        check(st.st_uid == 0 and st.st_gid == 0,
              "socket-owner root: owner %d:%d" % (st.st_uid, st.st_gid))
        d.stop()


def test_dynamic_sockets_add_waits_for_its_socket(s):
    """Item 13: with dynamic sockets on, ADD by id is accepted as
    virtio-forwarder accepts it; the relay comes up, and carries every
    frame, when ADD_SOCK gives its device a socket."""
    memif = s.path("memif2.sock")
    dev = memif_args(memif, "server", name="net_memif2")
    d = Vrelayd(s, ["--retry-us", "2000000", "--set", "dynamic-sockets=yes"]).start()
    c = Client(s.dir)
    try:
        P = c.pb.PortControlRequest
        r = c.port(op=P.ADD, virtio_id=2, conditional=False, name=dev)
        check(c.ok(r), "ADD with dynamic sockets: %s" % r)
        check(2 not in d.relays(), "relay 2 came up without a socket")
        r = c.port(op=P.ADD, virtio_id=3, conditional=False, name=dev)
        check(not c.ok(r) and "already waits" in r.error_code_source, "device twice: %s" % r)
        r = c.port(op=P.ADD, virtio_id=4, conditional=False, name="net_ring4")
        check(c.ok(r), "second ADD: %s" % r)
        r = c.port(op=P.REMOVE, virtio_id=4, conditional=False)
        check(c.ok(r), "REMOVE of a waiting relay: %s" % r)
        sock = s.path("dyn.sock")
        r = c.port(op=P.ADD_SOCK, vhost_path=sock, conditional=False, name=dev)
        check(c.ok(r), "ADD_SOCK: %s" % r)
        wait_for(lambda: 2 in d.relays(), 10, "relay 2 to come up on its socket")
        r = c.port(op=P.ADD_SOCK, vhost_path=s.path("other.sock"), conditional=False,
                   name="net_ring5")
        check(c.ok(r), "ADD_SOCK of another device: %s" % r)
        check(sorted(d.relays()) == [0, 2], "relays %s: the removed wait must free id 4 "
              "and the lowest free id is 0" % sorted(d.relays()))
    finally:
        c.close()
    flow = CountedFlow(s, d, memif, rid=2, sock=sock)
    flow.start()
    wait_for(lambda: d.relay(2)["vm2dev"]["tx_pkts"] > 10000, 20, "traffic on relay 2")
    flow.stop_and_check("relay 2, added by id before its socket")
    d.stop()


VF_CONF_IPC = """VIRTIOFWD_CPU_MASK=0
VIRTIOFWD_IPC_PORT_CONTROL=y
VIRTIOFWD_ZMQ_PORT_CONTROL_EP=
VIRTIOFWD_CPU_PINS="0:0;1:0"
"""


def test_virtio_forwarder_files_as_the_original_reads_them(s):
    """Item 13: a CR LF file is still virtio-forwarder's; a quoted
    ';'-separated CPU_PINS list is taken; IPC port control without a ZeroMQ
    endpoint follows /tmp/vio_cmd (add_port/del_port NETDEV), refusing a
    command file another user owns."""
    conf = s.path("vf.conf")
    with open(conf, "w", newline="") as f:
        f.write(VF_CONF_IPC.replace("\n", "\r\n") + "VIRTIOFWD_STATIC_VFS=0000:01:00.1=1\r\n")
    rc, out = run_vrelayd(["-c", conf, "--check"])
    check(rc == 0 and "1 relays" in out, "CR LF virtio-forwarder file: exit %d: %s" % (rc, out))
    with open(conf, "w") as f:
        f.write(VF_CONF_IPC)
    vio = "/tmp/vio_cmd"
    saved = None
    if os.path.lexists(vio):
        saved = vio + ".vrelay-test"
        os.rename(vio, saved)
    try:
        d = Vrelayd(s, ["-c", conf, "-w", "0"]).start()
        check(not os.path.exists(s.path("port_control")),
              "ZeroMQ port control is served, the original follows /tmp/vio_cmd")
        with open(vio, "w") as f:
            f.write("add_port lo\n")
        wait_for(lambda: "ADD lo: lo is not a PCI device" in d.proc.output(), 10,
                 "the add_port line to be read and refused by what lo is")
        os.unlink(vio)
        fd = os.open(vio, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.fchown(fd, 65534, 65534)
        os.write(fd, b"del_port lo\n")
        os.close(fd)
        wait_for(lambda: "owned by uid 65534" in d.proc.output(), 10,
                 "a command file nobody owns to be refused")
        check("REMOVE lo" not in d.proc.output(), "a foreign command file was read")
        d.stop()
    finally:
        if os.path.lexists(vio):
            os.unlink(vio)
        if saved:
            os.rename(saved, vio)


def garbage_vhost_user():
    """(name, steps): each step a message and the descriptors sent with it.
    Valid steps set the scene for the invalid one that follows."""
    import vhostuser as v
    mem = 2 << 20
    ok_table = v.mem_table([(0, mem, 0x7f0000000000, 0)])
    huge = 1 << 63
    return [
        ("random bytes", [(os.urandom(4096), [])]),
        ("header only, payload claimed 256 MiB", [(v.header(v.SET_MEM_TABLE, 256 << 20), [])]),
        ("truncated header", [(b"\x05\x00\x00\x00\x01\x00", [])]),
        ("unknown request", [(v.msg(9999, b"\0" * 8), [])]),
        ("wrong version flags", [(v.msg(v.GET_FEATURES, flags=0x7), [])]),
        ("nine memory regions", [(v.msg(v.SET_MEM_TABLE, v.mem_table(
            [(i * mem, mem, 0, 0) for i in range(9)])), ["memfd"] * 9)]),
        ("region count 2^31 with one region", [(v.msg(v.SET_MEM_TABLE, v.mem_table(
            [(0, mem, 0, 0)], nregions=1 << 31)), ["memfd"])]),
        ("memory table without descriptors", [(v.msg(v.SET_MEM_TABLE, ok_table), [])]),
        ("memory table on a pipe", [(v.msg(v.SET_MEM_TABLE, ok_table), ["pipe"])]),
        ("region of 2^63 bytes", [(v.msg(v.SET_MEM_TABLE, v.mem_table(
            [(0, huge, 0, 0)])), ["memfd"])]),
        ("mmap offset past the file", [(v.msg(v.SET_MEM_TABLE, v.mem_table(
            [(0, mem, 0, huge)])), ["memfd"])]),
        ("vring 1000", [(v.msg(v.SET_VRING_NUM, v.state(1000, 256)), [])]),
        ("vring size 0 and 65535", [(v.msg(v.SET_VRING_NUM, v.state(0, 0)), []),
                                    (v.msg(v.SET_VRING_NUM, v.state(1, 65535)), [])]),
        ("vring outside guest memory", [
            (v.msg(v.SET_FEATURES, v.u64(1 << 32)), []),
            (v.msg(v.SET_MEM_TABLE, ok_table), ["memfd"]),
            (v.msg(v.SET_VRING_NUM, v.state(0, 256)), []),
            (v.msg(v.SET_VRING_ADDR, v.vring_addr(0, 1 << 60, (1 << 60) + 4096,
                                                  (1 << 60) + 8192)), []),
            (v.msg(v.SET_VRING_KICK, v.u64(0)), ["eventfd"])]),
        ("vring base of vring 1000", [(v.msg(v.SET_VRING_BASE, v.state(1000, 1)), [])]),
        ("kick without a descriptor", [(v.msg(v.SET_VRING_KICK, v.u64(0)), [])]),
        ("kick of vring 1000", [(v.msg(v.SET_VRING_KICK, v.u64(1000)), ["eventfd"])]),
        ("call on a regular file", [(v.msg(v.SET_VRING_CALL, v.u64(0)), ["file"])]),
        ("every feature bit", [(v.msg(v.SET_FEATURES, v.u64(2**64 - 1)), []),
                               (v.msg(v.SET_PROTOCOL_FEATURES, v.u64(2**64 - 1)), [])]),
        ("config of 4 GiB", [(v.msg(v.GET_CONFIG, struct.pack("<III", 0, 0xffffffff, 0)), [])]),
        ("log base without a descriptor", [(v.msg(v.SET_LOG_BASE, v.u64(0) + v.u64(4096)), [])]),
        ("enable vring 1000", [(v.msg(v.SET_VRING_ENABLE, v.state(1000, 1)), [])]),
        ("IOTLB and inflight garbage", [(v.msg(v.IOTLB_MSG, os.urandom(64)), []),
                                        (v.msg(v.SET_INFLIGHT_FD, os.urandom(24)), ["memfd"])]),
        ("250 descriptors on one message", [(v.msg(v.GET_FEATURES), ["eventfd"] * 250)]),
        ("vring started before memory", [
            (v.msg(v.SET_VRING_KICK, v.u64(0)), ["eventfd"]),
            (v.msg(v.SET_VRING_CALL, v.u64(1)), ["eventfd"]),
            (v.msg(v.GET_VRING_BASE, v.state(0, 0)), [])]),
    ]


def open_fd(kind, keep):
    import vhostuser as v
    if kind == "memfd":
        fd = v.memfd(2 << 20)
    elif kind == "pipe":
        fd, w = os.pipe()
        keep.append(w)
    elif kind == "eventfd":
        fd = os.eventfd(0)
    else:
        fd = os.open("/etc/hostname", os.O_RDONLY)
    keep.append(fd)
    return fd


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


# Memory tables lib/vhost cannot map. DPDK 22.11's vhost_user_set_mem_table
# moves a region's descriptor out of the message before mmap and, when mmap
# fails, frees only the regions already mapped: that descriptor leaks, one
# per such message (docs/security.md). Bounded here, so a DPDK that fixes it
# still passes and any other leak fails.
MMAP_FAILS = {"memory table on a pipe", "region of 2^63 bytes", "mmap offset past the file"}


def test_garbage_vhost_user_messages(s):
    """Attacks that already passed, kept passing: malformed vhost-user
    messages of 25 kinds on relay 1's socket while relay 0 carries a counted
    flow. vrelayd stays up, relay 0 loses nothing, every descriptor sent is
    released (but for lib/vhost's known leak), and relay 1 afterwards
    carries a real guest's traffic exactly."""
    import vhostuser as v
    m0, m1 = s.path("memif0.sock"), s.path("memif1.sock")
    d = Vrelayd(s, ["--retry-us", "2000000",
                    "-r", "id=0 device=%s" % memif_args(m0, "server", name="net_memif0"),
                    "-r", "id=1 device=%s" % memif_args(m1, "server", name="net_memif1")]).start()
    flow0 = CountedFlow(s, d, m0, rid=0)
    flow0.start()
    base_fds, leaked = fd_count(d.proc.pid), 0
    for name, steps in garbage_vhost_user():
        keep = []
        fe = v.Frontend(s.path("relay1.sock"))
        try:
            for data, kinds in steps:
                if not fe.send(data, [open_fd(k, keep) for k in kinds]):
                    break
        finally:
            fe.close()
            for fd in keep:
                os.close(fd)
        check(d.proc.alive(), "vrelayd died of: %s" % name)
        wait_for(lambda: d.relay(1)["state"] != "connected", 10,
                 "relay 1 to let go of the frontend that sent %s" % name)
        if name in MMAP_FAILS:
            leaked += 1
        wait_for(lambda: fd_count(d.proc.pid) <= base_fds + leaked, 10,
                 "descriptors sent with %s to be closed (%d open, %d before, %d known leaks)"
                 % (name, fd_count(d.proc.pid), base_fds, leaked))
    check(answers(s, "after the garbage") < 2, "the control thread is slow")
    flow0.stop_and_check("relay 0 while relay 1 was fed garbage")
    flow1 = CountedFlow(s, d, m1, rid=1)
    flow1.start()
    wait_for(lambda: d.relay(1)["vm2dev"]["tx_pkts"] > 10000, 20, "traffic on relay 1")
    flow1.stop_and_check("relay 1 after the garbage")
    d.stop()


def test_random_and_oversized_control_messages(s):
    """Attacks that already passed, kept passing: 200 random messages (a
    fixed seed, so every run sends the same) and messages of 1 and 4 MiB on
    each of the four ZeroMQ services, while relay 0 carries a counted flow:
    each gets an error reply or none, vrelayd keeps answering well-formed
    requests at once, relay 0 loses nothing and no relay appears or goes."""
    import random
    rnd = random.Random(12)
    memif = s.path("memif.sock")
    d = Vrelayd(s, ["--retry-us", "2000000", "--set", "zmq-core-sched=ipc://%s"
                    % s.path("core_sched"), "-r", "id=0 device=%s" % memif_args(memif, "server")]
                ).start()
    flow = CountedFlow(s, d, memif)
    flow.start()
    c = Client(s.dir, timeout_ms=3000)
    try:
        for svc in ("port_control", "stats", "config", "core_sched"):
            payloads = [bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 300)))
                        for _ in range(200)]
            payloads += [b"\x08\x00" + b"\xff" * (1 << 20), os.urandom(4 << 20)]
            for p in payloads:
                c.raw(svc, p, timeout_ms=500)
                check(d.proc.alive(), "vrelayd died of a %d-byte %s message" % (len(p), svc))
            check(answers(s, "after random %s messages" % svc) < 1.0,
                  "the stats service is slow after random %s messages" % svc)
        check(sorted(d.relays()) == [0], "relays changed: %s" % sorted(d.relays()))
    finally:
        c.close()
    flow.stop_and_check("relay 0 under random control messages")
    d.stop()


def test_withheld_payload_stalls_no_other_relay(s):
    """lib/vhost reads a message's payload with a blocking call on the one
    thread that serves every vhost-user socket: a frontend that sends a
    header and withholds the payload stopped all relays' guest connections
    (GET_FEATURES on another relay had no answer for as long as it liked).
    Each connection now has 1 s to finish a message: the other relay
    answers, the stalled connection is closed."""
    import vhostuser as v
    d = Vrelayd(s, ["-r", "id=1 device=net_ring1", "-r", "id=2 device=net_ring2"]).start()
    stalled = v.Frontend(s.path("relay1.sock"), timeout=5)
    other = v.Frontend(s.path("relay2.sock"), timeout=5)
    try:
        check(stalled.send(v.header(v.SET_FEATURES, 8)), "could not send the header")
        wait_for(lambda: "relay1.sock) new device" in d.proc.output(), 5,
                 "lib/vhost to take the stalled connection")
        t0 = time.monotonic()
        other.send(v.msg(v.GET_FEATURES))
        reply = other.s.recv(64)
        took = time.monotonic() - t0
        check(len(reply) == 20 and took < 2.5,
              "GET_FEATURES on relay 2: %d bytes after %.2f s" % (len(reply), took))
        check(stalled.s.recv(64) == b"", "the stalled connection was not closed")
    except OSError as e:
        check(False, "relay 2 did not answer while relay 1's frontend stalled: %s" % e)
    finally:
        stalled.close()
        other.close()
    d.stop()
