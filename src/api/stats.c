/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stats service: StatsRequest -> StatsResponse with one RelayState per
 * relay, filled from the same counters DPDK telemetry shows.
 *
 * Rates: with delay = 0 they are the control timer's one-second rates; with
 * delay = D ms the counters are read now and again D ms later and the rates
 * are the difference over that interval. The reply waits on a timer of its
 * own in the control loop, addressed to its client (the services are
 * ROUTER sockets), so a long delay holds up nothing else, not even the next
 * stats request (the original busy-waited its service thread).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include "api.h"
#include "control.h"
#include "errmsg.h"
#include "log.h"
#include "redirect.h"
#include "relay.h"
#include "request.h"
#include "virtioforwarder.pb-c.h"

/* What a RelayState points into: lives until the reply is packed. */
struct relay_msg {
	Virtioforwarder__RelayState rs;
	Virtioforwarder__RelayState__CPU cpu;
	Virtioforwarder__RelayState__VHOST vhost;
	Virtioforwarder__RelayState__VF vf;
	Virtioforwarder__RelayState__VFtoVM up;
	Virtioforwarder__RelayState__VMtoVF down;
	char socket[VR_PATH_MAX], device[VR_DEVARGS_MAX], ident[64];
	char up_state[32], down_state[32], state[16], mode[8];
	char mac[18], ip_text[2 * VR_ADDRS_MAX][48];
	char *ips[2 * VR_ADDRS_MAX];
	/* the redirect: the guest it carries (MAC, then addresses), its peer */
	char rd_text[1 + 2 * VR_ADDRS_MAX][48], *rd_items[1 + 2 * VR_ADDRS_MAX];
	char rd_peer[48], rd_control[VR_PEER_CONTROL_MAX];
	/* the generated counter lists (counters.h) */
	Virtioforwarder__Counter dir_ctr[2][VR_N_DIR_COUNTERS];
	Virtioforwarder__Counter *dir_ctr_list[2][VR_N_DIR_COUNTERS];
	Virtioforwarder__Counter relay_ctr[VR_N_RELAY_COUNTERS];
	Virtioforwarder__Counter *relay_ctr_list[VR_N_RELAY_COUNTERS];
};

/* Counters of one direction at one moment, for rates over a delay. */
struct dir_sample {
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes;
};

/* A request waiting out its delay; each has its own timer and client, so
 * one client's delay holds up nobody else. */
struct delayed {
	bool used, has_timer;
	int timer;
	struct api_client *client;
	struct vr_stats_req req;
	uint64_t t0_ns;
	bool had[VR_MAX_RELAYS];
	struct dir_sample s0[VR_MAX_RELAYS][2];
};

#define MAX_DELAYED 8

static struct {
	struct vr_stats_req req;
	struct delayed wait[MAX_DELAYED];
	struct relay_msg msgs[VR_MAX_RELAYS];
} st;

/* Every counter of a list that applies (dir_bit 0: all) into out. */
static size_t
fill_counters(Virtioforwarder__Counter *c, Virtioforwarder__Counter **list,
              const struct vr_ctr_desc *desc, unsigned n, const void *values, unsigned dir_bit)
{
	size_t k = 0;

	for (unsigned i = 0; i < n; i++) {
		if (dir_bit != 0 && !(desc[i].dirs & dir_bit))
			continue;
		virtioforwarder__counter__init(&c[k]);
		c[k].name = (char *)desc[i].name;
		c[k].value = vr_ctr_value(values, &desc[i]);
		list[k] = &c[k];
		k++;
	}
	return k;
}

static struct dir_sample
sample_dir(const struct vr_dir *d)
{
	return (struct dir_sample){ctr_read(d->c.rx_pkts), ctr_read(d->c.rx_bytes),
	                           ctr_read(d->c.tx_pkts), ctr_read(d->c.tx_bytes)};
}

