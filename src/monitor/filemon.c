/* SPDX-License-Identifier: BSD-3-Clause */
#include "filemon.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_hash_crc.h>

#include "ctl.h"
#include "config.h"
#include "control.h"
#include "errmsg.h"
#include "filecmd.h"
#include "log.h"
#include "netdev_vf.h"
#include "safefile.h"

#define CHUNK 65536
/* Chunks read per wakeup: a file that keeps growing cannot hold the control
 * thread; the rest is read after one pass of the control loop. */
#define CHUNKS_PER_PASS 16

static struct {
	int fd; /* inotify */
	char path[VR_PATH_MAX * 2];
	char name[VR_PATH_MAX];
	off_t offset; /* bytes of the file consumed (complete lines) */
	/* the file the offset belongs to: inode number and birth time, as a
	 * new file may get the inode number of the one it replaced */
	uint64_t ino;
	struct statx_timestamp born;
	uint32_t crc;             /* of the bytes consumed, to notice them rewritten */
	int more;                 /* timer fd: lines are left to read */
	char refusal[VR_ERR_MAX]; /* why the file was last refused, logged once */
	bool skipping;            /* inside a line too long to take */
	const char *sysfs;        /* where add_port/del_port netdevs are looked up */
	unsigned long lineno, done, refused;
} fm = {.fd = -1, .more = -1, .sysfs = "/sys"};

/* A line refused: counted and logged as PATH:LINE: refused: reason. */
#define refuse(fmt, ...)                                                                           \
	do {                                                                                       \
		fm.lineno++;                                                                       \
		fm.refused++;                                                                      \
		VR_LOG(WARNING, "%s:%lu: refused: " fmt, fm.path, fm.lineno, ##__VA_ARGS__);       \
	} while (0)

/* add_port/del_port NETDEV: the relay is the VF's index, the device its
 * PCI address, as virtio-forwarder's file monitor has it. */
static int
netdev_to_relay(struct vr_port_req *q, struct vr_ctl_result *res)
{
	char pci[VR_MEMBER_MAX], sub[VR_ERR_MAX];
	int vf;

	if (vr_netdev_vf(fm.sysfs, q->device, pci, &vf, sub, sizeof(sub)) < 0)
		return vr_err(res->msg, sizeof(res->msg), "%s %s: %s", vr_port_op_name(q->op),
		              q->device, sub);
	q->id = vf;
	snprintf(q->device, sizeof(q->device), "%s", q->op == VR_PORT_ADD ? pci : "");
	return 0;
}

static void
run_line(const char *line)
{
	struct vr_port_req q;
	struct vr_ctl_result res;
	int rc = vr_filecmd_parse(line, &q, res.msg, sizeof(res.msg));
	bool command = rc > 0; /* 0: a comment or a blank line */

	if (rc == 2)
		rc = netdev_to_relay(&q, &res);
	if (command && rc >= 0)
		rc = ctl_port(&q, &res);
	if (rc < 0) {
		refuse("%s", res.msg);
		return;
	}
	fm.lineno++;
	if (command) {
		fm.done++;
		VR_LOG(INFO, "%s:%lu: %s done", fm.path, fm.lineno, vr_port_op_name(q.op));
	}
}

static void
start_over(void)
{
	fm.offset = 0;
	fm.lineno = 0;
	fm.crc = 0;
	fm.skipping = false;
}

/* Whether the bytes already consumed are still the file's first bytes: a
 * file truncated and rewritten longer between two reads, or replaced by a
 * new file that got the old inode number, is told apart only by content. */
static bool
prefix_unchanged(int fd, char *buf)
{
	uint32_t crc = 0;
	off_t at = 0;

	while (at < fm.offset) {
		size_t want = (size_t)(fm.offset - at) < CHUNK ? (size_t)(fm.offset - at) : CHUNK;
		ssize_t n = pread(fd, buf, want, at);

		if (n <= 0)
			return false;
		crc = rte_hash_crc(buf, (uint32_t)n, crc);
		at += n;
	}
	return crc == fm.crc;
}

/* One complete line, p up to its newline nl. The end of a line too long to
 * read whole is dropped with it, never taken for a command of its own. */
static void
take_line(char *p, char *nl)
{
	/* before the line is cut: the sum is of the file's bytes */
	fm.crc = rte_hash_crc(p, (uint32_t)(nl + 1 - p), fm.crc);
	*nl = '\0';
	if (fm.skipping)
		fm.skipping = false;
	else if (strlen(p) != (size_t)(nl - p))
		refuse("NUL byte in line");
	else
		run_line(p);
}

/* A path that is there but not a file we may read (a FIFO, a device, a
 * directory): said once, until it changes. */
static int
open_watched(void)
{
	char err[VR_ERR_MAX];
	int fd;

	errno = 0;
	fd = vr_open_regular(fm.path, 0, err, sizeof(err));
	if (fd >= 0 && vr_check_trusted(fd, fm.path, err, sizeof(err)) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0 || errno == ENOENT) {
		fm.refusal[0] = '\0'; /* not there (yet): its creation wakes us */
		return fd;
	}
	if (strcmp(err, fm.refusal) != 0)
		VR_LOG(WARNING, "watch-file refused: %s", err);
	snprintf(fm.refusal, sizeof(fm.refusal), "%s", err);
	return -1;
}

/* Carry out the complete lines after the offset, at most CHUNKS_PER_PASS
 * chunks of them; the timer brings the control loop back for the rest. */
static void
read_new_lines(void)
{
	static char buf[CHUNK + 1];
	struct statx st;
	int fd = open_watched(), chunks = 0;
	ssize_t n;

	if (fd < 0)
		return;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_SIZE | STATX_BTIME, &st) == 0 &&
	    (st.stx_ino != fm.ino || memcmp(&st.stx_btime, &fm.born, sizeof(fm.born)) != 0 ||
	     st.stx_size < (uint64_t)fm.offset || !prefix_unchanged(fd, buf))) {
		fm.ino = st.stx_ino; /* replaced or rewritten: start over */
		fm.born = st.stx_btime;
		start_over();
	}
	while ((n = pread(fd, buf, CHUNK, fm.offset)) > 0) {
		char *p = buf, *nl;

		buf[n] = '\0';
		while ((nl = memchr(p, '\n', (size_t)(buf + n - p))) != NULL) {
			take_line(p, nl);
			p = nl + 1;
		}
		if (p == buf && n == CHUNK) { /* a line longer than CHUNK */
			if (!fm.skipping)
				refuse("line longer than %d bytes", CHUNK);
			fm.skipping = true;
			fm.crc = rte_hash_crc(buf, (uint32_t)n, fm.crc);
			p = buf + n;
		}
		fm.offset += p - buf;
		if (n < CHUNK)
			break;
		if (++chunks == CHUNKS_PER_PASS) {
			control_timer_arm(fm.more, 1);
			break;
		}
	}
	close(fd);
}

