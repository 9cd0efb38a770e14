"""vrelayd --ovsdb: relays following ovsdb-server's Interface table.

A private ovsdb-server (no ovs-vswitchd) on a database in the scratch
directory, driven with ovs-vsctl exactly as virtio-forwarder's README does:
a row with external_ids:virtio_forwarder=N is relay N, its device from
options:dpdk-devargs (net_ring vdevs, which need no peer, or a memif
server), its socket <socket-dir>/relayN.sock.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess

from vrtest import CountedFlow, Vrelayd, check, memif_args, wait_for
from vrctl import Client, relay_ids as ids, relay_map, wait_relay_ids as wait_ids

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
NO_DROP = ["--retry-us", "2000000"]


class Ovsdb:
    """ovsdb-server in the foreground (s.spawn: stopped at cleanup)."""

    def __init__(self, s):
        self.s = s
        self.db = s.path("conf.db")
        self.sock = s.path("db.sock")
        self.proc = None
        self.n = 0
        subprocess.run(["ovsdb-tool", "create", self.db, SCHEMA], check=True,
                       capture_output=True, timeout=30)

    def start(self, sock=None):
        sock = sock or self.sock
        self.n += 1
        s, n = self.s, self.n
        self.proc = s.spawn(["ovsdb-server", self.db, "--remote=punix:" + sock,
                             "--pidfile=" + s.path("ovsdb%d.pid" % n), "--no-chdir",
                             "--log-file=" + s.path("ovsdb%d.log" % n),
                             "--unixctl=" + s.path("ovsdb%d.ctl" % n)], "ovsdb%d.out" % n)
        wait_for(lambda: self._listens(sock), 15, "ovsdb-server to listen on %s" % sock)
        return self

    def _listens(self, sock):
        check(self.proc.alive(), "ovsdb-server exited:\n" + self.proc.output()[-2000:])
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            c.connect(sock)
            return True
        except OSError:
            return False
        finally:
            c.close()

    def stop(self, sig=signal.SIGTERM):
        self.proc.stop(sig=sig)

    def vsctl(self, *args, sock=None):
        p = subprocess.run(["ovs-vsctl", "--db=unix:" + (sock or self.sock), "--no-wait",
                            "--timeout=20"] + list(args), capture_output=True, text=True,
                           timeout=60)
        check(p.returncode == 0, "ovs-vsctl %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                               p.stderr.strip()))
        return p.stdout


def bridge(s):
    """A started ovsdb-server holding an initialised br-virtio."""
    db = Ovsdb(s).start()
    db.vsctl("init")
    db.vsctl("add-br", "br-virtio")
    return db


def add_port(db, name, rid=None, dev=None, sock=None):
    """virtio-forwarder's README: add-port NAME -- set interface NAME external_ids:..."""
    sets = (["external_ids:virtio_forwarder=%s" % rid] if rid is not None else []) + (
        ['options:dpdk-devargs="%s"' % dev] if dev is not None else [])
    args = ["add-port", "br-virtio", name]
    if sets:
        args += ["--", "set", "interface", name] + sets
    db.vsctl(*args, sock=sock)




def log_lines(d, *words, since=0):
    return [ln for ln in d.proc.output()[since:].splitlines() if all(w in ln for w in words)]


def wait_log(d, what, *words, since=0, timeout=10):
    return wait_for(lambda: log_lines(d, *words, since=since), timeout, what)


def syncs(d):
    return len(log_lines(d, "ovsdb: in sync with"))


@contextlib.contextmanager
def changed_while_away(s, db, d):
    """ovsdb-server stopped (vrelayd notices), then serving the same database
    on another socket, which the with-block is given to change it through;
    afterwards back on its own socket, vrelayd resynced."""
    at = len(d.proc.output())
    db.stop()
    wait_log(d, "vrelayd to notice the server gone", "ovsdb: connection to", "lost", since=at)
    other = s.path("db-other.sock")
    db.start(sock=other)
    yield other
    db.stop()
    n = syncs(d)
    db.start()
    wait_for(lambda: syncs(d) == n + 1, 15, "vrelayd to resync")