/* Rates of one direction: per second over [t0, now], or the 1 s rates. */
static void
dir_rates(const struct vr_relay *r, int k, const struct dir_sample *s0, double secs, float out[4])
{
	if (s0 != NULL && secs > 0) {
		struct dir_sample s1 = sample_dir(r->dir[k]);

		out[0] = (float)((double)(s1.rx_pkts - s0->rx_pkts) / secs);
		out[1] = (float)((double)(s1.rx_bytes - s0->rx_bytes) / secs);
		out[2] = (float)((double)(s1.tx_pkts - s0->tx_pkts) / secs);
		out[3] = (float)((double)(s1.tx_bytes - s0->tx_bytes) / secs);
		return;
	}
	out[0] = (float)r->rate_rx[k].pps;
	out[1] = (float)r->rate_rx[k].bps / 8;
	out[2] = (float)r->rate[k].pps;
	out[3] = (float)r->rate[k].bps / 8;
}

static bool
device_up(const struct vr_relay *r)
{
	struct rte_eth_link link;

	return r->dev.started && rte_eth_link_get_nowait(r->dev.port_id, &link) == 0 &&
	       link.link_status == RTE_ETH_LINK_UP;
}

/* Device to guest: the original's "VF to VM" (up) direction. */
static void
fill_up(struct relay_msg *m, const struct vr_relay *r, const float rt[4])
{
	const struct vr_dir_counters *c = &r->dir[VR_DEV2VM]->c;
	Virtioforwarder__RelayState__VFtoVM *u = &m->up;

	virtioforwarder__relay_state__vfto_vm__init(u);
	u->active = !r->removing;
	snprintf(m->up_state, sizeof(m->up_state), "device %s", device_up(r) ? "up" : "down");
	u->internal_state = m->up_state;
	u->has_pkts_rx_from_vf = u->has_bytes_rx_from_vf = u->has_pkts_tx_to_vm =
	    u->has_bytes_tx_to_vm = u->has_pkts_dropped_vm_queue_full =
	        u->has_bytes_dropped_vm_queue_full = u->has_pkts_dropped_vm_not_connected =
	            u->has_bytes_dropped_vm_not_connected = 1;
	u->pkts_rx_from_vf = ctr_read(c->rx_pkts);
	u->bytes_rx_from_vf = ctr_read(c->rx_bytes);
	u->pkts_tx_to_vm = ctr_read(c->tx_pkts);
	u->bytes_tx_to_vm = ctr_read(c->tx_bytes);
	u->pkts_dropped_vm_queue_full = ctr_read(c->drop_full);
	u->bytes_dropped_vm_queue_full = ctr_read(c->drop_full_bytes);
	u->pkts_dropped_vm_not_connected = ctr_read(c->drop_unready);
	u->bytes_dropped_vm_not_connected = ctr_read(c->drop_unready_bytes);
	u->pkt_rate_rx_from_vf = rt[0];
	u->byte_rate_rx_from_vf = rt[1];
	u->pkt_rate_tx_to_vm = rt[2];
	u->byte_rate_tx_to_vm = rt[3];
	u->n_counters = fill_counters(m->dir_ctr[VR_DEV2VM], m->dir_ctr_list[VR_DEV2VM],
	                              vr_dir_counter_desc, VR_N_DIR_COUNTERS, c, VR_CTR_DEV2VM);
	u->counters = m->dir_ctr_list[VR_DEV2VM];
}

