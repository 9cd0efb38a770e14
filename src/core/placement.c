/* SPDX-License-Identifier: BSD-3-Clause */
#include "placement.h"

/* Workers within this many permille of the least busy one count as equally
 * busy: one second of load measurement on a shared CPU is noisy, and the
 * direction count is a steadier guide between nearly idle workers. */
#define LOAD_EQUAL_PERMILLE 50

int
vr_place_least_busy(const struct vr_worker_load *w, unsigned n)
{
	uint32_t min_busy = UINT32_MAX;
	int best = -1;

	for (unsigned i = 0; i < n; i++)
		if (w[i].busy_permille < min_busy)
			min_busy = w[i].busy_permille;
	/* measured against the minimum, so ties cannot chain across workers */
	for (unsigned i = 0; i < n; i++) {
		if (w[i].busy_permille - min_busy > LOAD_EQUAL_PERMILLE)
			continue;
		if (best < 0 || w[i].n_dirs < w[best].n_dirs ||
		    (w[i].n_dirs == w[best].n_dirs && w[i].cpu < w[best].cpu))
			best = (int)i;
	}
	return best;
}
