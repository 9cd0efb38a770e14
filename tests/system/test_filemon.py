"""vrelayd --watch-file: relays driven by lines appended to a command file.

  add ID DEVICE          relay ID on DEVICE, socket <socket-dir>/relayID.sock
  remove ID
  add-sock PATH DEVICE   DEVICE paired with socket PATH (inside the socket
                         directory) on the lowest free relay, or id=N
  remove-sock PATH

Every line is carried out or refused with a log line <file>:<lineno>:
refused: ...; nothing else changes on a refusal.
"""

import os

from vrtest import TestFailure, Vrelayd, check, wait_for
from vrctl import relay_ids as ids, relay_map, wait_relay_ids as wait_ids


def append(path, data):
    """One writer's append: open, write, close."""
    with open(path, "ab") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def rewrite(path, data):
    """Truncate in place (same inode) and write anew."""
    with open(path, "wb") as f:
        f.write(data.encode())




def wait_line_log(d, path, lineno, verdict, since=0, timeout=10):
    """The log line for line lineno of path ('refused:' or 'done'); returns it."""
    tag = "%s:%d: " % (path, lineno)

    def find():
        for ln in d.proc.output()[since:].splitlines():
            if tag in ln and verdict in ln:
                return ln
        return None
    return wait_for(find, timeout, "'%s... %s' in the log" % (tag, verdict))


def test_commands_followed(s):
    """The file need not exist at start; each command appended is carried
    out, comments and blank lines count as lines but do nothing."""
    cmds = s.path("cmds")
    d = Vrelayd(s, ["--watch-file", cmds]).start()
    check(ids(d) == [], "relays without a file: %s" % ids(d))

    append(cmds, "add 1 net_ring0\n")
    wait_ids(d, [1], "relay 1 from 'add'")
    check(relay_map(s) == {1: ("net_ring0", s.path("relay1.sock"))}, "relay 1: %s" % relay_map(s))
    wait_line_log(d, cmds, 1, "ADD done")

    vm_a, vm_b = s.path("vm-a.sock"), s.path("vm-b.sock")
    append(cmds, "# a comment\n\n   \nadd-sock %s net_ring1\n" % vm_a)
    wait_ids(d, [0, 1], "relay 0 from 'add-sock' (lowest free)")
    check(relay_map(s)[0] == ("net_ring1", vm_a), "add-sock relay: %s" % relay_map(s))
    check(os.path.exists(vm_a), "%s not created" % vm_a)
    wait_line_log(d, cmds, 5, "ADD_SOCK done")

    append(cmds, "add-sock %s net_ring2 id=5\n\tadd 2\tnet_ring3  \n" % vm_b)
    wait_ids(d, [0, 1, 2, 5], "relay 5 from 'add-sock ... id=5' and relay 2 (tabs, spaces)")
    m = relay_map(s)
    check(m[5] == ("net_ring2", vm_b) and m[2] == ("net_ring3", s.path("relay2.sock")),
          "relays 5 and 2: %s" % m)

    # the same add again is a no-op (replays are harmless), not a refusal
    at = len(d.proc.output())
    append(cmds, "add 1 net_ring0\n")
    wait_line_log(d, cmds, 8, "ADD done", since=at)
    check(ids(d) == [0, 1, 2, 5], "relays after a repeated add: %s" % ids(d))

    append(cmds, "remove 1\n")
    wait_ids(d, [0, 2, 5], "relay 1 gone")
    check(not os.path.exists(s.path("relay1.sock")), "relay1.sock left behind")
    append(cmds, "remove-sock %s\n" % vm_a)
    wait_ids(d, [2, 5], "relay 0 gone by its socket")
    check(not os.path.exists(vm_a), "%s left behind" % vm_a)
    # several lines in one write, in order: remove then re-add the same id
    append(cmds, "remove 2\nadd 2 net_ring4\nremove-sock %s\n" % vm_b)
    wait_ids(d, [2], "relay 2 re-done and relay 5 gone")
    wait_line_log(d, cmds, 13, "REMOVE_SOCK done")
    check(relay_map(s)[2][0] == "net_ring4", "relay 2: %s" % relay_map(s))
    # removing what is not there is a no-op
    at = len(d.proc.output())
    append(cmds, "remove 9\nremove-sock %s\n" % s.path("nothing.sock"))
    wait_line_log(d, cmds, 15, "REMOVE_SOCK done", since=at)
    check(ids(d) == [2], "relays: %s" % ids(d))
    check(d.proc.alive(), "vrelayd died")


