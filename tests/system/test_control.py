"""The ZeroMQ control services end to end, from Python and from vrelayctl:
every port-control op, stats against telemetry, the core scheduler moving a
relay under traffic without loss, bad requests, endpoint permissions and
CURVE on tcp://."""

import json
import re
import os
import socket
import subprocess

import zmq

from vrtest import CountedFlow, Vrelayd, check, memif_args, wait_for
from vrctl import VRELAYCTL, Client, vrelayctl

NO_DROP = ["--retry-us", "2000000"]


def ids(c):
    return sorted(r.id for r in c.stats().relay)


def test_port_control_ops(s):
    d = Vrelayd(s, []).start()
    c = Client(s.dir)
    P = c.pb.PortControlRequest
#ADD with a devargs device in name(what virtio - forwarder's client sends for --name)
    check(c.ok(c.port(op=P.ADD, virtio_id=3, name="net_ring0", conditional=False)), "ADD")
    check(ids(c) == [3], "relays after ADD: %s" % ids(c))
    r = c.port(op=P.ADD, virtio_id=3, name="net_ring0", conditional=False)
    check(not c.ok(r) and r.error_code == -17 and "relay 3 already holds" in r.error_code_source,
          "second unconditional ADD: %s" % r)
    check(c.ok(c.port(op=P.ADD, virtio_id=3, name="net_ring0", conditional=True)),
          "conditional ADD of the same device is a no-op")
#ADD_SOCK : lowest free relay, the exact socket path
    sock = s.path("vm-a.sock")
    check(c.ok(c.port(op=P.ADD_SOCK, vhost_path=sock, name="net_ring1")), "ADD_SOCK")
    st = {r.id: r for r in c.stats().relay}
    check(st[0].vhost.vhost_socket_name == sock and st[0].vf.pci_addr_str == "net_ring1",
          "ADD_SOCK relay: %s" % st[0])
    check(os.path.exists(sock), "socket %s not created" % sock)
    r = c.port(op=P.QUERY_PCI, vhost_path=sock)
    check(c.ok(r) and r.query_string == "net_ring1", "QUERY_PCI: %s" % r)
    r = c.port(op=P.ADD_SOCK, vhost_path="/tmp/elsewhere.sock", name="net_ring2")
    check(not c.ok(r) and "outside the socket directory" in r.error_code_source,
          "socket outside the directory: %s" % r)
#REMOVE_SOCK by path, REMOVE by id, conditional removes
    check(c.ok(c.port(op=P.REMOVE_SOCK, vhost_path=sock)), "REMOVE_SOCK")
    r = c.port(op=P.REMOVE_SOCK, vhost_path=sock, conditional=False)
    check(not c.ok(r) and r.error_code == -2, "REMOVE_SOCK of a gone socket: %s" % r)
    check(c.ok(c.port(op=P.REMOVE_SOCK, vhost_path=sock)), "conditional REMOVE_SOCK")
    r = c.port(op=P.REMOVE, virtio_id=3, name="net_ring9", conditional=False)
    check(not c.ok(r) and "holds device net_ring0, not net_ring9" in r.error_code_source,
          "REMOVE naming the wrong device: %s" % r)
    check(c.ok(c.port(op=P.REMOVE, virtio_id=3, conditional=False)), "REMOVE")
    check(ids(c) == [], "relays left: %s" % ids(c))
    r = c.port(op=P.REMOVE, virtio_id=3, conditional=False)
    check(not c.ok(r) and "relay 3 does not exist" in r.error_code_source, "REMOVE: %s" % r)
#a PCI address that does not exist : refused, naming it
    r = c.port(op=P.ADD, virtio_id=5, pci=["0000:7f:1f.7"], conditional=False)
    check(not c.ok(r) and "0000:7f:1f.7" in r.error_code_source, "absent PCI device: %s" % r)
    check(ids(c) == [], "a failed ADD left a relay: %s" % ids(c))
    c.close()
    check(d.proc.alive(), "vrelayd died")