def start_daemon(s, db, extra=()):
    return Vrelayd(s, list(extra) + ["--ovsdb", db.sock]).start()


def test_initial_sync(s):
    """Rows present before vrelayd starts are its relays once it has synced;
    rows without the key, or with it on the alias key, as the header says."""
    db = bridge(s)
    add_port(db, "eth100", 1, "net_ring0")
    add_port(db, "eth101", 2, "net_ring1")
    add_port(db, "eth102", None, "net_ring2")  # no virtio_forwarder: not a relay
    db.vsctl("add-port", "br-virtio", "eth103")  # a bare port
    db.vsctl("add-port", "br-virtio", "eth104", "--", "set", "interface", "eth104",
             "external_ids:virtio_relay=5", "options:dpdk-devargs=net_ring4")
    d = start_daemon(s, db)
    wait_ids(d, [1, 2, 5], "relays of the rows present at start")
    wait_log(d, "in-sync message", "ovsdb: in sync with", db.sock, "(3 relays from it)")
    m = relay_map(s)
    check(m == {1: ("net_ring0", s.path("relay1.sock")), 2: ("net_ring1", s.path("relay2.sock")),
                5: ("net_ring4", s.path("relay5.sock"))}, "relays after the initial sync: %s" % m)
    for rid in (1, 2, 5):
        check(os.path.exists(s.path("relay%d.sock" % rid)), "relay%d.sock not created" % rid)
    check(d.proc.alive(), "vrelayd died")


def test_server_started_after_daemon(s):
    """vrelayd started before ovsdb-server retries until it is there."""
    db = Ovsdb(s)
    d = start_daemon(s, db)
    wait_log(d, "'not reachable yet' message", "ovsdb:", db.sock, "not reachable yet")
    check(ids(d) == [], "relays without a database: %s" % ids(d))
    db.start()
    db.vsctl("init")
    db.vsctl("add-br", "br-virtio")
    add_port(db, "eth100", 4, "net_ring0")
    wait_ids(d, [4], "relay 4 once ovsdb-server came up")
    # the relay can show in telemetry before the sync's log line is written
    wait_for(lambda: syncs(d) >= 1, 10, "the in-sync log line")
    check(syncs(d) == 1, "synced %d times" % syncs(d))


