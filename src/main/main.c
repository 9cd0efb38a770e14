/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vrelayd: start-up and shut-down. Threads:
 *   main lcore     the control thread (control.c): signals, timers, reload
 *   worker lcores  one per worker CPU, polling relay directions (worker.c)
 *   DPDK threads   vhost-user events (vhost.c callbacks), telemetry
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/resource.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "api.h"
#include "errmsg.h"
#include "cmdline.h"
#include "control.h"
#include "ctl.h"
#include "device.h"
#include "filemon.h"
#include "handoff.h"
#include "redirect.h"
#include "underlay_ctl.h"
#include "ovsdb.h"
#include "pidfile.h"
#include "privdrop.h"
#include "log.h"
#include "perm.h"
#include "poolsize.h"
#include "relay.h"
#include "safefile.h"
#include "telemetry.h"
#include "vhost.h"
#include "worker.h"

#define CONTROL_LCORE (RTE_MAX_LCORE - 1)

int vr_logtype = RTE_LOGTYPE_USER1;

static struct vr_conf conf;

static int
pick_main_cpu(const struct vr_conf *c)
{
	cpu_set_t set;

	if (c->main_cpu >= 0)
		return c->main_cpu;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &set) && !vr_cpuset_has(&c->workers, cpu))
				return cpu;
	return c->workers.cpu[0]; /* every CPU is a worker: share the first */
}

static bool
eal_args_have(const struct vr_cmdline *cl, const char *opt)
{
	for (int i = 0; i < cl->eal_argc; i++)
		if (strncmp(cl->eal_argv[i], opt, strlen(opt)) == 0)
			return true;
	return false;
}

/* EAL arguments: lcore N runs on CPU N for workers; the control lcore gets
 * its own id. The dummy allow-list entry stops EAL from probing every PCI
 * device at start: relays hot-plug exactly the devices they name. */
static int
build_eal_args(const struct vr_conf *c, const struct vr_cmdline *cl, char **argv, int max)
{
	static char lcores[1024], main_lcore[16], level[16];
	int n = 0, len;

	len = snprintf(lcores, sizeof(lcores), "%d@%d", CONTROL_LCORE, pick_main_cpu(c));
	for (uint16_t i = 0; i < c->workers.n && len < (int)sizeof(lcores); i++)
		len += snprintf(lcores + len, sizeof(lcores) - (size_t)len, ",%u@%u",
		                c->workers.cpu[i], c->workers.cpu[i]);
	snprintf(main_lcore, sizeof(main_lcore), "%d", CONTROL_LCORE);
	snprintf(level, sizeof(level), "%d", c->log_level);
	argv[n++] = "vrelayd";
	argv[n++] = "--lcores";
	argv[n++] = lcores;
	argv[n++] = "--main-lcore";
	argv[n++] = main_lcore;
	argv[n++] = "--file-prefix";
	argv[n++] = (char *)c->file_prefix;
	argv[n++] = "--huge-unlink";
	argv[n++] = "--log-level";
	argv[n++] = level;
	argv[n++] = "-a";
	argv[n++] = "0000:00:00.0";
	if (c->huge_dir[0] != '\0') {
		argv[n++] = "--huge-dir";
		argv[n++] = (char *)c->huge_dir;
	}
	/* A process that will drop root (privdrop.c) cannot read physical
	 * addresses (/proc/self/pagemap) for memory it grows later, nor reach
	 * its multi-process files under root's /var/run/dpdk, which every
	 * device probe consults: IOVA as VA, and no shared config (so no
	 * secondary processes, dpdk-pdump among them) */
	if (c->run_user[0] != '\0' && !eal_args_have(cl, "--iova-mode"))
		argv[n++] = "--iova-mode=va";
	if (c->run_user[0] != '\0' && !eal_args_have(cl, "--no-shconf"))
		argv[n++] = "--no-shconf";
	if (c->vfio_token[0] != '\0') {
		static char token[96];

		snprintf(token, sizeof(token), "--vfio-vf-token=%s", c->vfio_token);
		argv[n++] = token;
	}
	for (int i = 0; i < cl->eal_argc && n < max - 1; i++)
		argv[n++] = cl->eal_argv[i];
	argv[n] = NULL;
	return n;
}

static int
launch_workers(const struct vr_conf *c)
{
	vr_n_workers = c->workers.n;
	if (handoff_init(vr_n_workers) < 0)
		return -1;
	for (unsigned i = 0; i < vr_n_workers; i++) {
		struct vr_worker *w = &vr_workers[i];

		w->idx = i;
		w->cpu = c->workers.cpu[i];
		w->lcore = c->workers.cpu[i];
		if (rte_eal_remote_launch(worker_main, w, w->lcore) != 0) {
			VR_LOG(ERR, "cannot launch worker on CPU %u", w->cpu);
			return -1;
		}
	}
	return 0;
}

