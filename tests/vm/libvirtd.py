"""Real libvirt for the VM tests: Debian's libvirtd, started by the test,
one instance per simulated host, and guests defined as <domain type='qemu'>.

libvirtd keeps its state in fixed places (/etc/libvirt, /run/libvirt,
/var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt), so each instance
runs in a mount namespace of its own (unshare -m) with its own copies bind
mounted there; its client socket stays in the test's directory, where
virsh (and the other instance, for a migration) reaches it. Each has its
own host UUID: libvirt refuses a migration between two hosts with one.

Settings this machine needs, and why:
  stdio_handler = "file"    no virtlogd without systemd's socket activation
  cgroup_controllers = [ ]  two fresh instances number their domains alike
                            and would share a cgroup
The QEMU 7.2 TCG workarounds of vm.py apply under libvirt too:
vectors=0 on the virtio-net device as a <qemu:override> (MSI-X with
vhost-user crashes QEMU under TCG), and guest RAM 8 KiB over whole MiB
(libvirt rounds RAM to MiB, which QEMU 7.2's TCG migration corrupts)
through an <emulator> wrapper, qemu-tcg-wrapper. Neither is needed with
KVM; docs/libvirt.md gives the domain XML without them.
"""

import grp
import os
import pwd
import shutil
import subprocess
import uuid

import guest
import vm
from vrtest import BUILD, TestFailure, check, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
HOOK = os.path.join(BUILD, "src", "libvirt", "vrelay-libvirt-hook")
WRAPPER = os.path.join(HERE, "qemu-tcg-wrapper")
DIRS = {"etc": "/etc/libvirt", "run": "/run/libvirt", "lib": "/var/lib/libvirt",
        "log": "/var/log/libvirt", "cache": "/var/cache/libvirt"}


def traversable(s):
    """libvirt runs QEMU as libvirt-qemu: it must reach the test's files
    (kernel, consoles, sockets) through the scratch directory."""
    os.chmod(s.dir, 0o755)


def guest_files(s):
    """The test guest's kernel and initramfs where libvirt-qemu reads them
    (libvirt gives them to it while a domain runs, and takes them back)."""
    out = []
    for src in guest.ensure(BUILD):
        dst = s.path(os.path.basename(src))
        if not os.path.exists(dst):
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o644)
        out.append(dst)
    return out