def test_vrelayctl(s):
    d = Vrelayd(s, []).start()
#a device name of any length shows whole(the original cut it at 19 characters)
    long_dev = memif_args(s.path("a-memif-socket-with-a-long-name.sock"), "server")
    rc, out, err = vrelayctl(s.dir, "add", 2, long_dev)
    check(rc == 0, "add: %d %s" % (rc, err))
    rc, out, err = vrelayctl(s.dir, "list")
    check(rc == 0 and long_dev in out and "relay2.sock" in out, "list:\n%s%s" % (out, err))
    rc, out, err = vrelayctl(s.dir, "stats", "--json", 2)
    j = json.loads(out)
    check(rc == 0 and j[0]["device"] == long_dev and j[0]["vm2dev"]["rx_pkts"] == 0,
          "stats --json: %s" % out)
    rc, out, err = vrelayctl(s.dir, "stats")
    check(rc == 0 and "vm2dev" in out and "dev2vm" in out, "stats table:\n%s" % out)
    rc, out, err = vrelayctl(s.dir, "workers")
    check(rc == 0 and out.splitlines()[1].split()[0] == "1", "workers:\n%s" % out)
#errors : daemon refusals exit 1, usage errors 2, no daemon 3; each names the fault
    rc, out, err = vrelayctl(s.dir, "add", 2, "net_ring5")
    check(rc == 1 and "relay 2 already holds" in err, "duplicate add: %d %s" % (rc, err))
    rc, out, err = vrelayctl(s.dir, "pin", 2, 7)
    check(rc == 1 and "CPU 7 has no worker" in err, "pin to a CPU without worker: %d %s" %
          (rc, err))
    rc, out, err = vrelayctl(s.dir, "add", 64, "net_ring5")
    check(rc == 2 and "'64'" in err, "relay id 64: %d %s" % (rc, err))
    rc, out, err = vrelayctl(s.dir, "frobnicate")
    check(rc == 2 and "frobnicate" in err, "unknown command: %d %s" % (rc, err))
    rc, out, err = vrelayctl(s.path("nowhere"), "list")
    check(rc == 3, "no daemon: %d %s" % (rc, err))
    rc, out, err = vrelayctl(s.dir, "query", s.path("relay2.sock"))
    check(rc == 0 and out.strip() == long_dev, "query: %d %s" % (rc, out))
    rc, out, err = vrelayctl(s.dir, "remove", 2)
    check(rc == 0 and d.relays() == [], "remove: %d %s %s" % (rc, err, d.relays()))


def test_stats_match_telemetry_and_remove_sock_after_disconnect(s):
    memif = s.path("memif.sock")
    d = Vrelayd(s, NO_DROP).start()
    c = Client(s.dir)
    P = c.pb.PortControlRequest
    sock = s.path("vm0.sock")
    check(c.ok(c.port(op=P.ADD_SOCK, vhost_path=sock, name=memif_args(memif, "server"))),
          "ADD_SOCK")
    flow = CountedFlow(s, d, memif, rid=0, sock=sock)
    flow.start()
    wait_for(lambda: d.relay(0)["vm2dev"]["tx_pkts"] > 10000, 30, "traffic")
    sent = flow.stop_and_check("before stats")
    r = c.stats(relay=[0]).relay[0]
    t = d.relay(0)
    check(r.vm_to_vf.pkts_rx_from_vm == t["vm2dev"]["rx_pkts"] == sent and
          r.vm_to_vf.pkts_tx_to_vf == t["vm2dev"]["tx_pkts"] and
          r.vm_to_vf.bytes_tx_to_vf == t["vm2dev"]["tx_bytes"] and
          r.vf_to_vm.pkts_rx_from_vf == t["dev2vm"]["rx_pkts"] and
          r.vm_to_vf.pkts_dropped_vf_queue_full == t["vm2dev"]["drop_full"] and
          r.vm_to_vf.pkts_dropped_vf_not_connected == t["vm2dev"]["drop_unready"],
          "ZeroMQ stats %s differ from telemetry %s" % (r, t))
    check(r.active and r.state == "connected" and r.vm_to_vf.active, "state: %s" % r)
