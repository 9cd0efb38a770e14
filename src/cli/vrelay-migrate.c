/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vrelay-migrate: live-migrate a running guest from one QEMU to another
 * that waits with -incoming, each on its own vrelayd relay.
 *
 *  1. QMP to both QEMUs (unix:PATH or tcp:HOST:PORT; IPv6 as tcp:[ADDR]:PORT).
 *     The destination must be in state "inmigrate". With --dst-start the
 *     tool starts the destination itself, and stops it if the guest does
 *     not arrive (a QEMU waiting with -incoming never notices a failure).
 *  2. With --src-relay/--dst-relay: the addresses the source relay learned
 *     of the guest are handed to the destination relay (ANNOUNCE), which
 *     announces them the moment the guest's vrings start there.
 *  3. Sets max-bandwidth and downtime-limit every time (QEMU keeps old ones
 *     on the source), turns on MIGRATION events, and migrates.
 *  4. Waits on events only. A migration whose transferred byte count does
 *     not move for --stall-timeout seconds (a peer silently dropping the
 *     stream: QEMU alone waits forever) is cancelled.
 *  5. Reports the outcome, total time, downtime, setup time and megabytes.
 *
 * Exit: 0 completed; 1 failed, cancelled or stalled (the source runs on);
 * 2 usage error; 3 a QEMU or vrelayd could not be reached or refused a step.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctlclient.h"
#include "relaymove.h"

#define EXIT_FAILED  1
#define EXIT_USAGE   2
#define EXIT_CONNECT 3

struct qmp {
	const char *name; /* "source", "destination" */
	int fd;
	char buf[1 << 16];
	size_t len;
	json_t *events; /* array, in arrival order */
};

static struct {
	const char *src, *dst, *uri;
	long long max_bw;   /* bytes/s */
	long long downtime; /* ms */
	int stall_s, timeout_s;
	const char *src_relay, *dst_relay;
	const char *dst_start; /* shell command starting the destination QEMU */
	const char *tls_dir;   /* --tls: QEMU's x509 credentials directory */
	const char *tls_hostname;
	int multifd;   /* --multifd: channels, 0 for one stream */
	bool compress; /* --compress: multifd's zstd */
	bool json;
} opt = {.max_bw = 1LL << 30, .downtime = 300, .stall_s = 10, .timeout_s = 600};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double
wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("vrelay-migrate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* unix:PATH, PATH, tcp:HOST:PORT or tcp:[V6]:PORT -> connected fd, or -1. */
static int
connect_addr(const char *addr)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	char host[256], *port;
	int fd = -1;

	if (strncmp(addr, "tcp:", 4) != 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		const char *path = strncmp(addr, "unix:", 5) == 0 ? addr + 5 : addr;

		if (strlen(path) >= sizeof(sa.sun_path))
			return -1;
		strcpy(sa.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(fd);
			fd = -1;
		}
		return fd;
	}
	snprintf(host, sizeof(host), "%s", addr + 4);
	port = strrchr(host, ':');
	if (port == NULL)
		return -1;
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* The next message from q, waiting at most timeout_ms; NULL on timeout
 * (errno ETIMEDOUT) or a closed or broken connection. */
static json_t *
qmp_read(struct qmp *q, int timeout_ms)
{
	double deadline = now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = {.fd = q->fd, .events = POLLIN};
		ssize_t n;
		int left;

		if (nl != NULL) {
			json_t *m = json_loadb(q->buf, (size_t)(nl - q->buf), 0, NULL);

			q->len -= (size_t)(nl + 1 - q->buf);
			memmove(q->buf, nl + 1, q->len);
			if (m != NULL)
				return m;
			continue;
		}
		left = (int)(deadline - now_ms());
		if (left <= 0 || poll(&p, 1, left) == 0) {
			errno = ETIMEDOUT;
			return NULL;
		}
		if (q->len == sizeof(q->buf))
			q->len = 0; /* a line longer than 64 KiB: not QMP */
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n <= 0) {
			errno = n == 0 ? ECONNRESET : errno;
			return NULL;
		}
		q->len += (size_t)n;
	}
}

