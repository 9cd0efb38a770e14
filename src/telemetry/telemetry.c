/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters over DPDK telemetry, readable with the stock dpdk-telemetry.py:
 *   /vrelay/relays           ids of the relays
 *   /vrelay/relay,ID         one relay: config, state, per-direction counters
 *                            and rates, per-queue counts, device stats
 *   /vrelay/workers          per worker CPU: directions, load, packets
 *   /vrelay/mem              mempools and mbuf accounting
 * Callbacks run on the telemetry thread and read under the relay lock.
 */
#include "telemetry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "handoff.h"
#include "relay.h"
#include "redirect.h"
#include "underlay_ctl.h"
#include "worker.h"

static const char *const dir_names[2] = {[VR_VM2DEV] = "vm2dev", [VR_DEV2VM] = "dev2vm"};

static int
parse_id(const char *params)
{
	return params != NULL ? vr_relay_id_parse(params, NULL) : -1;
}

static int
cmd_relays(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	relay_lock();
	for (int i = 0; i < VR_MAX_RELAYS; i++)
		if (relay_get(i) != NULL)
			rte_tel_data_add_array_int(d, i);
	relay_unlock();
	return 0;
}

static bool
counter_shown(const struct vr_ctr_desc *c, unsigned dir_bit)
{
	return dir_bit == 0 || (c->dirs & dir_bit) != 0;
}

/* The counters of one list into d: "a" as d.a, "g.a" as d.g.a (counters.h). */
static void
add_counters(struct rte_tel_data *d, const struct vr_ctr_desc *desc, unsigned n, const void *values,
             unsigned dir_bit)
{
	for (unsigned i = 0; i < n; i++)
		if (counter_shown(&desc[i], dir_bit) && strchr(desc[i].name, '.') == NULL)
			rte_tel_data_add_dict_u64(d, desc[i].name, vr_ctr_value(values, &desc[i]));
	for (unsigned i = 0; i < n; i++) {
		const char *dot = strchr(desc[i].name, '.');
		size_t plen = dot != NULL ? (size_t)(dot - desc[i].name) : 0;
		bool first = dot != NULL && counter_shown(&desc[i], dir_bit);
		char group[RTE_TEL_MAX_STRING_LEN];
		struct rte_tel_data *sub;

		for (unsigned j = 0; first && j < i; j++)
			first = !(counter_shown(&desc[j], dir_bit) &&
			          strncmp(desc[j].name, desc[i].name, plen + 1) == 0);
		if (!first || (sub = rte_tel_data_alloc()) == NULL)
			continue;
		rte_tel_data_start_dict(sub);
		for (unsigned j = i; j < n; j++)
			if (counter_shown(&desc[j], dir_bit) &&
			    strncmp(desc[j].name, desc[i].name, plen + 1) == 0)
				rte_tel_data_add_dict_u64(sub, desc[j].name + plen + 1,
				                          vr_ctr_value(values, &desc[j]));
		snprintf(group, sizeof(group), "%.*s", (int)plen, desc[i].name);
		rte_tel_data_add_dict_container(d, group, sub, 0);
	}
}

static struct rte_tel_data *
u64_array(const uint64_t *v, unsigned n)
{
	struct rte_tel_data *a = rte_tel_data_alloc();

	if (a == NULL)
		return NULL;
	rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
	for (unsigned i = 0; i < n; i++)
		rte_tel_data_add_array_u64(a, v[i]);
	return a;
}

static struct rte_tel_data *
dir_dict(const struct vr_relay *r, int k)
{
	const struct vr_dir *dir = r->dir[k];
	struct rte_tel_data *d = rte_tel_data_alloc();
	uint64_t q[VR_MAX_QP];
	unsigned nq = RTE_MAX(RTE_MAX((unsigned)r->conf.queues, (unsigned)r->dev.n_queues),
	                      vhost_guest_queues(&r->vhost));

	if (d == NULL)
		return NULL;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "cpu", relay_dir_cpu(dir));
	add_counters(d, vr_dir_counter_desc, VR_N_DIR_COUNTERS, &dir->c,
	             k == VR_VM2DEV ? VR_CTR_VM2DEV : VR_CTR_DEV2VM);
	rte_tel_data_add_dict_u64(d, "rx_pps", r->rate_rx[k].pps);
	rte_tel_data_add_dict_u64(d, "rx_bps", r->rate_rx[k].bps);
	rte_tel_data_add_dict_u64(d, "pps", r->rate[k].pps);
	rte_tel_data_add_dict_u64(d, "bps", r->rate[k].bps);
	if (nq > VR_MAX_QP)
		nq = VR_MAX_QP;
	for (unsigned i = 0; i < nq; i++)
		q[i] = ctr_read(dir->q_pkts[i]);
	rte_tel_data_add_dict_container(d, "queue_pkts", u64_array(q, nq), 0);
	return d;
}