#delay : rates measured over the interval while traffic runs
    flow.guest.cmd("start")
    r = c.stats(relay=[0], delay=500, timeout_ms=5000).relay[0]
    flow.guest.cmd("stop")
    check(r.vm_to_vf.pkt_rate_rx_from_vm > 0 and r.vm_to_vf.byte_rate_tx_to_vf > 0,
          "rates over a 500 ms delay: %s" % r.vm_to_vf)
#error statuses
    S = c.pb.StatsResponse
    r = c.stats(relay=[7])
    check(r.status == S.EBADR and "relay 7 does not exist" in r.error, "unknown relay: %s" % r)
    r = c.stats(relay=list(range(64)) + [1])
    check(r.status == S.E2BIG, "65 relays: %s" % r)
#the guest goes first, then REMOVE_SOCK : the relay goes cleanly
    flow.guest.stop()
    wait_for(lambda: d.relay(0)["state"] == "waiting", 10, "guest to disconnect")
    check(c.ok(c.port(op=P.REMOVE_SOCK, vhost_path=sock, conditional=False)),
          "REMOVE_SOCK after disconnect")
    check(d.relays() == [], "relay still there: %s" % d.relays())
    c.close()
    check(d.stop() == 0, "vrelayd did not exit cleanly on SIGTERM")


def test_core_sched_moves_without_loss(s):
    memif = s.path("memif.sock")
    d = Vrelayd(s, NO_DROP + ["-r", "id=0 device=%s cpu=0" % memif_args(memif, "server")],
                workers="0,1").start()
    c = Client(s.dir)
    S = c.pb.CoreSchedRequest
    r = c.sched(S.GET_EAL_CORES)
    check(list(r.eal_cores) == [0, 1], "eal cores: %s" % r)
    flow = CountedFlow(s, d, memif)
    flow.start()
    for i in range(10):
        g2d, d2g = ((1, 0), (0, 1), (1, 1), (0, 0))[i % 4]
        r = c.sched(S.UPDATE, [(0, g2d, d2g)])
        check(r.status == c.pb.CoreSchedResponse.OK, "UPDATE: %s" % r)
        t = d.relay(0)
        check([t["vm2dev"]["cpu"], t["dev2vm"]["cpu"]] == [g2d, d2g], "cpus: %s" % t)
        base = t["vm2dev"]["tx_pkts"]
        wait_for(lambda: d.relay(0)["vm2dev"]["tx_pkts"] > base, 10, "traffic after move %d" % i)
#refused whole : a CPU without a worker, a missing relay; nothing moves
    before = [d.relay(0)["vm2dev"]["cpu"], d.relay(0)["dev2vm"]["cpu"]]
    r = c.sched(S.UPDATE, [(0, 1, 1), (5, 0, 0)])
    check(r.status == c.pb.CoreSchedResponse.ERROR and "relay 5 does not exist" in
          r.error_code_source, "missing relay: %s" % r)
    r = c.sched(S.UPDATE, [(0, 9, 0)])
    check(r.status == c.pb.CoreSchedResponse.ERROR and "CPU 9 has no worker" in
          r.error_code_source, "CPU without worker: %s" % r)
    check([d.relay(0)["vm2dev"]["cpu"], d.relay(0)["dev2vm"]["cpu"]] == before,
          "a refused UPDATE moved the relay")
    flow.stop_and_check("after 10 core scheduler moves")
    cfg = c.config()
    live = {e.relay_number: (e.virtio2vf_cpu, e.vf2virtio_cpu) for e in cfg.relay_cpu_live}
    check(live[0] == tuple(before) and sorted(w.cpu for w in cfg.worker) == [0, 1],
          "config: %s" % cfg)
    c.close()