/* Run cmd (arguments args, stolen); its "return", or NULL with the error
 * printed (QEMU's refusal only when refusal_matters). Events read
 * meanwhile are kept. */
static json_t *
qmp_exec(struct qmp *q, const char *cmd, json_t *args, bool refusal_matters)
{
	json_t *req = json_pack("{ss}", "execute", cmd);
	char *text;
	bool sent;

	if (args != NULL)
		json_object_set_new(req, "arguments", args);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	sent = text != NULL &&
	       send(q->fd, text, strlen(text), MSG_NOSIGNAL) == (ssize_t)strlen(text) &&
	       send(q->fd, "\n", 1, MSG_NOSIGNAL) == 1;
	free(text);
	if (!sent) {
		fail_msg("%s QEMU: cannot send %s: %s", q->name, cmd, strerror(errno));
		return NULL;
	}
	for (;;) {
		json_t *m = qmp_read(q, 30000), *ret;

		if (m == NULL) {
			fail_msg("%s QEMU: no answer to %s: %s", q->name, cmd, strerror(errno));
			return NULL;
		}
		if (json_object_get(m, "event") != NULL) {
			json_array_append_new(q->events, m);
			continue;
		}
		ret = json_object_get(m, "return");
		if (ret != NULL) {
			json_incref(ret);
			json_decref(m);
			return ret;
		}
		if (refusal_matters)
			fail_msg("%s QEMU: %s refused: %s", q->name, cmd,
			         json_string_value(
			             json_object_get(json_object_get(m, "error"), "desc")));
		json_decref(m);
		return NULL;
	}
}

static json_t *
qmp_cmd(struct qmp *q, const char *cmd, json_t *args)
{
	return qmp_exec(q, cmd, args, true);
}

static bool
qmp_ok(struct qmp *q, const char *cmd, json_t *args)
{
	json_t *r = qmp_cmd(q, cmd, args);

	json_decref(r);
	return r != NULL;
}

static pid_t dst_pid; /* the destination QEMU we started, if any */

/* Start --dst-start's command in a session of its own (so that a failed
 * migration can stop all of it); 0 or -1. */
static int
start_destination(void)
{
	dst_pid = fork();
	if (dst_pid < 0) {
		fail_msg("cannot start the destination: %s", strerror(errno));
		return -1;
	}
	if (dst_pid == 0) {
		setsid();
		execl("/bin/sh", "sh", "-c", opt.dst_start, (char *)NULL);
		_exit(127);
	}
	return 0;
}

/* A destination we started is stopped when it did not get the guest: QEMU
 * waiting with -incoming never notices a failed migration by itself. */
static void
stop_destination(void)
{
	if (dst_pid <= 0)
		return;
	kill(-dst_pid, SIGKILL);
	waitpid(dst_pid, NULL, 0);
	fail_msg("destination QEMU (pid %d) stopped", (int)dst_pid);
	dst_pid = 0;
}

/* Connect, retrying for up to wait_ms while a destination we started comes
 * up (its QMP socket appears a moment after the process). */
