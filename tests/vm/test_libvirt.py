"""Guests on vrelay under real libvirt (docs/libvirt.md): Debian's libvirtd,
two instances standing for two hosts (libvirtd.py), each with a vrelayd
and vrelay's hook, the guest a <domain type='qemu'> with an
<interface type='vhostuser'>.

    host A: libvirtd A, vrelayd A (relay 0: vrelay's socket; relay 1:
            QEMU's socket), devices vtap0, vtap1
    host B: libvirtd B, vrelayd B, the same on vtap2, vtap3
    all four taps on one bridge with the peer (vm.Peer)

The hook of each host names the other's vrelayd as its peer, so a
`virsh migrate --live` from A to B primes B's relay from A's and, the two
vrelayds having underlay addresses on one LAN, sets up their handover."""

import os
import stat
import subprocess

import libvirtd
import migration
import vm
from vrtest import check, wait_for

MAC = "52:54:00:00:02:0a"


class Hosts:
    def __init__(self, s):
        self.s = s
        libvirtd.traversable(s)
        self.peer = vm.Peer(s)
        self.ctl, self.qsock, self.d, self.lv = {}, {}, {}, {}
        for h, k, under in (("a", 0, "192.0.2.100"), ("b", 2, "192.0.2.101")):
            self.ctl[h] = s.path("vrelay-" + h)
            # where QEMU makes its server sockets: a directory libvirt-qemu
            # may create files in (docs/libvirt.md)
            self.qsock[h] = s.path("qemu-sockets-" + h)
            os.makedirs(self.ctl[h])
            os.makedirs(self.qsock[h])
            subprocess.run(["chgrp", "libvirt-qemu", self.qsock[h]], check=True)
            os.chmod(self.qsock[h], 0o2770)
            self.d[h] = vm.vrelayd(s, self.peer, [
                "--control-dir", self.ctl[h], "--socket-dir", self.ctl[h],
                # an underlay on relay 0's device, both on the LAN: a move
                # between them is a handover (docs/tunnel.md, "Same LAN")
                "--set", "underlay-relay=0", "--set", "underlay-ipv4=%s/24" % under,
                "--set", "underlay-gateway4=" + vm.PEER_IP,
                "-r", "id=0 device=%s socket=%s" % (self.peer.device(k), self.sock(h)),
                "-r", "id=1 device=%s socket=%s mode=client" % (
                    self.peer.device(k + 1), os.path.join(self.qsock[h], "guest.sock"))],
                name="vrelayd-" + h).start()
            self.attach(h, k)
        for h, other in (("a", "b"), ("b", "a")):
            peers = s.path("peers-" + h)
            os.makedirs(peers)
            os.symlink(self.ctl[other], os.path.join(peers, "host-" + other))
            self.lv[h] = libvirtd.Libvirtd(s, h, self.ctl[h], peers).start()

    def attach(self, h, k):
        """Host h's taps on the bridge, the kernel's end of the underlay's
        own MAC other than the relay's (else the bridge keeps the relay's
        frames for itself), and the underlay's gateway learned."""
        for tap in (k, k + 1):
            wait_for(lambda: self.peer.host_ip("link", "show", "vtap%d" % tap,
                                               ok=False).returncode == 0, 30, "vtap%d" % tap)
            self.peer.host_ip("link", "set", "vtap%d" % tap, "address",
                              "02:00:00:00:0f:%02x" % tap)
            self.peer.attach(tap)
        wait_for(lambda: self.d[h].tel.query("/vrelay/underlay")["gateway4_mac"] != "", 30,
                 "vrelayd %s to learn its gateway" % h)

    def sock(self, h):
        return os.path.join(self.ctl[h], "relay0.sock")

    def create(self, h, name, sock, qemu_server=False):
        path = self.s.path(name + ".xml")
        with open(path, "w") as f:
            f.write(libvirtd.domain_xml(self.s, name, MAC, sock, qemu_server))
        self.lv[h].virsh("create", path)

    def dest_xml(self, name, src, dst):
        """The running domain's XML for host dst (its relay's socket, its
        own console file when the domain has one per host), in a file."""
        xml = self.lv[src].virsh("dumpxml", "--migratable", name).stdout
        xml = xml.replace(self.sock(src), self.sock(dst)).replace(
            "console-%s-%s.log" % (name, src), "console-%s-%s.log" % (name, dst))
        path = self.s.path("%s-to-%s.xml" % (name, dst))
        with open(path, "w") as f:
            f.write(xml)
        return path

    def console(self, name):
        return libvirtd.console_text(self.s, name)

    def wait_ready(self, name, timeout=120):
        wait_for(lambda: "VRELAY-GUEST-READY" in self.console(name), timeout,
                 "guest %s's ready line" % name)

    def answers(self):
        wait_for(lambda: self.peer.ping(count=1, deadline=2)["rx"] == 1, 30,
                 "the guest to answer a ping")
        return self.peer.ping(count=5, interval=0.1)