def test_garbage_refused(s):
    """Each bad line is refused with '<file>:<lineno>: refused:' and changes
    nothing; the next good line still works."""
    cmds = s.path("cmds")
    d = Vrelayd(s, ["--watch-file", cmds]).start()
    append(cmds, "add 1 net_ring0\n")
    wait_ids(d, [1], "relay 1")
    sockdir = s.dir
    bad = [
        ("axx 5 foo", "unknown command"),
        ("a 1 x", "unknown command"),  # the original took any line starting with 'a'
        ("r 1", "unknown command"),
        ("ADD 3 net_ring3", "unknown command"),
        ("add 70 net_ring3", "'70'"),
        ("add 64 net_ring3", "'64'"),
        ("add -1 net_ring3", "'-1'"),
        ("add 3x net_ring3", "'3x'"),
        ("add 1", "arguments"),
        ("add", "arguments"),
        ("remove", "arguments"),
        ("remove x", "'x'"),
        ("remove 1 net_ring0", "arguments"),
        ("add 3 net_ring3 bogus=1", "bogus=1"),
        ("add 3 net_ring3 mode=9", "mode"),
        ("add 2 net_ring0", "already on relay 1"),      # device busy
        ("add 1 net_ring5", "relay 1 already holds"),   # id busy
        ("add-sock /tmp/vrt-outside-%d.sock net_ring4" % os.getpid(), "outside the socket"),
        ("add-sock %s/../escape.sock net_ring4" % sockdir, "outside the socket"),
        ("add-sock relative.sock net_ring4", "absolute"),
        ("add-sock %s/vm.sock" % sockdir, "arguments"),
        ("remove-sock relative.sock", "absolute"),
        (b"add 2 net_\x00ring2", "NUL"),
        (b"\x00", "NUL"),
    ]
    lineno = 1
    for line, why in bad:
        lineno += 1
        at = len(d.proc.output())
        append(cmds, line + (b"\n" if isinstance(line, bytes) else "\n"))
        got = wait_line_log(d, cmds, lineno, "refused:", since=at)
        check(why in got, "line %d %r: refusal does not say %r: %s" % (lineno, line, why, got))
        check(ids(d) == [1], "line %d %r: relays are %s" % (lineno, line, ids(d)))
    check(relay_map(s) == {1: ("net_ring0", s.path("relay1.sock"))},
          "relay 1 disturbed: %s" % relay_map(s))
    for leaf in ("escape.sock", "vm.sock"):
        check(not os.path.exists(os.path.join(os.path.dirname(sockdir), leaf)) and
              not os.path.exists(s.path(leaf)), "%s created" % leaf)
    # a line longer than vrelayd reads at once: refused whole, its tail
    # (which here looks like a command) is not carried out
    lineno += 1
    at = len(d.proc.output())
    append(cmds, " " * 70000 + "add 5 net_ring5\n")
    got = wait_line_log(d, cmds, lineno, "refused:", since=at)
    check("longer than" in got, "a 70000-byte line: %s" % got)
    check(ids(d) == [1], "the tail of a long line was taken for a command: %s" % ids(d))
    # a good line after all that
    append(cmds, "add 2 net_ring2\n")
    wait_ids(d, [1, 2], "relay 2 after the refusals")
    wait_line_log(d, cmds, lineno + 1, "ADD done")
    # a line written in two pieces is one line, carried out once complete
    at = len(d.proc.output())
    append(cmds, "add 3 net_ri")
    append(cmds, "ng3\n")
    wait_ids(d, [1, 2, 3], "relay 3 from a line written in two pieces")
    check(relay_map(s)[3][0] == "net_ring3", "relay 3: %s" % relay_map(s))
    wait_line_log(d, cmds, lineno + 2, "ADD done", since=at)
    check(": refused:" not in d.proc.output()[at:], "a half line was refused:\n" +
          d.proc.output()[at:])
    check(d.proc.alive(), "vrelayd died")


