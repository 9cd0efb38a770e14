/* SPDX-License-Identifier: BSD-3-Clause */
#include "control.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "cmdline.h"
#include "ctl.h"
#include "log.h"
#include "notify.h"
#include "sample.h"

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
	ctl_apply(conf, &next);
	next.workers = conf->workers;
	strcpy(next.file_prefix, conf->file_prefix);
	next.retry_us = conf->retry_us;
	*conf = next;
}

uint64_t
control_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define MAX_WATCH 32

static struct watch {
	int fd;
	void *zsock;
	control_cb cb;
	void *arg;
	bool paused;
} watches[MAX_WATCH];
static unsigned n_watches;

static struct watch *
find_watch(int fd, void *zsock)
{
	for (unsigned i = 0; i < n_watches; i++)
		if (watches[i].fd == fd && watches[i].zsock == zsock)
			return &watches[i];
	return NULL;
}

int
control_watch(int fd, void *zsock, control_cb cb, void *arg)
{
	if (n_watches >= MAX_WATCH)
		return -1;
	watches[n_watches++] = (struct watch){.fd = fd, .zsock = zsock, .cb = cb, .arg = arg};
	return 0;
}

void
control_unwatch(int fd, void *zsock)
{
	struct watch *w = find_watch(fd, zsock);

	if (w != NULL)
		*w = watches[--n_watches];
}

void
control_pause(int fd, void *zsock, bool paused)
{
	struct watch *w = find_watch(fd, zsock);

	if (w != NULL)
		w->paused = paused;
}

int
control_timer_new(void)
{
	return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
}

int
control_timer_arm(int fd, unsigned ms)
{
	struct itimerspec its = {.it_value = {ms / 1000, (long)(ms % 1000) * 1000000L}};

	if (ms == 0)
		its.it_value.tv_nsec = 0;
	return timerfd_settime(fd, 0, &its, NULL);
}

static int
make_tick(void)
{
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
	int fd = control_timer_new();

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct {
	struct vr_conf *conf;
	int argc;
	char *const *argv;
	int sfd, tfd;
	bool stop;
} loop;

static void
on_signal(void *arg)
{
	struct signalfd_siginfo si;

	(void)arg;
	while (read(loop.sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			notify_reloading();
			reload(loop.conf, loop.argc, loop.argv);
			notify_reloaded();
			continue;
		}
		VR_LOG(NOTICE, "signal %s: shutting down", strsignal((int)si.ssi_signo));
		notify_stopping();
		loop.stop = true;
	}
}

static void
on_tick(void *arg)
{
	uint64_t ticks;

	(void)arg;
	if (read(loop.tfd, &ticks, sizeof(ticks)) > 0)
		sample_relays(control_now_ns());
	notify_status();
}

/* One pass: poll every active watch, run the callbacks of the ready ones. */
static void
poll_once(void)
{
	zmq_pollitem_t items[MAX_WATCH];
	struct watch ready[MAX_WATCH];
	unsigned n = 0, m = 0;

	for (unsigned i = 0; i < n_watches; i++) {
		if (watches[i].paused)
			continue;
		items[n] = (zmq_pollitem_t){
		    .socket = watches[i].zsock, .fd = watches[i].fd, .events = ZMQ_POLLIN};
		ready[n++] = watches[i];
	}
	if (zmq_poll(items, (int)n, -1) < 0) {
		if (errno != EINTR)
			VR_LOG(ERR, "control loop: zmq_poll: %s", zmq_strerror(errno));
		return;
	}
	/* callbacks may (un)register watches: run them from the copy */
	for (unsigned i = 0; i < n; i++)
		if (items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR))
			ready[m++] = ready[i];
	for (unsigned i = 0; i < m && !loop.stop; i++)
		if (find_watch(ready[i].fd, ready[i].zsock) != NULL)
			ready[i].cb(ready[i].arg);
}

int
control_run(struct vr_conf *conf, int argc, char *const argv[])
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	loop.conf = conf;
	loop.argc = argc;
	loop.argv = argv;
	loop.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	loop.tfd = make_tick();
	if (loop.sfd < 0 || loop.tfd < 0 || control_watch(loop.sfd, NULL, on_signal, NULL) < 0 ||
	    control_watch(loop.tfd, NULL, on_tick, NULL) < 0) {
		VR_LOG(ERR, "control loop setup failed: %s", strerror(errno));
		return -1;
	}
	if (notify_watchdog_start() < 0)
		return -1;
	notify_ready();
	while (!loop.stop)
		poll_once();
	notify_watchdog_stop();
	control_unwatch(loop.tfd, NULL);
	control_unwatch(loop.sfd, NULL);
	close(loop.tfd);
	close(loop.sfd);
	return 0;
}
