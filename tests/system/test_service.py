"""vrelayd under a service manager: the sd_notify protocol as systemd's
Type=notify speaks it (PID 1 here is not systemd: the test listens on
NOTIFY_SOCKET itself), and the unit file as systemd-analyze sees it."""
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from vrtest import BUILD, Vrelayd, check, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Listener:
    """The service manager's end of NOTIFY_SOCKET: every datagram, with the
    time it came, in order."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.got, self.done = [], False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            self.got.append((time.monotonic(), dict(
                line.split("=", 1) for line in data.decode().splitlines() if "=" in line)))

    def count(self, key, since=0.0):
        return sum(1 for t, m in list(self.got) if key in m and t >= since)

    def last(self, key):
        vals = [m[key] for _, m in list(self.got) if key in m]
        return vals[-1] if vals else None

    def close(self):
        self.done = True
        self.t.join()
        self.sock.close()


def test_notify_protocol(s):
    """READY=1 once the configured relay runs, with MAINPID and a status
    line; watchdog pings twice per WATCHDOG_USEC; RELOADING=1 then READY=1
    around a SIGHUP reload; no pings while the process is stopped, pings
    again once it runs; STOPPING=1 at SIGTERM, and a clean exit."""
    path = s.path("notify.sock")
    ear = Listener(path)
    try:
        d = Vrelayd(s, ["-r", "id=0 device=net_ring0"], name="notified")
        d.argv = ["env", "NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=400000"] + d.argv
        d.start()
        wait_for(lambda: ear.count("READY") == 1, 10, "READY=1")
        check(ear.last("STATUS") == "1 relay running, 0 guests connected" and
              ear.last("MAINPID") == str(d.proc.p.pid),
              "status and pid: %s" % ear.got)
        t0 = time.monotonic()
        wait_for(lambda: ear.count("WATCHDOG", t0) >= 4, 10, "watchdog pings")
        check(time.monotonic() - t0 >= 0.5, "pings come faster than twice per period")
        d.reload()
        wait_for(lambda: ear.count("RELOADING") == 1 and ear.count("READY") == 2, 10,
                 "RELOADING=1, then READY=1")
        order = [k for _, m in ear.got for k in ("RELOADING", "READY") if k in m]
        check(order == ["READY", "RELOADING", "READY"], "reload order %s" % order)
        # the pings come from the control loop: a process that does not run
        # sends none (the service manager would restart it)
        d.proc.send_signal(signal.SIGSTOP)
        time.sleep(0.3)  # a ping already on its way
        t1 = time.monotonic()
        time.sleep(1.2)  # the stall's length, three watchdog periods
        stalled = ear.count("WATCHDOG", t1)
        d.proc.send_signal(signal.SIGCONT)
        check(stalled == 0, "%d pings while stopped" % stalled)
        t2 = time.monotonic()
        wait_for(lambda: ear.count("WATCHDOG", t2) >= 2, 10, "pings after SIGCONT")
        check(d.stop() == 0, "exit code")
        check(ear.count("STOPPING") == 1, "no STOPPING=1: %s" % ear.got[-3:])
    finally:
        ear.close()


def test_unit_file_verifies(s):
    """systemd-analyze verify finds nothing wrong with the unit (its
    programs and manual pages this build's)."""
    unit = open(os.path.join(BUILD, "packaging", "vrelayd.service")).read()
    check("Type=notify" in unit and "WatchdogSec=" in unit, "not a notify unit")
    unit = re.sub(r"=\S*/sbin/vrelayd ", "=%s " % os.path.join(BUILD, "src", "vrelayd"), unit)
    check(os.path.join(BUILD, "src", "vrelayd") in unit, "no ExecStart: %s" % unit)
    path = s.path("vrelayd.service")
    with open(path, "w") as f:
        f.write(unit)
    # its man: documentation is this build's (help2man, man/man8)
    env = dict(os.environ, MANPATH=os.path.join(BUILD, "man"))
    p = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True,
                       timeout=60, env=env)
    # PID 1 is not systemd here: only the unit's own complaints count
    problems = [line for line in (p.stdout + p.stderr).splitlines() if "vrelayd.service" in line]
    check(shutil.which("systemd-analyze") and problems == [],
          "systemd-analyze verify: %s" % (p.stdout + p.stderr))


COMPLETE = """
source /usr/share/bash-completion/bash_completion
source {dir}/$1
COMP_WORDS=("${{@:2}}"); COMP_CWORD=$(($# - 2)); COMP_LINE="${{*:2}}"; COMP_POINT=${{#COMP_LINE}}
$(complete -p "$2" | sed 's/.*-F \\([^ ]*\\) .*/\\1/')
echo "${{COMPREPLY[@]}}"
"""