def test_existing_file_applied_at_start(s):
    """A file already there is carried out at start-up (before vrelayd
    answers), refusals included; appending continues the numbering."""
    cmds = s.path("cmds")
    append(cmds, "add 1 net_ring0\nadd-sock %s net_ring1\nbogus\nremove 1\nadd 4 net_ring2\n" %
           s.path("vm.sock"))
    d = Vrelayd(s, ["--watch-file", cmds]).start()
    check(ids(d) == [0, 4], "relays at start: %s" % ids(d))
    check(relay_map(s) == {0: ("net_ring1", s.path("vm.sock")),
                           4: ("net_ring2", s.path("relay4.sock"))},
          "relays at start: %s" % relay_map(s))
    wait_line_log(d, cmds, 3, "refused:")
    append(cmds, "remove 4\nfrob\n")
    wait_ids(d, [0], "relay 4 gone")
    wait_line_log(d, cmds, 7, "refused:")
    check(d.proc.alive(), "vrelayd died")


def test_truncated_and_rewritten_replayed(s):
    """Truncated in place and rewritten: read again from its first line,
    with line numbers from 1 again. First shorter than what was read, then
    longer (a truncation cannot be told from the size alone then)."""
    cmds = s.path("cmds")
    d = Vrelayd(s, ["--watch-file", cmds]).start()
    append(cmds, "add 1 net_ring0\nadd 2 net_ring1\n# padding padding\nremove 1\n")
    wait_ids(d, [2], "relay 2")
    # shorter: replayed from the start
    at = len(d.proc.output())
    rewrite(cmds, "add 1 net_ring0\n")
    wait_ids(d, [1, 2], "relay 1 back after a shorter rewrite")
    append(cmds, "bogus\n")
    wait_line_log(d, cmds, 2, "refused:", since=at)
    # replaced by rename (a new inode): replayed from the start
    at = len(d.proc.output())
    with open(cmds + ".new", "w") as f:
        f.write("remove 2\n" + "# a comment longer than the file it replaces\n" * 3 +
                "add 3 net_ring3\n")
    os.rename(cmds + ".new", cmds)
    wait_ids(d, [1, 3], "after the file was replaced")
    wait_line_log(d, cmds, 5, "ADD done", since=at)
    # longer than what was read: the same, several times over
    for i in range(5):
        at = len(d.proc.output())
        # the daemon busy with a relay while the file is rewritten (its last
        # line then may or may not be read: the rewrite's first undoes it)
        append(cmds, "add 4 net_ring4\n")
        base = os.stat(cmds).st_size
        body = "remove 4\nremove 3\n# round %d, long enough to pass the old end: %s\n" % (
            i, "x" * base) + "add 5 net_ring5\n"
        rewrite(cmds, body)
        try:
            wait_ids(d, [1, 5], "round %d: replayed after a longer rewrite" % i)
            wait_line_log(d, cmds, 4, "ADD done", since=at)
        except TestFailure as e:
            log = "\n".join(ln for ln in d.proc.output()[at:].splitlines() if cmds in ln)
            raise TestFailure("%s; the daemon's reading of the rewritten file:\n%s" % (e, log))
        rewrite(cmds, "add 3 net_ring3\nremove 5\n")  # shorter again: back to [1, 3]
        wait_ids(d, [1, 3], "round %d: reset" % i)
    check(d.proc.alive(), "vrelayd died")


def test_deleted_and_recreated_replayed(s):
    """Removed and written anew (ext4 hands the new file the old inode
    number at once): read from its first line, however long it is."""
    cmds = s.path("cmds")
    d = Vrelayd(s, ["--watch-file", cmds]).start()
    append(cmds, "add 1 net_ring0\nadd 2 net_ring1\n")
    wait_ids(d, [1, 2], "relays 1 and 2")
    for i in range(3):
        at = len(d.proc.output())
        # the daemon busy with a relay while the file is replaced (its last
        # line then may or may not be read: the new file's first undoes it)
        append(cmds, "add 4 net_ring4\n")
        old = os.stat(cmds)
        os.unlink(cmds)
        body = "remove 4\nremove 2\n# round %d: %s\nadd 3 net_ring3\n" % (
            i, "x" * old.st_size)
        append(cmds, body)
        same = os.stat(cmds).st_ino == old.st_ino
        try:
            wait_ids(d, [1, 3], "round %d: the new file carried out" % i)
            wait_line_log(d, cmds, 4, "ADD done", since=at)
        except TestFailure as e:
            log = "\n".join(ln for ln in d.proc.output()[at:].splitlines() if cmds in ln)
            raise TestFailure("%s (new file %s the old inode number); the daemon's reading of "
                              "it:\n%s" % (e, "has" if same else "does not have", log))
        os.unlink(cmds)
        append(cmds, "add 2 net_ring1\nremove 3\n")
        wait_ids(d, [1, 2], "round %d: reset" % i)
    check(d.proc.alive(), "vrelayd died")