static int
connect_waiting(const char *addr, int wait_ms)
{
	double deadline = now_ms() + wait_ms;
	int fd, status;

	while ((fd = connect_addr(addr)) < 0 && now_ms() < deadline) {
		if (dst_pid > 0 && waitpid(dst_pid, &status, WNOHANG) == dst_pid) {
			fail_msg(
			    "the destination command exited (status %d) before its QMP came up",
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			dst_pid = 0;
			return -1;
		}
		poll(NULL, 0, 50);
	}
	return fd;
}

static int
qmp_open(struct qmp *q, const char *name, const char *addr, int wait_ms)
{
	json_t *greeting;

	q->name = name;
	q->events = json_array();
	q->fd = connect_waiting(addr, wait_ms);
	if (q->fd < 0) {
		fail_msg("%s QEMU: cannot connect to QMP at %s: %s", name, addr, strerror(errno));
		return -1;
	}
	greeting = qmp_read(q, 10000);
	if (greeting == NULL || json_object_get(greeting, "QMP") == NULL) {
		fail_msg("%s QEMU: %s does not greet as QMP (busy with another client?)", name,
		         addr);
		json_decref(greeting);
		return -1;
	}
	json_decref(greeting);
	return qmp_ok(q, "qmp_capabilities", NULL) ? 0 : -1;
}

static const char *
run_state(struct qmp *q, char *buf, size_t len)
{
	json_t *r = qmp_cmd(q, "query-status", NULL);

	snprintf(buf, len, "%s", r ? json_string_value(json_object_get(r, "status")) : "unknown");
	json_decref(r);
	return buf;
}

/* DIR:ID -> the two parts; false if malformed. */
static bool
split_relay(const char *arg, char *dir, size_t len, int *id)
{
	const char *colon = strrchr(arg, ':');
	char *end;
	long v;

	if (colon == NULL || colon == arg || (size_t)(colon - arg) >= len)
		return false;
	v = strtol(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || v < 0 || v >= 64)
		return false;
	memcpy(dir, arg, (size_t)(colon - arg));
	dir[colon - arg] = '\0';
	*id = (int)v;
	return true;
}

/* The relays' side of the move (relaymove.c). */
static struct vr_move move = {.prog = "vrelay-migrate"};

/* --src-relay and --dst-relay primed for the move: the number of
 * addresses handed over, or -1 (printed). */
static int
prepare_relays(void)
{
	char sdir[4096], ddir[4096];
	int sid, did, n;

	if (!split_relay(opt.src_relay, sdir, sizeof(sdir), &sid) ||
	    !split_relay(opt.dst_relay, ddir, sizeof(ddir), &did)) {
		fail_msg("--src-relay/--dst-relay take CONTROL_DIR:RELAY_ID");
		return -1;
	}
	n = vr_move_prepare(&move, sdir, sid, ddir, did);
	if (n == -2)
		fail_msg("the redirect for a move into another subnet could not be set up");
	return n < 0 ? -1 : n;
}

struct result {
	char status[32];
	char error[512];
	double total, downtime, setup, mbytes, multifd_mbytes, stop_to_resume;
	double stop_wall, resume_wall; /* when the events arrived, for peers' logs */
	int announced;
};

static double
num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* Fill r from query-migrate once the destination has resumed. */
static void
collect(struct qmp *src, struct result *r)
{
	json_t *m = qmp_cmd(src, "query-migrate", NULL);
	const char *e;

	if (m == NULL)
		return;
	r->total = num(m, "total-time");
	r->downtime = num(m, "downtime");
	r->setup = num(m, "setup-time");
	r->mbytes = num(json_object_get(m, "ram"), "transferred") / 1e6;
	r->multifd_mbytes = num(json_object_get(m, "ram"), "multifd-bytes") / 1e6;
	e = json_string_value(json_object_get(m, "error-desc"));
	if (e != NULL)
		snprintf(r->error, sizeof(r->error), "%s", e);
	json_decref(m);
}

/* One message from the destination: times its RESUME; false once it is
 * gone (a destination that fails exits). */
static bool
read_destination(struct qmp *dst, struct result *r, double *resumed, int timeout_ms)
{
	json_t *e = qmp_read(dst, timeout_ms);
	const char *ev = json_string_value(json_object_get(e, "event"));

	if (e == NULL) {
		close(dst->fd);
		dst->fd = -1;
		return false;
	}
	if (ev != NULL && strcmp(ev, "RESUME") == 0 && *resumed == 0) {
		*resumed = now_ms();
		r->resume_wall = wall_s();
	}
	json_decref(e);
	return true;
}

/* The next message from the source, or NULL; also serves the destination
 * while waiting (up to 1 s). *lost: the source went away. */
static json_t *
next_source_message(struct qmp *src, struct qmp *dst, struct result *r, double *resumed, bool *lost)
{
	struct pollfd p[2] = {{.fd = src->fd, .events = POLLIN}, {.fd = dst->fd, .events = POLLIN}};
	json_t *m = NULL;

	if (json_array_size(src->events) > 0) {
		m = json_incref(json_array_get(src->events, 0));
		json_array_remove(src->events, 0);
		return m;
	}
	if (src->len == 0 && poll(p, 2, 1000) <= 0)
		return NULL;
	if (dst->fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)))
		read_destination(dst, r, resumed, 1000);
	if (src->len > 0 || (p[0].revents & (POLLIN | POLLHUP)))
		m = qmp_read(src, 1000);
	*lost = m == NULL && (p[0].revents & POLLHUP);
	return m;
}