def test_add_change_remove(s):
    """The README's ovs-vsctl commands, each followed on the relay list."""
    db = bridge(s)
    d = start_daemon(s, db)
    wait_for(lambda: syncs(d) == 1, 10, "first sync")
    check(ids(d) == [], "relays from an empty table: %s" % ids(d))

    # add-port with the key in the same transaction
    add_port(db, "eth100", 1, "net_ring0")
    wait_ids(d, [1], "relay 1 from add-port -- set interface")
    check(relay_map(s)[1] == ("net_ring0", s.path("relay1.sock")), "relay 1: %s" % relay_map(s))

    # add-port, then set the key in a separate command
    db.vsctl("add-port", "br-virtio", "eth101")
    db.vsctl("set", "interface", "eth101", "options:dpdk-devargs=net_ring1")
    check(ids(d) == [1], "a port without the key made a relay: %s" % ids(d))
    db.vsctl("set", "interface", "eth101", "external_ids:virtio_forwarder=2")
    wait_ids(d, [1, 2], "relay 2 from set interface")

    # changing N moves the relay, device and all
    db.vsctl("set", "interface", "eth101", "external_ids:virtio_forwarder=7")
    wait_ids(d, [1, 7], "relay 2 moved to 7")
    m = relay_map(s)
    check(m[7] == ("net_ring1", s.path("relay7.sock")), "moved relay: %s" % m)
    check(not os.path.exists(s.path("relay2.sock")), "relay2.sock left behind")

    # changing the device re-does the relay under the same id
    db.vsctl("set", "interface", "eth101", "options:dpdk-devargs=net_ring3")
    wait_for(lambda: relay_map(s).get(7, ("",))[0] == "net_ring3", 10,
             "relay 7 on its new device")
    check(ids(d) == [1, 7], "relays after a device change: %s" % ids(d))

    # an unrelated column changing leaves the relay alone
    before = len(d.proc.output())
    db.vsctl("set", "interface", "eth101", "external_ids:other=x")
    db.vsctl("set", "interface", "eth100", "external_ids:other=y")
    add_port(db, "marker0", 9, "net_ring9")  # processed after the two changes above
    wait_ids(d, [1, 7, 9], "marker relay 9")
    check(not log_lines(d, "relay 7 removed", since=before) and
          not log_lines(d, "relay 1 removed", since=before),
          "an unrelated change re-did a relay:\n" + d.proc.output()[before:])

    # remove the key
    db.vsctl("remove", "interface", "eth101", "external_ids", "virtio_forwarder")
    wait_ids(d, [1, 9], "relay 7 gone with its key")
    check(not os.path.exists(s.path("relay7.sock")), "relay7.sock left behind")
    # and set it again
    db.vsctl("set", "interface", "eth101", "external_ids:virtio_forwarder=2")
    wait_ids(d, [1, 2, 9], "relay 2 back with its key")

    # delete the ports
    db.vsctl("del-port", "br-virtio", "eth100")
    wait_ids(d, [2, 9], "relay 1 gone with its port")
    db.vsctl("del-port", "br-virtio", "eth101")
    db.vsctl("del-port", "br-virtio", "marker0")
    wait_ids(d, [], "every relay gone with its port")
    # a whole bridge deleted takes its ports' relays
    add_port(db, "eth100", 1, "net_ring0")
    add_port(db, "eth101", 3, "net_ring1")
    wait_ids(d, [1, 3], "relays 1 and 3")
    db.vsctl("del-br", "br-virtio")
    wait_ids(d, [], "relays gone with their bridge")
    check(d.proc.alive(), "vrelayd died")


def test_odd_values_refused(s):
    """Values that are not a relay id add nothing, with a log line naming the
    interface; a good relay keeps existing; a later good value works."""
    db = bridge(s)
    add_port(db, "eth100", 1, "net_ring0")
    d = start_daemon(s, db)
    wait_ids(d, [1], "relay 1")
    bad = [("eth200", "abc"), ("eth201", "99"), ("eth202", '""'), ("eth203", "-1"),
           ("eth204", "64"), ("eth205", "1x"), ("eth206", "0x3")]
    for i, (name, val) in enumerate(bad):
        at = len(d.proc.output())
        db.vsctl("add-port", "br-virtio", name, "--", "set", "interface", name,
                 "external_ids:virtio_forwarder=%s" % val,
                 "options:dpdk-devargs=net_ring%d" % (i + 2))
        shown = val.strip('"')
        lines = wait_log(d, "a refusal naming %s" % name, "interface %s" % name,
                         "'%s'" % shown, since=at)
        check("not a relay id" in lines[0], "%s=%s: %s" % (name, val, lines[0]))
        check(ids(d) == [1], "%s=%s: relays are %s" % (name, val, ids(d)))
    # the relay id of another interface: refused, relay 1 keeps its device
    at = len(d.proc.output())
    add_port(db, "eth210", 1, "net_ring9")
    lines = wait_log(d, "eth210 refused", "interface eth210", "refused", since=at)
    check("relay 1 already holds" in lines[0], "eth210: %s" % lines[0])
    # no dpdk-devargs and no PCI device behind the name
    at = len(d.proc.output())
    add_port(db, "vrtnodev0", 6)
    wait_log(d, "vrtnodev0 refused", "interface vrtnodev0", "no PCI device", since=at)
    check(ids(d) == [1], "relays after the refusals: %s" % ids(d))
    check(relay_map(s)[1] == ("net_ring0", s.path("relay1.sock")),
          "relay 1 disturbed: %s" % relay_map(s))
    # a refused row corrected: its relay comes
    db.vsctl("set", "interface", "eth200", "external_ids:virtio_forwarder=3")
    wait_ids(d, [1, 3], "relay 3 once eth200's value is good")
    check(relay_map(s)[3][0] == "net_ring2", "relay 3: %s" % relay_map(s))
    # a good row made bad loses its relay, logged; relay 1 stays
    at = len(d.proc.output())
    db.vsctl("set", "interface", "eth200", "external_ids:virtio_forwarder=zz")
    wait_log(d, "eth200 zz refused", "interface eth200", "'zz'", since=at)
    wait_ids(d, [1], "relay 3 gone when eth200's value went bad")
    check(d.proc.alive(), "vrelayd died")


