"""A Python client of vrelayd's ZeroMQ services (Debian python3-zmq and
python3-protobuf), with the protobuf module generated from the project's
proto/virtioforwarder.proto by protoc at first use."""

import importlib
import os
import subprocess
import sys

import zmq

from vrtest import BUILD, TestFailure, check, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VRELAYCTL = os.path.join(BUILD, "src", "cli", "vrelayctl")


def pb():
    """The generated virtioforwarder_pb2 module."""
    out = os.path.join(BUILD, "proto", "py")
    gen, src = os.path.join(out, "virtioforwarder_pb2.py"), os.path.join(ROOT, "proto",
                                                                          "virtioforwarder.proto")
    if not os.path.exists(gen) or os.path.getmtime(gen) < os.path.getmtime(src):
        os.makedirs(out, exist_ok=True)
        subprocess.run(["protoc", "--proto_path", os.path.join(ROOT, "proto"), "--python_out",
                        out, "virtioforwarder.proto"], check=True)
    if out not in sys.path:
        sys.path.insert(0, out)
    return importlib.import_module("virtioforwarder_pb2")


class Client:
    """REQ sockets on a vrelayd's control directory (or explicit endpoints)."""

    def __init__(self, control_dir=None, endpoints=None, timeout_ms=5000, curve=None):
        self.pb = pb()
        self.ctx = zmq.Context()
        self.eps = endpoints or {s: "ipc://%s/%s" % (control_dir, s)
                                 for s in ("port_control", "stats", "config", "core_sched")}
        self.timeout_ms = timeout_ms
        self.curve = curve  # (server_public, client_public, client_secret), Z85 bytes

    def raw(self, service, payload, timeout_ms=None):
        """Send bytes, return reply bytes (None when no reply in time)."""
        s = self.ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, timeout_ms or self.timeout_ms)
        if self.curve:
            s.curve_serverkey, s.curve_publickey, s.curve_secretkey = self.curve
        s.connect(self.eps[service])
        try:
            s.send(payload)
            return s.recv()
        except zmq.Again:
            return None
        finally:
            s.close()

    def call(self, service, req, resp_cls, timeout_ms=None):
        data = self.raw(service, req.SerializeToString(), timeout_ms)
        check(data is not None, "no reply from the %s service" % service)
        r = resp_cls()
        r.ParseFromString(data)
        return r

    def port(self, **kw):
        P = self.pb.PortControlRequest
        pci = kw.pop("pci", [])
        req = P(**kw)
        for a in pci:
            dom, bus, rest = a.split(":")
            slot, fn = rest.split(".")
            req.pci_addrs.add(domain=int(dom, 16), bus=int(bus, 16), slot=int(slot, 16),
                              function=int(fn, 16))
        return self.call("port_control", req, self.pb.PortControlResponse)

    def ok(self, r):
        return r.status == self.pb.PortControlResponse.OK

    def stats(self, timeout_ms=None, **kw):
        return self.call("stats", self.pb.StatsRequest(**kw), self.pb.StatsResponse, timeout_ms)

    def config(self):
        return self.call("config", self.pb.ConfigRequest(), self.pb.ConfigResponse)

    def sched(self, op, mapping=()):
        S = self.pb.CoreSchedRequest
        req = S(op=op)
        for rid, g2d, d2g in mapping:
            req.relay_cpu_map.add(relay_number=rid, virtio2vf_cpu=g2d, vf2virtio_cpu=d2g)
        return self.call("core_sched", req, self.pb.CoreSchedResponse)

    def close(self):
        self.ctx.destroy(linger=0)


def vrelayctl(control_dir, *args):
    """Run vrelayctl; (exit code, stdout, stderr)."""
    p = subprocess.run([VRELAYCTL, "-d", control_dir] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def relay_ids(d):
    """The ids of vrelayd d's relays, sorted."""
    return sorted(d.relays())


def wait_relay_ids(d, want, what, timeout=10):
    """Poll until d's relays are exactly want; the failure shows the last list."""
    last = [None]

    def ok():
        last[0] = relay_ids(d)
        return last[0] == sorted(want)
    try:
        wait_for(ok, timeout, what)
    except TestFailure as e:
        raise TestFailure("%s: relays are %s, want %s" % (e, last[0], sorted(want)))


def relay_map(s):
    """{relay id: (device, vhost socket)} from the stats service of the
    vrelayd whose control directory is scratch s's."""
    c = Client(s.dir)
    try:
        return {r.id: (r.vf.pci_addr_str, r.vhost.vhost_socket_name) for r in c.stats().relay}
    finally:
        c.close()
