/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Core scheduler and config services: which worker CPU polls each direction
 * of each relay, read and changed at run time. A move goes through the data
 * plane's handoff (ctl_pin -> handoff_move), which loses no packet; this
 * is the interface the load balancer drives. An UPDATE is checked whole
 * before anything moves: a CPU without a worker or a missing relay refuses
 * the request (the original answered OK and left the relay unserviced).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "errmsg.h"
#include "handoff.h"
#include "log.h"
#include "ctl.h"
#include "relay.h"
#include "underlay_ctl.h"
#include "request.h"
#include "virtioforwarder.pb-c.h"
#include "worker.h"

static int
check_update(const struct vr_sched_req *q, char *err, size_t errlen)
{
	int rc = 0;

	relay_lock();
	for (uint16_t i = 0; i < q->n && rc == 0; i++) {
		if (relay_get(q->map[i].id) == NULL)
			rc = vr_err(err, errlen, "relay %d does not exist", q->map[i].id);
		for (int k = 0; k < 2 && rc == 0; k++)
			if (q->map[i].cpu[k] != VR_CPU_UNPINNED &&
			    worker_by_cpu(q->map[i].cpu[k]) < 0)
				rc = vr_err(err, errlen, "relay %d: CPU %d has no worker",
				            q->map[i].id, q->map[i].cpu[k]);
	}
	relay_unlock();
	return rc;
}

size_t
sched_handle(const uint8_t *req, size_t len, uint8_t **out)
{
	Virtioforwarder__CoreSchedResponse resp = VIRTIOFORWARDER__CORE_SCHED_RESPONSE__INIT;
	static struct vr_sched_req q;
	uint32_t cores[VR_MAX_CPUS];
	char err[VR_ERR_MAX];
	int rc = vr_sched_req_decode(req, len, &q, err, sizeof(err));
	unsigned moved = 0;

	if (rc == 0 && q.get_cores) {
		for (unsigned i = 0; i < vr_n_workers; i++)
			cores[i] = vr_workers[i].cpu;
		resp.eal_cores = cores;
		resp.n_eal_cores = vr_n_workers;
	} else if (rc == 0) {
		rc = check_update(&q, err, sizeof(err));
		for (uint16_t i = 0; i < q.n && rc == 0; i++) {
			int n = ctl_pin(q.map[i].id, q.map[i].cpu[0], q.map[i].cpu[1], err,
			                sizeof(err));

			rc = n < 0 ? n : 0;
			moved += n > 0 ? 1 : 0;
		}
	}
	resp.status = rc == 0 ? VIRTIOFORWARDER__CORE_SCHED_RESPONSE__STATUS__OK
	                      : VIRTIOFORWARDER__CORE_SCHED_RESPONSE__STATUS__ERROR;
	if (rc != 0) {
		VR_LOG(WARNING, "control: core scheduler request refused: %s", err);
		resp.has_error_code = 1;
		resp.error_code = -EINVAL;
		resp.error_code_source = err;
	} else if (!q.get_cores) {
		VR_LOG(INFO, "control: core scheduler: %u of %u relays moved", moved, q.n);
	}
	return api_pack(&resp.base, out);
}

struct config_msg {
	Virtioforwarder__ConfigResponse__RelayCPU pins[VR_MAX_RELAYS], live[VR_MAX_RELAYS];
	Virtioforwarder__ConfigResponse__RelayCPU *pin_list[VR_MAX_RELAYS],
	    *live_list[VR_MAX_RELAYS];
	Virtioforwarder__ConfigResponse__Worker w[VR_MAX_CPUS], *w_list[VR_MAX_CPUS];
	char underlay[2][INET6_ADDRSTRLEN + 4];
	char *underlay_list[2];
	char underlay_mac[18];
};

static void
relay_cpu(Virtioforwarder__ConfigResponse__RelayCPU *e, int id, int vm2dev, int dev2vm)
{
	virtioforwarder__config_response__relay_cpu__init(e);
	e->relay_number = id;
	e->virtio2vf_cpu = vm2dev;
	e->vf2virtio_cpu = dev2vm;
}

