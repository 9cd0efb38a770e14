/* SPDX-License-Identifier: BSD-3-Clause */
#include "cmdline.h"

#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"

enum {
	OPT_FILE_PREFIX = 256,
	OPT_SOCKET_DIR,
	OPT_SOCKET_OWNER,
	OPT_SOCKET_GROUP,
	OPT_SOCKET_MODE,
	OPT_RETRY_US,
	OPT_CHECK,
	OPT_CONTROL_DIR,
	OPT_OVSDB,
	OPT_WATCH_FILE,
	OPT_SET,
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"workers", required_argument, NULL, 'w'},
    {"relay", required_argument, NULL, 'r'},
    {"pin", required_argument, NULL, 'p'},
    {"main-cpu", required_argument, NULL, 'm'},
    {"log-level", required_argument, NULL, 'l'},
    {"file-prefix", required_argument, NULL, OPT_FILE_PREFIX},
    {"socket-dir", required_argument, NULL, OPT_SOCKET_DIR},
    {"socket-owner", required_argument, NULL, OPT_SOCKET_OWNER},
    {"socket-group", required_argument, NULL, OPT_SOCKET_GROUP},
    {"socket-mode", required_argument, NULL, OPT_SOCKET_MODE},
    {"retry-us", required_argument, NULL, OPT_RETRY_US},
    {"control-dir", required_argument, NULL, OPT_CONTROL_DIR},
    {"ovsdb", required_argument, NULL, OPT_OVSDB},
    {"watch-file", required_argument, NULL, OPT_WATCH_FILE},
    {"set", required_argument, NULL, OPT_SET},
    {"check", no_argument, NULL, OPT_CHECK},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* daemon key for each long option that maps 1:1 onto a config key */
static const char *
daemon_key(int opt)
{
	switch (opt) {
	case 'w':
		return "workers";
	case 'm':
		return "main-cpu";
	case 'l':
		return "log-level";
	case OPT_FILE_PREFIX:
		return "file-prefix";
	case OPT_SOCKET_DIR:
		return "socket-dir";
	case OPT_SOCKET_OWNER:
		return "socket-owner";
	case OPT_SOCKET_GROUP:
		return "socket-group";
	case OPT_SOCKET_MODE:
		return "socket-mode";
	case OPT_RETRY_US:
		return "retry-us";
	case OPT_CONTROL_DIR:
		return "control-dir";
	case OPT_OVSDB:
		return "ovsdb";
	case OPT_WATCH_FILE:
		return "watch-file";
	default:
		return NULL;
	}
}

void
vr_cmdline_usage(FILE *out, const char *prog)
{
	fprintf(
	    out,
	    "Usage: %s [options] [-- EAL options]\n"
	    "Relay packets between DPDK devices and QEMU virtio-net over vhost-user.\n\n"
	    "  -c, --config FILE        config file (docs/configuration.md)\n"
	    "  -w, --workers LIST       worker CPUs, e.g. 1,2 or 2-5 or 0x6\n"
	    "  -r, --relay SPEC         add a relay: 'id=N device=DEVARGS [socket=PATH]\n"
	    "                           [mode=server|client] [queues=N] [mtu=N]\n"
	    "                           [mrgbuf=yes|no] [tso=yes|no] [cpu=C[,C]]' (repeatable)\n"
	    "  -p, --pin ID:CPU[,CPU]   pin relay ID (both directions, or\n"
	    "                           guest-to-device,device-to-guest) (repeatable)\n"
	    "  -m, --main-cpu N         CPU of the control thread\n"
	    "  -l, --log-level LEVEL    emerg..debug or 1..8 (default info)\n"
	    "      --file-prefix NAME   DPDK runtime prefix (default vrelay)\n"
	    "      --socket-dir DIR     default socket directory (default /run/vrelay)\n"
	    "      --socket-owner USER  owner of server-mode sockets\n"
	    "      --socket-group GROUP group of server-mode sockets\n"
	    "      --socket-mode MODE   octal mode of server-mode sockets (default 0660)\n"
	    "      --retry-us N         how long a full peer ring is retried before the\n"
	    "                           waiting packets are dropped (default 1000)\n"
	    "      --control-dir DIR    directory of the control endpoints (default /run/vrelay)\n"
	    "      --ovsdb PATH         follow ovsdb-server's Interface table on this socket\n"
	    "      --watch-file PATH    follow add/remove lines written to this file\n"
	    "      --set KEY=VALUE      any [daemon] key of the config file (repeatable)\n"
	    "      --check              validate the configuration and exit\n"
	    "  -h, --help               this text\n"
	    "  -V, --version            print the version\n\n"
	    "Signals: SIGHUP reloads the configuration (relays added, removed, re-pinned);\n"
	    "SIGTERM/SIGINT stop cleanly. Counters: dpdk-telemetry.py -f PREFIX, /vrelay/...\n",
	    prog);
}

/* Options that add relays or pins apply after the config file. */
struct deferred {
	int n;
	struct {
		int opt;
		const char *arg;
	} item[2 * VR_MAX_RELAYS + 32];
};