static struct rte_tel_data *
device_dict(const struct vr_relay *r)
{
	struct rte_tel_data *d = rte_tel_data_alloc();
	struct rte_eth_stats st;
	uint64_t q[RTE_ETHDEV_QUEUE_STAT_CNTRS];
	unsigned nq = RTE_MIN(r->dev.n_queues, RTE_ETHDEV_QUEUE_STAT_CNTRS);

	if (d == NULL)
		return NULL;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", r->dev.name);
	rte_tel_data_add_dict_int(d, "port", r->dev.port_id);
	rte_tel_data_add_dict_int(d, "queues", r->dev.n_queues);
	rte_tel_data_add_dict_int(d, "rss", r->dev.rss);
	if (rte_eth_stats_get(r->dev.port_id, &st) != 0)
		return d;
	rte_tel_data_add_dict_u64(d, "ipackets", st.ipackets);
	rte_tel_data_add_dict_u64(d, "opackets", st.opackets);
	rte_tel_data_add_dict_u64(d, "ibytes", st.ibytes);
	rte_tel_data_add_dict_u64(d, "obytes", st.obytes);
	rte_tel_data_add_dict_u64(d, "imissed", st.imissed);
	rte_tel_data_add_dict_u64(d, "ierrors", st.ierrors);
	rte_tel_data_add_dict_u64(d, "oerrors", st.oerrors);
	rte_tel_data_add_dict_u64(d, "rx_nombuf", st.rx_nombuf);
	for (unsigned i = 0; i < nq; i++)
		q[i] = st.q_ipackets[i];
	rte_tel_data_add_dict_container(d, "q_ipackets", u64_array(q, nq), 0);
	for (unsigned i = 0; i < nq; i++)
		q[i] = st.q_opackets[i];
	rte_tel_data_add_dict_container(d, "q_opackets", u64_array(q, nq), 0);
	return d;
}

/* What the relay learned of its guest (announce.h). */
static void
add_learned(struct rte_tel_data *d, const struct vr_relay *r)
{
	struct rte_tel_data *ips = rte_tel_data_alloc();
	char text[48];
	struct vr_addrs a;

	vm2dev_learned(r->vm2dev, &a);
	vr_addrs_mac_str(&a, text, sizeof(text));
	rte_tel_data_add_dict_string(d, "guest_mac", text);
	if (ips == NULL)
		return;
	rte_tel_data_start_array(ips, RTE_TEL_STRING_VAL);
	for (unsigned i = 0; i < vr_addrs_n_ip(&a); i++) {
		vr_addrs_ip_str(&a, i, text, sizeof(text));
		rte_tel_data_add_array_string(ips, text);
	}
	rte_tel_data_add_dict_container(d, "guest_ips", ips, 0);
}

