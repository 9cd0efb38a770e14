"""Guests coming and going: reboot, QEMU killed, vrelayd killed, hot-plug."""

import time

import vm
from vrtest import check, wait_for


def setup(s, vhost="client", relay_extra="", nic=True):
    peer = vm.Peer(s)
    d = vm.vrelayd(s, peer, ["-r", "id=0 device=%s%s" % (peer.device(0), relay_extra)]).start()
    peer.attach(0)
    g = vm.Vm(s, "guest", s.path("relay0.sock"), vhost=vhost, peer=peer, nic=nic).start()
    return peer, d, g


def answers(peer, timeout=30):
    wait_for(lambda: peer.ping(count=1, deadline=1)["rx"] == 1, timeout,
             "the guest to answer a ping")


def test_guest_reboot(s):
    peer, d, g = setup(s)
    answers(peer)
    connects = d.relay(0)["connects"]
    at = len(g.console.text())
    g.console.write("reboot -f")
    g.console.wait_ready(120, since=at)
    answers(peer)
    check(d.relay(0)["connects"] > connects, "vrelayd did not see the guest reconnect")
    check(d.relay(0)["state"] == "connected", "relay %s" % d.relay(0)["state"])


def test_qemu_killed_and_restarted(s):
    peer, d, g = setup(s)
    answers(peer)
    g.kill()
    wait_for(lambda: d.relay(0)["state"] == "waiting", 10, "vrelayd to see QEMU gone")
    g2 = vm.Vm(s, "guest2", s.path("relay0.sock"), peer=peer).start()
    answers(peer)
    check(g2.alive() and d.relay(0)["state"] == "connected", "relay %s" % d.relay(0)["state"])


def test_vrelayd_killed_qemu_server(s):
    """QEMU is the vhost-user server, the relay reconnects: vrelayd killed
    with SIGKILL and started again, traffic is back within 3 s of the start,
    and the guest did not reboot."""
    sock = s.path("vm0.sock")
    peer = vm.Peer(s)
    args = ["-r", "id=0 device=%s mode=client socket=%s" % (peer.device(0), sock)]
    d = vm.vrelayd(s, peer, args).start()  # keeps trying to connect
    peer.attach(0)
    # QEMU as server waits for its backend before it starts the guest
    g = vm.Vm(s, "guest", sock, vhost="server", peer=peer).start()
    answers(peer)
    before = g.console.boot_id()
    for round_ in range(2):
        d.kill()
        t0 = time.monotonic()
        d = vm.vrelayd(s, peer, args, name="vrelayd%d" % round_).start()
        peer.attach(0)
        answers(peer, timeout=10)
        took = time.monotonic() - t0
        print("    vrelayd restart %d: traffic back %.2f s after the new vrelayd started" % (
            round_ + 1, took))
        check(took <= 3, "traffic came back %.2f s after vrelayd restarted" % took)
    check(g.console.boot_id() == before, "the guest rebooted")
    check(not g.console.oopses(), "guest console: %s" % g.console.oopses())


def test_hot_plug(s):
    """netdev_add + device_add at run time: traffic; device_del + netdev_del:
    vrelayd sees the disconnect; added again: traffic again."""
    peer, d, g = setup(s, nic=False)
    q = g.qmp
    for round_ in range(2):
        q.execute("chardev-add", id="vu0", backend={"type": "socket", "data": {
            "addr": {"type": "unix", "data": {"path": s.path("relay0.sock")}},
            "server": False, "reconnect": 1}})
        q.execute("netdev_add", type="vhost-user", id="net0", chardev="vu0")
        q.execute("device_add", driver="virtio-net-pci", id="nic0", netdev="net0",
                  mac=vm.GUEST_MAC, vectors=0, bus="rp1")
        wait_for(lambda: g.console.run("ls /sys/class/net")[1].count("eth0") == 1, 30,
                 "eth0 to appear in the guest")
        g.console.run("ip link set eth0 up; ip addr replace %s/24 dev eth0" % vm.GUEST_IP)
        wait_for(lambda: d.relay(0)["state"] == "connected", 20, "the relay to connect")
        answers(peer)
        q.execute("device_del", id="nic0")
        q.wait_event("DEVICE_DELETED", 30, lambda e: e.get("data", {}).get("device") == "nic0")
        q.execute("netdev_del", id="net0")  # takes its chardev with it
        wait_for(lambda: d.relay(0)["state"] == "waiting", 20, "vrelayd to see the unplug")
        check(peer.ping(count=2, interval=0.1, deadline=2)["rx"] == 0,
              "the guest answers without its NIC")
    check(d.proc.alive(), "vrelayd died")
