/* SPDX-License-Identifier: BSD-3-Clause */
#include "underlay_ctl.h"

#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "control.h"
#include "errmsg.h"
#include "esp.h"
#include "handoff.h"
#include "log.h"
#include "neigh.h"
#include "relay.h"

#define TICK_MS       10
#define ASK_UNKNOWN_S 1  /* asking for the gateway until it answers */
#define ASK_KNOWN_S   30 /* and then, to notice it changed */
#define DRAIN_MAX     64 /* control frames handled per tick */

static struct {
	bool on;
	struct vr_underlay_conf conf;
	struct vr_underlay_tap *tap;
	int timer;
	uint64_t next_ask_ns;
	bool gw4_known, gw6_known;
	uint8_t gw4_mac[6], gw6_mac[6];
	uint64_t answered, asked;
} u = {.timer = -1};

struct vr_underlay_tap *
underlay_tap_of(int id)
{
	return u.on && id == u.conf.relay ? u.tap : NULL;
}

/* Sends frame f of len bytes out of relay r's device (relay lock held). */
static void
send_frame(struct vr_relay *r, const uint8_t *f, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(r->pool);

	if (m == NULL)
		return;
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
	if (handoff_inject(r->vm2dev, &m, 1) != 1)
		rte_pktmbuf_free(m);
}

/* The gateways' MACs as the sender of sealed frames reads them. */
static void
next_hops_publish(void)
{
	uint64_t v[2] = {0, 0};

	if (u.gw4_known)
		memcpy(&v[0], u.gw4_mac, 6);
	if (u.gw6_known)
		memcpy(&v[1], u.gw6_mac, 6);
	for (int f = 0; f < 2; f++)
		__atomic_store_n(&u.tap->next_hop[f], v[f], __ATOMIC_RELAXED);
}

/* One ARP or ND frame about our address: answer it, or learn from it. */
static void
handle(struct vr_relay *r, const uint8_t mac[6], const uint8_t *f, size_t len)
{
	struct vr_neigh n;
	uint8_t out[VR_NEIGH_FRAME];
	bool ours;

	if (!vr_neigh_parse(f, len, &n))
		return;
	ours = n.ipv6 ? u.conf.has6 && memcmp(n.target_ip, u.conf.ip6, 16) == 0
	              : u.conf.has4 && memcmp(n.target_ip, u.conf.ip4, 4) == 0;
	if (ours && (n.kind == VR_NEIGH_ARP_REQUEST || n.kind == VR_NEIGH_NS)) {
		size_t l = vr_neigh_answer(&n, mac, out);

		if (l > 0) {
			send_frame(r, out, l);
			u.answered++;
		}
	}
	/* whatever the gateway says tells where it is */
	if (!n.has_mac)
		return;
	if (!n.ipv6 && u.conf.has_gw4 && !u.conf.has_gw4_mac &&
	    memcmp(n.sender_ip, u.conf.gw4, 4) == 0) {
		if (!u.gw4_known || memcmp(u.gw4_mac, n.sender_mac, 6) != 0)
			VR_LOG(NOTICE,
			       "underlay: gateway %u.%u.%u.%u at %02x:%02x:%02x:%02x:%02x:%02x",
			       u.conf.gw4[0], u.conf.gw4[1], u.conf.gw4[2], u.conf.gw4[3],
			       n.sender_mac[0], n.sender_mac[1], n.sender_mac[2], n.sender_mac[3],
			       n.sender_mac[4], n.sender_mac[5]);
		memcpy(u.gw4_mac, n.sender_mac, 6);
		u.gw4_known = true;
	}
	/* a solicitation's sender is whoever asks: only the gateway's own
	 * message, or an advertisement of its address, tells its MAC */
	if (n.ipv6 && u.conf.has_gw6 && !u.conf.has_gw6_mac &&
	    (memcmp(n.sender_ip, u.conf.gw6, 16) == 0 ||
	     (n.kind == VR_NEIGH_NA && memcmp(n.target_ip, u.conf.gw6, 16) == 0))) {
		memcpy(u.gw6_mac, n.sender_mac, 6);
		u.gw6_known = true;
	}
	next_hops_publish();
}

static void
ask_gateways(struct vr_relay *r, const uint8_t mac[6])
{
	uint8_t out[VR_NEIGH_FRAME];

	if (u.conf.has_gw4 && !u.conf.has_gw4_mac) {
		send_frame(r, out, vr_neigh_ask4(mac, u.conf.ip4, u.conf.gw4, out));
		u.asked++;
	}
	if (u.conf.has_gw6 && !u.conf.has_gw6_mac) {
		send_frame(r, out, vr_neigh_ask6(mac, u.conf.ip6, u.conf.gw6, out));
		u.asked++;
	}
}

static void
on_tick(void *arg)
{
	struct rte_ether_addr mac;
	struct vr_relay *r;
	uint64_t ticks, now = control_now_ns();
	void *m[DRAIN_MAX];
	unsigned n;

	(void)arg;
	/* clears the one-shot timer; re-armed below whatever the read says */
	(void)!read(u.timer, &ticks, sizeof(ticks));
	n = rte_ring_sc_dequeue_burst(u.tap->to_ctl, m, DRAIN_MAX, NULL);
	relay_lock();
	r = relay_get(u.conf.relay);
	if (r != NULL && !r->removing && r->vm2dev != NULL &&
	    rte_eth_macaddr_get(r->dev.port_id, &mac) == 0) {
		for (unsigned i = 0; i < n; i++) {
			struct rte_mbuf *f = m[i];

			if (rte_pktmbuf_linearize(f) == 0)
				handle(r, mac.addr_bytes, rte_pktmbuf_mtod(f, const uint8_t *),
				       f->pkt_len);
		}
		if (now >= u.next_ask_ns) {
			ask_gateways(r, mac.addr_bytes);
			bool unknown =
			    (u.conf.has_gw4 && !u.gw4_known) || (u.conf.has_gw6 && !u.gw6_known);

			u.next_ask_ns =
			    now + (unknown ? ASK_UNKNOWN_S : ASK_KNOWN_S) * 1000000000ULL;
		}
	}
	relay_unlock();
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
	control_timer_arm(u.timer, TICK_MS);
}