/* "completed", "failed" or "cancelled" from a MIGRATION event, else NULL. */
static const char *
final_status(json_t *m)
{
	const char *ev = json_string_value(json_object_get(m, "event"));
	const char *st = json_string_value(json_object_get(json_object_get(m, "data"), "status"));

	if (ev == NULL || strcmp(ev, "MIGRATION") != 0 || st == NULL)
		return NULL;
	if (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0 ||
	    strcmp(st, "cancelled") == 0)
		return st;
	return NULL;
}

/* Checked once a second: true when no byte has moved for --stall-timeout. */
struct progress {
	double bytes, at;
};

static bool
stalled(struct qmp *src, struct progress *pr)
{
	json_t *q;
	double bytes;
	bool stuck = false;

	if (now_ms() - pr->at <= 1000)
		return false;
	q = qmp_cmd(src, "query-migrate", NULL);
	bytes = num(json_object_get(q, "ram"), "transferred");
	if (bytes != pr->bytes) {
		pr->bytes = bytes;
		pr->at = now_ms();
	} else if (now_ms() - pr->at > opt.stall_s * 1000.0) {
		fail_msg("no progress for %d s (%.1f MB sent): cancelling", opt.stall_s,
		         bytes / 1e6);
		stuck = true;
	}
	json_decref(q);
	return stuck;
}

/* The migration's final status from MIGRATION events on src, the STOP on
 * src and RESUME on dst timed on the way; cancels a stalled one. */
static void
wait_outcome(struct qmp *src, struct qmp *dst, struct result *r)
{
	double deadline = now_ms() + opt.timeout_s * 1000.0, stopped = 0, resumed = 0;
	struct progress pr = {.bytes = -1, .at = now_ms()};
	bool cancelling = false, lost = false;

	for (;;) {
		json_t *m = next_source_message(src, dst, r, &resumed, &lost);
		const char *ev = json_string_value(json_object_get(m, "event"));
		const char *st = final_status(m);

		if (lost) {
			snprintf(r->status, sizeof(r->status), "source-lost");
			return;
		}
		if (ev != NULL && strcmp(ev, "STOP") == 0 && stopped == 0) {
			stopped = now_ms();
			r->stop_wall = wall_s();
			vr_move_stopped(&move);
		}
		if (st != NULL)
			snprintf(r->status, sizeof(r->status), "%s",
			         strcmp(st, "cancelled") == 0 && cancelling ? "stalled" : st);
		json_decref(m);
		if (st != NULL)
			break;
		if (now_ms() > deadline && !cancelling) {
			fail_msg("no outcome within %d s: cancelling", opt.timeout_s);
			cancelling = qmp_ok(src, "migrate_cancel", NULL);
		}
		if (!cancelling && stalled(src, &pr))
			cancelling = qmp_ok(src, "migrate_cancel", NULL);
	}
	/* the statistics are filled a moment after "completed": after RESUME */
	while (strcmp(r->status, "completed") == 0 && resumed == 0 && dst->fd >= 0 &&
	       read_destination(dst, r, &resumed, 5000))
		;
	if (stopped > 0 && resumed > 0)
		r->stop_to_resume = resumed - stopped;
	collect(src, r);
}

/* What became of the redirect the guest had, for the report. */
static const char *
follow_name(void)
{
	if (!move.followed)
		return "none";
	return move.follow == FOLLOW_HOME ? "home" : "onward";
}

