/* SPDX-License-Identifier: BSD-3-Clause */
#include "control.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "log.h"
#include "relay.h"

static const struct vr_relay_conf *
find_relay(const struct vr_conf *c, int id)
{
	for (uint16_t i = 0; i < c->n_relays; i++)
		if (c->relays[i].id == id)
			return &c->relays[i];
	return NULL;
}

/* Equal but for the CPU pins: those move without touching the relay. */
static bool
same_but_pins(const struct vr_relay_conf *a, const struct vr_relay_conf *b)
{
	struct vr_relay_conf x = *a;

	x.cpu[0] = b->cpu[0];
	x.cpu[1] = b->cpu[1];
	return vr_relay_conf_equal(&x, b);
}

void
control_apply(const struct vr_conf *old, const struct vr_conf *next)
{
	char err[VR_ERR_MAX];

	for (uint16_t i = 0; i < old->n_relays; i++) {
		const struct vr_relay_conf *o = &old->relays[i];
		const struct vr_relay_conf *n = find_relay(next, o->id);

		if (n != NULL && same_but_pins(o, n))
			continue;
		if (relay_remove(o->id, err, sizeof(err)) < 0)
			VR_LOG(DEBUG, "reload: %s", err);
	}
	for (uint16_t i = 0; i < next->n_relays; i++) {
		const struct vr_relay_conf *n = &next->relays[i];
		const struct vr_relay_conf *o = find_relay(old, n->id);

		if (o != NULL && same_but_pins(o, n)) {
			if ((o->cpu[0] != n->cpu[0] || o->cpu[1] != n->cpu[1]) &&
			    relay_pin(n->id, n->cpu[0], n->cpu[1], err, sizeof(err)) < 0)
				VR_LOG(ERR, "reload: %s", err);
			if (relay_get(n->id) != NULL)
				continue; /* else it failed before: try again */
		}
		if (relay_add(n, err, sizeof(err)) < 0)
			VR_LOG(ERR, "%s", err);
	}
}

static void
reload(struct vr_conf *conf, int argc, char *const argv[])
{
	static struct vr_conf next;
	struct vr_cmdline cl;
	char err[VR_ERR_MAX];

	if (vr_cmdline_parse(&cl, &next, argc, argv, err, sizeof(err)) < 0) {
		VR_LOG(ERR, "reload refused, running configuration kept: %s", err);
		return;
	}
	if (next.workers.n != conf->workers.n ||
	    memcmp(next.workers.cpu, conf->workers.cpu, conf->workers.n * sizeof(uint16_t)) != 0 ||
	    strcmp(next.file_prefix, conf->file_prefix) != 0 || next.retry_us != conf->retry_us)
		VR_LOG(WARNING, "reload: workers, file-prefix and retry-us change only on restart");
	VR_LOG(NOTICE, "reloading: %u relays configured", next.n_relays);
	control_apply(conf, &next);
	next.workers = conf->workers;
	strcpy(next.file_prefix, conf->file_prefix);
	next.retry_us = conf->retry_us;
	*conf = next;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
make_timer(void)
{
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Returns true when the daemon should stop. */
static bool
handle_signal(int sfd, struct vr_conf *conf, int argc, char *const argv[])
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(conf, argc, argv);
			continue;
		}
		VR_LOG(NOTICE, "signal %s: shutting down", strsignal((int)si.ssi_signo));
		return true;
	}
	return false;
}

int
control_run(struct vr_conf *conf, int argc, char *const argv[])
{
	struct epoll_event ev = {.events = EPOLLIN}, out[4];
	sigset_t set;
	int ep, sfd, tfd;
	bool stop = false;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = make_timer();
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || ep < 0) {
		VR_LOG(ERR, "control loop setup failed: %s", strerror(errno));
		return -1;
	}
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	while (!stop) {
		int n = epoll_wait(ep, out, 4, -1);

		for (int i = 0; i < n && !stop; i++) {
			if (out[i].data.fd == sfd) {
				stop = handle_signal(sfd, conf, argc, argv);
			} else if (out[i].data.fd == tfd) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) > 0)
					relay_sample_rates(now_ns());
			}
		}
	}
	close(ep);
	close(tfd);
	close(sfd);
	return 0;
}
