/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vrelayctl: control a running vrelayd over its ZeroMQ services, the same
 * protocol virtio-forwarder's tools speak (docs/control.md).
 *
 * Exit codes: 0 done; 1 the daemon refused (its reason is printed);
 * 2 usage error; 3 the daemon did not answer.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "config.h"
#include "counters.h"
#include "ctlclient.h"
#include "prometheus.h"
#include "statsrows.h"
#include "virtioforwarder.pb-c.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define EXIT_NOREPLY 3

static struct {
	char dir[VR_PATH_MAX];
	bool json, prometheus, conditional;
	int watch; /* seconds, 0 = once */
	int timeout_ms;
	int mode;
	int id;
	int n_members;
	const char *members[VR_BOND_MAX];
} opt = {.timeout_ms = 5000, .mode = -1, .id = -1};

static void
usage(FILE *out)
{
	fprintf(out,
	        "Usage: vrelayctl [-d DIR] COMMAND [ARGS]\n"
	        "  add ID DEVICE [--member PCI]... [--mode N] [--conditional]\n"
	        "                           put DEVICE (PCI address, devargs, or a bond name\n"
	        "                           net_bondingX with 2-8 --member) on relay ID\n"
	        "  remove ID [--conditional]\n"
	        "  add-sock SOCKET DEVICE [--id ID] [--member PCI]... [--mode N] [--conditional]\n"
	        "  remove-sock SOCKET [--conditional]\n"
	        "  query SOCKET             the device of the relay on SOCKET\n"
	        "  list                     relays: state, device, socket, CPUs\n"
	        "  stats [ID]... [--watch[=SECS]] [--json | --prometheus]\n"
	        "                           counters and rates per relay and direction\n"
	        "  pin ID CPU | pin ID VM2DEV_CPU DEV2VM_CPU   (- leaves a direction)\n"
	        "  workers [--json]         load per worker CPU\n"
	        "  redirect ID PEER_DIR PEER_ID [MAC IP...]\n"
	        "                           the guest that left relay ID for relay PEER_ID of\n"
	        "                           the vrelayd at PEER_DIR keeps its old addresses\n"
	        "                           through a tunnel (default: what ID learned)\n"
	        "  unredirect ID            end relay ID's redirect\n"
	        "Options: -d DIR  control endpoints' directory (default $VRELAY_CONTROL_DIR or\n"
	        "         /run/vrelay), or a file naming a remote vrelayd's tcp:// endpoints\n"
	        "         and CURVE keys (docs/control.md); -t MS  reply timeout (default 5000)\n"
	        "Exit: 0 ok, 1 refused by vrelayd, 2 usage error, 3 no answer.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vrelayctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see vrelayctl --help)\n", stderr);
	return EXIT_USAGE;
}

/* One request/reply on a service; the reply in *buf (caller frees). */
static int
transact(const char *service, const ProtobufCMessage *req, uint8_t **buf, size_t *n)
{
	struct vr_ctl c = {.prog = "vrelayctl", .dir = opt.dir, .timeout_ms = opt.timeout_ms};

	return vr_ctl_exchange(&c, service, req, buf, n) == 0 ? 0 : EXIT_NOREPLY;
}

static int
parse_int(const char *s, int lo, int hi, const char *what, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		return usage_error("%s '%s' is not a number in %d..%d", what, s, lo, hi);
	*out = (int)v;
	return 0;
}

static int
parse_pci(const char *s, Virtioforwarder__PortControlRequest__PciAddress *a)
{
	char canon[16];
	unsigned d, b, sl, f;

	if (vr_pci_parse(s, canon) < 0 || sscanf(canon, "%x:%x:%x.%x", &d, &b, &sl, &f) != 4)
		return usage_error("'%s' is not a PCI address (DDDD:BB:SS.F)", s);
	virtioforwarder__port_control_request__pci_address__init(a);
	a->domain = d;
	a->bus = b;
	a->slot = sl;
	a->function = f;
	return 0;
}

