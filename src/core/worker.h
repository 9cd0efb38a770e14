/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker lcores: each runs a run-to-completion poll loop over the relay
 * directions in its view (handoff.h), with a per-direction budget per pass.
 */
#ifndef VR_WORKER_H
#define VR_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct vr_worker {
	unsigned idx;   /* handoff slot */
	unsigned lcore; /* EAL lcore id (== cpu) */
	unsigned cpu;
	/* written by the worker only, read by control */
	uint64_t passes;
	uint64_t pkts;
	uint64_t busy_cycles; /* cycles of passes that moved packets */
	/* control side: for load rates */
	uint64_t last_busy, last_tsc;
	uint32_t busy_permille;
};

extern struct vr_worker vr_workers[VR_MAX_CPUS];
extern unsigned vr_n_workers;

int worker_main(void *arg);
void worker_poll_once(struct vr_worker *w);
void workers_stop(void);

/* Worker index serving cpu, or -1. */
int worker_by_cpu(int cpu);

/* Control side: refresh busy_permille of every worker (call once a second). */
void workers_update_load(uint64_t now_tsc);

#endif