/* Guest to device: the original's "VM to VF" (down) direction. */
static void
fill_down(struct relay_msg *m, const struct vr_relay *r, const float rt[4])
{
	const struct vr_dir_counters *c = &r->dir[VR_VM2DEV]->c;
	Virtioforwarder__RelayState__VMtoVF *d = &m->down;

	virtioforwarder__relay_state__vmto_vf__init(d);
	d->active = r->vhost.running;
	snprintf(m->down_state, sizeof(m->down_state), "guest %s", relay_state_name(r));
	d->internal_state = m->down_state;
	d->has_pkts_rx_from_vm = d->has_bytes_rx_from_vm = d->has_pkts_tx_to_vf =
	    d->has_bytes_tx_to_vf = d->has_pkts_dropped_vf_queue_full =
	        d->has_bytes_dropped_vf_queue_full = d->has_pkts_dropped_vf_not_connected =
	            d->has_bytes_dropped_vf_not_connected = 1;
	d->pkts_rx_from_vm = ctr_read(c->rx_pkts);
	d->bytes_rx_from_vm = ctr_read(c->rx_bytes);
	d->pkts_tx_to_vf = ctr_read(c->tx_pkts);
	d->bytes_tx_to_vf = ctr_read(c->tx_bytes);
	d->pkts_dropped_vf_queue_full = ctr_read(c->drop_full);
	d->bytes_dropped_vf_queue_full = ctr_read(c->drop_full_bytes);
	d->pkts_dropped_vf_not_connected = ctr_read(c->drop_unready);
	d->bytes_dropped_vf_not_connected = ctr_read(c->drop_unready_bytes);
	d->pkt_rate_rx_from_vm = rt[0];
	d->byte_rate_rx_from_vm = rt[1];
	d->pkt_rate_tx_to_vf = rt[2];
	d->byte_rate_tx_to_vf = rt[3];
	d->n_counters = fill_counters(m->dir_ctr[VR_VM2DEV], m->dir_ctr_list[VR_VM2DEV],
	                              vr_dir_counter_desc, VR_N_DIR_COUNTERS, c, VR_CTR_VM2DEV);
	d->counters = m->dir_ctr_list[VR_VM2DEV];
}

/* a's IP addresses as text in txt, listed in ptrs; how many. */
static size_t
ips_text(const struct vr_addrs *a, char txt[][48], char **ptrs)
{
	size_t n = vr_addrs_n_ip(a);

	for (size_t i = 0; i < n; i++) {
		vr_addrs_ip_str(a, (unsigned)i, txt[i], sizeof(txt[i]));
		ptrs[i] = txt[i];
	}
	return n;
}

/* Relay id's redirect, when it has one: what a move onward needs. */
static void
fill_redirect(struct relay_msg *m, int id)
{
	Virtioforwarder__RelayState *rs = &m->rs;
	struct redirect_state st;

	if (!redirect_state(id, &st))
		return;
	rs->redirect_role = (char *)redirect_role_name(st.role);
	inet_ntop(st.peer6 ? AF_INET6 : AF_INET, st.peer, m->rd_peer, sizeof(m->rd_peer));
	rs->redirect_peer = m->rd_peer;
	vr_addrs_mac_str(&st.guest, m->rd_text[0], sizeof(m->rd_text[0]));
	m->rd_items[0] = m->rd_text[0];
	rs->n_redirect_guest = 1 + ips_text(&st.guest, m->rd_text + 1, m->rd_items + 1);
	rs->redirect_guest = m->rd_items;
	if (st.peer_control[0] != '\0') {
		memcpy(m->rd_control, st.peer_control, sizeof(m->rd_control));
		rs->redirect_peer_control = m->rd_control;
	}
	rs->has_redirect_handover = 1;
	rs->redirect_handover = st.handover;
	rs->has_redirect_peer_relay = st.peer_relay >= 0;
	rs->redirect_peer_relay = (uint32_t)st.peer_relay;
}

/* One relay's state; relay lock held. s0 NULL: one-second rates. */
static void
fill_learned(struct relay_msg *m, const struct vr_relay *r)
{
	Virtioforwarder__RelayState *rs = &m->rs;
	struct vr_addrs a;

	vm2dev_learned(r->vm2dev, &a);
	vr_addrs_merge(&a, &r->arrived);
	vr_addrs_mac_str(&a, m->mac, sizeof(m->mac));
	rs->guest_mac = m->mac;
	rs->n_guest_ip = ips_text(&a, m->ip_text, m->ips);
	rs->guest_ip = m->ips;
	fill_redirect(m, r->conf.id);
	rs->has_announced = 1;
	rs->announced = ctr_read(r->dir[VR_VM2DEV]->c.announced);
}