static int
apply_pin(struct vr_conf *conf, const char *arg, char *err, size_t errlen)
{
	char sub[VR_ERR_MAX];
	const char *colon = strchr(arg, ':');
	int id, cpu[2];

	if (colon == NULL || colon == arg)
		return vr_err(err, errlen, "--pin '%s': expected RELAY:CPU[,CPU]", arg);
	id = vr_relay_id_parse(arg, colon);
	if (id < 0)
		return vr_err(err, errlen, "--pin '%s': '%.*s' is not a relay id (0..%d)", arg,
		              (int)(colon - arg), arg, VR_MAX_RELAYS - 1);
	if (vr_pin_parse(cpu, colon + 1, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "--pin: %s", sub);
	for (uint16_t i = 0; i < conf->n_relays; i++) {
		if (conf->relays[i].id == id) {
			conf->relays[i].cpu[0] = cpu[0];
			conf->relays[i].cpu[1] = cpu[1];
			return 0;
		}
	}
	return vr_err(err, errlen, "--pin '%s': no relay %d is configured", arg, id);
}

static int
apply_relay(struct vr_conf *conf, const char *arg, char *err, size_t errlen)
{
	struct vr_relay_conf r;
	char sub[VR_ERR_MAX];

	if (vr_relay_conf_parse_spec(&r, &conf->defaults, arg, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "--relay: %s", sub);
	for (uint16_t i = 0; i < conf->n_relays; i++)
		if (conf->relays[i].id == r.id)
			return vr_err(err, errlen, "--relay: relay %d is already defined", r.id);
	if (conf->n_relays >= VR_MAX_RELAYS)
		return vr_err(err, errlen, "--relay: more than %d relays", VR_MAX_RELAYS);
	conf->relays[conf->n_relays++] = r;
	return 0;
}

static int
apply_set(struct vr_conf *conf, const char *arg, char *err, size_t errlen)
{
	char key[64], sub[VR_ERR_MAX];
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(key))
		return vr_err(err, errlen, "--set '%s': expected KEY=VALUE", arg);
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	if (vr_conf_set_daemon(conf, key, eq + 1, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "--set %s: %s", key, sub);
	return 0;
}

static int
apply_deferred(struct vr_conf *conf, const struct deferred *df, char *err, size_t errlen)
{
	char sub[VR_ERR_MAX];

	/* daemon settings first: relay specs inherit their defaults */
	for (int i = 0; i < df->n; i++) {
		const char *key = daemon_key(df->item[i].opt);

		if (df->item[i].opt == OPT_SET && apply_set(conf, df->item[i].arg, err, errlen) < 0)
			return -1;
		if (key != NULL &&
		    vr_conf_set_daemon(conf, key, df->item[i].arg, sub, sizeof(sub)) < 0)
			return vr_err(err, errlen, "--%s: %s", key, sub);
	}
	for (int i = 0; i < df->n; i++)
		if (df->item[i].opt == 'r' && apply_relay(conf, df->item[i].arg, err, errlen) < 0)
			return -1;
	for (int i = 0; i < df->n; i++)
		if (df->item[i].opt == 'p' && apply_pin(conf, df->item[i].arg, err, errlen) < 0)
			return -1;
	return 0;
}

/* "--check=yes": a known flag given a value. */
static bool
is_flag_with_value(const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (strncmp(arg, "--", 2) != 0 || eq == NULL)
		return false;
	for (const struct option *o = long_opts; o->name != NULL; o++)
		if (o->has_arg == no_argument && strlen(o->name) == (size_t)(eq - arg - 2) &&
		    strncmp(o->name, arg + 2, (size_t)(eq - arg - 2)) == 0)
			return true;
	return false;
}

static int
collect(struct vr_cmdline *cl, struct deferred *df, int argc, char *const argv[], char *err,
        size_t errlen)
{
	int opt;

	optind = 0; /* full getopt reset: this runs again on reload */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:c:w:r:p:m:l:hV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cl->config_path = optarg;
			break;
		case 'h':
			cl->help = true;
			break;
		case 'V':
			cl->version = true;
			break;
		case OPT_CHECK:
			cl->check = true;
			break;
		case ':':
			return vr_err(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (is_flag_with_value(argv[optind - 1]))
				return vr_err(err, errlen, "option '%s' takes no value",
				              argv[optind - 1]);
			return vr_err(err, errlen, "unknown option '%s' (see --help)",
			              argv[optind - 1]);
		default:
			if ((size_t)df->n >= sizeof(df->item) / sizeof(df->item[0]))
				return vr_err(err, errlen, "too many options");
			df->item[df->n].opt = opt;
			df->item[df->n++].arg = optarg;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (cl->eal_argc >= VR_EAL_ARGS_MAX)
			return vr_err(err, errlen, "more than %d EAL arguments", VR_EAL_ARGS_MAX);
		cl->eal_argv[cl->eal_argc++] = argv[i];
	}
	return 0;
}

int
vr_cmdline_parse(struct vr_cmdline *cl, struct vr_conf *conf, int argc, char *const argv[],
                 char *err, size_t errlen)
{
	static struct deferred df;

	memset(cl, 0, sizeof(*cl));
	df.n = 0;
	vr_conf_init(conf);
	if (collect(cl, &df, argc, argv, err, errlen) < 0)
		return -1;
	if (cl->help || cl->version)
		return 0;
	if (cl->config_path != NULL && vr_conf_load_file(conf, cl->config_path, err, errlen) < 0)
		return -1;
	if (apply_deferred(conf, &df, err, errlen) < 0)
		return -1;
	vr_conf_finish(conf);
	return vr_conf_validate(conf, err, errlen);
}