def test_bad_requests_leave_relays_alone(s):
    memif = s.path("memif.sock")
    d = Vrelayd(s, NO_DROP + ["-r", "id=0 device=%s" % memif_args(memif, "server")]).start()
    c = Client(s.dir)
    flow = CountedFlow(s, d, memif)
    flow.start()
    wait_for(lambda: d.relay(0)["vm2dev"]["tx_pkts"] > 1000, 30, "traffic")
    P = c.pb.PortControlRequest
    bad = {
        "garbage": b"\x08\x09garbage\xff\xff",
        "empty (op missing)": b"",
        "wrong wire type for op": b"\x0a\x03abc",
        "unknown op": P(op=4).SerializeToString().replace(b"\x08\x04", b"\x08\x09"),
        "oversized": b"\x08\x00" + b"\x2a\x80\x80\x05" + b"x" * (80 * 1024),
    }
    for what, payload in bad.items():
        data = c.raw("port_control", payload)
        check(data is not None, "%s: no reply" % what)
        r = c.pb.PortControlResponse()
        r.ParseFromString(data)
        check(r.status == r.ERROR and r.error_code_source, "%s: %s" % (what, r))
    for what, kw in (("ADD without virtio_id", dict(op=P.ADD, name="net_ring0")),
                     ("virtio_id 64", dict(op=P.ADD, virtio_id=64, name="net_ring0")),
                     ("relay in use", dict(op=P.ADD, virtio_id=0, name="net_ring0",
                                           conditional=False)),
                     ("bond with one member", dict(op=P.ADD, virtio_id=1, name="net_bonding0",
                                                   pci=["0000:01:00.1"])),
                     ("duplicate bond members", dict(op=P.ADD, virtio_id=1, name="net_bonding0",
                                                     pci=["0000:01:00.1", "0000:01:00.1"])),
                     ("ADD_SOCK without path", dict(op=P.ADD_SOCK, name="net_ring0"))):
        r = c.port(**kw)
        check(not c.ok(r) and r.error_code_source, "%s accepted: %s" % (what, r))
    s_raw = c.raw("stats", b"\xff\xff")
    r = c.pb.StatsResponse()
    r.ParseFromString(s_raw)
    check(r.status == c.pb.StatsResponse.EBADR, "malformed stats request: %s" % r)
    check(ids(c) == [0], "relays: %s" % ids(c))
    flow.stop_and_check("after bad requests")
    c.close()


def run_as_nobody(argv, groups=None):
    pre = ["setpriv", "--reuid=65534", "--regid=65534"]
    pre += ["--groups=" + ",".join(map(str, groups))] if groups else ["--clear-groups"]
    return subprocess.run(pre + argv, capture_output=True, text=True, timeout=30)


def test_endpoint_permissions(s):
    os.chmod(s.dir, 0o755)  # the directory is not what keeps others out
    group = 4242  # not nobody's group
    d = Vrelayd(s, ["--set", "control-group=%d" % group, "--set", "control-mode=0660"]).start()
    st = os.stat(s.path("port_control"))
    check(st.st_mode & 0o777 == 0o660 and st.st_gid == group, "port_control mode %o gid %d" %
          (st.st_mode & 0o777, st.st_gid))
    p = run_as_nobody([VRELAYCTL, "-d", s.dir, "list"])
    check(p.returncode == 3 and "Permission denied" in p.stderr,
          "a user outside the group got in: %d %s %s" % (p.returncode, p.stdout, p.stderr))
    p = run_as_nobody([VRELAYCTL, "-d", s.dir, "list"], groups=[group])
    check(p.returncode == 0 and "RELAY" in p.stdout, "a group member was refused: %d %s" %
          (p.returncode, p.stderr))
    d.stop()
#world - writable is refused outright
    p = subprocess.run([d.argv[0], "--set", "control-mode=0666", "--check", "-w", "1"],
                       capture_output=True, text=True)
    check(p.returncode != 0 and "world-writable" in p.stderr, "mode 0666: %s" % p.stderr)


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def test_curve_tcp_endpoint(s):
    port = free_port()
    ep = "tcp://127.0.0.1:%d" % port