int
underlay_start(const struct vr_conf *c, char *err, size_t errlen)
{
	if (c->underlay.relay < 0)
		return 0;
	u.conf = c->underlay;
	/* a gateway whose MAC was given is known from the start, never asked */
	u.gw4_known = u.conf.has_gw4_mac;
	u.gw6_known = u.conf.has_gw6_mac;
	memcpy(u.gw4_mac, u.conf.gw4_mac, 6);
	memcpy(u.gw6_mac, u.conf.gw6_mac, 6);
	u.tap = rte_zmalloc("vr_underlay_tap", sizeof(*u.tap), RTE_CACHE_LINE_SIZE);
	if (u.tap == NULL)
		return vr_err(err, errlen, "underlay: out of memory");
	u.tap->has4 = u.conf.has4;
	u.tap->has6 = u.conf.has6;
	memcpy(u.tap->ip4, u.conf.ip4, 4);
	memcpy(u.tap->ip6, u.conf.ip6, 16);
	u.tap->esp_port = VR_ESP_UDP_PORT;
	/* small: what waits here is out of the relay's pool (drained every
	 * tick). No tunnel ring until a tunnel port consumes it: ESP to the
	 * address is dropped and counted (tunnel_unclaimed), so nobody on the
	 * LAN can pin the pool's mbufs with it. */
	u.tap->to_ctl =
	    rte_ring_create("vr_underlay_ctl", 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	/* what every tunnel sealed, for the underlay relay's device: many
	 * producers (any worker that seals), its vm2dev worker the consumer */
	u.tap->sealed = rte_ring_create("vr_underlay_sealed", 1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
	u.tap->frags =
	    rte_ip_frag_table_create(VR_UNDERLAY_FRAG_PACKETS / 4, 4, VR_UNDERLAY_FRAG_PACKETS,
	                             rte_get_tsc_hz() / 1000 * VR_UNDERLAY_FRAG_MS, SOCKET_ID_ANY);
	u.timer = control_timer_new();
	if (u.tap->to_ctl == NULL || u.tap->sealed == NULL || u.tap->frags == NULL || u.timer < 0 ||
	    control_watch(u.timer, NULL, on_tick, NULL) < 0) {
		underlay_stop();
		return vr_err(err, errlen, "underlay: cannot set up its rings and timer");
	}
	next_hops_publish();
	u.on = true;
	control_timer_arm(u.timer, TICK_MS);
	VR_LOG(INFO, "underlay: relay %d's device carries the relay's own address", u.conf.relay);
	return 0;
}

/* After the relays are gone (main.c): no worker holds the tap, and its
 * rings were emptied when the underlay relay went. */
void
underlay_stop(void)
{
	if (u.timer >= 0) {
		control_unwatch(u.timer, NULL);
		close(u.timer);
		u.timer = -1;
	}
	if (u.tap != NULL) { /* emptied when its relay went (vr_underlay_tap_drain) */
		rte_ring_free(u.tap->to_ctl);
		rte_ring_free(u.tap->sealed);
		rte_free(u.tap->demux); /* no worker reads it: the relays are gone */
		if (u.tap->frags != NULL)
			rte_ip_frag_table_destroy(u.tap->frags);
		rte_free(u.tap);
		u.tap = NULL;
	}
	u.on = false;
}

const struct vr_underlay_conf *
underlay_conf(void)
{
	return u.on ? &u.conf : NULL;
}

int
underlay_mac(struct rte_ether_addr *mac)
{
	struct vr_relay *r;
	int rc = -1;

	relay_lock();
	r = u.on ? relay_get(u.conf.relay) : NULL;
	if (r != NULL && !r->removing && rte_eth_macaddr_get(r->dev.port_id, mac) == 0)
		rc = 0;
	relay_unlock();
	return rc;
}

struct vr_underlay_tap *
underlay_tap(void)
{
	return u.on ? u.tap : NULL;
}

void
underlay_state(struct underlay_state *s)
{
	memset(s, 0, sizeof(*s));
	s->on = u.on;
	s->relay = u.conf.relay;
	s->gw4_known = u.gw4_known;
	s->gw6_known = u.gw6_known;
	memcpy(s->gw4_mac, u.gw4_mac, 6);
	memcpy(s->gw6_mac, u.gw6_mac, 6);
	s->answered = u.answered;
	s->asked = u.asked;
	if (u.tap != NULL) {
		s->ctl_frames = __atomic_load_n(&u.tap->ctl_frames, __ATOMIC_RELAXED);
		s->tunnel_frames = __atomic_load_n(&u.tap->tunnel_frames, __ATOMIC_RELAXED);
		s->tunnel_unclaimed = __atomic_load_n(&u.tap->tunnel_unclaimed, __ATOMIC_RELAXED);
		s->other_dropped = __atomic_load_n(&u.tap->other_dropped, __ATOMIC_RELAXED);
		s->ring_full = __atomic_load_n(&u.tap->ring_full, __ATOMIC_RELAXED);
		s->fragments = __atomic_load_n(&u.tap->fragments, __ATOMIC_RELAXED);
		s->reassembled = __atomic_load_n(&u.tap->reassembled, __ATOMIC_RELAXED);
	}
}