static int
cmd_relay(const char *cmd, const char *params, struct rte_tel_data *d)
{
	int id = parse_id(params);
	struct vr_relay *r;
	char buf[32];

	(void)cmd;
	if (id < 0)
		return -EINVAL;
	relay_lock();
	r = relay_get(id);
	if (r == NULL) {
		relay_unlock();
		return -ENOENT;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "id", id);
	rte_tel_data_add_dict_string(d, "device", r->conf.device);
	rte_tel_data_add_dict_string(d, "socket", r->conf.socket);
	rte_tel_data_add_dict_string(d, "mode",
	                             r->conf.mode == VR_VHOST_CLIENT ? "client" : "server");
	rte_tel_data_add_dict_string(d, "state", relay_state_name(r));
	rte_tel_data_add_dict_int(d, "vid", r->vhost.vid);
	rte_tel_data_add_dict_int(d, "mtu", r->conf.mtu);
	rte_tel_data_add_dict_int(d, "numa", r->pool_socket);
	snprintf(buf, sizeof(buf), "0x%" PRIx64,
	         __atomic_load_n(&r->vhost.features, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_string(d, "features", buf);
	snprintf(buf, sizeof(buf), "0x%" PRIx64,
	         __atomic_load_n(&r->vhost.vrings, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_string(d, "vrings_enabled", buf);
	add_counters(d, vr_relay_counter_desc, VR_N_RELAY_COUNTERS, &r->c, 0);
	for (int k = 0; k < 2; k++)
		rte_tel_data_add_dict_container(d, dir_names[k], dir_dict(r, k), 0);
	rte_tel_data_add_dict_container(d, "device_stats", device_dict(r), 0);
	add_learned(d, r);
	relay_unlock();
	return 0;
}

static int
cmd_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	relay_lock();
	for (unsigned i = 0; i < vr_n_workers; i++) {
		struct vr_worker *w = &vr_workers[i];
		struct rte_tel_data *wd = rte_tel_data_alloc();
		char name[16];

		if (wd == NULL)
			break;
		rte_tel_data_start_dict(wd);
		rte_tel_data_add_dict_int(wd, "lcore", (int)w->lcore);
		rte_tel_data_add_dict_int(wd, "dirs", handoff_worker_dirs(i));
		rte_tel_data_add_dict_int(wd, "busy_permille", (int)w->busy_permille);
		rte_tel_data_add_dict_u64(wd, "pkts", ctr_read(w->pkts));
		rte_tel_data_add_dict_u64(wd, "passes", ctr_read(w->passes));
		snprintf(name, sizeof(name), "%u", w->cpu);
		rte_tel_data_add_dict_container(d, name, wd, 0);
	}
	relay_unlock();
	return 0;
}

static int
cmd_mem(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t in_use = 0, size = 0, retired = 0;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	relay_lock();
	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		struct vr_relay *r = relay_get(i);

		if (r == NULL)
			continue;
		size += r->pool->size;
		in_use += r->pool->size - rte_mempool_avail_count(r->pool);
		for (int k = 0; k < VR_RETIRED_POOLS; k++)
			retired += r->retired[k] != NULL;
	}
	rte_tel_data_add_dict_u64(d, "pools_retired", retired);
	rte_tel_data_add_dict_int(d, "relays", (int)relay_count());
	rte_tel_data_add_dict_u64(d, "pools_created", relay_pools_created());
	rte_tel_data_add_dict_u64(d, "mbufs", size);
	rte_tel_data_add_dict_u64(d, "mbufs_in_use", in_use);
	rte_tel_data_add_dict_u64(d, "mbufs_leaked", relay_leaked_mbufs());
	relay_unlock();
	return 0;
}

static void
add_mac(struct rte_tel_data *d, const char *key, bool known, const uint8_t *mac)
{
	char s[18] = "";

	if (known)
		snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		         mac[3], mac[4], mac[5]);
	rte_tel_data_add_dict_string(d, key, s);
}

/* The relay's own underlay address (tunnel/underlay_ctl.h). */
static int
cmd_underlay(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct underlay_state u;
	struct redirect_totals t;

	(void)cmd;
	(void)params;
	relay_lock(); /* the control thread updates it under the same lock */
	underlay_state(&u);
	relay_unlock();
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "relay", u.on ? u.relay : -1);
	add_mac(d, "gateway4_mac", u.gw4_known, u.gw4_mac);
	add_mac(d, "gateway6_mac", u.gw6_known, u.gw6_mac);
	rte_tel_data_add_dict_u64(d, "answered", u.answered);
	rte_tel_data_add_dict_u64(d, "asked", u.asked);
	rte_tel_data_add_dict_u64(d, "ctl_frames", u.ctl_frames);
	rte_tel_data_add_dict_u64(d, "tunnel_frames", u.tunnel_frames);
	rte_tel_data_add_dict_u64(d, "tunnel_unclaimed", u.tunnel_unclaimed);
	rte_tel_data_add_dict_u64(d, "other_dropped", u.other_dropped);
	rte_tel_data_add_dict_u64(d, "ring_full", u.ring_full);
	rte_tel_data_add_dict_u64(d, "fragments", u.fragments);
	rte_tel_data_add_dict_u64(d, "reassembled", u.reassembled);
	relay_lock();
	redirect_totals(&t);
	relay_unlock();
	rte_tel_data_add_dict_u64(d, "redirects_added", t.added);
	rte_tel_data_add_dict_u64(d, "markers", t.markers);
	for (int why = 0; why < VR_REDIRECT_END_N; why++)
		rte_tel_data_add_dict_u64(d, redirect_end_key(why), t.ended[why]);
	return 0;
}