#without keys a tcp: // endpoint is refused at start
    d = Vrelayd(s, ["--set", "zmq-stats=" + ep], name="nokeys")
    d.start(wait=False)
    wait_for(lambda: not d.proc.alive(), 30, "vrelayd to refuse the tcp endpoint")
    check("curve-secret-key" in d.proc.output(), "no reason given:\n" + d.proc.output()[-800:])
    srv_pub, srv_sec = zmq.curve_keypair()
    cli_pub, cli_sec = zmq.curve_keypair()
    bad_pub, bad_sec = zmq.curve_keypair()
    with open(s.path("server.key"), "wb") as f:
        f.write(srv_sec + b"\n")
    os.chmod(s.path("server.key"), 0o600)
    with open(s.path("clients"), "wb") as f:
        f.write(b"# authorised clients\n" + cli_pub + b"\n")
    d = Vrelayd(s, ["--set", "zmq-stats=" + ep, "--set", "curve-secret-key=" + s.path("server.key"),
                    "--set", "curve-client-keys=" + s.path("clients")], name="curve").start()
    eps = {"stats": ep}
    good = Client(endpoints=eps, curve=(srv_pub, cli_pub, cli_sec), timeout_ms=3000)
    check(good.stats().status == 0, "authorised client refused")
    wrong = Client(endpoints=eps, curve=(srv_pub, bad_pub, bad_sec), timeout_ms=1500)
    check(wrong.raw("stats", b"") is None, "an unknown key got an answer")
    plain = Client(endpoints=eps, timeout_ms=1500)
    check(plain.raw("stats", b"") is None, "a client without CURVE got an answer")
    check("key not authorised" in d.proc.output(), "refusal not logged")
    check(good.stats().status == 0, "authorised client refused after the others")
    for c in (good, wrong, plain):
        c.close()


def test_vrelayctl_over_tcp_with_curve(s):
    """A vrelayd on another host: vrelayctl takes a file naming its tcp://
    endpoints and the CURVE keys (docs/control.md) where it takes a control
    directory. An authorised key adds, lists and removes a relay; a key the
    daemon does not know gets no answer, and a bad file is named."""
    srv_pub, srv_sec = zmq.curve_keypair()
    cli_pub, cli_sec = zmq.curve_keypair()
    bad_pub, bad_sec = zmq.curve_keypair()
    for name, text, mode in (("server.key", srv_sec, 0o600), ("client.key", cli_sec, 0o600),
                             ("stranger.key", bad_sec, 0o600),
                             ("clients", b"# authorised\n" + cli_pub, 0o644)):
        with open(s.path(name), "wb") as f:
            f.write(text + b"\n")
        os.chmod(s.path(name), mode)
    eps = {svc: "tcp://127.0.0.1:%d" % free_port() for svc in ("port-control", "stats", "config")}
    d = Vrelayd(s, sum((["--set", "zmq-%s=%s" % kv] for kv in eps.items()), []) +
                ["--set", "curve-secret-key=" + s.path("server.key"),
                 "--set", "curve-client-keys=" + s.path("clients")], name="remote").start()

    def remote(name, secret, extra=""):
        with open(s.path(name), "w") as f:
            f.write("# relay host B\n" + "".join("zmq-%s = %s\n" % kv for kv in eps.items()) +
                    "curve-server-key = %s\ncurve-secret-key = %s\n%s" % (
                        srv_pub.decode(), s.path(secret), extra))
        return s.path(name)
    good, stranger = remote("host-b", "client.key"), remote("host-b-stranger", "stranger.key")
    rc, out, err = vrelayctl(good, "add", 3, "net_ring7")
    check(rc == 0, "add over CURVE: %d %s" % (rc, err))
    rc, out, err = vrelayctl(good, "list")
    check(rc == 0 and "net_ring7" in out, "list over CURVE: %d %s %s" % (rc, out, err))
    rc, out, err = vrelayctl(good, "workers")
    check(rc == 0 and out.splitlines()[1].split()[0] == "1", "workers over CURVE:\n%s%s" % (out, err))
    p = subprocess.run([VRELAYCTL, "-t", "1500", "-d", stranger, "list"], capture_output=True,
                       text=True, timeout=60)
    rc, err = p.returncode, p.stderr
    check(rc == 3 and "no answer" in err and "not authorised" in err,
          "a stranger's key: %d %s" % (rc, err))
    check("key not authorised" in d.proc.output(), "refusal not logged")
    bad = remote("host-b-bad", "client.key", "zmq-sched = tcp://127.0.0.1:1\n")
    rc, out, err = vrelayctl(bad, "list")
    check(rc == 3 and "line 7: unknown key 'zmq-sched'" in err, "a bad file: %d %s" % (rc, err))
    rc, out, err = vrelayctl(good, "remove", 3)
    check(rc == 0 and d.relays() == [], "remove over CURVE: %d %s" % (rc, err))