def fake_server_once(d, path):
    """Listen on path, take vrelayd's reconnection, check it asks to
    monitor the Interface table, answer garbage; proves a retry happened."""
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        ls.bind(path)
        ls.listen(1)
        ls.settimeout(0)

        def accept():
            try:
                return ls.accept()[0]
            except BlockingIOError:
                return None
        conn = wait_for(accept, 10, "vrelayd to retry the connection")
        try:
            conn.settimeout(5)
            buf = b""
            req = None
            while req is None:
                chunk = conn.recv(65536)
                check(chunk, "vrelayd closed without a request: %r" % buf)
                buf += chunk
                try:
                    req = json.loads(buf.decode())
                except ValueError:
                    pass
            check(req.get("method") == "monitor" and req["params"][0] == "Open_vSwitch" and
                  "Interface" in req["params"][2], "monitor request: %s" % req)
            conn.sendall(b'{"id": 1, "result": [}}}\n')
        finally:
            conn.close()
    finally:
        ls.close()
        os.unlink(path)


def test_server_restart_and_resync(s):
    """ovsdb-server killed: relays stay through failed reconnections; it
    comes back on the same database: relays unchanged, then followed live.
    Rows deleted, added or changed while vrelayd was away (through a
    server on another socket) are caught up at the resync."""
    db = bridge(s)
    add_port(db, "eth100", 1, "net_ring0")
    add_port(db, "eth101", 2, "net_ring1")
    add_port(db, "eth102", 3, "net_ring2")
    add_port(db, "eth103", 4, "net_ring3")
    d = start_daemon(s, db)
    wait_ids(d, [1, 2, 3, 4], "relays 1-4")
    before = relay_map(s)

    # killed outright (its socket file left behind)
    at = len(d.proc.output())
    db.stop(sig=signal.SIGKILL)
    wait_log(d, "vrelayd to notice the server gone", "ovsdb: connection to", "lost", since=at)
    check(relay_map(s) == before, "relays changed with the server gone: %s" % relay_map(s))
    # a peer answering nonsense on the socket path: dropped, relays kept
    os.unlink(db.sock)
    at = len(d.proc.output())
    fake_server_once(d, db.sock)
    wait_log(d, "the nonsense noticed", "ovsdb: connection to", "lost", since=at)
    check(relay_map(s) == before, "relays changed after a failed resync: %s" % relay_map(s))

    # back on the same database
    n = syncs(d)
    db.start()
    wait_for(lambda: syncs(d) == n + 1, 15, "vrelayd to resync")
    check(relay_map(s) == before, "relays changed by a resync: %s" % relay_map(s))
    # and followed live again
    db.vsctl("del-port", "br-virtio", "eth100")
    wait_ids(d, [2, 3, 4], "relay 1 gone with its port after the restart")

    # away again: changes through another socket on the same database
    with changed_while_away(s, db, d) as other:
        db.vsctl("del-port", "br-virtio", "eth101", sock=other)  # deleted while away
        db.vsctl("set", "interface", "eth102", "external_ids:virtio_forwarder=8", sock=other)
        db.vsctl("remove", "interface", "eth103", "external_ids", "virtio_forwarder",
                 sock=other)
        add_port(db, "eth104", 5, "net_ring4", sock=other)  # added while away
        check(ids(d) == [2, 3, 4], "relays changed while vrelayd saw no server: %s" % ids(d))
    wait_ids(d, [5, 8], "relays after catching up")
    m = relay_map(s)
    check(m == {5: ("net_ring4", s.path("relay5.sock")), 8: ("net_ring2", s.path("relay8.sock"))},
          "relays after catching up: %s" % m)
    for gone in (2, 3, 4):
        check(not os.path.exists(s.path("relay%d.sock" % gone)), "relay%d.sock left" % gone)
    # still followed live
    add_port(db, "eth105", 6, "net_ring5")
    wait_ids(d, [5, 6, 8], "relay 6 after the resync")
    check(d.proc.alive(), "vrelayd died")