static int
port_control(Virtioforwarder__PortControlRequest *req)
{
	Virtioforwarder__PortControlResponse *r;
	uint8_t *reply = NULL;
	size_t n = 0;
	int rc = transact("port_control", &req->base, &reply, &n);

	if (rc != 0)
		return rc;
	r = virtioforwarder__port_control_response__unpack(NULL, n, reply);
	free(reply);
	if (r == NULL) {
		fprintf(stderr, "vrelayctl: malformed reply from vrelayd\n");
		return EXIT_NOREPLY;
	}
	if (r->status != VIRTIOFORWARDER__PORT_CONTROL_RESPONSE__STATUS__OK) {
		fprintf(stderr, "vrelayctl: refused: %s (%d)\n",
		        r->error_code_source ? r->error_code_source : "no reason given",
		        r->error_code);
		rc = EXIT_REFUSED;
	} else if (r->query_string != NULL && r->query_string[0] != '\0') {
		printf("%s\n", r->query_string);
	}
	virtioforwarder__port_control_response__free_unpacked(r, NULL);
	return rc;
}

/* DEVICE plus --member options into the request. */
static int
set_device(Virtioforwarder__PortControlRequest *req, const char *device,
           Virtioforwarder__PortControlRequest__PciAddress *addrs,
           Virtioforwarder__PortControlRequest__PciAddress **ptrs)
{
	char canon[16];

	if (opt.n_members > 0) {
		for (int i = 0; i < opt.n_members; i++) {
			if (parse_pci(opt.members[i], &addrs[i]) != 0)
				return EXIT_USAGE;
			ptrs[i] = &addrs[i];
		}
		req->pci_addrs = ptrs;
		req->n_pci_addrs = (size_t)opt.n_members;
		req->name = (char *)device;
		req->has_mode = 1;
		req->mode = opt.mode >= 0 ? (uint32_t)opt.mode : 1;
	} else if (vr_pci_parse(device, canon) == 0) {
		if (parse_pci(device, &addrs[0]) != 0)
			return EXIT_USAGE;
		ptrs[0] = &addrs[0];
		req->pci_addrs = ptrs;
		req->n_pci_addrs = 1;
	} else {
		req->name = (char *)device; /* devargs */
	}
	return 0;
}

static int
cmd_port(const char *cmd, int argc, char **argv)
{
	Virtioforwarder__PortControlRequest req = VIRTIOFORWARDER__PORT_CONTROL_REQUEST__INIT;
	Virtioforwarder__PortControlRequest__PciAddress addrs[VR_BOND_MAX], *ptrs[VR_BOND_MAX];
	bool add = strcmp(cmd, "add") == 0, add_sock = strcmp(cmd, "add-sock") == 0;
	int need = add || add_sock ? 2 : 1, id;

	if (argc != need)
		return usage_error("%s takes %d argument%s, got %d", cmd, need, need > 1 ? "s" : "",
		                   argc);
	req.has_conditional = 1;
	req.conditional = opt.conditional;
	if (add || strcmp(cmd, "remove") == 0) {
		if (parse_int(argv[0], 0, VR_MAX_RELAYS - 1, "relay id", &id) != 0)
			return EXIT_USAGE;
		req.has_virtio_id = 1;
		req.virtio_id = (uint32_t)id;
		req.op = add ? VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD
		             : VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__REMOVE;
	} else {
		req.vhost_path = argv[0];
		req.op = add_sock ? VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__ADD_SOCK
		         : strcmp(cmd, "query") == 0
		             ? VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__QUERY_PCI
		             : VIRTIOFORWARDER__PORT_CONTROL_REQUEST__OP__REMOVE_SOCK;
		if (opt.id >= 0) {
			req.has_virtio_id = 1;
			req.virtio_id = (uint32_t)opt.id;
		}
	}
	if ((add || add_sock) && set_device(&req, argv[1], addrs, ptrs) != 0)
		return EXIT_USAGE;
	if (!(add || add_sock) && opt.n_members > 0)
		return usage_error("--member only goes with add and add-sock");
	return port_control(&req);
}