class Libvirtd:
    """One libvirtd with its own state, hooks and host UUID."""

    def __init__(self, s, name, control_dir, peers):
        self.s, self.name = s, name
        self.root = s.path("libvirt-" + name)
        self.sock = os.path.join(self.root, "sock", "libvirt-sock")
        self.uri = "qemu+unix:///system?socket=" + self.sock
        self.host_uuid = str(uuid.uuid4())
        for d in ("run", "log/qemu", "cache/qemu", "sock"):
            os.makedirs(os.path.join(self.root, d))
        # Debian's configuration and state as shipped (ownership kept)
        shutil.copytree("/etc/libvirt", os.path.join(self.root, "etc"), symlinks=True)
        shutil.copytree("/var/lib/libvirt", os.path.join(self.root, "lib"), symlinks=True)
        os.chmod(self.root, 0o755)
        with open(os.path.join(self.root, "etc", "libvirtd.conf"), "w") as f:
            f.write('unix_sock_dir = "%s"\nunix_sock_group = "root"\n'
                    'unix_sock_rw_perms = "0770"\nhost_uuid = "%s"\n'
                    'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n' % (
                        os.path.dirname(self.sock), self.host_uuid))
        with open(os.path.join(self.root, "etc", "qemu.conf"), "a") as f:
            f.write('\nstdio_handler = "file"\ncgroup_controllers = [ ]\n')
        self.install_hook(control_dir, peers)
        self.proc = None

    def install_hook(self, control_dir, peers):
        """vrelay's hook as the package installs it (packaging/libvirt/vrelay.in),
        told where this host's vrelayd and its peers are."""
        hooks = os.path.join(self.root, "etc", "hooks", "qemu.d")
        os.makedirs(hooks, exist_ok=True)
        path = os.path.join(hooks, "vrelay")
        self.hook_log = os.path.join(self.root, "hook.log")
        with open(path, "w") as f:  # what the hook says, kept for the test
            f.write("#!/bin/sh\nexec %s --control-dir %s --peers %s \"$@\" 2>>%s\n" % (
                HOOK, control_dir, peers, self.hook_log))
        os.chmod(path, 0o755)

    def start(self):
        if not os.path.isdir("/run/libvirt"):  # the mount point; empty here
            os.makedirs("/run/libvirt")
            self.s.procs.append(vm._Cleanup(lambda: os.rmdir("/run/libvirt")))
        mounts = " && ".join("mount --bind %s %s" % (os.path.join(self.root, k), v)
                             for k, v in DIRS.items())
        self.proc = self.s.spawn(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             mounts + " && exec /usr/sbin/libvirtd -p " + os.path.join(self.root, "pid")],
            "libvirtd-%s.log" % self.name)
        self.s.procs.append(vm._Cleanup(self.stop))  # before the SIGTERM: domains first
        wait_for(lambda: self._answers(), 60, "libvirtd %s to answer" % self.name)
        return self

    def _answers(self):
        check(self.proc.alive(), "libvirtd %s exited:\n%s" % (self.name, self.proc.output()))
        return self.virsh("version", ok=False).returncode == 0

    def virsh(self, *args, ok=True, timeout=120):
        p = subprocess.run(["virsh", "-q", "-c", self.uri] + list(args), capture_output=True,
                           text=True, timeout=timeout)
        if ok and p.returncode != 0:
            raise TestFailure("virsh %s on %s: %s" % (" ".join(args), self.name,
                                                       (p.stderr or p.stdout).strip()))
        return p

    def running(self):
        return self.virsh("list", "--name").stdout.split()

    def hook_said(self):
        try:
            with open(self.hook_log) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """Every domain destroyed, then libvirtd itself (a QEMU outlives a
        libvirtd that is only killed)."""
        if self.proc is None or not self.proc.alive():
            return
        for d in self.virsh("list", "--name", ok=False).stdout.split():
            self.virsh("destroy", d, ok=False)
        self.proc.stop(timeout=20)


def domain_xml(s, name, mac, sock, qemu_server=False):
    """The test guest as a libvirt domain on a vhost-user socket: the XML of
    docs/libvirt.md, plus the TCG workarounds and a console file."""
    traversable(s)
    vmlinuz, initrd = guest_files(s)
    console = s.path("console-%s.log" % name)
    return """<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <memory unit='KiB'>262144</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{vmlinuz}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 panic=-1 loglevel=4 vr.ip={ip}/24 vr.ip6={ip6}/64</cmdline>
  </os>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{wrapper}</emulator>
    <interface type='vhostuser'>
      <mac address='{mac}'/>
      <source type='unix' path='{sock}' mode='{mode}'/>
      <model type='virtio'/>
      <alias name='ua-net0'/>
    </interface>
    <serial type='file'><source path='{console}' append='on'/><target port='0'/></serial>
    <console type='file'><source path='{console}' append='on'/>
      <target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
  <qemu:override>
    <qemu:device alias='ua-net0'>
      <qemu:frontend><qemu:property name='vectors' type='unsigned' value='0'/></qemu:frontend>
    </qemu:device>
  </qemu:override>
</domain>
""".format(name=name, vmlinuz=vmlinuz, initrd=initrd, ip=vm.GUEST_IP, ip6=vm.GUEST_IP6,
           wrapper=WRAPPER, mac=mac, sock=sock, mode="server" if qemu_server else "client",
           console=console)


def console_text(s, name):
    try:
        with open(s.path("console-%s.log" % name), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def uid(user):
    return pwd.getpwnam(user).pw_uid


def gid(group):
    return grp.getgrnam(group).gr_gid


def qemu_user(d, name):
    """The user the domain's QEMU runs as."""
    pid = open(os.path.join(d.root, "run", "qemu", name + ".pid")).read().strip()
    return subprocess.run(["ps", "-o", "user=", "-p", pid], capture_output=True,
                          text=True).stdout.strip()