def test_traffic_through_ovsdb_relay(s):
    """A relay OVSDB made, on a memif device, carries a guest's traffic
    exactly; a server restart under traffic loses nothing."""
    memif = s.path("memif.sock")
    db = bridge(s)
    d = start_daemon(s, db, NO_DROP)
    wait_for(lambda: syncs(d) == 1, 10, "first sync")
    add_port(db, "eth100", 0, memif_args(memif, "server"))
    wait_ids(d, [0], "relay 0 from OVSDB")
    flow = CountedFlow(s, d, memif, rid=0)
    flow.start()
    wait_for(lambda: d.relay(0)["vm2dev"]["tx_pkts"] > 10000, 30, "traffic through relay 0")
    n = syncs(d)
    db.stop()
    db.start()
    wait_for(lambda: syncs(d) == n + 1, 15, "vrelayd to resync")
    wait_for(lambda: d.relay(0)["vm2dev"]["tx_pkts"] > 20000, 30, "traffic after the resync")
    flow.stop_and_check("relay 0 made by OVSDB, across a server restart")
    check(d.relay(0)["state"] == "connected", "guest disconnected: %s" % d.relay(0)["state"])


def test_swap_in_one_transaction(s):
    """Two interfaces exchanging their relay ids, then their devices, in one
    ovs-vsctl transaction (one update message): both relays exist after
    each, whatever order the rows come in."""
    db = bridge(s)
    add_port(db, "eth100", 1, "net_ring0")
    add_port(db, "eth101", 2, "net_ring1")
    d = start_daemon(s, db)
    wait_ids(d, [1, 2], "relays 1 and 2")
    db.vsctl("set", "interface", "eth100", "external_ids:virtio_forwarder=2", "--",
             "set", "interface", "eth101", "external_ids:virtio_forwarder=1")
    add_port(db, "marker0", 9, "net_ring9")  # processed after the swap
    wait_ids(d, [1, 2, 9], "relays 1, 2 and the marker after swapping ids")
    m = relay_map(s)
    check(m[1][0] == "net_ring1" and m[2][0] == "net_ring0", "after swapping ids: %s" % m)
    db.vsctl("set", "interface", "eth100", "options:dpdk-devargs=net_ring1", "--",
             "set", "interface", "eth101", "options:dpdk-devargs=net_ring0")
    db.vsctl("del-port", "br-virtio", "marker0")
    wait_ids(d, [1, 2], "relays 1 and 2 after swapping devices")
    m = relay_map(s)
    check(m[1][0] == "net_ring0" and m[2][0] == "net_ring1", "after swapping devices: %s" % m)
    check(d.proc.alive(), "vrelayd died")


