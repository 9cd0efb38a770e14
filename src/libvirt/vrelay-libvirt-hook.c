/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vrelay-libvirt-hook: libvirt's qemu hook (docs/libvirt.md), so that a
 * `virsh migrate --live` of a guest on vrelay relays gets what
 * vrelay-migrate gives a migration, without vrelay-migrate:
 *
 *  - "DOMAIN migrate begin" runs on the destination host before the
 *    incoming QEMU starts. For each of the domain's vhost-user interfaces
 *    served by the local vrelayd, the hook finds the relay the guest runs
 *    on now among the peers (the relay whose guest has the interface's MAC)
 *    and primes the local relay with what that one learned, setting up the
 *    redirect (another subnet) or handover (one LAN) the move needs
 *    (relaymove.c). The destination relay announces the guest when its
 *    vrings start; with a redirect or handover what reaches the source
 *    after the guest stopped there comes through the tunnel and is held.
 *  - "DOMAIN release end" runs wherever a domain's QEMU went away. A
 *    redirect that brought the guest here ends on both relays (the guest
 *    is gone: shut down, or a migration into here failed); a handover's
 *    source side ends (the guest arrived elsewhere). A redirect from here
 *    to where the guest went stays until its sessions end.
 *
 * Interfaces no local relay serves are left alone, and a host without a
 * running vrelayd is not an error: the hook runs for every domain. Only a
 * move the relays cannot follow (a needed redirect that could not be
 * made, a guest that already came through a redirect) refuses the
 * migration, with the reason on stderr, which libvirt reports.
 *
 * Nothing is written to stdout: for "migrate", libvirt would take it as
 * a replacement of the domain's XML.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlclient.h"
#include "domxml.h"
#include "errmsg.h"
#include "relaymove.h"

#define PROG        "vrelay-libvirt-hook"
#define MAX_IFACES  16
#define MAX_PEERS   64
#define EXIT_REFUSE 1
#define EXIT_USAGE  2

static struct {
	const char *control_dir, *peers;
	enum vr_move_redirect redirect;
	const char *domain;
} opt = {.peers = "/etc/vrelay/peers"};

static char peer_path[MAX_PEERS][VR_PATH_MAX + 256];
static int n_peers;

static void
usage(FILE *out)
{
	fprintf(out,
	        "Usage: %s [OPTION]... DOMAIN OPERATION SUB-OPERATION EXTRA\n"
	        "libvirt's qemu hook for guests on vrelay relays (docs/libvirt.md), the\n"
	        "domain's XML on stdin: primes the destination relay at 'migrate begin',\n"
	        "ends what a move left at 'release end'.\n"
	        "  --control-dir DIR  the local vrelayd's control endpoints (default\n"
	        "                     $VRELAY_CONTROL_DIR or /run/vrelay)\n"
	        "  --peers DIR        one entry per vrelayd a guest may come from: a file\n"
	        "                     naming its tcp:// endpoints and CURVE keys, or a\n"
	        "                     symlink to its control directory (default\n"
	        "                     /etc/vrelay/peers)\n"
	        "  --redirect MODE    as vrelay-migrate's (default auto)\n",
	        PROG);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", PROG, opt.domain);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The peers directory's entries (sorted; none when it is absent). */
static void
load_peers(void)
{
	struct dirent **names;
	int n = scandir(opt.peers, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && n_peers < MAX_PEERS)
			snprintf(peer_path[n_peers++], sizeof(peer_path[0]), "%s/%s", opt.peers,
			         names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

/* The peer relay whose running guest has mac: its id and *at the peer,
 * or -1. Peers that do not answer are passed over (said why). */
static int
find_source(const char *mac, const char **at)
{
	for (int i = 0; i < n_peers; i++) {
		struct vr_ctl c = {PROG, peer_path[i], 2000};
		int id = vr_ctl_relay_find(&c, NULL, mac, true);

		if (id >= 0) {
			*at = peer_path[i];
			return id;
		}
	}
	return -1;
}

/* Before the guest comes here: local relay id primed from the relay it
 * runs on now. 0, or EXIT_REFUSE when the move must not happen. */
static int
incoming(const struct vr_ctl *local, int id, const struct vr_dom_iface *f)
{
	struct vr_move mv = {.prog = PROG, .redirect = opt.redirect};
	struct vr_ctl_relay info;
	const char *at = NULL;
	int sid = find_source(f->mac, &at), n;
	char mac[1][48];

	if (sid < 0) {
		/* the MAC is enough for the switches to learn the new place */
		say("no peer relay runs a guest with MAC %s: relay %d announces the MAC only",
		    f->mac, id);
		snprintf(mac[0], sizeof(mac[0]), "%s", f->mac);
		vr_ctl_announce(local, id, mac, 1, false); /* a refusal is said; the move goes on */
		return 0;
	}
	struct vr_ctl src = {PROG, at, 5000};

	if (vr_ctl_relay_info(&src, sid, &info) == 0 && strcmp(info.role, "destination") == 0) {
		say("relay %d at %s got the guest (%s) through a redirect from %s: moving it on "
		    "under libvirt would end its old sessions; move it with vrelay-migrate, or "
		    "end the redirect first (vrelayctl unredirect)",
		    sid, at, f->mac, info.peer);
		return EXIT_REFUSE;
	}
	n = vr_move_prepare(&mv, at, sid, local->dir, id);
	if (n == -2) {
		say("the redirect for a move into another subnet (relay %d at %s to relay %d) "
		    "could not be set up: the guest's sessions would not survive",
		    sid, at, id);
		return EXIT_REFUSE;
	}
	if (n >= 0)
		say("relay %d primed from relay %d at %s: %d address(es)%s", id, sid, at, n,
		    mv.handover     ? ", handover"
		    : mv.redirected ? ", redirect"
		                    : "");
	return 0;
}

/* The domain's QEMU went away here: end what the guest's moves left on
 * local relay id (see the top of the file). */
static void
released(const struct vr_ctl *local, int id)
{
	struct vr_ctl_relay info;

	if (vr_ctl_relay_info(local, id, &info) < 0 || info.role[0] == '\0')
		return;
	if (strcmp(info.role, "destination") == 0) {
		struct vr_ctl peer = {PROG, info.peer_control, 5000};

		vr_ctl_unredirect(local, id);
		if (info.peer_control[0] != '\0' && info.peer_relay >= 0)
			vr_ctl_unredirect(&peer, info.peer_relay);
		say("relay %d: the guest is gone: its redirect from %s ended", id, info.peer);
	} else if (info.handover) {
		vr_ctl_unredirect(local, id);
		say("relay %d: the guest arrived elsewhere: the handover ended", id);
	}
}

/* The domain's XML from stdin. NULL (said why) when unreadable. */
static char *
read_xml(size_t *len)
{
	size_t cap = 1 << 16;
	char *buf = malloc(cap);

	*len = 0;
	while (buf != NULL) {
		size_t got = fread(buf + *len, 1, cap - *len, stdin);

		*len += got;
		if (got == 0)
			break;
		if (*len == cap) {
			char *more = cap < VR_DOMXML_MAX ? realloc(buf, cap * 2) : NULL;

			if (more == NULL) {
				say("the domain XML on stdin is larger than %d bytes",
				    VR_DOMXML_MAX);
				free(buf);
				return NULL;
			}
			buf = more;
			cap *= 2;
		}
	}
	return buf;
}

static int
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"control-dir", required_argument, NULL, 'd'},
	    {"peers", required_argument, NULL, 'p'},
	    {"redirect", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	opt.control_dir =
	    getenv("VRELAY_CONTROL_DIR") ? getenv("VRELAY_CONTROL_DIR") : "/run/vrelay";
	while ((c = getopt_long(argc, argv, "+d:p:r:h", longopts, NULL)) != -1) {
		if (c == 'd')
			opt.control_dir = optarg;
		else if (c == 'p')
			opt.peers = optarg;
		else if (c == 'r' && strcmp(optarg, "auto") == 0)
			opt.redirect = VR_MOVE_AUTO;
		else if (c == 'r' && strcmp(optarg, "always") == 0)
			opt.redirect = VR_MOVE_ALWAYS;
		else if (c == 'r' && strcmp(optarg, "never") == 0)
			opt.redirect = VR_MOVE_NEVER;
		else if (c == 'h') {
			usage(stdout);
			exit(0);
		} else {
			if (c == 'r')
				fprintf(stderr,
				        "%s: --redirect takes auto, always or never, not '%s'\n",
				        PROG, optarg);
			return -1;
		}
	}
	if (argc - optind != 4) {
		fprintf(stderr,
		        "%s: takes DOMAIN OPERATION SUB-OPERATION EXTRA, got %d argument%s\n", PROG,
		        argc - optind, argc - optind == 1 ? "" : "s");
		return -1;
	}
	opt.domain = argv[optind];
	return 0;
}

int
main(int argc, char **argv)
{
	struct vr_dom_iface ifs[MAX_IFACES];
	char err[VR_ERR_MAX];
	const char *op, *sub;
	bool in, out;
	size_t len;
	char *xml;
	int n, rc = 0;

	if (parse_args(argc, argv) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	op = argv[optind + 1];
	sub = argv[optind + 2];
	in = strcmp(op, "migrate") == 0 && strcmp(sub, "begin") == 0;
	out = strcmp(op, "release") == 0 && strcmp(sub, "end") == 0;
	if (!in && !out)
		return 0; /* nothing to do at the other steps */
	if ((xml = read_xml(&len)) == NULL)
		return in ? EXIT_REFUSE : 0;
	n = vr_domxml_vhostuser(xml, len, ifs, MAX_IFACES, err, sizeof(err));
	free(xml);
	if (n < 0) {
		say("%s", err);
		return in ? EXIT_REFUSE : 0;
	}
	struct vr_ctl local = {PROG, opt.control_dir, 5000};

	load_peers();
	for (int i = 0; i < n && rc == 0; i++) {
		int id = vr_ctl_relay_find(&local, ifs[i].path, NULL, false);

		if (id < 0)
			continue; /* no local vrelayd, or its relay is not on this socket */
		if (in)
			rc = incoming(&local, id, &ifs[i]);
		else
			released(&local, id);
	}
	return rc;
}