static Virtioforwarder__StatsResponse *
fetch_stats(int argc, char **argv, int *rc)
{
	Virtioforwarder__StatsRequest req = VIRTIOFORWARDER__STATS_REQUEST__INIT;
	Virtioforwarder__StatsResponse *r;
	uint32_t ids[VR_MAX_RELAYS];
	uint8_t *reply = NULL;
	size_t n = 0;
	int id = 0;

	if (argc > VR_MAX_RELAYS) {
		*rc = usage_error("at most %d relay ids", VR_MAX_RELAYS);
		return NULL;
	}
	for (int i = 0; i < argc; i++) {
		if (parse_int(argv[i], 0, VR_MAX_RELAYS - 1, "relay id", &id) != 0) {
			*rc = EXIT_USAGE;
			return NULL;
		}
		ids[i] = (uint32_t)id;
	}
	req.relay = ids;
	req.n_relay = (size_t)argc;
	*rc = transact("stats", &req.base, &reply, &n);
	if (*rc != 0)
		return NULL;
	r = virtioforwarder__stats_response__unpack(NULL, n, reply);
	free(reply);
	if (r == NULL) {
		fprintf(stderr, "vrelayctl: malformed stats reply\n");
		*rc = EXIT_NOREPLY;
	} else if (r->status != VIRTIOFORWARDER__STATS_RESPONSE__STATUS__OK) {
		fprintf(stderr, "vrelayctl: refused (status %d): %s\n", r->status,
		        r->error ? r->error : "no reason given");
		*rc = EXIT_REFUSED;
		virtioforwarder__stats_response__free_unpacked(r, NULL);
		r = NULL;
	}
	return r;
}

static void
print_list(const Virtioforwarder__StatsResponse *r)
{
	printf("%-5s %-10s %-6s %-10s %-10s %-30s %s\n", "RELAY", "STATE", "MODE", "CPU_VM2DEV",
	       "CPU_DEV2VM", "DEVICE", "SOCKET");
	for (size_t i = 0; i < r->n_relay; i++) {
		const Virtioforwarder__RelayState *s = r->relay[i];

		printf("%-5u %-10s %-6s %-10d %-10d %-30s %s\n", s->id, s->state ? s->state : "?",
		       s->vhost_mode ? s->vhost_mode : "?", s->cpu ? s->cpu->vm_to_vf : -1,
		       s->cpu ? s->cpu->vf_to_vm : -1, s->vf ? s->vf->pci_addr_str : "",
		       s->vhost->vhost_socket_name);
	}
}

static void
print_stats(const Virtioforwarder__StatsResponse *r)
{
	printf("%-5s %-6s %-4s", "RELAY", "DIR", "CPU");
	for (unsigned k = 0; k < VR_N_DIR_COUNTERS; k++)
		if (vr_dir_counter_desc[k].column != NULL)
			printf(" %14s", vr_dir_counter_desc[k].column);
	printf(" %12s %12s %10s\n", "RX_PPS", "TX_PPS", "TX_MBIT/S");
	for (size_t i = 0; i < r->n_relay; i++) {
		struct dir_row row[2];
		char id[16];

		dir_rows(r->relay[i], row);
		snprintf(id, sizeof(id), "%u", r->relay[i]->id);
		for (int k = 0; k < 2; k++) {
			printf("%-5s %-6s %-4d", k == 0 ? id : "", row[k].name, row[k].cpu);
			for (unsigned c = 0; c < VR_N_DIR_COUNTERS; c++)
				if (vr_dir_counter_desc[c].column != NULL)
					printf(" %14lld",
					       counter_of(&row[k], vr_dir_counter_desc[c].name));
			printf(" %12.0f %12.0f %10.1f\n", row[k].rx_pps, row[k].tx_pps,
			       row[k].tx_bytes_per_s * 8 / 1e6);
		}
	}
}