static void
report(const struct result *r, struct qmp *src)
{
	char state[32];

	run_state(src, state, sizeof(state));
	if (opt.json) {
		json_t *o = json_pack(
		    "{ss ss sf sf sf sf sf si ss sb}", "status", r->status, "uri", opt.uri,
		    "total_ms", r->total, "downtime_ms", r->downtime, "setup_ms", r->setup,
		    "mbytes", r->mbytes, "stop_to_resume_ms", r->stop_to_resume, "announced",
		    r->announced, "source_state", state, "redirect", move.redirected);

		json_object_set_new(o, "multifd_mbytes", json_real(r->multifd_mbytes));
		if (r->error[0] != '\0')
			json_object_set_new(o, "error", json_string(r->error));
		json_object_set_new(o, "redirect_moved", json_string(follow_name()));
		json_object_set_new(o, "own_redirect", json_boolean(move.own));
		json_object_set_new(o, "handover", json_boolean(move.handover));
		json_object_set_new(o, "stop_wall", json_real(r->stop_wall));
		json_object_set_new(o, "resume_wall", json_real(r->resume_wall));
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		return;
	}
	printf("migration %s via %s\n", r->status, opt.uri);
	if (r->error[0] != '\0')
		printf("  error          %s\n", r->error);
	printf("  total time     %.0f ms\n  downtime       %.0f ms (QEMU)\n", r->total,
	       r->downtime);
	if (r->stop_to_resume > 0)
		printf("  stop->resume   %.0f ms (seen on QMP)\n", r->stop_to_resume);
	printf("  setup time     %.0f ms\n  transferred    %.1f MB\n", r->setup, r->mbytes);
	printf("  announced      %d address(es) primed on the destination relay\n", r->announced);
	printf("  redirect       %s\n", move.handover     ? "a handover: what reached the source "
	                                                    "during the switchover went on to the "
	                                                    "destination"
	                                : move.redirected ? "yes: the old addresses go through the "
	                                                    "relays' tunnel"
	                                                  : "no");
	if (move.followed)
		printf("  old redirect   %s%s\n",
		       move.follow == FOLLOW_HOME ? "ended: the guest is home"
		                                  : "moved: it ends at the destination now",
		       move.own ? "; a new one carries the source LAN's addresses" : "");
	printf("  source guest   %s\n", state);
}

static void
usage(FILE *out)
{
	fprintf(out,
	        "Usage: vrelay-migrate --src QMP --dst QMP --uri URI [options]\n"
	        "  QMP: unix:PATH, PATH, tcp:HOST:PORT, tcp:[IPV6]:PORT\n"
	        "  URI: QEMU's migration URI: unix:PATH, tcp:HOST:PORT, tcp:[IPV6]:PORT\n"
	        "  --max-bandwidth BYTES/S   (default 1 GiB/s)  --downtime-limit MS (default 300)\n"
	        "  --stall-timeout S  cancel when nothing moves this long (default 10)\n"
	        "  --timeout S        give up after this long (default 600)\n"
	        "  --src-relay DIR:ID --dst-relay DIR:ID   vrelayd control directories (or\n"
	        "                     files naming a remote vrelayd's tcp:// endpoints and\n"
	        "                     CURVE keys: docs/control.md) and relays: the\n"
	        "                     destination announces the guest on start\n"
	        "  --redirect auto|always|never   the relays carry the guest's old addresses\n"
	        "                     through a tunnel (docs/tunnel.md): auto, when the\n"
	        "                     destination's underlay is in another subnet; a\n"
	        "                     redirect the guest has moves along in any case\n"
	        "  --tls DIR          the migration stream in TLS: QEMU's tls-creds-x509 on\n"
	        "                     both sides from DIR (ca-cert.pem, server-cert.pem,\n"
	        "                     server-key.pem, client-cert.pem, client-key.pem), each\n"
	        "                     verifying the other  --tls-hostname NAME  the name the\n"
	        "                     destination's certificate must carry (default: --uri's)\n"
	        "  --multifd N        the RAM in N parallel channels  --compress  zstd on them\n"
	        "  --dst-start CMD    start the destination QEMU (sh -c CMD, waiting with\n"
	        "                     -incoming) and stop it again if the migration fails\n"
	        "  --json             one JSON object instead of the table\n"
	        "Exit: 0 completed, 1 failed/cancelled/stalled, 2 usage, 3 unreachable.\n");
}