static void
fill_relay(struct relay_msg *m, const struct vr_relay *r, const struct dir_sample s0[2],
           double secs)
{
	Virtioforwarder__RelayState *rs = &m->rs;
	float up[4], down[4];

	virtioforwarder__relay_state__init(rs);
	virtioforwarder__relay_state__cpu__init(&m->cpu);
	virtioforwarder__relay_state__vhost__init(&m->vhost);
	virtioforwarder__relay_state__vf__init(&m->vf);
	rs->id = (uint32_t)r->conf.id;
	rs->active = r->vhost.running && device_up(r) && !r->removing;
	if (r->conf.ident[0] != '\0') {
		snprintf(m->ident, sizeof(m->ident), "%s", r->conf.ident);
		rs->ident = m->ident;
	}
	m->cpu.has_vf_to_vm = m->cpu.has_vm_to_vf = 1;
	m->cpu.vf_to_vm = relay_dir_cpu(r->dir[VR_DEV2VM]);
	m->cpu.vm_to_vf = relay_dir_cpu(r->dir[VR_VM2DEV]);
	rs->cpu = &m->cpu;
	snprintf(m->socket, sizeof(m->socket), "%s", r->conf.socket);
	m->vhost.vhost_socket_name = m->socket;
	rs->vhost = &m->vhost;
	snprintf(m->device, sizeof(m->device), "%s", r->conf.device); /* whole, any length */
	m->vf.pci_addr_str = m->device;
	rs->vf = &m->vf;
	dir_rates(r, VR_DEV2VM, s0 != NULL ? &s0[VR_DEV2VM] : NULL, secs, up);
	dir_rates(r, VR_VM2DEV, s0 != NULL ? &s0[VR_VM2DEV] : NULL, secs, down);
	fill_up(m, r, up);
	rs->vf_to_vm = &m->up;
	fill_down(m, r, down);
	rs->vm_to_vf = &m->down;
	rs->socket_id = (uint32_t)r->pool_socket;
	snprintf(m->state, sizeof(m->state), "%s", relay_state_name(r));
	rs->state = m->state;
	snprintf(m->mode, sizeof(m->mode), "%s",
	         r->conf.mode == VR_VHOST_CLIENT ? "client" : "server");
	rs->vhost_mode = m->mode;
	rs->has_queues = rs->has_pkts_nombuf = 1;
	rs->queues = vhost_guest_queues(&r->vhost);
	rs->pkts_nombuf = ctr_read(r->c.nombuf);
	rs->n_counters = fill_counters(m->relay_ctr, m->relay_ctr_list, vr_relay_counter_desc,
	                               VR_N_RELAY_COUNTERS, &r->c, 0);
	rs->counters = m->relay_ctr_list;
	fill_learned(m, r);
}

static size_t
stats_error(int status, const char *msg, uint8_t **out)
{
	Virtioforwarder__StatsResponse resp = VIRTIOFORWARDER__STATS_RESPONSE__INIT;

	resp.status = (Virtioforwarder__StatsResponse__Status)status;
	resp.error = (char *)msg;
	VR_LOG(WARNING, "control: stats request refused: %s", msg);
	return api_pack(&resp.base, out);
}

/* The relays a request covers, in its order; relay lock held. */
static int
requested_ids(const struct vr_stats_req *q, int ids[VR_MAX_RELAYS], char *err, size_t errlen)
{
	int n = 0;

	if (q->n == 0) {
		for (int i = 0; i < VR_MAX_RELAYS; i++)
			if (relay_get(i) != NULL)
				ids[n++] = i;
		return n;
	}
	for (uint16_t i = 0; i < q->n; i++) {
		if (relay_get(q->ids[i]) == NULL)
			return vr_err(err, errlen, "relay %u does not exist", q->ids[i]);
		ids[n++] = q->ids[i];
	}
	return n;
}

