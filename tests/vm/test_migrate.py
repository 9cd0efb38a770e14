"""Live migration through vrelay, driven by vrelay-migrate (tests/vm/migration.py).

Outage as the peer sees it (migration.Pinger), next to QEMU's own downtime."""

import json
import os
import shlex
import statistics
import subprocess
import time

from migration import Pair, Pinger
from vrtest import check, wait_for


def shared(s):
    return Pair(s)


def test_transports_unix_tcp_tcp6(s):
    """One migration over each transport; the guest answers on its new
    relay, which announced it; the old relay lets go."""
    pair = s.shared
    boot = pair.vm.console.boot_id()
    for kind in ("unix", "tcp", "tcp6"):
        before = pair.d.relay(1 - pair.rid)["vm2dev"]["announced"]
        src_rid = pair.rid
        seen = pair.migrate_watched("ping-%s.log" % kind, kind=kind)
        report = seen["report"]
        # probes the stopped source could not answer were held by the
        # destination relay and answered late; at most the one sent just as
        # the source stopped, before the announcement, may be lost
        check(len(seen["lost"]) <= 1, "%s: probes lost: %s" % (kind, seen["lost"]))
        check(report["total_ms"] > 0 and report["mbytes"] > 10,
              "%s: report %s" % (kind, report))
        check(report["announced"] >= 2, "%s: nothing primed: %s" % (kind, report))
        new = pair.d.relay(pair.rid)
        check(new["state"] == "connected", "%s: new relay %s" % (kind, new["state"]))
        check(new["vm2dev"]["announced"] >= before + 4,  # at the stop and at the start
              "%s: destination relay sent %d announcements" % (kind, new["vm2dev"]["announced"]))
        check(pair.d.relay(src_rid)["state"] == "waiting",
              "%s: source relay still %s" % (kind, pair.d.relay(src_rid)["state"]))
        r = pair.peer.ping(count=5, interval=0.05, deadline=10)
        check(r["rx"] == 5, "%s: pings after migrating: %s" % (kind, r["text"]))
        now = pair.vm.console.boot_id()
        check(now == boot, "%s: the guest rebooted (boot id %s, was %s)" % (kind, now, boot))


def test_twenty_migrations_under_tcp(s):
    """iperf3 TCP from the peer to the guest through back-to-back migrations
    (20; VRELAY_MIGRATIONS to change): the one session carries data after
    each and ends cleanly, the guest never reboots or oopses.

    Outage seen by the peer (ping -D -i 0.01), next to QEMU's downtime. The
    destination relay announces the guest when it stops at the source and
    holds its frames until its vrings start, so what remains after QEMU's
    stop->resume and the guest's own first reply after RESUME (TCG guests
    need 25-70 ms for it here, whatever the backend) is the relay's share:
    its median must stay within 20 ms. (Under iperf3 the 64 frames held for
    the guest fill with TCP, so probes are lost here: test_transports checks
    the probes of an idle guest.)"""
    pair = s.shared
    boot = pair.vm.console.boot_id()
    client = pair.tcp_session("iperf3-20.log", 900)
    rows = []
    count = int(os.environ.get("VRELAY_MIGRATIONS", "20"))
    try:
        for i in range(count):
            seen = pair.migrate_watched("ping-%d.log" % i, client)
            report = seen["report"]
            rows.append({"down": report["downtime_ms"], "s2r": report["stop_to_resume_ms"],
                         "outage": seen["outage"], "total": report["total_ms"],
                         "wake": seen["wake"], "lost": len(seen["lost"])})
            check(client.alive(), "iperf3 session ended at migration %d:\n%s" % (
                i + 1, client.output()[-1500:]))
    finally:
        client.send_signal(2)
        wait_for(lambda: not client.alive(), 20, "iperf3 client to stop")
    out = client.output()
    check("error" not in out.lower(), "iperf3 session broke:\n" + out[-1500:])

    def med(k):
        return statistics.median(r[k] for r in rows)
    share = [r["outage"] - r["s2r"] - r["wake"] for r in rows]
    print("    %d migrations under iperf3: QEMU downtime median %.0f ms (%.0f-%.0f), "
          "stop->resume %.0f ms, peer outage median %.0f ms (%.0f-%.0f), outage - downtime "
          "median %.0f ms; guest's first reply after RESUME median %.0f ms; relay's share "
          "median %.0f ms; probes lost %d; total time median %.0f ms" % (
              len(rows), med("down"), min(r["down"] for r in rows),
              max(r["down"] for r in rows), med("s2r"), med("outage"),
              min(r["outage"] for r in rows), max(r["outage"] for r in rows),
              statistics.median(r["outage"] - r["down"] for r in rows), med("wake"),
              statistics.median(share), sum(r["lost"] for r in rows), med("total")))
    check(statistics.median(share) <= 20, "the relay's share of the outage: %s" % rows)
    check(pair.vm.console.boot_id() == boot, "the guest rebooted")
    check(pair.vm.console.oopses() == [], "guest console: %s" % pair.vm.console.oopses())


