"""A guest with 4 queue pairs (QEMU 7.2 TCG runs multiqueue vhost-user with
vectors=0, INTx): flows from the peer land on several guest queues, by
vrelayd's per-queue counters and by the guest's own."""

import re

import vm
from vrtest import check, wait_for


def test_four_queue_pairs(s):
    peer = vm.Peer(s)
    d = vm.vrelayd(s, peer, ["-r", "id=0 device=%s" % peer.device(0)]).start()
    peer.attach(0)
    g = vm.Vm(s, "guest", s.path("relay0.sock"), peer=peer, queues=4).start()
    g.console.run("ethtool -L eth0 combined 4")
    _, chan = g.console.run("ethtool -l eth0")
    check(chan.rstrip().endswith("4"), "combined channels:\n" + chan)
    wait_for(lambda: d.relay(0)["vrings_enabled"] == "0xff", 20,
             "vrelayd to see 4 queue pairs enabled")
    peer.iperf_server()
    _, out = g.console.run("iperf3 -c %s -t 3 -R -P 8 -f m" % vm.PEER_IP, timeout=90)
    check(re.search(r"SUM.*Mbits/sec.*receiver", out), "iperf3:\n" + out[-1500:])
    per_queue = d.relay(0)["dev2vm"]["queue_pkts"]
    busy = [n for n in per_queue if n > 100]
    print("    8 flows peer->guest over 4 queue pairs: vrelayd per-queue packets %s" % per_queue)
    check(len(per_queue) == 4 and len(busy) >= 2, "per-queue packets: %s" % per_queue)
    _, stats = g.console.run("ethtool -S eth0")
    guest_rx = [int(n) for n in re.findall(r"rx_queue_\d+_packets: (\d+)", stats)]
    check(sum(1 for n in guest_rx if n > 100) >= 2, "guest's per-queue RX: %s" % guest_rx)