static void
add_configured_relays(const struct vr_conf *c)
{
	static struct vr_conf none;

	unsigned n;

	none.n_relays = 0;
	ctl_apply(&none, c);
	relay_lock();
	n = relay_count();
	relay_unlock();
	VR_LOG(NOTICE, "ready: %u of %u configured relays running, workers on %u CPUs", n,
	       c->n_relays, c->workers.n);
}

static void
block_signals(void)
{
	sigset_t set;

	/* A guest that vanishes mid-write must not kill every relay: EPIPE is
	 * handled where it happens. */
	signal(SIGPIPE, SIG_IGN);
	/* before EAL starts its threads, so every signal reaches the signalfd */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* What the configuration names on this host, checked before EAL sees any
 * of it (EAL answers a bad CPU with its usage text): by --check and at
 * start alike. */
static int
check_host(const struct vr_conf *c, struct vr_perm *perm, struct vr_runas *runas, char *err,
           size_t errlen)
{
	char sub[VR_ERR_MAX];
	struct vr_perm ctl;
	cpu_set_t allowed;
	int fd;

	if (vr_perm_resolve_sockets(perm, c->socket_owner, c->socket_group, c->socket_mode, sub,
	                            sizeof(sub)) < 0)
		return vr_err(err, errlen, "vhost-user sockets: %s", sub);
	if (vr_perm_resolve(&ctl, c->ctl.owner, c->ctl.group, c->ctl.mode, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "control endpoints: %s", sub);
	if (privdrop_resolve(c, runas, err, errlen) < 0)
		return -1;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return vr_err(err, errlen, "cannot read the CPUs allowed: %s", strerror(errno));
	for (uint16_t i = 0; i < c->workers.n; i++)
		if (!CPU_ISSET(c->workers.cpu[i], &allowed))
			return vr_err(err, errlen,
			              "worker CPU %u does not exist or is not allowed to vrelayd",
			              c->workers.cpu[i]);
	if (c->main_cpu >= 0 && !CPU_ISSET(c->main_cpu, &allowed))
		return vr_err(err, errlen,
		              "main-cpu %d does not exist or is not allowed to vrelayd",
		              c->main_cpu);
	for (int k = 0; k < 2; k++) {
		const char *key = k == 0 ? c->ctl.curve_secret_file : c->ctl.curve_clients_file;

		if (key[0] == '\0')
			continue;
		if ((fd = vr_open_regular(key, 0, sub, sizeof(sub))) < 0)
			return vr_err(err, errlen, "CURVE key file %s", sub);
		close(fd);
	}
	return 0;
}

/* Measured on Debian 12 / DPDK 22.11 (docs/memory.md): the heap of a
 * vrelayd without relays, and what a relay takes besides its pool. */
#define HUGE_BASE_BYTES  (4ull << 20)
#define HUGE_RELAY_BYTES (2ull << 20)

/* Hugepage bytes the configuration needs: each configured relay's pool as
 * relay_pool_create sizes it (every queue it asks for offered by the
 * device), its state, DPDK's base. Redirects come on top. */
static uint64_t
hugepage_bytes(const struct vr_conf *c)
{
	uint64_t total = HUGE_BASE_BYTES;

	for (unsigned i = 0; i < c->n_relays; i++) {
		const struct vr_relay_conf *r = &c->relays[i];
		struct vr_pool_need n = {
		    .queues = r->queues,
		    .guest_queues = r->queues,
		    .rxd = VR_DEV_RXD,
		    .txd = VR_DEV_TXD,
		    .mtu = r->mtu,
		    .lcores = (uint16_t)(c->workers.n + 1),
		    .tso_queues = r->tso ? r->queues : 0,
		    .hold_frames = c->hold_frames,
		    .hold_bytes = c->hold_bytes,
		};

		total += (uint64_t)vr_pool_mbufs(&n) * VR_MBUF_ELT_BYTES + HUGE_RELAY_BYTES;
	}
	return total;
}

/* Descriptors: each relay holds sockets, eventfds per vring and guest
 * memory files; and lib/vhost (DPDK 22.11) leaks the descriptor of a memory
 * table it cannot map (docs/security.md). The soft limit goes to the hard
 * one, so neither runs out at 1024. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			fprintf(stderr, "vrelayd: cannot raise the descriptor limit: %s\n",
			        strerror(errno));
	}
}

static int
start(struct vr_cmdline *cl, int argc, char **argv, struct vr_perm *perm,
      const struct vr_runas *runas)
{
	char *eal_argv[VR_EAL_ARGS_MAX + 16], err[VR_ERR_MAX];
	int eal_argc, rc;

	mkdir(conf.socket_dir, 0755); /* the default /run/vrelay may not exist yet */
	raise_fd_limit();
	block_signals();
	eal_argc = build_eal_args(&conf, cl, eal_argv, VR_EAL_ARGS_MAX + 16);
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr,
		        "vrelayd: DPDK initialisation failed: %s\n"
		        "vrelayd: check hugepages (docs/memory.md: grep Huge /proc/meminfo), that "
		        "CPUs %s exist, and that no other DPDK process uses --file-prefix %s\n",
		        rte_strerror(rte_errno), "listed in workers", conf.file_prefix);
		return 1;
	}
	vr_logtype = rte_log_register_type_and_pick_level("vrelay", (uint32_t)conf.log_level);
	rte_log_set_level(vr_logtype, (uint32_t)conf.log_level);
	vhost_set_socket_perm(perm);
	relay_module_init(conf.retry_us, &conf);
	ctl_init(&conf);
	if (launch_workers(&conf) < 0) {
		VR_LOG(ERR, "start-up failed");
		return 1;
	}
	if (underlay_start(&conf, err, sizeof(err)) < 0 || redirect_init(err, sizeof(err)) < 0) {
		VR_LOG(ERR, "%s", err);
		redirect_fini();
		underlay_stop();
		workers_stop();
		rte_eal_mp_wait_lcore();
		return 1;
	}
	add_configured_relays(&conf);
	if (api_start(&conf, err, sizeof(err)) < 0) {
		VR_LOG(ERR, "%s", err);
		relay_remove_all();
		workers_stop();
		rte_eal_mp_wait_lcore();
		return 1;
	}
	if (conf.ctl.watch_file[0] != '\0' &&
	    filemon_start(conf.ctl.watch_file, err, sizeof(err)) < 0)
		VR_LOG(ERR, "%s", err);
	if (conf.ctl.ovsdb[0] != '\0' && ovsdb_start(conf.ctl.ovsdb, err, sizeof(err)) < 0)
		VR_LOG(ERR, "%s", err);
	if (pidfile_write(conf.pid_file, err, sizeof(err)) < 0) {
		VR_LOG(ERR, "%s", err);
		conf.pid_file[0] = '\0'; /* not ours: never unlinked */
	}
	if (privdrop(&conf, runas, privdrop_needs_chown(runas, perm), err, sizeof(err)) < 0) {
		VR_LOG(ERR, "%s", err);
		rc = -1;
		goto stop;
	}
	/* last: a client that gets an answer knows start-up is complete */
	if (telemetry_register() != 0)
		VR_LOG(ERR, "telemetry commands could not be registered");
	rc = control_run(&conf, argc, argv);