/* name = value into o; "g.a" nests as o.g.a (counters.h). */
static void
json_set_counter(json_t *o, const char *name, uint64_t value)
{
	const char *dot = strchr(name, '.');
	char group[64];
	json_t *sub;

	if (dot == NULL) {
		json_object_set_new(o, name, json_integer((json_int_t)value));
		return;
	}
	snprintf(group, sizeof(group), "%.*s", (int)(dot - name), name);
	sub = json_object_get(o, group);
	if (sub == NULL) {
		sub = json_object();
		json_object_set_new(o, group, sub);
	}
	json_set_counter(sub, dot + 1, value);
}

static json_t *
dir_json(const struct dir_row *d)
{
	json_t *o = json_pack("{sf sf sf si}", "rx_pps", d->rx_pps, "tx_pps", d->tx_pps,
	                      "tx_bytes_per_s", d->tx_bytes_per_s, "cpu", d->cpu);

	for (size_t i = 0; i < d->n; i++)
		json_set_counter(o, d->c[i]->name, d->c[i]->value);
	return o;
}

static void
print_stats_json(const Virtioforwarder__StatsResponse *r)
{
	json_t *all = json_array();

	for (size_t i = 0; i < r->n_relay; i++) {
		const Virtioforwarder__RelayState *s = r->relay[i];
		struct dir_row row[2];
		json_t *o = json_pack(
		    "{si sb ss ss ss ss}", "id", (int)s->id, "active", s->active, "state",
		    s->state ? s->state : "", "device", s->vf ? s->vf->pci_addr_str : "", "socket",
		    s->vhost->vhost_socket_name, "mode", s->vhost_mode ? s->vhost_mode : "");

		for (size_t k = 0; k < s->n_counters; k++)
			json_set_counter(o, s->counters[k]->name, s->counters[k]->value);
		dir_rows(s, row);
		for (int k = 0; k < 2; k++)
			json_object_set_new(o, row[k].name, dir_json(&row[k]));
		json_array_append_new(all, o);
	}
	json_dumpf(all, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(all);
}

static int
cmd_stats(bool list, int argc, char **argv)
{
	for (;;) {
		int rc;
		Virtioforwarder__StatsResponse *r = fetch_stats(argc, argv, &rc);

		if (r == NULL)
			return rc;
		if (opt.watch > 0 && !opt.json && !opt.prometheus)
			printf("\033[H\033[2J");
		if (opt.prometheus)
			prometheus_write(stdout, r);
		else if (opt.json)
			print_stats_json(r);
		else if (list)
			print_list(r);
		else
			print_stats(r);
		fflush(stdout);
		virtioforwarder__stats_response__free_unpacked(r, NULL);
		if (opt.watch <= 0)
			return 0;
		sleep((unsigned)opt.watch);
	}
}

static int
parse_cpu_arg(const char *s, int *cpu)
{
	if (strcmp(s, "-") == 0) {
		*cpu = -1;
		return 0;
	}
	return parse_int(s, 0, VR_MAX_CPUS - 1, "CPU", cpu);
}

static int
cmd_pin(int argc, char **argv)
{
	Virtioforwarder__CoreSchedRequest req = VIRTIOFORWARDER__CORE_SCHED_REQUEST__INIT;
	Virtioforwarder__CoreSchedRequest__RelayCPU e, *list[1] = {&e};
	Virtioforwarder__CoreSchedResponse *r;
	uint8_t *reply = NULL;
	int id, vm2dev, dev2vm, rc;
	size_t n = 0;

	if (argc != 2 && argc != 3)
		return usage_error("pin takes ID CPU or ID VM2DEV_CPU DEV2VM_CPU");
	if (parse_int(argv[0], 0, VR_MAX_RELAYS - 1, "relay id", &id) != 0 ||
	    parse_cpu_arg(argv[1], &vm2dev) != 0 || parse_cpu_arg(argv[argc - 1], &dev2vm) != 0)
		return EXIT_USAGE;
	virtioforwarder__core_sched_request__relay_cpu__init(&e);
	e.relay_number = id;
	e.virtio2vf_cpu = vm2dev;
	e.vf2virtio_cpu = dev2vm;
	req.op = VIRTIOFORWARDER__CORE_SCHED_REQUEST__OP__UPDATE;
	req.relay_cpu_map = list;
	req.n_relay_cpu_map = 1;
	if ((rc = transact("core_sched", &req.base, &reply, &n)) != 0)
		return rc;
	r = virtioforwarder__core_sched_response__unpack(NULL, n, reply);
	free(reply);
	if (r == NULL)
		return EXIT_NOREPLY;
	rc = r->status == VIRTIOFORWARDER__CORE_SCHED_RESPONSE__STATUS__OK ? 0 : EXIT_REFUSED;
	if (rc != 0)
		fprintf(stderr, "vrelayctl: refused: %s\n",
		        r->error_code_source ? r->error_code_source : "no reason given");
	virtioforwarder__core_sched_response__free_unpacked(r, NULL);
	return rc;
}

static int
cmd_workers(void)
{
	Virtioforwarder__ConfigRequest req = VIRTIOFORWARDER__CONFIG_REQUEST__INIT;
	Virtioforwarder__ConfigResponse *r;
	uint8_t *reply = NULL;
	size_t n = 0;
	int rc = transact("config", &req.base, &reply, &n);

	if (rc != 0)
		return rc;
	r = virtioforwarder__config_response__unpack(NULL, n, reply);
	free(reply);
	if (r == NULL)
		return EXIT_NOREPLY;
	if (opt.json) {
		json_t *a = json_array();

		for (size_t i = 0; i < r->n_worker; i++)
			json_array_append_new(a, json_pack("{si si si sI}", "cpu",
			                                   r->worker[i]->cpu, "busy_permille",
			                                   r->worker[i]->busy_permille,
			                                   "directions", r->worker[i]->directions,
			                                   "pkts", (json_int_t)r->worker[i]->pkts));
		json_dumpf(a, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(a);
	} else {
		printf("%-5s %7s %11s %16s\n", "CPU", "BUSY%", "DIRECTIONS", "PKTS");
		for (size_t i = 0; i < r->n_worker; i++)
			printf("%-5u %7.1f %11u %16" PRIu64 "\n", r->worker[i]->cpu,
			       r->worker[i]->busy_permille / 10.0, r->worker[i]->directions,
			       r->worker[i]->pkts);
	}
	virtioforwarder__config_response__free_unpacked(r, NULL);
	return 0;
}

static int
parse_options(int argc, char **argv)
{
	static const struct option longs[] = {{"json", no_argument, NULL, 'j'},
	                                      {"watch", optional_argument, NULL, 'W'},
	                                      {"prometheus", no_argument, NULL, 'P'},
	                                      {"member", required_argument, NULL, 'M'},
	                                      {"mode", required_argument, NULL, 'o'},
	                                      {"id", required_argument, NULL, 'i'},
	                                      {"conditional", no_argument, NULL, 'C'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "d:t:h", longs, NULL)) != -1) {
		switch (c) {
		case 'd':
			snprintf(opt.dir, sizeof(opt.dir), "%s", optarg);
			break;
		case 't':
			if (parse_int(optarg, 1, 600000, "timeout", &opt.timeout_ms) != 0)
				return -1;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'P':
			opt.prometheus = true;
			break;
		case 'W':
			opt.watch = 1;
			if (optarg != NULL &&
			    parse_int(optarg, 1, 3600, "watch interval", &opt.watch))
				return -1;
			break;
		case 'M':
			if (opt.n_members >= VR_BOND_MAX)
				return usage_error("a bond takes at most %d members", VR_BOND_MAX),
				       -1;
			opt.members[opt.n_members++] = optarg;
			break;
		case 'o':
			if (parse_int(optarg, 0, VR_BOND_MODE_MAX, "bond mode", &opt.mode) != 0)
				return -1;
			break;
		case 'i':
			if (parse_int(optarg, 0, VR_MAX_RELAYS - 1, "relay id", &opt.id) != 0)
				return -1;
			break;
		case 'C':
			opt.conditional = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]),
			       -1;
		}
	}
	return optind;
}

