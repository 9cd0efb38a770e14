"""Relays added and removed at run time while traffic flows."""

import os

from vrtest import CountedFlow, Vrelayd, check, guest_pmd, memif_args, stable, wait_for

CYCLES = int(os.environ.get("VRELAY_CHURN_CYCLES", "1000"))


def write_config(path, relays):
    with open(path + ".tmp", "w") as f:
        f.write("[daemon]\nretry-us = 2000000\n")
        for rid, body in relays:
            f.write("[relay %d]\n%s\n" % (rid, body))
    os.rename(path + ".tmp", path)


def heap_alloc(d):
    return d.tel.query("/eal/heap_info,0")["Alloc_size"]


def test_add_remove_1000_under_traffic(s):
    """Relay 1 comes and goes 1000 times (VRELAY_CHURN_CYCLES), its guest
    reconnecting and sending each time, while relay 0 carries a counted flow: relay 0 loses nothing,
    relay 1 leaks no mbuf and no hugepage memory.

    Relay 1's device is net_ring, which loops what the relay transmits back
    into its receive side, so traffic crosses relay 1 in both directions.
    (net_memif and net_null leak hugepage memory on hot-unplug inside DPDK
    22.11's PMDs, also under testpmd's port attach/detach: docs/memory.md.)"""
    memif = s.path("memif.sock")
    conf = s.path("vrelay.conf")
    steady = (0, "device = %s" % memif_args(memif, "server"))
    churn = (1, "device = net_ring1\nmode = client\nsocket = %s" % s.path("g1.sock"))
    write_config(conf, [steady])
    d = Vrelayd(s, ["-c", conf]).start()
    flow = CountedFlow(s, d, memif)
    guest1 = None

    # warm-up cycles, so one-time allocations (lib/vhost, net_ring's named
    # rings on their second creation) are in the baseline
    for w in range(2):
        write_config(conf, [steady, churn])
        d.reload()
        wait_for(lambda: 1 in d.relays(), 10, "relay 1 to appear")
        if guest1 is None:
            guest1 = guest_pmd(s, "guest1", s.path("g1.sock"), server=True).start()
            guest1.cmd("set fwd txonly")  # never drains: relay 1 also meets a full ring
            guest1.cmd("start")
        wait_for(lambda: d.relay(1)["state"] == "connected", 10, "guest 1 to connect")
        write_config(conf, [steady])
        d.reload()
        wait_for(lambda: 1 not in d.relays(), 10, "relay 1 to go")
    base_heap = heap_alloc(d)
    base_in_use = stable(lambda: d.mem()["mbufs_in_use"])

    flow.start()
    connected_cycles = 0
    for i in range(CYCLES):
        write_config(conf, [steady, churn])
        d.reload()
        wait_for(lambda: 1 in d.relays(), 10, "relay 1 to appear (cycle %d)" % i)
        wait_for(lambda: d.relay(1)["state"] == "connected", 10,
                 "guest 1 to reconnect (cycle %d)" % i)
        wait_for(lambda: d.relay(1)["vm2dev"]["tx_pkts"] > 0 and
                 d.relay(1)["dev2vm"]["rx_pkts"] > 0, 10,
                 "traffic both ways through relay 1 (cycle %d)" % i)
        connected_cycles += 1
        write_config(conf, [steady])
        d.reload()
        wait_for(lambda: 1 not in d.relays(), 10, "relay 1 to go (cycle %d)" % i)
    flow.stop_and_check("relay 0 under churn")
    m = d.mem()
    check(m["mbufs_leaked"] == 0, "%d mbufs never came back to removed relays' pools" %
          m["mbufs_leaked"])
    in_use = stable(lambda: d.mem()["mbufs_in_use"])
    check(in_use == base_in_use, "relay 0 mbufs in use: %d before the churn, %d after" % (
        base_in_use, in_use))
    check(m["pools_created"] == CYCLES + 3, "pools created: %d" % m["pools_created"])
    heap = heap_alloc(d)
    check(heap == base_heap, "hugepage heap in use: %d bytes before, %d after %d cycles" % (
        base_heap, heap, CYCLES))
    check(connected_cycles == CYCLES, "guest 1 connected %d times" % connected_cycles)
    check(d.proc.alive(), "vrelayd died")