def shared(s):
    return Hosts(s)


def test_guest_on_a_vrelay_socket(s):
    """vrelay's socket (QEMU the client): virsh create boots the guest, the
    peer reaches it through relay 0, QEMU runs as libvirt-qemu on a socket
    vrelayd made libvirt-qemu:kvm 0660 by default (as virtio-forwarder
    does) and nobody changed;
    virsh destroy, and the relay waits for the next guest."""
    h = s.shared
    h.create("a", "lv-client", h.sock("a"))
    try:
        h.wait_ready("lv-client")
        wait_for(lambda: h.d["a"].relay(0)["state"] == "connected", 30, "relay 0 connected")
        r = h.answers()
        check(r["rx"] == 5, "ping through relay 0: %s" % r["text"])
        st = os.stat(h.sock("a"))
        check(st.st_uid == libvirtd.uid("libvirt-qemu") and st.st_gid == libvirtd.gid("kvm") and
              stat.S_IMODE(st.st_mode) == 0o660,
              "socket %o %d:%d" % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid))
        user = libvirtd.qemu_user(h.lv["a"], "lv-client")
        check(user == "libvirt-qemu", "QEMU runs as %s" % user)
    finally:
        h.lv["a"].virsh("destroy", "lv-client", ok=False)
    wait_for(lambda: h.d["a"].relay(0)["state"] != "connected", 30, "relay 0 to let go")
    check(os.path.exists(h.sock("a")), "vrelayd's socket went with the guest")


def test_qemu_socket_and_vrelayd_restarted_under_it(s):
    """QEMU's socket (vrelay the client, relay 1): libvirt makes it as
    libvirt-qemu in the directory given to QEMU, vrelayd (root) connects,
    the guest answers; vrelayd restarted under the running domain connects
    again and the guest answers again, without a reboot."""
    h = s.shared
    qsock = os.path.join(h.qsock["a"], "guest.sock")
    h.create("a", "lv-server", qsock, qemu_server=True)  # returns once vrelayd connected
    try:
        h.wait_ready("lv-server")
        st = os.stat(qsock)
        check(st.st_uid == libvirtd.uid("libvirt-qemu"), "QEMU's socket owned by %d" % st.st_uid)
        wait_for(lambda: h.d["a"].relay(1)["state"] == "connected", 30, "relay 1 connected")
        check(h.answers()["rx"] == 5, "ping before the restart")
        h.d["a"].stop()
        h.d["a"].start()
        h.attach("a", 0)
        wait_for(lambda: h.d["a"].relay(1)["state"] == "connected", 60,
                 "relay 1 to reconnect to QEMU")
        r = h.answers()
        check(r["rx"] == 5, "ping after vrelayd's restart: %s" % r["text"])
        text = h.console("lv-server")
        check(text.count("VRELAY-GUEST-READY") == 1, "the guest rebooted")
        check("lv-server" in h.lv["a"].running(), "the domain stopped")
    finally:
        h.lv["a"].virsh("destroy", "lv-server", ok=False)


def migrate(h, name, src, dst, port):
    """virsh migrate --live src -> dst, the guest's socket the destination
    relay 0's; (seconds it took, the outage and lost probes the peer saw)."""
    path = h.dest_xml(name, src, dst)
    before = h.d[dst].relay(0)["vm2dev"]["announced"]
    primed = h.d[dst].proc.output().count("will announce")
    tunnel_before = h.d[dst].relay(0)["dev2vm"]["tunnel"]["in"]
    ended = {"source": h.d[src].proc.output().count("redirect (source) ended: "),
             "destination": h.d[dst].proc.output().count("redirect (destination) ended: ")}
    with migration.Pinger(h, "ping-%s.log" % dst) as pinger:
        n = len(pinger.replies())
        h.lv[src].virsh("migrate", "--live", name, h.lv[dst].uri, "--migrateuri",
                        "tcp://127.0.0.1:%d" % port, "--xml", path, timeout=300)
        pinger.wait_replies_after(n)
        outage, lost = pinger.outage_ms(), pinger.lost()
    check(name in h.lv[dst].running() and name not in h.lv[src].running(),
          "after the migration: %s runs on %s, %s on %s" % (
              h.lv[src].running(), src, h.lv[dst].running(), dst))
    announced = h.d[dst].relay(0)["vm2dev"]["announced"] - before
    # a RARP for the MAC and a gratuitous ARP for the IPv4 address the
    # source relay learned from the peer's pings: more than the MAC alone
    # (which a hook that did not find the source relay would announce)
    check(announced >= 2, "%s's relay announced %d frames" % (dst, announced))
    log = h.d[dst].proc.output()
    check(log.count("will announce") == primed + 1 and "will announce 1 " not in log,
          "the hook did not prime %s's relay from its peer:\n%s" % (dst, log[-2000:]))
    tunneled = h.d[dst].relay(0)["dev2vm"]["tunnel"]["in"] - tunnel_before
    print("    %s -> %s: announced %d frames, %d through the handover, outage %.0f ms, "
          "%d probes lost" % (src, dst, announced, tunneled, outage, len(lost)))
    check(lost == [], "probes lost: %s" % lost)
    for d, role, end in ((h.d[src], "source", "the UNREDIRECT op"),
                         (h.d[dst], "destination", "the handover is done")):
        wait_for(lambda: d.proc.output().count("redirect (%s) ended: " % role) > ended[role],
                 30, "the handover's %s side to end" % role)
        check(end in d.proc.output().rsplit("redirect (%s) ended: " % role, 1)[1].split("\n")[0],
              "the %s side ended otherwise:\n%s" % (role, d.proc.output()[-1500:]))
    return outage, lost