static int
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {{"src", 1, NULL, 's'},
	                                   {"dst", 1, NULL, 'd'},
	                                   {"uri", 1, NULL, 'u'},
	                                   {"max-bandwidth", 1, NULL, 'b'},
	                                   {"downtime-limit", 1, NULL, 'l'},
	                                   {"stall-timeout", 1, NULL, 'S'},
	                                   {"timeout", 1, NULL, 'T'},
	                                   {"src-relay", 1, NULL, 'r'},
	                                   {"dst-relay", 1, NULL, 'R'},
	                                   {"json", 0, NULL, 'j'},
	                                   {"dst-start", 1, NULL, 'D'},
	                                   {"redirect", 1, NULL, 'X'},
	                                   {"tls", 1, NULL, 't'},
	                                   {"tls-hostname", 1, NULL, 'H'},
	                                   {"multifd", 1, NULL, 'M'},
	                                   {"compress", 0, NULL, 'C'},
	                                   {"help", 0, NULL, 'h'},
	                                   {NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		char *end = NULL;
		long long v = 0;

		if (strchr("blSTM", c) != NULL) {
			v = strtoll(optarg, &end, 10);
			if (*end != '\0' || v <= 0) {
				fail_msg("'%s' is not a positive number", optarg);
				return -1;
			}
		}
		switch (c) {
		case 's':
			opt.src = optarg;
			break;
		case 'd':
			opt.dst = optarg;
			break;
		case 'u':
			opt.uri = optarg;
			break;
		case 'b':
			opt.max_bw = v;
			break;
		case 'l':
			opt.downtime = v;
			break;
		case 'S':
			opt.stall_s = (int)v;
			break;
		case 'T':
			opt.timeout_s = (int)v;
			break;
		case 'r':
			opt.src_relay = optarg;
			break;
		case 'R':
			opt.dst_relay = optarg;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'D':
			opt.dst_start = optarg;
			break;
		case 't':
			opt.tls_dir = optarg;
			break;
		case 'H':
			opt.tls_hostname = optarg;
			break;
		case 'M':
			if (v > 255) {
				fail_msg("--multifd takes 1..255 channels, not %lld", v);
				return -1;
			}
			opt.multifd = (int)v;
			break;
		case 'C':
			opt.compress = true;
			break;
		case 'X':
			if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "always") != 0 &&
			    strcmp(optarg, "never") != 0) {
				fail_msg("--redirect takes auto, always or never, not '%s'",
				         optarg);
				return -1;
			}
			move.redirect = optarg[0] == 'a' && optarg[1] == 'l' ? VR_MOVE_ALWAYS
			                : optarg[0] == 'n'                   ? VR_MOVE_NEVER
			                                                     : VR_MOVE_AUTO;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (opt.src == NULL || opt.dst == NULL || opt.uri == NULL || optind != argc) {
		fail_msg("--src, --dst and --uri are required, and nothing else");
		return -1;
	}
	if (opt.compress && opt.multifd == 0) {
		fail_msg("--compress compresses multifd's channels: give --multifd N too");
		return -1;
	}
	if ((opt.src_relay == NULL) != (opt.dst_relay == NULL)) {
		fail_msg("--src-relay and --dst-relay go together");
		return -1;
	}
	return 0;
}

#define TLS_ID "vrelay-migrate-tls"

/* --tls: QEMU's tls-creds-x509 on both sides, the destination the server
 * and the source its client, each verifying the other against the CA of
 * the directory; the migration stream is TLS. Without --tls the source's
 * tls-creds are cleared (QEMU keeps the last run's). True when set. */
