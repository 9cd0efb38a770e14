"""vrelayd under a service manager: the sd_notify protocol as systemd's
Type=notify speaks it (PID 1 here is not systemd: the test listens on
NOTIFY_SOCKET itself), and the unit file as systemd-analyze sees it."""
import os
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
    unit = open(os.path.join(ROOT, "packaging", "systemd", "vrelayd.service")).read()
    check("Type=notify" in unit and "WatchdogSec=" in unit, "not a notify unit")
    unit = unit.replace("/usr/sbin/vrelayd", os.path.join(BUILD, "src", "vrelayd"))
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