def nft(pair, *rules):
    """nftables in the host namespace, where both QEMUs talk."""
    script = "table inet vrt {\n chain input {\n  type filter hook input priority 0;\n" + \
        "".join("  %s\n" % r for r in rules) + " }\n}\n"
    subprocess.run(pair.peer.in_host(["nft", "-f", "-"]), input=script, text=True, check=True)


def nft_flush(pair):
    subprocess.run(pair.peer.in_host(["nft", "delete", "table", "inet", "vrt"]),
                   capture_output=True)


def check_source_unharmed(pair, pg, what):
    check(pair.vm.alive(), "%s: the source QEMU died" % what)
    _, st = pair.vm.console.run("echo alive")
    check("alive" in st, "%s: the source guest does not answer" % what)
    check(pair.d.relay(pair.rid)["state"] == "connected",
          "%s: source relay %s" % (what, pair.d.relay(pair.rid)["state"]))
    t = pg.replies()
    gaps = [b - a for a, b in zip(t, t[1:])]
    check(gaps and max(gaps) < 0.5, "%s: pings to the source stalled for %.0f ms" % (
        what, max(gaps) * 1000 if gaps else -1))


def failed_attempt(pair, what, rules=(), mid_rules=(), args=(), ram=None, started=False):
    """A migration that must fail; returns vrelay-migrate's report.
    started: vrelay-migrate starts the destination QEMU (--dst-start) and
    must stop it again."""
    dst, uri = pair.destination("tcp", ram=ram, start=not started)
    if started:
        args = list(args) + ["--dst-start", "%s >%s 2>&1 </dev/null" % (
            shlex.join(dst.argv), pair.s.path(dst.name + ".console"))]
    port = uri.rsplit(":", 1)[1]
    try:
        with Pinger(pair, "ping-%s.log" % what.replace(" ", "-")) as pg:
            if rules:
                nft(pair, *[r % port for r in rules])
            proc = subprocess.Popen(pair.migrate_argv(dst, uri, args, relays=False),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if mid_rules:
                wait_for(lambda: transferred(pair) > 5e6, 60, "the migration to be under way")
                nft(pair, *[r % port for r in mid_rules])
            out, err = proc.communicate(timeout=300)
            check(proc.returncode == 1, "%s: vrelay-migrate exited %d: %s %s" % (
                what, proc.returncode, out, err))
            report = json.loads(out)
            check(report["status"] in ("failed", "stalled", "cancelled"),
                  "%s: %s" % (what, report))
            check(report["source_state"] == "running", "%s: source %s" % (what, report))
            check_source_unharmed(pair, pg, what)
            if started:
                left = subprocess.run(["pgrep", "-f", dst.qmp_path], capture_output=True,
                                      text=True).stdout.split()
                check(not left and "stopped" in err,
                      "%s: the destination vrelay-migrate started is still there: %s; %s" % (
                          what, left, err))
            return report, err
    finally:
        nft_flush(pair)
        if dst.proc is not None:
            dst.kill()


def transferred(pair):
    m = pair.vm.qmp.execute("query-migrate")
    return m.get("ram", {}).get("transferred", 0)


def test_failures_then_retry(s):
    """The migration test plan's failures: destination port firewalled before
    (refused) and in the middle (TCP reset; silent drop, which only
    vrelay-migrate's stall timeout ends), a destination with another RAM
    size. Each fails clearly, the source runs on without losing pings, and a
    retry to a good destination succeeds."""
    pair = s.shared
    slow = ["--max-bandwidth", str(20 << 20)]
    rep, err = failed_attempt(pair, "refused before", rules=["tcp dport %s reject with tcp reset"],
                              started=True)
    check("refused" in (rep.get("error", "") + err).lower(), "refused: %s %s" % (rep, err))
    rep, err = failed_attempt(pair, "reset midway", mid_rules=["tcp dport %s reject with tcp reset"],
                              args=slow)
    check("reset" in (rep.get("error", "") + err).lower() or rep["status"] == "failed",
          "reset: %s %s" % (rep, err))
    t0 = time.monotonic()
    rep, err = failed_attempt(pair, "silent drop", mid_rules=["tcp dport %s drop"],
                              args=slow + ["--stall-timeout", "3"])
    check(rep["status"] == "stalled" and "no progress" in err, "drop: %s %s" % (rep, err))
    check(time.monotonic() - t0 < 60, "the stall took %.0f s to end" % (time.monotonic() - t0))
    rep, err = failed_attempt(pair, "other RAM size", ram="524296K")
    check(rep["status"] == "failed", "RAM size: %s %s" % (rep, err))
    # both relays as they were; a retry to a good destination works
    report = pair.migrate_once()
    check(report["status"] == "completed", "retry: %s" % report)
    check(pair.peer.ping(count=5, interval=0.05, deadline=10)["rx"] == 5, "pings after the retry")


TLS_MARKER = "VRELAYTLSMARKER"

CERTS = r"""
import datetime, ipaddress, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID

def key():
    return ec.generate_private_key(ec.SECP256R1())

def write(path, obj, secret=False):
    data = obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()) if secret else \
        obj.public_bytes(serialization.Encoding.PEM)
    with open(path, "wb") as f:
        f.write(data)

def cert(subject, issuer, pub, sign, ca=False, usage=None, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(pub).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                          False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False,
                                          False), critical=True)
        b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(sign, hashes.SHA256())

def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

out, ca_name = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
ca_key = key()
ca = cert(name(ca_name), name(ca_name), ca_key.public_key(), ca_key, ca=True)
write(os.path.join(out, "ca-cert.pem"), ca)
for role, usage in (("server", ExtendedKeyUsageOID.SERVER_AUTH),
                    ("client", ExtendedKeyUsageOID.CLIENT_AUTH)):
    k = key()
    c = cert(name("vrelay test " + role), name(ca_name), k.public_key(), ca_key, usage=usage,
             san=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    write(os.path.join(out, role + "-cert.pem"), c)
    write(os.path.join(out, role + "-key.pem"), k, secret=True)
"""


def captured_migration(pair, leaf, args=()):
    """One migration over TCP with the stream captured on the loopback of
    the QEMUs' namespace: (report, the capture's bytes)."""
    dst, uri = pair.destination("tcp")
    port = uri.rsplit(":", 1)[1]
    cap = pair.s.path(leaf)
    dump = pair.s.spawn(pair.peer.in_host(["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", cap,
                                           "tcp port %s" % port]), leaf + ".log")
    wait_for(lambda: "listening" in dump.output(), 10, "tcpdump to listen")
    try:
        report = pair.migrate(dst, uri, args)
    finally:
        dump.stop()
    with open(cap, "rb") as f:
        return report, f.read()


def test_tls_migration(s):
    """vrelay-migrate --tls DIR: the migration stream is TLS (QEMU's
    tls-creds-x509 on both sides, each verifying the other). A marker the
    guest keeps in its memory crosses a plain migration in clear (the
    capture can see it) and a TLS one not at all; with a CA that signed
    neither certificate, or a destination certificate without the name
    asked for, the migration is refused and the source runs on."""
    pair = s.shared
    good, wrong = s.path("tls"), s.path("tls-wrong")
    for d, ca in ((good, "vrelay test CA"), (wrong, "another CA")):
        subprocess.run(["/usr/bin/python3", "-c", CERTS, d, ca], check=True, timeout=60)
    # the wrong directory: the right certificates, another CA to check them
    for f in ("server-cert.pem", "server-key.pem", "client-cert.pem", "client-key.pem"):
        with open(os.path.join(good, f), "rb") as a, open(os.path.join(wrong, f), "wb") as b:
            b.write(a.read())
    pair.vm.console.run("i=0; while [ $i -lt 3000 ]; do echo %s$i; i=$((i+1)); done "
                        "> /tmp/marker" % TLS_MARKER)
    report, plain = captured_migration(pair, "plain.pcap")
    check(TLS_MARKER.encode() in plain, "the plain migration's capture (%d bytes) shows no "
          "marker: the test cannot see what it looks for" % len(plain))
    report, sealed = captured_migration(pair, "tls.pcap", ["--tls", good])
    check(report["status"] == "completed" and len(sealed) > report["mbytes"] * 1e6 * 0.5,
          "TLS migration: %s, %d bytes captured" % (report, len(sealed)))
    check(TLS_MARKER.encode() not in sealed, "the marker crossed the TLS migration in clear")
    check(b"\x16\x03" in sealed[:20000], "no TLS handshake in the capture")
    print("    plain: marker in a %d-byte capture; TLS: %d bytes, no marker, %.0f ms total" % (
        len(plain), len(sealed), report["total_ms"]))
    # a CA that signed neither certificate: QEMU refuses the credentials
    # before anything moves, and vrelay-migrate says why
    dst, uri = pair.destination("tcp")
    try:
        p = subprocess.run(pair.migrate_argv(dst, uri, ["--tls", wrong], relays=False),
                           capture_output=True, text=True, timeout=300)
    finally:
        dst.kill()
    check(p.returncode == 3 and "failed validation" in p.stderr,
          "wrong CA: exit %d %s" % (p.returncode, p.stderr))
    check(pair.vm.qmp.execute("query-status")["status"] == "running" and
          pair.peer.ping(count=5, interval=0.05, deadline=10)["rx"] == 5,
          "the source did not run on after the refusal")
    # a destination whose certificate does not carry the name asked for:
    # the source's TLS handshake fails, the migration with it
    rep, err = failed_attempt(pair, "wrong name",
                              args=["--tls", good, "--tls-hostname", "other.example"])
    check(rep["status"] == "failed", "wrong name: %s %s" % (rep, err))
    # and the right one still works after the refusals
    report = pair.migrate_once(args=["--tls", good])
    check(report["status"] == "completed", "TLS after the refusal: %s" % report)


def test_multifd_and_compress_measured(s):
    """vrelay-migrate --multifd N [--compress]: QEMU moves the RAM over N
    channels (zstd on them with --compress); one migration of each kind and
    a plain one in the same run, their total time and downtime printed as
    ratios to plain's. The guest answers after each."""
    pair = s.shared
    rows = []
    for name, args in (("plain", []), ("multifd 4", ["--multifd", "4"]),
                       ("multifd 4 + zstd", ["--multifd", "4", "--compress"])):
        report = pair.migrate_once(args=args)
        check(report["status"] == "completed", "%s: %s" % (name, report))
        mf = report["multifd_mbytes"]
        check((mf > 10) == bool(args), "%s: %.1f MB over multifd channels" % (name, mf))
        check(pair.peer.ping(count=3, interval=0.05, deadline=10)["rx"] == 3,
              "%s: no pings after" % name)
        rows.append((name, report["total_ms"], report["downtime_ms"], report["mbytes"]))
    plain = rows[0]
    for name, total, down, mb in rows:
        print("    %-17s total %5.0f ms (%.2fx plain), downtime %4.0f ms (%.2fx), %.0f MB" % (
            name, total, total / plain[1], down, down / max(plain[2], 1), mb))


def link_rx_bytes(ns, dev):
    out = subprocess.run(["ip", "-n", ns, "-s", "-j", "link", "show", dev], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)[0]["stats64"]["rx"]["bytes"]


def test_ipv6_migration_network_with_a_cap(s):
    """The migration on a dedicated network, as operators are told to run
    it: a link of its own (a veth pair into a namespace standing for the
    other host's migration interface), IPv6 only, and a bandwidth cap that
    the transfer rate keeps to. There and back, the guest answering."""
    pair = s.shared
    tag = "%d" % os.getpid()
    host, far = pair.peer.host_ns, "vrtm-" + tag
    cap = 30 << 20  # bytes/s
    subprocess.run(["ip", "netns", "add", far], check=True)
    try:
        subprocess.run(["ip", "link", "add", "vmig" + tag, "netns", host, "type", "veth", "peer",
                        "name", "vmig", "netns", far], check=True)
        for ns, dev, addr in ((host, "vmig" + tag, "2001:db8:ff::1"), (far, "vmig", "2001:db8:ff::2")):
            subprocess.run(["ip", "-n", ns, "addr", "add", addr + "/64", "dev", dev, "nodad"],
                           check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        subprocess.run(["ip", "-n", far, "link", "set", "lo", "up"], check=True)
        rates = []
        for ns, dev, addr in ((far, "vmig", "2001:db8:ff::2"), (host, "vmig" + tag, "2001:db8:ff::1")):
            dst, _ = pair.destination("tcp", start=False)
            uri = "tcp:[%s]:%d" % (addr, pair.port + 9)
            dst.argv = ["ip", "netns", "exec", ns] + dst.argv[4:]  # its own namespace
            dst.argv[dst.argv.index("-incoming") + 1] = uri
            dst.start(wait_ready=False)
            before = link_rx_bytes(ns, dev)
            report = pair.migrate(dst, uri, ["--max-bandwidth", str(cap)])
            crossed = link_rx_bytes(ns, dev) - before
            rate = report["mbytes"] * 1e6 / (report["total_ms"] / 1e3)
            rates.append(rate)
            check(crossed >= report["mbytes"] * 1e6 * 0.9,
                  "%d bytes crossed the migration link for %.0f MB" % (crossed, report["mbytes"]))
            check(0.5 * cap <= rate <= 1.15 * cap, "rate %.1f MB/s under a %.1f MB/s cap" % (
                rate / 1e6, cap / 1e6))
            check(pair.peer.ping(count=3, interval=0.05, deadline=10)["rx"] == 3,
                  "no pings after migrating to %s" % addr)
        print("    over the IPv6 migration link, capped at %.1f MB/s: %.1f and %.1f MB/s" % (
            cap / 1e6, rates[0] / 1e6, rates[1] / 1e6))
    finally:
        subprocess.run(["ip", "netns", "del", far])
