/* SPDX-License-Identifier: BSD-3-Clause */
#include "dir.h"

#include "dev2vm.h"
#include "pending.h"
#include "vm2dev.h"

static uint16_t
queue_list(uint64_t mask, uint16_t list[VR_MAX_QP])
{
	uint16_t n = 0;

	for (uint16_t q = 0; q < VR_MAX_QP; q++)
		if (mask & (1ULL << q))
			list[n++] = q;
	return n;
}

bool
dir_sync(struct vr_dir *d)
{
	uint32_t sg = port_gen(d->src), dg = port_gen(d->dst);
	uint64_t rxq = port_rxq(d->src), txq = port_txq(d->dst);

	if (likely(sg == d->seen_src_gen && dg == d->seen_dst_gen && rxq == d->seen_rxq &&
	           txq == d->seen_txq))
		return false;
	/* a port without a peer has no queues, whatever its masks say */
	d->n_rxq = queue_list(sg != 0 ? rxq : 0, d->rxq);
	d->n_txq = queue_list(dg != 0 ? txq : 0, d->txq);
	d->seen_src_gen = sg;
	d->seen_dst_gen = dg;
	d->seen_rxq = rxq;
	d->seen_txq = txq;
	return true;
}

/* Two direction types, so a switch: no indirect call per direction. */
unsigned
dir_poll(struct vr_dir *d, uint64_t now, struct vr_budget *b)
{
	if (d->kind == VR_DEV2VM)
		return dev2vm_poll(dev2vm_of(d), now, b);
	return vm2dev_poll(vm2dev_of(d), now, b);
}

void
dir_drain(struct vr_dir *d)
{
	pending_drop_except(d, 0);
	if (d->kind == VR_VM2DEV)
		vm2dev_drain(vm2dev_of(d));
	else
		dev2vm_drain(dev2vm_of(d));
}