/* REDIRECT at this daemon (the source), then at the peer's. */
static int
cmd_redirect(int argc, char **argv)
{
	struct vr_ctl src = {.prog = "vrelayctl", .dir = opt.dir, .timeout_ms = opt.timeout_ms};
	struct vr_ctl dst = {.prog = "vrelayctl", .dir = NULL, .timeout_ms = opt.timeout_ms};
	char items[VR_ANNOUNCE_MAX][48];
	int id, peer_id, rc;

	if (argc < 3 || argc > 3 + VR_ANNOUNCE_MAX)
		return usage_error("redirect takes ID PEER_DIR PEER_ID [MAC IP...]");
	if (parse_int(argv[0], 0, VR_MAX_RELAYS - 1, "relay id", &id) != 0 ||
	    parse_int(argv[2], 0, VR_MAX_RELAYS - 1, "peer relay id", &peer_id) != 0)
		return EXIT_USAGE;
	dst.dir = argv[1];
	for (int i = 3; i < argc; i++)
		snprintf(items[i - 3], sizeof(items[0]), "%s", argv[i]);
	rc = vr_ctl_redirect(&src, id, &dst, peer_id, items, (unsigned)(argc - 3));
	return rc == 0 ? 0 : rc == -1 ? EXIT_REFUSED : EXIT_NOREPLY;
}

