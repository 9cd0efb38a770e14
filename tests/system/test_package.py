"""The Debian package (debian/): built from the tree by
dpkg-buildpackage, lintian-clean of errors, installed with apt, its
installed vrelayd run from its installed config relays traffic, and a
purge takes everything away again (docs/deployment.md, "Debian package")."""
import os
import re
import subprocess

from vrtest import CountedFlow, Vrelayd, check, memif_args

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# lintian's warnings kept, and why (docs/deployment.md)
LINTIAN_KEPT = {
    # a native project with no Debian bug asking for it
    "initial-upload-closes-no-bugs",
    # vrelay.conf(5) is docs/configuration.md set by pandoc: groff cannot
    # justify its wide tables at 80 columns and says so; the page reads
    # whole (test_service.test_meson_install)
    "groff-message",
}
INSTALLED = ["/usr/sbin/vrelayd", "/usr/bin/vrelayctl", "/usr/bin/vrelay-migrate",
             "/etc/vrelay/vrelay.conf", "/lib/systemd/system/vrelayd.service",
             "/usr/share/man/man8/vrelayd.8.gz", "/usr/share/man/man5/vrelay.conf.5.gz",
             "/usr/libexec/vrelay/vrelay-libvirt-hook", "/etc/libvirt/hooks/qemu.d/vrelay",
             "/etc/vrelay/peers"]


def run(argv, cwd=None, timeout=900):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return p.returncode, p.stdout + p.stderr


def build(s):
    """The tracked files of the tree, built into binary packages; the .deb."""
    src = s.path("src")
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True,
                           check=True).stdout.split(b"\0")
    for f in filter(None, files):
        dst = os.path.join(src.encode(), f)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(os.path.join(ROOT.encode(), f), "rb") as a, open(dst, "wb") as b:
            b.write(a.read())
        os.chmod(dst, os.stat(os.path.join(ROOT.encode(), f)).st_mode)
    rc, out = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src)
    check(rc == 0, "dpkg-buildpackage:\n" + out[-3000:])
    debs = [f for f in os.listdir(s.dir) if re.match(r"vrelay_[^_]+_amd64\.deb$", f)]
    check(len(debs) == 1, "packages built: %s" % os.listdir(s.dir))
    return s.path(debs[0])


def test_package_builds_installs_relays_and_purges(s):
    rc, _ = run(["dpkg", "-s", "vrelay"])
    check(rc != 0, "vrelay is installed already: this test installs and purges its own")
    deb = build(s)
    rc, out = run(["lintian", deb])
    tags = set(re.findall(r"^[EW]: vrelay[^:]*: (\S+)", out, re.M))
    check(not re.search(r"^E: ", out, re.M) and tags <= LINTIAN_KEPT, "lintian:\n" + out)
    rc, depends = run(["dpkg-deb", "-f", deb, "Depends"])
    check("librte-vhost23" in depends and "libzmq5" in depends and "adduser" in depends,
          "Depends (dh_shlibdeps): %s" % depends)
    try:
        rc, out = run(["apt-get", "install", "-y", "--no-install-recommends", deb])
        check(rc == 0, "apt-get install:\n" + out[-2000:])
        missing = [f for f in INSTALLED if not os.path.exists(f)]
        check(missing == [], "not installed: %s" % missing)
        rc, out = run(["getent", "passwd", "vrelay"])
        check(rc == 0 and "/nonexistent" in out, "no vrelay system user: %s" % out)
        rc, out = run(["dpkg-query", "--showformat=${Conffiles}", "--show", "vrelay"])
        check("/etc/vrelay/vrelay.conf" in out and "/etc/libvirt/hooks/qemu.d/vrelay" in out,
              "not conffiles: %s" % out)
        rc, out = run(["id", "-nG", "vrelay"])
        check("libvirt-qemu" in out.split(), "vrelay is not in libvirt-qemu: %s" % out)
        # the installed vrelayd from the installed config, the test's own
        # directories and a relay on top
        memif = s.path("memif.sock")
        d = Vrelayd(s, ["-c", "/etc/vrelay/vrelay.conf", "--retry-us", "2000000",
                        "-r", "id=0 device=%s" % memif_args(memif, "server")], name="installed")
        d.argv[0] = "/usr/sbin/vrelayd"
        d.start()
        flow = CountedFlow(s, d, memif, rid=0, sock=s.path("relay0.sock"))
        flow.start()
        sent = flow.stop_and_check("through the installed vrelayd")
        print("    installed vrelayd relayed %d frames, none lost" % sent)
        flow.guest.stop()
        check(d.stop() == 0, "exit code")
    finally:
        rc, out = run(["apt-get", "purge", "-y", "vrelay"])
    check(rc == 0, "apt-get purge:\n" + out[-2000:])
    left = [f for f in INSTALLED + ["/etc/vrelay"] if os.path.exists(f)]
    check(left == [], "left after purge: %s" % left)
    rc, _ = run(["getent", "passwd", "vrelay"])
    check(rc != 0, "the vrelay user stayed after purge")