static void
add_esp(struct rte_tel_data *d, const char *key, const struct vr_esp_counters *c)
{
	struct rte_tel_data *o = rte_tel_data_alloc();

	if (o == NULL)
		return;
	rte_tel_data_start_dict(o);
	rte_tel_data_add_dict_u64(o, "pkts", c->pkts);
	rte_tel_data_add_dict_u64(o, "bytes", c->bytes);
#define ADD_DROP(field, name, help) rte_tel_data_add_dict_u64(o, name, c->field);
	VR_ESP_DROPS(ADD_DROP)
#undef ADD_DROP
	rte_tel_data_add_dict_container(d, key, o, 0);
}

/* One relay's redirect (tunnel/redirect.h). */
static int
cmd_redirect(const char *cmd, const char *params, struct rte_tel_data *d)
{
	int id = parse_id(params);
	struct redirect_state s;
	char peer[INET6_ADDRSTRLEN];
	bool on;

	(void)cmd;
	if (id < 0)
		return -EINVAL;
	relay_lock();
	on = redirect_state(id, &s);
	relay_unlock();
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "state", on ? "active" : "none");
	if (!on)
		return 0;
	inet_ntop(s.peer6 ? AF_INET6 : AF_INET, s.peer, peer, sizeof(peer));
	rte_tel_data_add_dict_string(d, "role", redirect_role_name(s.role));
	rte_tel_data_add_dict_string(d, "peer", peer);
	rte_tel_data_add_dict_int(d, "handover", s.handover);
	rte_tel_data_add_dict_u64(d, "spi_out4", s.spi_out[0]);
	rte_tel_data_add_dict_u64(d, "spi_out6", s.spi_out[1]);
	rte_tel_data_add_dict_u64(d, "spi_in4", s.spi_in[0]);
	rte_tel_data_add_dict_u64(d, "spi_in6", s.spi_in[1]);
	rte_tel_data_add_dict_u64(d, "rekeys_out", s.rekeys_out);
	rte_tel_data_add_dict_u64(d, "rekeys_in", s.rekeys_in);
	rte_tel_data_add_dict_u64(d, "age_ms", s.age_ms);
	add_esp(d, "sealed", &s.sealed);
	add_esp(d, "opened", &s.opened);
	rte_tel_data_add_dict_u64(d, "under_full", s.under_full);
	rte_tel_data_add_dict_u64(d, "answered", s.answered);
	rte_tel_data_add_dict_u64(d, "answers_full", s.answers_full);
	rte_tel_data_add_dict_u64(d, "under_mtu", s.under_mtu);
	rte_tel_data_add_dict_u64(d, "fragmented", s.fragmented);
	rte_tel_data_add_dict_u64(d, "frag_failed", s.frag_failed);
	rte_tel_data_add_dict_u64(d, "markers", s.markers);
	rte_tel_data_add_dict_u64(d, "mss4", s.mss[0]);
	rte_tel_data_add_dict_u64(d, "mss6", s.mss[1]);
	rte_tel_data_add_dict_u64(d, "mss_clamped", s.mss_clamped);
	for (int side = 0; side < 2; side++) {
		struct rte_tel_data *o = rte_tel_data_alloc();

		if (o == NULL)
			continue;
		rte_tel_data_start_dict(o);
		rte_tel_data_add_dict_u64(o, "live", s.flows_live[side]);
#define ADD_FLOW(field, name, help) rte_tel_data_add_dict_u64(o, name, s.flows[side].field);
		VR_FLOW_COUNTERS(ADD_FLOW)
#undef ADD_FLOW
		rte_tel_data_add_dict_container(
		    d, side == VR_SEAL ? "flows_sealed" : "flows_opened", o, 0);
	}
	return 0;
}

int
telemetry_register(void)
{
	int rc = 0;

	rc |= rte_telemetry_register_cmd("/vrelay/relays", cmd_relays, "Relay ids. No parameters");
	rc |= rte_telemetry_register_cmd("/vrelay/relay", cmd_relay,
	                                 "One relay's state and counters. Parameter: relay id");
	rc |= rte_telemetry_register_cmd("/vrelay/workers", cmd_workers,
	                                 "Worker CPUs with load and directions. No parameters");
	rc |= rte_telemetry_register_cmd("/vrelay/mem", cmd_mem,
	                                 "Mempool and mbuf accounting. No parameters");
	rc |= rte_telemetry_register_cmd("/vrelay/underlay", cmd_underlay,
	                                 "The relay's own underlay address. No parameters");
	rc |= rte_telemetry_register_cmd("/vrelay/redirect", cmd_redirect,
	                                 "One relay's redirect (tunnel). Parameter: relay id");
	return rc;
}