def test_meson_install(s):
    """meson install puts in place what a host needs: the three programs
    and libvirt's hook (its script running the installed one), the unit, a
    default config that vrelayd accepts, manual pages, bash completion that
    completes, and the documentation."""
    dest = s.path("root")
    p = subprocess.run(["meson", "install", "-C", BUILD, "--quiet", "--no-rebuild",
                        "--destdir", dest], capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, "meson install: %s %s" % (p.stdout, p.stderr))
    prefix = subprocess.run(["meson", "introspect", "--buildoptions", BUILD],
                            capture_output=True, text=True, timeout=60).stdout
    prefix = re.search(r'"name": "prefix", "value": "([^"]+)"', prefix).group(1)
    root = dest + prefix
    want = ["sbin/vrelayd", "bin/vrelayctl", "bin/vrelay-migrate", "etc/vrelay/vrelay.conf",
            "lib/systemd/system/vrelayd.service", "share/man/man8/vrelayd.8",
            "share/man/man8/vrelayctl.8", "share/man/man8/vrelay-migrate.8",
            "share/man/man5/vrelay.conf.5",
            "share/bash-completion/completions/vrelayctl",
            "share/bash-completion/completions/vrelay-migrate",
            "share/doc/vrelay/deployment.md", "share/doc/vrelay/configuration.md",
            "libexec/vrelay/vrelay-libvirt-hook", "etc/libvirt/hooks/qemu.d/vrelay",
            "share/man/man8/vrelay-libvirt-hook.8", "share/doc/vrelay/libvirt.md"]
    missing = [w for w in want if not os.path.isfile(os.path.join(root, w))]
    check(missing == [], "not installed: %s" % missing)
    p = subprocess.run([os.path.join(root, "sbin/vrelayd"), "-c",
                        os.path.join(root, "etc/vrelay/vrelay.conf"), "--check"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and "configuration OK" in p.stdout,
          "the default config: %s %s" % (p.stdout, p.stderr))
    hook = open(os.path.join(root, "etc/libvirt/hooks/qemu.d/vrelay")).read()
    check(os.access(os.path.join(root, "etc/libvirt/hooks/qemu.d/vrelay"), os.X_OK) and
          "exec %s/libexec/vrelay/vrelay-libvirt-hook --peers %s/etc/vrelay/peers" % (
              prefix, prefix) in hook, "the libvirt hook: %s" % hook)
    unit = open(os.path.join(root, "lib/systemd/system/vrelayd.service")).read()
    check("ExecStart=%s/sbin/vrelayd -c ${VRELAY_CONFIG}" % prefix in unit and
          "Environment=VRELAY_CONFIG=%s/etc/vrelay/vrelay.conf" % prefix in unit and
          "EnvironmentFile=-%s/etc/default/vrelay" % prefix in unit,
          "the unit's paths: %s" % unit)
    page = subprocess.run(["man", "-l", os.path.join(root, "share/man/man8/vrelayctl.8")],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, MANWIDTH="80", PAGER="cat")).stdout
    check("redirect" in page and "--prometheus" in page, "vrelayctl(8): %s" % page[:400])
    # wide: its tables' keys are not broken across lines
    page = subprocess.run(["man", "-l", os.path.join(root, "share/man/man5/vrelay.conf.5")],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, MANWIDTH="200", PAGER="cat")).stdout
    check("vrelay.conf - vrelayd configuration file" in page and "hold-frames" in page and
          "tunnel-rekey-packets" in page, "vrelay.conf(5): %s" % page[:400])
    comp = os.path.join(root, "share/bash-completion/completions")
    for argv, want in ((["vrelayctl", "st"], "stats"), (["vrelayctl", "--pro"], "--prometheus"),
                       (["vrelay-migrate", "--redirect", "a"], "auto always")):
        p = subprocess.run(["bash", "-c", COMPLETE.format(dir=comp), "complete", argv[0]] + argv,
                           capture_output=True, text=True, timeout=60)
        check(p.stdout.strip() == want, "completing %s: %r %s" % (argv, p.stdout, p.stderr))


def test_check_sizes_hugepages(s):
    """vrelayd --check says how many hugepages the configuration needs (to
    reserve them at boot, docs/deployment.md); a vrelayd running that
    configuration has a hugepage heap within it, and not far below."""
    relays = ["-r", "id=0 device=net_ring0", "-r", "id=1 device=net_ring1 mtu=9000"]
    d = Vrelayd(s, relays, name="sized")
    p = subprocess.run(d.argv + ["--check"], capture_output=True, text=True, timeout=60)
    m = re.search(r"hugepages: (\d+) MiB, (\d+) of 2 MiB", p.stdout)
    check(p.returncode == 0 and m is not None, "--check: %s %s" % (p.stdout, p.stderr))
    mib, pages = int(m.group(1)), int(m.group(2))
    check(pages * 2 >= mib > pages * 2 - 2, "%d MiB is not %d pages" % (mib, pages))
    d.start()
    heap = d.tel.query("/eal/heap_info,0")["Heap_size"] / (1 << 20)
    print("    --check: %d MiB for 2 relays (MTU 1500 and 9000); the running heap %.0f MiB" % (
        mib, heap))
    check(heap <= mib <= heap + 16, "--check said %d MiB, the heap is %.0f MiB" % (mib, heap))
    check(d.stop() == 0, "exit code")