def test_virsh_migrate_live_with_the_hook(s):
    """virsh migrate --live from libvirtd A to libvirtd B and back: the hook
    on the destination finds the guest's relay among its peers by the
    interface's MAC, primes its own relay with what that one learned (it
    announces the guest when it starts there) and sets up the handover:
    what reaches the source relay after the guest stopped there comes
    through the tunnel and waits for the guest. Not one of the peer's
    pings (every 10 ms) is lost. The hook on the source ends the source's
    side at release, the destination its own once the guest runs. The
    guest does not reboot."""
    h = s.shared
    name = "lv-move"
    xml = libvirtd.domain_xml(h.s, name, MAC, h.sock("a")).replace(
        "console-%s.log" % name, "console-%s-a.log" % name)
    path = h.s.path(name + ".xml")
    with open(path, "w") as f:
        f.write(xml)
    h.lv["a"].virsh("create", path)
    port = 49152 + os.getpid() % 1000 * 4
    try:
        h.wait_ready(name + "-a")
        check(h.answers()["rx"] == 5, "ping on A")
        migrate(h, name, "a", "b", port)
        check(h.answers()["rx"] == 5, "ping on B")
        migrate(h, name, "b", "a", port + 1)
        check(h.answers()["rx"] == 5, "ping on A again")
        # the console files are appended to by each QEMU: one boot in all
        boots = [h.console("%s-%s" % (name, side)).count("VRELAY-GUEST-READY")
                 for side in ("a", "b")]
        check(boots == [1, 0], "ready lines on A, B: %s: the guest rebooted" % boots)
    finally:
        for lv in h.lv.values():
            lv.virsh("destroy", name, ok=False)


def test_aborted_migration_leaves_nothing_behind(s):
    """A migration to B aborted midway (virsh domjobabort; the transfer
    slowed to 1 MiB/s to catch it): the guest runs on at A and answers;
    B's incoming QEMU goes, and B's hook at release ends the handover its
    hook had set up, on both relays."""
    h = s.shared
    name = "lv-abort"
    path = h.s.path(name + ".xml")
    with open(path, "w") as f:
        f.write(libvirtd.domain_xml(h.s, name, MAC, h.sock("a")))
    h.lv["a"].virsh("create", path)
    try:
        h.wait_ready(name)
        check(h.answers()["rx"] == 5, "ping on A")
        dest = h.dest_xml(name, "a", "b")
        ended = {k: h.d[k].proc.output().count("ended: the UNREDIRECT op") for k in "ab"}
        mig = s.spawn(["virsh", "-q", "-c", h.lv["a"].uri, "migrate", "--live", name,
                       h.lv["b"].uri, "--migrateuri",
                       "tcp://127.0.0.1:%d" % (49152 + os.getpid() % 1000 * 4 + 2),
                       "--xml", dest, "--bandwidth", "1"], "migrate.log")
        wait_for(lambda: "handover as destination" in h.d["b"].proc.output(), 60,
                 "B's hook to set up the handover")
        wait_for(lambda: "Unbounded" in h.lv["a"].virsh("domjobinfo", name).stdout, 60,
                 "the migration to run")  # a job without a bound: the migration
        h.lv["a"].virsh("domjobabort", name)
        wait_for(lambda: not mig.alive(), 60, "virsh migrate to fail")
        check(mig.p.returncode != 0, "the aborted migration succeeded: " + mig.output())
        check(name in h.lv["a"].running() and name not in h.lv["b"].running(),
              "after the abort: A runs %s, B %s" % (h.lv["a"].running(), h.lv["b"].running()))
        for k in "ab":
            wait_for(lambda: h.d[k].proc.output().count("ended: the UNREDIRECT op") > ended[k],
                     30, "vrelayd %s's side of the handover to end" % k)
        check("the guest is gone" in h.lv["b"].hook_said(), "B's hook:\n" + h.lv["b"].hook_said())
        check(h.answers()["rx"] == 5, "ping on A after the abort")
    finally:
        h.lv["a"].virsh("destroy", name, ok=False)