static void
fill_relays(Virtioforwarder__ConfigResponse *resp, struct config_msg *m)
{
	const struct vr_conf *c = ctl_conf();

	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		const struct vr_relay *r = relay_get(i);
		int pin[2] = {c->ctl.pins[i][0], c->ctl.pins[i][1]};

		if (r != NULL) {
			pin[0] = r->conf.cpu[0];
			pin[1] = r->conf.cpu[1];
			relay_cpu(&m->live[resp->n_relay_cpu_live], i, relay_dir_cpu(r->dir[0]),
			          relay_dir_cpu(r->dir[1]));
			m->live_list[resp->n_relay_cpu_live] = &m->live[resp->n_relay_cpu_live];
			resp->n_relay_cpu_live++;
		}
		if (pin[0] == VR_CPU_UNPINNED || pin[1] == VR_CPU_UNPINNED)
			continue;
		relay_cpu(&m->pins[resp->n_relay_cpu_map], i, pin[0], pin[1]);
		m->pin_list[resp->n_relay_cpu_map] = &m->pins[resp->n_relay_cpu_map];
		resp->n_relay_cpu_map++;
	}
	resp->relay_cpu_map = m->pin_list;
	resp->relay_cpu_live = m->live_list;
}

/* The relay's underlay addresses, for an orchestrator setting up a redirect. */
static void
fill_underlay(Virtioforwarder__ConfigResponse *resp, struct config_msg *m)
{
	const struct vr_underlay_conf *u = underlay_conf();
	struct rte_ether_addr mac;
	char a[INET6_ADDRSTRLEN];

	resp->n_underlay = 0;
	if (u != NULL && u->has4)
		snprintf(m->underlay[resp->n_underlay++], sizeof(m->underlay[0]), "%s/%u",
		         inet_ntop(AF_INET, u->ip4, a, sizeof(a)), u->prefix4);
	if (u != NULL && u->has6)
		snprintf(m->underlay[resp->n_underlay++], sizeof(m->underlay[0]), "%s/%u",
		         inet_ntop(AF_INET6, u->ip6, a, sizeof(a)), u->prefix6);
	m->underlay_list[0] = m->underlay[0];
	m->underlay_list[1] = m->underlay[1];
	resp->underlay = m->underlay_list;
	if (u != NULL && underlay_mac(&mac) == 0) {
		snprintf(m->underlay_mac, sizeof(m->underlay_mac), RTE_ETHER_ADDR_PRT_FMT,
		         RTE_ETHER_ADDR_BYTES(&mac));
		resp->underlay_mac = m->underlay_mac;
	}
}

size_t
config_handle(const uint8_t *req, size_t len, uint8_t **out)
{
	Virtioforwarder__ConfigResponse resp = VIRTIOFORWARDER__CONFIG_RESPONSE__INIT;
	static struct config_msg m;
	char err[VR_ERR_MAX];

	if (vr_config_req_decode(req, len, err, sizeof(err)) < 0) {
		VR_LOG(WARNING, "control: config request refused: %s", err);
		resp.status = VIRTIOFORWARDER__CONFIG_RESPONSE__STATUS__EBADR;
	} else {
		relay_lock();
		fill_relays(&resp, &m);
		for (unsigned i = 0; i < vr_n_workers; i++) {
			virtioforwarder__config_response__worker__init(&m.w[i]);
			m.w[i].cpu = vr_workers[i].cpu;
			m.w[i].busy_permille = vr_workers[i].busy_permille;
			m.w[i].directions = (uint32_t)handoff_worker_dirs(i);
			m.w[i].pkts = ctr_read(vr_workers[i].pkts);
			m.w_list[i] = &m.w[i];
		}
		relay_unlock();
		fill_underlay(&resp, &m);
		resp.worker = m.w_list;
		resp.n_worker = vr_n_workers;
		resp.status = VIRTIOFORWARDER__CONFIG_RESPONSE__STATUS__OK;
	}
	return api_pack(&resp.base, out);
}