def test_resync_reuses_what_deleted_rows_held(s):
    """While vrelayd is away a port is deleted and another added with the
    deleted one's relay id, another with its device: after the resync both
    new rows have their relays (what the deleted rows held is released
    before it is claimed again)."""
    db = bridge(s)
    add_port(db, "eth100", 1, "net_ring0")
    add_port(db, "eth101", 2, "net_ring1")
    add_port(db, "eth102", 3, "net_ring2")
    d = start_daemon(s, db)
    wait_ids(d, [1, 2, 3], "relays 1-3")
    with changed_while_away(s, db, d) as other:
        db.vsctl("del-port", "br-virtio", "eth100", sock=other)
        db.vsctl("del-port", "br-virtio", "eth101", sock=other)
        add_port(db, "eth110", 1, "net_ring5", sock=other)  # eth100's relay id
        add_port(db, "eth111", 6, "net_ring1", sock=other)  # eth101's device
    wait_ids(d, [1, 3, 6], "relays after catching up")
    m = relay_map(s)
    check(m[1][0] == "net_ring5" and m[6][0] == "net_ring1" and m[3][0] == "net_ring2",
          "relays after catching up: %s" % m)


def test_refused_row_gets_relay_when_freed(s):
    """A row refused because another row holds its relay id (or device) is
    logged once, and gets its relay as soon as the holder lets go."""
    db = bridge(s)
    add_port(db, "eth100", 1, "net_ring0")
    add_port(db, "eth101", 2, "net_ring1")
    d = start_daemon(s, db)
    wait_ids(d, [1, 2], "relays 1 and 2")
    at = len(d.proc.output())
    add_port(db, "eth110", 1, "net_ring5")  # relay id held by eth100
    add_port(db, "eth111", 7, "net_ring1")  # device held by eth101
    wait_log(d, "eth110 refused", "interface eth110", "refused", since=at)
    wait_log(d, "eth111 refused", "interface eth111", "refused", since=at)
    check(ids(d) == [1, 2], "relays while in conflict: %s" % ids(d))
    db.vsctl("del-port", "br-virtio", "eth100")
    wait_for(lambda: relay_map(s).get(1, ("",))[0] == "net_ring5", 10,
             "eth110 to take relay 1 once eth100 is gone")
    db.vsctl("remove", "interface", "eth101", "external_ids", "virtio_forwarder")
    wait_ids(d, [1, 7], "eth111 to get relay 7 once eth101 let go of net_ring1")
    check(relay_map(s)[7][0] == "net_ring1", "relay 7: %s" % relay_map(s))
    check(len(log_lines(d, "interface eth110", "refused", since=at)) == 1,
          "a standing conflict logged more than once:\n" + d.proc.output()[at:])
    check(d.proc.alive(), "vrelayd died")


def test_zeromq_cannot_remove_what_a_row_asks_for(s):
    """Issue 12 item 14: OVSDB states which relays must exist. A ZeroMQ
    REMOVE (or REMOVE_SOCK) of a relay a row still asks for is refused,
    naming the row, instead of the row's wish being silently lost; relays
    ZeroMQ added itself stay its own; deleting the row removes the relay."""
    db = bridge(s)
    add_port(db, "eth100", 1, "net_ring0")
    d = start_daemon(s, db, ["--set", "zmq-port-control=ipc://%s" % s.path("port_control")])
    wait_ids(d, [1], "relay 1 from OVSDB")
    c = Client(s.dir)
    try:
        P = c.pb.PortControlRequest
        for kw in (dict(op=P.REMOVE, virtio_id=1), dict(op=P.REMOVE_SOCK, name="net_ring0")):
            r = c.port(conditional=False, **kw)
            check(not c.ok(r) and "belongs to OVSDB interface eth100" in r.error_code_source,
                  "%s of OVSDB's relay: %s" % (kw, r))
        check(ids(d) == [1], "relay 1 is gone: %s" % ids(d))
        r = c.port(op=P.ADD, virtio_id=2, conditional=False, name="net_ring2")
        check(c.ok(r), "ZeroMQ ADD next to OVSDB: %s" % r)
        r = c.port(op=P.REMOVE, virtio_id=2, conditional=False)
        check(c.ok(r), "ZeroMQ REMOVE of its own relay: %s" % r)
    finally:
        c.close()
    db.vsctl("del-port", "br-virtio", "eth100")
    wait_ids(d, [], "OVSDB to remove relay 1 when its row goes")
