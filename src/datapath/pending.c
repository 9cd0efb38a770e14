/* SPDX-License-Identifier: BSD-3-Clause */
#include "pending.h"

#include <string.h>

#include <rte_memcpy.h>

void
pending_keep(struct vr_dir *d, struct vr_pending *p, struct rte_mbuf **m, uint16_t n, uint64_t now)
{
	if (p->n == 0) {
		p->since = now;
		ctr_add(d->c.retries, 1); /* a new backpressure episode */
	}
	rte_memcpy(&p->m[p->n], m, n * sizeof(m[0]));
	p->n = (uint16_t)(p->n + n);
}

void
pending_consume(struct vr_pending *p, uint16_t sent, uint64_t now)
{
	p->n = (uint16_t)(p->n - sent);
	if (p->n > 0)
		memmove(&p->m[0], &p->m[sent], p->n * sizeof(p->m[0]));
	p->since = now;
}

void
pending_expire(struct vr_dir *d, struct vr_pending *p, uint64_t now)
{
	if (p->n == 0 || now - p->since <= d->retry_tsc)
		return;
	ctr_add(d->c.drop_full, p->n);
	ctr_add(d->c.drop_full_bytes, sum_bytes(p->m, p->n));
	rte_pktmbuf_free_bulk(p->m, p->n);
	p->n = 0;
}

uint16_t
pending_flush(struct vr_dir *d, struct vr_pending *p, uint16_t q, uint64_t now)
{
	uint16_t sent;

	if (p->n == 0)
		return 0;
	sent = dir_send(d, q, p->m, p->n);
	if (sent > 0)
		pending_consume(p, sent, now);
	pending_expire(d, p, now);
	return sent;
}

void
dir_drop_unready(struct vr_dir *d, struct rte_mbuf **m, uint16_t n, uint64_t bytes)
{
	ctr_add(d->c.drop_unready, n);
	ctr_add(d->c.drop_unready_bytes, bytes);
	rte_pktmbuf_free_bulk(m, n);
}

void
pending_drop_unready(struct vr_dir *d, struct vr_pending *p)
{
	dir_drop_unready(d, p->m, p->n, sum_bytes(p->m, p->n));
	p->n = 0;
}

void
pending_drop_except(struct vr_dir *d, uint64_t keep)
{
	for (uint16_t qp = 0; qp < VR_MAX_QP; qp++)
		if (d->pend[qp].n > 0 && !(keep & (1ULL << qp)))
			pending_drop_unready(d, &d->pend[qp]);
}
