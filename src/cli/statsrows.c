/* SPDX-License-Identifier: BSD-3-Clause */
#include "statsrows.h"

#include <string.h>

void
dir_rows(const Virtioforwarder__RelayState *s, struct dir_row row[2])
{
	const Virtioforwarder__RelayState__VMtoVF *d = s->vm_to_vf;
	const Virtioforwarder__RelayState__VFtoVM *u = s->vf_to_vm;

	row[0] = (struct dir_row){"vm2dev",
	                          s->cpu ? s->cpu->vm_to_vf : -1,
	                          d->n_counters,
	                          d->counters,
	                          d->pkt_rate_rx_from_vm,
	                          d->pkt_rate_tx_to_vf,
	                          d->byte_rate_tx_to_vf};
	row[1] = (struct dir_row){"dev2vm",
	                          s->cpu ? s->cpu->vf_to_vm : -1,
	                          u->n_counters,
	                          u->counters,
	                          u->pkt_rate_rx_from_vf,
	                          u->pkt_rate_tx_to_vm,
	                          u->byte_rate_tx_to_vm};
}

long long
counter_of(const struct dir_row *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->c[i]->name, name) == 0)
			return (long long)d->c[i]->value;
	return -1;
}
