"""Bonds: the bonding PMD over up to 8 member devices, every mode, created and
removed at run time; guest traffic through a bond counted exactly."""

from vrtest import Vrelayd, check, guest_pmd, stable, wait_for


def bond_conf(path, mode, n, rid=0):
    with open(path, "w") as f:
        f.write("[daemon]\nworkers = 1\nretry-us = 2000000\n")
        if n:
            f.write("[relay %d]\ndevice = net_bonding%d\nbond-mode = %d\n" % (rid, mode, mode))
            for i in range(n):
                f.write("member = net_null_m%d_%d,no-rx=1\n" % (mode, i))


def test_bond_modes_added_and_removed(s):
    conf = s.path("bond.conf")
    bond_conf(conf, 0, 0)
    d = Vrelayd(s, ["-c", conf]).start()
    for mode in range(7):
        bond_conf(conf, mode, 8)
        d.reload()
        wait_for(lambda: d.relays() == [0], 20, "bond in mode %d" % mode)
        r = d.relay(0)
        check(r["device_stats"]["name"] == "net_bonding%d" % mode, "device: %s" % r)
        bond_conf(conf, mode, 0)
        d.reload()
        wait_for(lambda: d.relays() == [], 20, "bond mode %d removed" % mode)
    check("hot-unplug failed" not in d.proc.output(), "a bond was not unplugged:\n" +
          d.proc.output()[-2000:])
    # a member named twice is refused, naming it
    with open(conf, "a") as f:
        f.write("[relay 1]\ndevice = net_bonding9\nmember = net_null_z\nmember = net_null_z\n")
    p = d.proc.argv
    import subprocess
    out = subprocess.run(p + ["--check"], capture_output=True, text=True)
    check(out.returncode != 0 and "net_null_z is given twice" in out.stderr,
          "duplicate member: %s" % out.stderr)


def test_guest_traffic_through_bond(s):
    conf = s.path("bond.conf")
    bond_conf(conf, 0, 2)
    d = Vrelayd(s, ["-c", conf]).start()
    guest = guest_pmd(s, "guest", s.path("relay0.sock")).start()
    wait_for(lambda: d.relay(0)["state"] == "connected", 10, "guest to connect")
    guest.cmd("set fwd txonly")
    guest.cmd("start")
    wait_for(lambda: d.relay(0)["vm2dev"]["tx_pkts"] > 20000, 30, "traffic into the bond")
    guest.cmd("stop")
    sent = stable(lambda: guest.stats()["opackets"])
    r = stable(lambda: d.relay(0))
    check(r["vm2dev"]["rx_pkts"] == sent == r["vm2dev"]["tx_pkts"] ==
          r["device_stats"]["opackets"],
          "guest sent %d, relay took %d and passed %d, bond sent %d" % (
              sent, r["vm2dev"]["rx_pkts"], r["vm2dev"]["tx_pkts"],
              r["device_stats"]["opackets"]))