PROM_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\} '
                         r'(-?[0-9.e+-]+|NaN|[+-]Inf)$')


def parse_prometheus(text):
    """Text exposition format 0.0.4, strictly: every family's HELP and TYPE
    before its samples, one block per family, counters named *_total.
    Returns {(name, (labels...)): value}."""
    samples, families, current = {}, {}, None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            check(name not in families, "family %s twice" % name)
            families[name], current = None, name
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            check(name == current and kind in ("counter", "gauge"), "TYPE line %r" % line)
            check(kind != "counter" or name.endswith("_total"), "counter %s" % name)
            families[name] = kind
        else:
            m = PROM_SAMPLE.match(line)
            check(m is not None and m.group(1) == current and families[current],
                  "sample line %r" % line)
            labels = tuple(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2)))
            check((m.group(1), labels) not in samples, "sample twice: %r" % line)
            samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def test_stats_prometheus(s):
    """vrelayctl stats --prometheus: the exposition format promtool accepts
    and a strict parser reads, every counter there with the value the
    telemetry gives."""
    memif = s.path("memif.sock")
    d = Vrelayd(s, NO_DROP + ["-r", "id=0 device=%s" % memif_args(memif, "server")]).start()
    flow = CountedFlow(s, d, memif, rid=0, sock=s.path("relay0.sock"))
    flow.start()
    wait_for(lambda: d.relay(0)["vm2dev"]["tx_pkts"] > 10000, 30, "traffic")
    sent = flow.stop_and_check("before stats")
    rc, out, err = vrelayctl(s.dir, "stats", "--prometheus")
    check(rc == 0, "stats --prometheus: %d %s" % (rc, err))
    p = subprocess.run(["promtool", "check", "metrics"], input=out, capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0 and p.stdout.strip() == "" and p.stderr.strip() == "",
          "promtool: %s %s" % (p.stdout, p.stderr))
    got = parse_prometheus(out)
    t = d.relay(0)
    for direction in ("vm2dev", "dev2vm"):
        for name, value in t[direction].items():
            if isinstance(value, int) and name not in ("cpu", "rx_pps", "rx_bps", "pps", "bps"):
                key = ("vrelay_%s_total" % name, (("relay", "0"), ("direction", direction)))
                check(got.get(key) == value, "%s: %s, telemetry %s" % (key, got.get(key), value))
    check(got[("vrelay_rx_pkts_total", (("relay", "0"), ("direction", "vm2dev")))] == sent,
          "vm2dev rx_pkts is not what the guest sent")
    info = [k for k in got if k[0] == "vrelay_relay_info"]
    check(len(info) == 1 and ("state", "connected") in info[0][1] and
          ("device", memif_args(memif, "server")) in info[0][1], "relay_info %s" % info)
    flow.guest.stop()
    check(d.stop() == 0, "exit code")