static int
cmd_unredirect(int argc, char **argv)
{
	struct vr_ctl c = {.prog = "vrelayctl", .dir = opt.dir, .timeout_ms = opt.timeout_ms};
	int id, rc;

	if (argc != 1)
		return usage_error("unredirect takes ID");
	if (parse_int(argv[0], 0, VR_MAX_RELAYS - 1, "relay id", &id) != 0)
		return EXIT_USAGE;
	rc = vr_ctl_unredirect(&c, id);
	return rc == 0 ? 0 : rc == -1 ? EXIT_REFUSED : EXIT_NOREPLY;
}

int
main(int argc, char **argv)
{
	const char *env = getenv("VRELAY_CONTROL_DIR");
	const char *cmd;
	int first, rc;

	snprintf(opt.dir, sizeof(opt.dir), "%s", env != NULL ? env : "/run/vrelay");
	/* GNU getopt moves the options, wherever given, before the positionals */
	if ((first = parse_options(argc, argv)) < 0)
		return EXIT_USAGE;
	if (first >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[first];
	argc -= first + 1;
	argv += first + 1;
	if (strcmp(cmd, "add") == 0 || strcmp(cmd, "remove") == 0 || strcmp(cmd, "add-sock") == 0 ||
	    strcmp(cmd, "remove-sock") == 0 || strcmp(cmd, "query") == 0)
		rc = cmd_port(cmd, argc, argv);
	else if (strcmp(cmd, "list") == 0)
		rc = argc == 0 ? cmd_stats(true, 0, argv) : usage_error("list takes no arguments");
	else if (strcmp(cmd, "stats") == 0)
		rc = cmd_stats(false, argc, argv);
	else if (strcmp(cmd, "pin") == 0)
		rc = cmd_pin(argc, argv);
	else if (strcmp(cmd, "redirect") == 0)
		rc = cmd_redirect(argc, argv);
	else if (strcmp(cmd, "unredirect") == 0)
		rc = cmd_unredirect(argc, argv);
	else if (strcmp(cmd, "workers") == 0)
		rc = argc == 0 ? cmd_workers() : usage_error("workers takes no arguments");
	else
		rc = usage_error("unknown command '%s'", cmd);
	return rc;
}