static bool
tls_setup(struct qmp *src, struct qmp *dst)
{
	struct qmp *side[2] = {dst, src};

	if (opt.tls_dir == NULL)
		return qmp_ok(src, "migrate-set-parameters", json_pack("{ss}", "tls-creds", ""));
	for (int i = 0; i < 2; i++) {
		json_t *args = json_pack("{ss ss ss ss sb}", "qom-type", "tls-creds-x509", "id",
		                         TLS_ID, "dir", opt.tls_dir, "endpoint",
		                         i == 0 ? "server" : "client", "verify-peer", 1);

		/* one left by an earlier run goes first (none: a refusal that
		 * does not matter) */
		json_decref(
		    qmp_exec(side[i], "object-del", json_pack("{ss}", "id", TLS_ID), false));
		if (!qmp_ok(side[i], "object-add", args) ||
		    !qmp_ok(side[i], "migrate-set-parameters",
		            i == 0 ? json_pack("{ss}", "tls-creds", TLS_ID)
		                   : json_pack("{ss ss}", "tls-creds", TLS_ID, "tls-hostname",
		                               opt.tls_hostname != NULL ? opt.tls_hostname : "")))
			return false;
	}
	return true;
}

/* --multifd N [--compress]: the RAM in N parallel channels (zstd-compressed),
 * set on both sides, as QEMU wants; without it one stream, both sides
 * told so (QEMU keeps the last run's). True when set. */
static bool
multifd_setup(struct qmp *src, struct qmp *dst)
{
	struct qmp *side[2] = {dst, src};

	for (int i = 0; i < 2; i++)
		if (!qmp_ok(side[i], "migrate-set-capabilities",
		            json_pack("{s[{sssb}]}", "capabilities", "capability", "multifd",
		                      "state", opt.multifd > 0)) ||
		    (opt.multifd > 0 &&
		     !qmp_ok(side[i], "migrate-set-parameters",
		             json_pack("{siss}", "multifd-channels", opt.multifd,
		                       "multifd-compression", opt.compress ? "zstd" : "none"))))
			return false;
	return true;
}

/* Everything after the source's QMP is open; the exit code. */
static int
setup_and_migrate(struct qmp *src, struct qmp *dst, struct result *r)
{
	char state[32];
	const char *st;
	json_t *active;
	bool busy;

	if (qmp_open(dst, "destination", opt.dst, opt.dst_start != NULL ? 60000 : 0) < 0)
		return EXIT_CONNECT;
	if (strcmp(run_state(dst, state, sizeof(state)), "inmigrate") != 0) {
		fail_msg("destination QEMU is '%s', not waiting for a migration (-incoming)",
		         state);
		return EXIT_CONNECT;
	}
	active = qmp_cmd(src, "query-migrate", NULL);
	st = json_string_value(json_object_get(active, "status"));
	busy = st != NULL && (strcmp(st, "active") == 0 || strcmp(st, "setup") == 0);
	if (busy)
		fail_msg("source QEMU is already migrating (%s)", st);
	json_decref(active);
	if (busy)
		return EXIT_CONNECT;
	if (opt.src_relay != NULL && (r->announced = prepare_relays()) < 0)
		return EXIT_CONNECT;
	if (!tls_setup(src, dst) || !multifd_setup(src, dst) ||
	    !qmp_ok(src, "migrate-set-capabilities",
	            json_pack("{s[{sssb}]}", "capabilities", "capability", "events", "state", 1)) ||
	    !qmp_ok(src, "migrate-set-parameters",
	            json_pack("{sIsI}", "max-bandwidth", (json_int_t)opt.max_bw, "downtime-limit",
	                      (json_int_t)opt.downtime)) ||
	    !qmp_ok(src, "migrate", json_pack("{ss}", "uri", opt.uri))) {
		vr_move_undo(&move);
		return EXIT_CONNECT;
	}
	wait_outcome(src, dst, r);
	if (strcmp(r->status, "completed") != 0)
		vr_move_undo(&move);
	else
		vr_move_completed(&move);
	report(r, src);
	return strcmp(r->status, "completed") == 0 ? 0 : EXIT_FAILED;
}

int
main(int argc, char **argv)
{
	struct qmp src = {0}, dst = {.fd = -1};
	struct result r = {.status = "not-started"};
	int rc;

	if (parse_args(argc, argv) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (qmp_open(&src, "source", opt.src, 0) < 0)
		return EXIT_CONNECT;
	if (opt.dst_start != NULL && start_destination() < 0)
		return EXIT_CONNECT;
	rc = setup_and_migrate(&src, &dst, &r);
	if (rc != 0)
		stop_destination();
	return rc;
}
