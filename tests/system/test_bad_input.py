"""Bad input gets one clear message naming the item and the reason; a running
daemon keeps its other relays and their counters untouched."""

import os
import socket
import subprocess

from vrtest import VRELAYD, CountedFlow, Vrelayd, check, memif_args, wait_for
from test_churn import write_config


def run_vrelayd(args, timeout=30):
    p = subprocess.run([VRELAYD] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def expect_refused(args, *words):
    rc, out = run_vrelayd(args)
    check(rc == 2, "vrelayd %s: exit %d, want 2 (usage error)\n%s" % (args, rc, out))
    for w in words:
        check(w in out, "vrelayd %s: message lacks %r:\n%s" % (args, w, out))
    check(len(out.strip().splitlines()) == 1, "want one line, got:\n%s" % out)


def test_command_line_and_config_errors(s):
    conf = s.path("bad.conf")
    with open(conf, "w") as f:
        f.write("[daemon]\nworkers = 1\n[relay 0]\ndevice = net_ring0\nmtu = 90000\n")
    expect_refused(["-w", "1", "-c", conf, "--check"], "bad.conf:5", "mtu '90000'")
    with open(conf, "w") as f:
        f.write("[daemon]\nworkers = 1\n[relay 0\n")
    expect_refused(["-c", conf, "--check"], "bad.conf:3", "malformed section header")
    expect_refused(["-w", "1", "-r", "id=64 device=net_ring0", "--check"], "relay id '64'",
                   "0..63")
    expect_refused(["-w", "1", "-r", "id=0 device=net_ring0 cpu=5", "--check"], "relay 0",
                   "CPU 5 is not a worker CPU")
    expect_refused(["-w", "1", "-c", s.path("missing.conf")], "missing.conf", "cannot open")
    expect_refused(["-w", "1", "--pin", "3:1", "--check"], "no relay 3")
    expect_refused(["-w", "1", "--bogus"], "unknown option '--bogus'")
    rc, out = run_vrelayd(["-w", "1", "-r", "id=0 device=net_ring0", "--check"])
    check(rc == 0 and "configuration OK" in out, "a good configuration was refused: %s" % out)
    rc, out = run_vrelayd(["--help"])
    check(rc == 0 and "--workers" in out and "SIGHUP" in out, "--help: %s" % out)


def test_missing_hugepages(s):
    """A hugetlbfs mount with one page: start-up or the relay fails, saying why."""
    mnt = s.path("huge")
    os.mkdir(mnt)
    subprocess.run(["mount", "-t", "hugetlbfs", "-o", "size=2M", "nodev", mnt], check=True)
    try:
        d = Vrelayd(s, ["-r", "id=0 device=net_ring0", "--", "--huge-dir", mnt,
                        "--socket-mem", "1024"])
        d.start(wait=False)
        wait_for(lambda: not d.proc.alive(), 30, "vrelayd to give up")
        out = d.proc.output()
        check(d.proc.p.returncode == 1, "exit code %s" % d.proc.p.returncode)
        check("hugepages" in out and "docs/memory.md" in out, "no hugepage hint:\n%s" % out[-1500:])
    finally:
        subprocess.run(["umount", mnt])


def relay_errors_at_runtime(s):
    """Cases refused by a running daemon, each as (relay section, words)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(s.path("taken.sock"))
    listener.listen(1)
    s.keep = listener  # closed with the scratch dir
    return [
        ("device = net_bogus0", ["relay 1", "net_bogus0", "probe failed"]),
        ("device = 0000:ff:1f.7", ["relay 1", "0000:ff:1f.7", "probe failed", "vfio-pci"]),
        ("device = net_ring9\nsocket = %s" % s.path("taken.sock"),
         ["relay 1", "taken.sock", "in use by another process"]),
        ("device = net_ring9\nsocket = /proc/vrelay.sock",
         ["relay 1", "/proc/vrelay.sock", "cannot create it here"]),
        ("device = net_ring9\nsocket = /nonexistent/dir/x.sock",
         ["relay 1", "/nonexistent/dir", "not writable", "No such file"]),
        # one device for two relays: the reload is refused as a whole (--check's rule)
        ("device = net_memif0,role=server", ["relays 0 and 1 both use device net_memif0"]),
        ("device = net_ring9\nmtu = 9000\nsocket = %s" % s.path("r9.sock"),
         []),  # net_ring takes any MTU: this one must succeed
    ]


def test_runtime_errors_leave_other_relays_alone(s):
    memif = s.path("memif.sock")
    conf = s.path("vrelay.conf")
    steady = (0, "device = %s" % memif_args(memif, "server"))
    write_config(conf, [steady])
    d = Vrelayd(s, ["-c", conf]).start()
    flow = CountedFlow(s, d, memif)
    flow.start()
    log_at = len(d.proc.output())
    for body, words in relay_errors_at_runtime(s):
        write_config(conf, [steady, (1, body)])
        d.reload()
        if not words:
            wait_for(lambda: 1 in d.relays(), 10, "the good relay 1 to appear")
            write_config(conf, [steady])
            d.reload()
            wait_for(lambda: 1 not in d.relays(), 10, "relay 1 to go")
            continue
        wait_for(lambda: all(w in d.proc.output()[log_at:] for w in words), 10,
                 "an error naming %s" % words)
        check(1 not in d.relays(), "bad relay 1 was added: %s" % body)
        log_at = len(d.proc.output())
    # a config file with a syntax error: refused, running relays kept
    with open(conf, "a") as f:
        f.write("[relay 2]\nthis is not a key value line\n")
    d.reload()
    wait_for(lambda: "reload refused" in d.proc.output()[log_at:], 10, "reload refused message")
    check("vrelay.conf:" in d.proc.output()[log_at:], "the message does not name the file")
    check(d.relays() == [0], "relays after a refused reload: %s" % d.relays())
    flow.stop_and_check("relay 0 next to the refused relays")
    check(d.proc.alive(), "vrelayd died")


def test_ethdev_port_cap(s):
    """Debian's DPDK holds 32 ports (RTE_MAX_ETHPORTS): the 33rd device is
    refused by name, and a 65th relay id by range."""
    relays = [(i, "device = net_ring%d" % i) for i in range(33)]
    conf = s.path("many.conf")
    write_config(conf, relays)
    d = Vrelayd(s, ["-c", conf]).start()
    ids = d.relays()
    check(len(ids) == 32 and 32 not in ids, "relays up: %s" % ids)
    out = d.proc.output()
    check("relay 32" in out and "at most 32 ports" in out, "no port-cap message:\n%s" % out[-800:])
    # remove one: the 33rd fits now
    write_config(conf, [r for r in relays if r[0] != 0])
    d.reload()
    wait_for(lambda: 32 in d.relays() and 0 not in d.relays(), 20, "relay 32 after freeing a port")


def test_eight_relays_in_512_mib(s):
    """The default setup with 8 relays starts within 512 MiB of hugepages."""
    conf = s.path("eight.conf")
    write_config(conf, [(i, "device = %s" % memif_args(s.path("m%d.sock" % i), "server",
                                                     name="net_memif%d" % i))
                        for i in range(8)])
    d = Vrelayd(s, ["-c", conf, "--", "--socket-limit", "512"]).start()
    check(d.relays() == list(range(8)), "relays up under a 512 MiB limit: %s" % d.relays())
    heap = d.tel.query("/eal/heap_info,0")
    mib = heap["Heap_size"] / 2 ** 20
    check(mib <= 512, "hugepage heap %.0f MiB" % mib)
    print("    8 relays: hugepage heap %.0f MiB, %.0f MiB allocated" % (
        mib, heap["Alloc_size"] / 2 ** 20))
