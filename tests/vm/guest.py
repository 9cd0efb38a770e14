"""The test guest: Debian's kernel and a small initramfs, built at test time.

The initramfs holds busybox-static, the virtio-net modules (and 8021q for
the VLAN case), iperf3 and ethtool with their shared libraries, and an init
that brings eth0 up with the addresses given on the kernel command line,
prints READY_LINE on the serial console and then runs a shell on it (the
tests drive the guest through that shell, see vm.Console).

Built once into <build>/vm/ and rebuilt only when an input is newer.
"""

import glob
import os
import shutil
import subprocess
import tempfile

READY_LINE = "VRELAY-GUEST-READY"
MODULES = ["virtio_pci", "virtio_net", "8021q"]
# iproute2's ip (VLANs, nodad), installed as /usr/sbin/ip
PROGRAMS = {"/usr/bin/iperf3": "/usr/bin/iperf3", "/usr/sbin/ethtool": "/usr/sbin/ethtool",
            "/bin/ip": "/usr/sbin/ip"}

INIT = r"""#!/bin/sh
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /tmp /run && mount -t devpts devpts /dev/pts
for m in $(cat /modules.order); do insmod /lib/modules/$m.ko || echo "init: insmod $m failed"; done
ip() { /usr/sbin/ip "$@"; }
ip link set lo up
arg() { sed -n "s/.*\bvr\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
# the NIC appears once virtio_pci has probed it
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 500 ]; do sleep 0.02; n=$((n+1)); done
ip link set eth0 up
[ -n "$(arg ip)" ] && ip addr add $(arg ip) dev eth0
[ -n "$(arg ip6)" ] && ip addr add $(arg ip6) dev eth0 nodad
# clocal: a migrated guest's UART sees its modem lines drop on the new host,
# which would hang up the console and end the shell (and, as init, the guest)
stty -F /dev/ttyS0 -echo -onlcr clocal
echo "%s $(cat /sys/class/net/eth0/address)"
# busybox's shell runs its own applets before PATH: iproute2's ip by a function
echo 'ip() { /usr/sbin/ip "$@"; }' > /etc/shrc
while :; do
	ENV=/etc/shrc PS1= sh </dev/ttyS0 >/dev/ttyS0 2>&1
	echo "init: console shell ended ($?), starting another" >/dev/ttyS0
done
""" % READY_LINE


def kernel():
    """The newest installed Debian kernel: (version, vmlinuz path)."""
    found = sorted(glob.glob("/boot/vmlinuz-*"))
    if not found:
        raise RuntimeError("no /boot/vmlinuz-*: apt-get install linux-image-amd64")
    path = found[-1]
    return os.path.basename(path)[len("vmlinuz-"):], path


def module_closure(kver, names):
    """names and everything they depend on, dependencies first."""
    order, seen = [], set()

    def visit(m):
        if m in seen:
            return
        seen.add(m)
        deps = subprocess.run(["modinfo", "-k", kver, "-F", "depends", m], check=True,
                              capture_output=True, text=True).stdout.strip()
        for d in filter(None, deps.split(",")):
            visit(d)
        path = subprocess.run(["modinfo", "-k", kver, "-n", m], check=True,
                              capture_output=True, text=True).stdout.strip()
        order.append((m, path))
    for n in names:
        visit(n)
    return order


def shared_libs(prog):
    out = subprocess.run(["ldd", prog], check=True, capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            libs.append(parts[2])
        elif parts and parts[0].startswith("/"):
            libs.append(parts[0])
    return libs


def copy_into(root, path, src=None):
    dst = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(os.path.realpath(src or path), dst)


def build_initramfs(out, kver):
    root = tempfile.mkdtemp(prefix="vrelay-guest-")
    try:
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "lib/modules",
                  "etc"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        shutil.copy2("/bin/busybox", os.path.join(root, "bin/busybox"))
        for applet in subprocess.run(["/bin/busybox", "--list"], check=True, capture_output=True,
                                     text=True).stdout.split():
            link = os.path.join(root, "bin", applet)
            if not os.path.exists(link):
                os.symlink("busybox", link)
        mods = module_closure(kver, MODULES)
        for name, path in mods:
            dst = os.path.join(root, "lib/modules", name + ".ko")
            if path.endswith(".xz"):
                with open(dst, "wb") as f:
                    subprocess.run(["xz", "-dc", path], check=True, stdout=f)
            else:
                shutil.copy2(path, dst)
        with open(os.path.join(root, "modules.order"), "w") as f:
            f.write("\n".join(n for n, _ in mods) + "\n")
        for prog in PROGRAMS:
            copy_into(root, PROGRAMS[prog], prog)
            for lib in shared_libs(prog):  # noqa: the loader and libc included
                copy_into(root, lib)
        with open(os.path.join(root, "init"), "w") as f:
            f.write(INIT)
        os.chmod(os.path.join(root, "init"), 0o755)
        tmp = out + ".tmp"
        with open(tmp, "wb") as f:
            files = subprocess.run("find . -print0 | cpio --null -o -H newc --quiet", shell=True,
                                   cwd=root, check=True, capture_output=True).stdout
            f.write(subprocess.run(["gzip", "-1"], input=files, check=True,
                                   capture_output=True).stdout)
        os.rename(tmp, out)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ensure(build_dir):
    """(vmlinuz, initramfs) for the test guest, building the initramfs if stale."""
    kver, vmlinuz = kernel()
    vmdir = os.path.join(build_dir, "vm")
    os.makedirs(vmdir, exist_ok=True)
    initrd = os.path.join(vmdir, "initramfs-%s.cpio.gz" % kver)
    inputs = [__file__, vmlinuz, "/bin/busybox"] + list(PROGRAMS)
    if not os.path.exists(initrd) or os.path.getmtime(initrd) < max(
            os.path.getmtime(p) for p in inputs):
        build_initramfs(initrd, kver)
    return vmlinuz, initrd


if __name__ == "__main__":
    import sys
    print(ensure(sys.argv[1] if len(sys.argv) > 1 else "build"))