/* The reply to q; with w, rates over the delay since w's samples. */
static size_t
build_reply(const struct vr_stats_req *q, const struct delayed *w, uint8_t **out)
{
	Virtioforwarder__StatsResponse resp = VIRTIOFORWARDER__STATS_RESPONSE__INIT;
	Virtioforwarder__RelayState *list[VR_MAX_RELAYS];
	double secs = w != NULL ? (double)(control_now_ns() - w->t0_ns) / 1e9 : 0;
	char err[VR_ERR_MAX];
	int ids[VR_MAX_RELAYS], n;
	size_t len;

	relay_lock();
	n = requested_ids(q, ids, err, sizeof(err));
	if (n < 0) {
		relay_unlock();
		return stats_error(VR_STATS_EBADR, err, out);
	}
	resp.relay = list;
	for (int i = 0; i < n; i++) {
		const struct vr_relay *r = relay_get(ids[i]);

		if (w != NULL && !w->had[ids[i]])
			continue; /* added during the delay: no start sample */
		fill_relay(&st.msgs[i], r, w != NULL ? w->s0[ids[i]] : NULL, secs);
		if (!q->include_inactive && !st.msgs[i].rs.active)
			continue;
		list[resp.n_relay++] = &st.msgs[i].rs;
	}
	resp.status = VIRTIOFORWARDER__STATS_RESPONSE__STATUS__OK;
	len = api_pack(&resp.base, out);
	relay_unlock();
	return len;
}

static void
on_delay_done(void *arg)
{
	struct delayed *w = arg;
	uint64_t ticks;
	uint8_t *out = NULL;
	size_t n;

	if (read(w->timer, &ticks, sizeof(ticks)) < 0)
		return;
	control_unwatch(w->timer, NULL);
	n = build_reply(&w->req, w, &out);
	api_reply_to(VR_SVC_STATS, w->client, out, n);
	w->client = NULL;
	w->used = false;
	free(out);
}

static struct delayed *
free_slot(void)
{
	for (int i = 0; i < MAX_DELAYED; i++)
		if (!st.wait[i].used) {
			if (!st.wait[i].has_timer)
				st.wait[i].timer = control_timer_new();
			st.wait[i].has_timer = st.wait[i].timer >= 0;
			return st.wait[i].has_timer ? &st.wait[i] : NULL;
		}
	return NULL;
}

static size_t
start_delay(uint8_t **out)
{
	struct delayed *w = free_slot();

	if (w == NULL)
		return stats_error(VR_STATS_ENOMEM, "too many delayed requests waiting", out);
	if (control_watch(w->timer, NULL, on_delay_done, w) < 0)
		return stats_error(VR_STATS_ENOMEM, "no timer for the delay", out);
	w->client = api_defer(VR_SVC_STATS);
	if (w->client == NULL) {
		control_unwatch(w->timer, NULL);
		return stats_error(VR_STATS_ENOMEM, "out of memory", out);
	}
	w->used = true;
	w->req = st.req;
	relay_lock();
	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		const struct vr_relay *r = relay_get(i);

		w->had[i] = r != NULL;
		for (int k = 0; k < 2 && r != NULL; k++)
			w->s0[i][k] = sample_dir(r->dir[k]);
	}
	w->t0_ns = control_now_ns();
	relay_unlock();
	control_timer_arm(w->timer, w->req.delay_ms);
	return VR_REPLY_LATER;
}

size_t
stats_handle(const uint8_t *req, size_t len, uint8_t **out)
{
	char err[VR_ERR_MAX];
	int status = vr_stats_req_decode(req, len, &st.req, err, sizeof(err));

	if (status != VR_STATS_OK)
		return stats_error(status, err, out);
	if (st.req.delay_ms > 0)
		return start_delay(out);
	return build_reply(&st.req, NULL, out);
}
