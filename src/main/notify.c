/* SPDX-License-Identifier: BSD-3-Clause */
#include "notify.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "control.h"
#include "log.h"
#include "relay.h"

static char last_status[128];
static int dog = -1;
static unsigned dog_ms;

/* "3 relays running, 2 guests connected" */
static void
status_line(char *out, size_t len)
{
	unsigned relays = 0, guests = 0;

	relay_lock();
	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		const struct vr_relay *r = relay_get(i);

		if (r == NULL)
			continue;
		relays++;
		guests += r->vhost.running;
	}
	relay_unlock();
	snprintf(out, len, "%u relay%s running, %u guest%s connected", relays,
	         relays == 1 ? "" : "s", guests, guests == 1 ? "" : "s");
}

void
notify_ready(void)
{
	status_line(last_status, sizeof(last_status));
	sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%ld", last_status, (long)getpid());
}

void
notify_status(void)
{
	char now[sizeof(last_status)];

	if (getenv("NOTIFY_SOCKET") == NULL) /* no one to tell: not even the relay lock */
		return;
	status_line(now, sizeof(now));
	if (strcmp(now, last_status) == 0)
		return;
	memcpy(last_status, now, sizeof(now));
	sd_notifyf(0, "STATUS=%s", last_status);
}

void
notify_reloading(void)
{
	sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
}

void
notify_reloaded(void)
{
	status_line(last_status, sizeof(last_status));
	sd_notifyf(0, "READY=1\nSTATUS=%s", last_status);
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

static void
on_dog(void *arg)
{
	uint64_t ticks;

	(void)arg;
	(void)!read(dog, &ticks, sizeof(ticks));
	sd_notify(0, "WATCHDOG=1");
	control_timer_arm(dog, dog_ms);
}

int
notify_watchdog_start(void)
{
	uint64_t usec = 0;

	/* > 0 only when the pings are for this process */
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	/* twice per period, as sd_watchdog_enabled(3) advises */
	dog_ms = (unsigned)(usec / 2000 > 0 ? usec / 2000 : 1);
	dog = control_timer_new();
	if (dog < 0 || control_watch(dog, NULL, on_dog, NULL) < 0 ||
	    control_timer_arm(dog, dog_ms) < 0) {
		VR_LOG(ERR, "watchdog: cannot set up its timer");
		return -1;
	}
	sd_notify(0, "WATCHDOG=1");
	VR_LOG(INFO, "watchdog: pinging every %u ms", dog_ms);
	return 0;
}

void
notify_watchdog_stop(void)
{
	if (dog < 0)
		return;
	control_unwatch(dog, NULL);
	close(dog);
	dog = -1;
}