stop:
	filemon_stop();
	ovsdb_stop();
	if (conf.pid_file[0] != '\0')
		unlink(conf.pid_file);
	api_stop();
	relay_remove_all();
	redirect_fini();
	underlay_stop();
	workers_stop();
	rte_eal_mp_wait_lcore();
	handoff_fini();
	/*
	 * No rte_eal_cleanup(): in DPDK 22.11 it unmaps hugepage memory while
	 * the EAL interrupt thread keeps running, and that thread may still
	 * walk interrupt sources a PMD left in that memory (memif defers its
	 * control channel's release to the thread). The exit then dies of
	 * SIGSEGV. Exiting releases the same memory safely; --huge-unlink
	 * means no hugepage file outlives the process.
	 */
	return rc < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct vr_cmdline cl;
	struct vr_perm perm;
	struct vr_runas runas;
	char err[VR_ERR_MAX];

	if (vr_cmdline_parse(&cl, &conf, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "vrelayd: %s\n", err);
		return 2;
	}
	if (cl.help) {
		vr_cmdline_usage(stdout, "vrelayd");
		return 0;
	}
	if (cl.version) {
		printf("vrelayd %s\n", VRELAY_VERSION);
		return 0;
	}
	if (conf.warnings[0] != '\0')
		fprintf(stderr, "vrelayd: warning: %s", conf.warnings);
	if (check_host(&conf, &perm, &runas, err, sizeof(err)) < 0) {
		fprintf(stderr, "vrelayd: %s\n", err);
		return 2;
	}
	if (cl.check) {
		uint64_t huge = hugepage_bytes(&conf);

		printf("vrelayd: configuration OK: %u relays, %u worker CPUs\n", conf.n_relays,
		       conf.workers.n);
		printf("vrelayd: hugepages: %llu MiB, %llu of 2 MiB (redirects aside: "
		       "docs/memory.md)\n",
		       (unsigned long long)((huge + (1 << 20) - 1) >> 20),
		       (unsigned long long)((huge + (2 << 20) - 1) >> 21));
		return 0;
	}
	return start(&cl, argc, argv, &perm, &runas);
}
