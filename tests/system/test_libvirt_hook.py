"""vrelay-libvirt-hook without libvirt (tests/vm/test_libvirt.py runs it
under libvirtd): what libvirt may hand it and what it must not do. Usage
errors exit 2 naming the fault; a domain XML it cannot read refuses a
migration (exit 1) but never a release; domains, interfaces and hosts that
are not vrelay's are left alone (exit 0); and stdout stays empty, since at
'migrate' libvirt would take it for the domain's new XML."""

import os
import subprocess

from vrtest import BUILD, Vrelayd, check

HOOK = os.path.join(BUILD, "src", "libvirt", "vrelay-libvirt-hook")

DOMAIN = """<domain type='qemu'><name>g</name><devices>
<interface type='vhostuser'><mac address='52:54:00:00:02:0a'/>
<source type='unix' path='%s' mode='client'/><model type='virtio'/></interface>
</devices></domain>"""


def hook(*args, xml=""):
    p = subprocess.run([HOOK] + list(args), input=xml, capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_usage_errors(s):
    for args, why in ((["g", "migrate", "begin"], "got 3 arguments"),
                      (["--redirect", "sometimes", "g", "migrate", "begin", "-"],
                       "--redirect takes auto, always or never, not 'sometimes'"),
                      (["--bogus", "g", "migrate", "begin", "-"], "unrecognized option")):
        rc, out, err = hook(*args)
        check(rc == 2 and why in err and out == "", "%s: exit %d, %r" % (args, rc, err))


def test_bad_xml_refuses_a_migration_not_a_release(s):
    for xml, why in (("<domain><devices>", "not a well-formed XML document"),
                     ("<domstatus/>", "the XML's root is <domstatus>, not <domain>"),
                     ("<domain><devices><interface type='vhostuser'><source type='unix' "
                      "path='/x'/></interface></devices></domain>",
                      "vhostuser interface 0: no <mac address=...>")):
        rc, out, err = hook("--control-dir", s.dir, "g", "migrate", "begin", "-", xml=xml)
        check(rc == 1 and "g: " + why in err and out == "", "migrate: %d %r" % (rc, err))
        rc, out, err = hook("--control-dir", s.dir, "g", "release", "end", "-", xml=xml)
        check(rc == 0 and why in err and out == "", "release: %d %r" % (rc, err))


def test_what_is_not_vrelays_is_left_alone(s):
    """No vrelayd at the control directory; a vrelayd whose relays serve
    other sockets; the steps the hook has no business in (nothing read):
    exit 0, stdout empty, the relay not primed."""
    sock = s.path("relay0.sock")
    rc, out, err = hook("--control-dir", s.path("none"), "g", "migrate", "begin", "-",
                        xml=DOMAIN % sock)
    check(rc == 0 and out == "" and "is vrelayd running" in err, "no vrelayd: %d %r" % (rc, err))
    d = Vrelayd(s, ["-r", "id=0 device=net_null0 socket=%s" % sock]).start()
    rc, out, err = hook("--control-dir", s.dir, "--peers", s.path("none"), "g", "migrate",
                        "begin", "-", xml=DOMAIN % s.path("elsewhere.sock"))
    check(rc == 0 and out == "" and err == "", "another socket: %d %r" % (rc, err))
    for op in ("prepare", "start", "started", "stopped", "reconnect"):
        rc, out, err = hook("--control-dir", s.dir, "g", op, "begin", "-", xml="not read")
        check(rc == 0 and out == "" and err == "", "%s: %d %r" % (op, rc, err))
    check("will announce" not in d.proc.output(), "a relay was primed")
    # its own socket and no peers: the MAC alone is announced, nothing printed
    rc, out, err = hook("--control-dir", s.dir, "--peers", s.path("none"), "g", "migrate",
                        "begin", "-", xml=DOMAIN % sock)
    check(rc == 0 and out == "" and "announces the MAC only" in err, "%d %r" % (rc, err))
    check("will announce 1 address" in d.proc.output(), d.proc.output()[-1500:])