static void
on_more(void *arg)
{
	uint64_t ticks;

	(void)arg;
	if (read(fm.more, &ticks, sizeof(ticks)) > 0)
		read_new_lines();
}

static void
on_inotify(void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool ours = false;
	ssize_t n;

	(void)arg;
	while ((n = read(fm.fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->len > 0 && strcmp(ev->name, fm.name) == 0)
				ours = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (ours)
		read_new_lines();
}

int
filemon_start(const char *path, char *err, size_t errlen)
{
	char dir[VR_PATH_MAX * 2], base[VR_PATH_MAX * 2];

	snprintf(fm.path, sizeof(fm.path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	snprintf(fm.name, sizeof(fm.name), "%s", basename(base));
	fm.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fm.fd < 0)
		return vr_err(err, errlen, "watch-file: inotify: %s", strerror(errno));
	fm.more = control_timer_new();
	if (fm.more < 0 || control_watch(fm.more, NULL, on_more, NULL) < 0) {
		vr_err(err, errlen, "watch-file: timer: %s", strerror(errno));
		filemon_stop();
		return -1;
	}
	/* the directory, so that a file created, replaced or removed is seen */
	if (inotify_add_watch(fm.fd, dirname(dir),
	                      IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO | IN_DELETE |
	                          IN_MOVED_FROM) < 0 ||
	    control_watch(fm.fd, NULL, on_inotify, NULL) < 0) {
		vr_err(err, errlen, "watch-file %s: cannot watch its directory: %s", path,
		       strerror(errno));
		filemon_stop();
		return -1;
	}
	VR_LOG(INFO, "control: following commands in %s", path);
	read_new_lines();
	return 0;
}

void
filemon_stop(void)
{
	if (fm.more >= 0) {
		control_unwatch(fm.more, NULL);
		close(fm.more);
		fm.more = -1;
	}
	if (fm.fd < 0)
		return;
	control_unwatch(fm.fd, NULL);
	close(fm.fd);
	fm.fd = -1;
}
