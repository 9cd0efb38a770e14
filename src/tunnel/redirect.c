/* SPDX-License-Identifier: BSD-3-Clause */
#include "redirect.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_malloc.h>
#include <sodium.h>

#include "control.h"
#include "errmsg.h"
#include "handoff.h"
#include "keys.h"
#include "log.h"
#include "relay.h"
#include "underlay_ctl.h"
#include "vm2dev.h"

#define RX_RING       1024 /* sealed frames from the peer, per redirect */
#define ANSWERS_RING  64
#define REPLAY_WINDOW 1024
/* DEST: how long frames the tunnel brings wait for a guest that has not
 * started here yet (the switchover) */
#define DEST_HOLD_S 30

enum { OUT4, OUT6, IN4, IN6 };

struct redirect {
	struct vr_tunnel_port *t; /* NULL: slot unused */
	struct vr_under_port under;
	bool peer6;
	uint8_t peer[16];
	char peer_control[VR_PEER_CONTROL_MAX];
	int peer_relay;
	uint64_t born_ns;
	uint64_t opened_seen; /* a handover's opened frames at the last tick */
	/* rekeying (docs/tunnel.md, "Rekeying"): the current SAs' keys (OUT4,
	 * OUT6, IN4, IN6), from which their successors derive; the path the
	 * next SAs take; per family, when the outbound SA was made and first
	 * seen sealing, and when the peer's last inbound SA was set aside */
	struct vr_esp_key key[VR_REDIRECT_SAS];
	struct vr_esp_path path;
	uint64_t out_born_ns[2], out_seen_ns[2], prev_since_ns[2];
	uint64_t rekeys_out, rekeys_in;
};

static struct redirect rd[VR_MAX_RELAYS];
static bool esp_up;
static int timer = -1;
static uint64_t totals[VR_REDIRECT_END_N]; /* ended, by why */
static uint64_t added_total, markers_total;

const char *
redirect_role_name(enum vr_tunnel_role role)
{
	return role == VR_TUNNEL_SOURCE ? "source" : "destination";
}

static void remove_locked(struct vr_relay *r, struct redirect *x, enum vr_redirect_end why);

/* A worker's counter, read by the control thread. */
static uint64_t
rd64(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

/* Why redirect x of relay r should end now, or VR_REDIRECT_END_N to keep
 * it. Both relays see the same sessions, so both come to the same answer.
 * A handover's destination ends its side once its guest runs and a tick
 * brought nothing more (the source's side is ended by the orchestrator). */
static enum vr_redirect_end
end_due(const struct vr_relay *r, struct redirect *x, uint64_t now_ns)
{
	const struct vr_underlay_conf *c = underlay_conf();
	uint64_t age_s = (now_ns - x->born_ns) / 1000000000ULL, seen = 0, live = 0;
	uint64_t opened = __atomic_load_n(&x->t->opened.pkts, __ATOMIC_RELAXED);
	bool quiet = opened == x->opened_seen;

	x->opened_seen = opened;
	if (x->t->handover && x->t->role == VR_TUNNEL_DEST && r != NULL && r->vhost.running &&
	    quiet)
		return VR_REDIRECT_END_HANDOVER;

	for (int side = 0; side < 2; side++) {
		struct vr_flow_counters fc;

		vr_flows_counters(x->t->flows[side], &fc);
		seen += fc.added;
		live += vr_flows_live(x->t->flows[side]);
	}
	if (seen > 0 && live == 0)
		return VR_REDIRECT_END_SESSIONS;
	if (seen == 0 && age_s >= c->unused_s)
		return VR_REDIRECT_END_UNUSED;
	if (age_s >= c->lifetime_s)
		return VR_REDIRECT_END_LIFETIME;
	return VR_REDIRECT_END_N;
}

#define SECOND_NS 1000000000ULL
/* An outbound SA is replaced no sooner than this after the control thread
 * first saw it seal: by then the peer's tick has seen its first packets and
 * made it the current inbound SA, with its successor ready (a rekey's
 * packets never find the peer without their SA). */
#define REKEY_GAP_NS (2 * SECOND_NS)

static int demux_publish(char *err, size_t errlen);

/* The SA after key k (vr_key_next) for x's family f; NULL, logged, when it
 * cannot be made (tried again a tick later). */
static struct vr_esp_sa *
sa_after(const struct redirect *x, const struct vr_esp_key *k, bool outbound, int f,
         struct vr_esp_key *next)
{
	char err[VR_ERR_MAX];
	struct vr_esp_sa *sa;

	vr_key_next(k, next);
	sa = vr_esp_sa_create(outbound, f, next, &x->path, outbound ? 0 : REPLAY_WINDOW,
	                      SOCKET_ID_ANY, err, sizeof(err));
	if (sa == NULL)
		VR_LOG(WARNING, "relay %d: rekey: %s", (int)(x - rd), err);
	return sa;
}

/* Our side of family f: once the outbound SA is due (rekey limits), its
 * successor seals; the peer opens with it already (its in_next). */
static void
rekey_out(struct redirect *x, int f, uint64_t now)
{
	const struct vr_underlay_conf *c = underlay_conf();
	struct vr_rekey_limits l = {.max_packets = c->rekey_packets,
	                            .lifetime_ms = c->rekey_s * 1000ULL};
	uint64_t used = vr_esp_sa_used(x->t->out[f]);
	struct vr_esp_key next;
	struct vr_esp_sa *sa;

	if (used > 0 && x->out_seen_ns[f] == 0)
		x->out_seen_ns[f] = now;
	/* an SA that sealed nothing wears out nothing */
	if (used == 0 || now - x->out_seen_ns[f] < REKEY_GAP_NS ||
	    !vr_rekey_due(&l, used, (now - x->out_born_ns[f]) / 1000000))
		return;
	sa = sa_after(x, &x->key[OUT4 + f], true, f, &next);
	if (sa == NULL)
		return;
	vr_esp_sa_free(handoff_sa(&x->t->out[f], sa));
	x->key[OUT4 + f] = next;
	sodium_memzero(&next, sizeof(next));
	x->out_born_ns[f] = now;
	x->out_seen_ns[f] = 0;
	x->rekeys_out++;
}

/* The peer's side of family f: its last SA goes a tick after it was set
 * aside (what was on its way has come); once its next SA opened a packet,
 * that becomes the current one and its own successor is made ready. True
 * when the inbound SPIs changed. */
static bool
rekey_in(struct redirect *x, int f, uint64_t now)
{
	struct vr_esp_key next, after;
	struct vr_esp_sa *sa;
	bool changed = false;

	if (x->t->in_prev[f] != NULL && now - x->prev_since_ns[f] >= SECOND_NS) {
		vr_esp_sa_free(handoff_sa(&x->t->in_prev[f], NULL));
		changed = true;
	}
	if (x->t->in_prev[f] != NULL || vr_esp_sa_used(x->t->in_next[f]) == 0)
		return changed;
	vr_key_next(&x->key[IN4 + f], &next); /* in_next's, the current one's now */
	sa = sa_after(x, &next, false, f, &after);
	sodium_memzero(&after, sizeof(after));
	if (sa == NULL) {
		sodium_memzero(&next, sizeof(next));
		return changed;
	}
	handoff_sa(&x->t->in_prev[f], x->t->in[f]);
	handoff_sa(&x->t->in[f], x->t->in_next[f]);
	handoff_sa(&x->t->in_next[f], sa);
	x->key[IN4 + f] = next;
	sodium_memzero(&next, sizeof(next));
	x->prev_since_ns[f] = now;
	x->rekeys_in++;
	return true;
}

/* Once a second: the redirects whose time is up end, the others' SAs are
 * replaced where due. */
static void
on_tick(void *arg)
{
	uint64_t ticks, now = control_now_ns();
	bool republish = false;
	char err[VR_ERR_MAX];

	(void)arg;
	(void)!read(timer, &ticks, sizeof(ticks));
	relay_lock();
	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		enum vr_redirect_end why =
		    rd[i].t != NULL ? end_due(relay_get(i), &rd[i], now) : VR_REDIRECT_END_N;

		if (why != VR_REDIRECT_END_N)
			remove_locked(relay_get(i), &rd[i], why);
		for (int f = 0; rd[i].t != NULL && f < 2; f++) {
			rekey_out(&rd[i], f, now);
			republish |= rekey_in(&rd[i], f, now);
		}
	}
	if (republish && demux_publish(err, sizeof(err)) < 0)
		VR_LOG(WARNING, "rekey: %s", err);
	relay_unlock();
	control_timer_arm(timer, 1000);
}

/* The cipher device only where tunnels can run: with an underlay. */
int
redirect_init(char *err, size_t errlen)
{
	if (underlay_conf() == NULL)
		return 0;
	if (vr_keys_init(err, errlen) < 0 || vr_esp_init(SOCKET_ID_ANY, err, errlen) < 0)
		return -1;
	esp_up = true;
	timer = control_timer_new();
	if (timer < 0 || control_watch(timer, NULL, on_tick, NULL) < 0)
		return vr_err(err, errlen, "redirect: cannot set up its timer");
	control_timer_arm(timer, 1000);
	return 0;
}

void
redirect_totals(struct redirect_totals *t)
{
	t->added = added_total;
	t->markers = markers_total;
	memcpy(t->ended, totals, sizeof(totals));
}

const char *
redirect_end_key(enum vr_redirect_end why)
{
	static const char *const keys[VR_REDIRECT_END_N] = {"ended_sessions",   "ended_unused",
	                                                    "ended_lifetime",   "ended_op",
	                                                    "ended_relay_gone", "ended_handover"};

	return keys[why];
}

/* Every SPI in use by this relay's inbound SAs, for a fresh one to avoid. */
#define IN_SAS 6 /* per redirect: by family, the current, the next, the last */

/* Redirect x's inbound SAs: up to IN_SAS into sa, the count returned. */
static int
in_sas(const struct redirect *x, struct vr_esp_sa **sa)
{
	int n = 0;

	for (int f = 0; x->t != NULL && f < 2; f++) {
		struct vr_esp_sa *all[3] = {x->t->in[f], x->t->in_next[f], x->t->in_prev[f]};

		for (int k = 0; k < 3; k++)
			if (all[k] != NULL)
				sa[n++] = all[k];
	}
	return n;
}

static size_t
spis_in_use(uint32_t *used)
{
	size_t n = 0;

	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		struct vr_esp_sa *sa[IN_SAS];
		int k = in_sas(&rd[i], sa);

		for (int j = 0; j < k; j++)
			used[n++] = vr_esp_sa_spi(sa[j]);
	}
	return n;
}

/* Whether either SPI is an inbound SPI of a redirect here. */
static bool
in_use(uint32_t a, uint32_t b)
{
	uint32_t used[IN_SAS * VR_MAX_RELAYS];
	size_t n = spis_in_use(used);

	for (size_t i = 0; i < n; i++)
		if (used[i] == a || used[i] == b)
			return true;
	return false;
}

/* Fresh keys for the four SAs (libsodium); inbound SPIs unique here. The
 * peer checks its own inbound SPIs (our outbound ones) when it adds. */
static int
keys_new(struct vr_esp_key sa[VR_REDIRECT_SAS], char *err, size_t errlen)
{
	uint32_t used[IN_SAS * VR_MAX_RELAYS + VR_REDIRECT_SAS];
	size_t n = spis_in_use(used);

	for (int i = 0; i < VR_REDIRECT_SAS; i++) {
		uint32_t spi = vr_spi_new(used, n);

		used[n++] = spi;
		if (vr_key_new(&sa[i], spi, 32, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* The table of every redirect's inbound SPIs, published to the tap. */
static int
demux_publish(char *err, size_t errlen)
{
	struct vr_tunnel_demux *d = rte_zmalloc("vr_demux", sizeof(*d), 0), *old;

	if (d == NULL)
		return vr_err(err, errlen, "redirect: out of memory for the SPI table");
	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		struct vr_esp_sa *sa[IN_SAS];
		int k = in_sas(&rd[i], sa);

		for (int j = 0; j < k && d->n < VR_DEMUX_MAX; j++) {
			d->e[d->n].spi = vr_esp_sa_spi(sa[j]);
			d->e[d->n++].ring = rd[i].t->rx;
		}
	}
	old = handoff_tunnels(underlay_tap(), d);
	rte_free(old);
	return 0;
}

/* The two one-way session tables of relay id's tunnel (flows.h). */
static int
flows_new(struct vr_tunnel_port *t, int id)
{
	const struct vr_underlay_conf *c = underlay_conf();
	struct vr_flow_limits l;
	char name[RTE_HASH_NAMESIZE];

	vr_flow_limits_default(&l);
	l.one_way = true;
	l.tcp_idle_ms = c->tcp_idle_s * 1000ULL;
	l.udp_idle_ms = c->udp_idle_s * 1000ULL;
	l.other_idle_ms = c->other_idle_s * 1000ULL;
	l.tcp_linger_ms = c->tcp_linger_s * 1000ULL;
	for (int side = 0; side < 2; side++) {
		snprintf(name, sizeof(name), "vr_flows%d_%d", id, side);
		t->flows[side] = vr_flows_create(name, &l, rte_get_tsc_hz(), SOCKET_ID_ANY);
		if (t->flows[side] == NULL)
			return -1;
	}
	return 0;
}

static void
ring_drain(struct rte_ring *r)
{
	void *m;

	while (r != NULL && rte_ring_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
}

/* Frees what redirect x holds, once no worker can reach it. */
static void
port_free(struct vr_tunnel_port *t)
{
	ring_drain(t->rx);
	ring_drain(t->answers);
	rte_ring_free(t->rx);
	rte_ring_free(t->answers);
	for (int f = 0; f < 2; f++) {
		vr_esp_sa_free(t->out[f]);
		vr_esp_sa_free(t->in[f]);
		vr_esp_sa_free(t->in_next[f]);
		vr_esp_sa_free(t->in_prev[f]);
		vr_flows_free(t->flows[f]);
	}
	rte_free(t);
}

/* The outer headers from this relay to the peer: our underlay address of
 * the peer's family, and the next hop: the peer's MAC when it is on our
 * LAN (given), else the gateway's (known now; the tunnel port reads it
 * again as it seals: tunnel_port.h, hop). */
static int
path_to(const struct vr_redirect_req *q, struct vr_esp_path *p, char *err, size_t errlen)
{
	const struct vr_underlay_conf *c = underlay_conf();
	struct underlay_state st;
	struct rte_ether_addr mac;
	struct vr_relay *ur;

	if (c == NULL || !esp_up)
		return vr_err(err, errlen, "redirect: no underlay is configured (underlay-relay)");
	if (q->peer6 ? !c->has6 : !c->has4)
		return vr_err(err, errlen,
		              "redirect: the peer is %s, but this relay has no %s "
		              "underlay address",
		              q->peer6 ? "IPv6" : "IPv4", q->peer6 ? "IPv6" : "IPv4");
	underlay_state(&st);
	if (!q->has_peer_mac && (q->peer6 ? !st.gw6_known : !st.gw4_known))
		return vr_err(err, errlen,
		              "redirect: the underlay gateway's MAC is not known yet "
		              "(is underlay-gateway%s set and answering?)",
		              q->peer6 ? "6" : "4");
	ur = relay_get(c->relay);
	if (ur == NULL || rte_eth_macaddr_get(ur->dev.port_id, &mac) != 0)
		return vr_err(err, errlen, "redirect: the underlay relay %d is not running",
		              c->relay);
	memset(p, 0, sizeof(*p));
	p->ipv6 = q->peer6;
	p->local_mac = mac;
	memcpy(p->next_hop_mac.addr_bytes,
	       q->has_peer_mac ? q->peer_mac
	       : q->peer6      ? st.gw6_mac
	                       : st.gw4_mac,
	       6);
	memcpy(p->local, q->peer6 ? c->ip6 : c->ip4, q->peer6 ? 16 : 4);
	memcpy(p->peer, q->peer, q->peer6 ? 16 : 4);
	p->local_port = p->peer_port = VR_ESP_UDP_PORT;
	return 0;
}

/* The longest sealed packet the underlay device sends whole (IPv4 ones
 * longer are cut: docs/tunnel.md, MTU); 0 when it cannot tell. */
static uint16_t
under_mtu(void)
{
	struct vr_relay *ur = relay_get(underlay_conf()->relay);
	uint16_t mtu = 0;

	if (ur == NULL || rte_eth_dev_get_mtu(ur->dev.port_id, &mtu) != 0)
		return 0;
	return mtu;
}

/* The tunnel port of redirect q on relay r, SAs and rings made. */
static struct vr_tunnel_port *
port_new(struct vr_relay *r, struct redirect *x, const struct vr_redirect_req *q,
         const struct vr_esp_path *p, char *err, size_t errlen)
{
	struct vr_tunnel_port *t = rte_zmalloc("vr_tunnel", sizeof(*t), RTE_CACHE_LINE_SIZE);
	char name[RTE_RING_NAMESIZE];

	if (t == NULL) {
		vr_err(err, errlen, "redirect: out of memory");
		return NULL;
	}
	vr_under_port_init(&x->under, underlay_tap()->sealed);
	vr_tunnel_port_init(t, &x->under.port, 0, r->pool);
	t->role = q->role;
	for (int f = 0; f < 2; f++) {
		struct vr_esp_key next;

		vr_key_next(&q->sa[IN4 + f], &next);
		t->out[f] =
		    vr_esp_sa_create(true, f, &q->sa[OUT4 + f], p, 0, SOCKET_ID_ANY, err, errlen);
		t->in[f] = t->out[f] == NULL
		               ? NULL
		               : vr_esp_sa_create(false, f, &q->sa[IN4 + f], p, REPLAY_WINDOW,
		                                  SOCKET_ID_ANY, err, errlen);
		t->in_next[f] = t->in[f] == NULL
		                    ? NULL
		                    : vr_esp_sa_create(false, f, &next, p, REPLAY_WINDOW,
		                                       SOCKET_ID_ANY, err, errlen);
		sodium_memzero(&next, sizeof(next));
		if (t->in_next[f] == NULL) {
			port_free(t);
			return NULL;
		}
	}
	snprintf(name, sizeof(name), "vr_tun_rx%d", r->conf.id);
	t->rx = rte_ring_create(name, RX_RING, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "vr_tun_ans%d", r->conf.id);
	t->answers =
	    rte_ring_create(name, ANSWERS_RING, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (t->rx == NULL || t->answers == NULL || flows_new(t, r->conf.id) < 0) {
		vr_err(err, errlen, "redirect: cannot make its rings and session tables (%s)",
		       rte_strerror(rte_errno));
		port_free(t);
		return NULL;
	}
	t->old = q->guest;
	t->sweep_every = rte_get_tsc_hz() / 10;
	t->handover = q->handover;
	for (int f = 0; f < 2 && !q->has_peer_mac; f++)
		t->hop[f] = &underlay_tap()->next_hop[f];
	return t;
}

/* Who is who on each end: SOURCE delivers the guest's packets to the old
 * LAN's gateway in the guest's name and answers for the guest's old
 * addresses with its MAC; DEST delivers to the guest in the old gateway's
 * name and answers the guest's questions with that gateway's MAC. */
static void
port_identities(struct vr_tunnel_port *t, const struct vr_redirect_req *q, const uint8_t gw[6])
{
	struct rte_ether_addr guest, gateway;

	memcpy(guest.addr_bytes, q->guest.mac, 6);
	memcpy(gateway.addr_bytes, gw, 6);
	t->deliver_dst = q->role == VR_TUNNEL_SOURCE ? gateway : guest;
	t->deliver_src = q->role == VR_TUNNEL_SOURCE ? guest : gateway;
	t->answer_mac = q->role == VR_TUNNEL_SOURCE ? guest : gateway;
}

/* What the peer's REDIRECT needs: the other role, our address (and our
 * MAC, on one LAN), the guest, the old gateway, the keys with in and out
 * swapped. */
static void
peer_request(const struct vr_redirect_req *q, const struct vr_esp_path *p, const uint8_t gw[6],
             struct vr_redirect_req *o)
{
	const struct vr_underlay_conf *c = underlay_conf();

	memset(o, 0, sizeof(*o));
	o->role = q->role == VR_TUNNEL_SOURCE ? VR_TUNNEL_DEST : VR_TUNNEL_SOURCE;
	o->peer6 = q->peer6;
	memcpy(o->peer, q->peer6 ? c->ip6 : c->ip4, q->peer6 ? 16 : 4);
	o->guest = q->guest;
	o->has_gw_mac = true;
	memcpy(o->gw_mac, gw, 6);
	o->peer_relay = -1; /* where we are controlled: the orchestrator knows */
	o->handover = q->handover;
	o->has_peer_mac = q->has_peer_mac;
	memcpy(o->peer_mac, p->local_mac.addr_bytes, 6);
	o->n_sa = VR_REDIRECT_SAS;
	o->sa[OUT4] = q->sa[IN4];
	o->sa[OUT6] = q->sa[IN6];
	o->sa[IN4] = q->sa[OUT4];
	o->sa[IN6] = q->sa[OUT6];
}

/* SOURCE fills in what it knows: the guest as learned, the gateway. */
static int
complete(struct vr_relay *r, struct vr_redirect_req *q, uint8_t gw[6], char *err, size_t errlen)
{
	struct underlay_state st;

	if (q->role == VR_TUNNEL_SOURCE && !q->guest.has_mac) {
		vm2dev_learned(r->vm2dev, &q->guest);
		if (!q->guest.has_mac || q->guest.n4 + q->guest.n6 == 0)
			return vr_err(err, errlen,
			              "redirect: relay %d has not learned its guest's "
			              "MAC and addresses: give them",
			              r->conf.id);
	}
	if (q->has_gw_mac) {
		memcpy(gw, q->gw_mac, 6);
		return 0;
	}
	underlay_state(&st);
	if (q->role == VR_TUNNEL_DEST || !(st.gw4_known || st.gw6_known))
		return vr_err(err, errlen, "redirect: %s: the old LAN's gateway MAC is missing",
		              q->role == VR_TUNNEL_DEST ? "destination" : "source");
	memcpy(gw, st.gw4_known ? st.gw4_mac : st.gw6_mac, 6);
	return 0;
}

static int
add_locked(int id, struct vr_redirect_req *q, struct vr_redirect_req *peer_req, char *err,
           size_t errlen)
{
	struct vr_relay *r = relay_get(id);
	struct redirect *x = &rd[id];
	struct vr_esp_path p;
	uint8_t gw[6];

	if (r == NULL || r->removing)
		return vr_err(err, errlen, "redirect: relay %d does not exist", id);
	if (x->t != NULL)
		return vr_err(err, errlen,
		              "redirect: relay %d has one already (%s): UNREDIRECT it "
		              "first",
		              id, redirect_role_name(x->t->role));
	if (path_to(q, &p, err, errlen) < 0 || complete(r, q, gw, err, errlen) < 0)
		return -1;
	if (q->n_sa == 0 && keys_new(q->sa, err, errlen) < 0)
		return -1;
	if (q->n_sa != 0 && in_use(q->sa[IN4].spi, q->sa[IN6].spi))
		return vr_err(err, errlen, "redirect: inbound SPI %u or %u is another redirect's",
		              q->sa[IN4].spi, q->sa[IN6].spi);
	x->t = port_new(r, x, q, &p, err, errlen);
	if (x->t == NULL)
		return -1;
	port_identities(x->t, q, gw);
	x->t->under_mtu = under_mtu();
	for (int f = 0; f < 2; f++)
		x->t->mss[f] = vr_tunnel_mss(x->t->under_mtu, q->peer6, f);
	x->peer6 = q->peer6;
	memcpy(x->peer, q->peer, 16);
	memcpy(x->peer_control, q->peer_control, sizeof(x->peer_control));
	x->peer_relay = q->peer_relay;
	x->born_ns = control_now_ns();
	memcpy(x->key, q->sa, sizeof(x->key));
	x->path = p;
	for (int f = 0; f < 2; f++) {
		x->out_born_ns[f] = x->born_ns;
		x->out_seen_ns[f] = x->prev_since_ns[f] = 0;
	}
	x->rekeys_out = x->rekeys_in = 0;
	if (demux_publish(err, errlen) < 0) {
		port_free(x->t);
		x->t = NULL;
		return -1;
	}
	handoff_tunnel(r->vm2dev, r->dev2vm, x->t);
	if (q->role == VR_TUNNEL_DEST && port_gen(&r->vhost.port) == 0)
		handoff_hold(r->dev2vm, rte_get_tsc_cycles() + DEST_HOLD_S * rte_get_tsc_hz());
	peer_request(q, &p, gw, peer_req);
	added_total++;
	VR_LOG(NOTICE, "relay %d: %s as %s, SPIs out %u/%u in %u/%u", id,
	       q->handover ? "handover" : "redirect", redirect_role_name(q->role), q->sa[OUT4].spi,
	       q->sa[OUT6].spi, q->sa[IN4].spi, q->sa[IN6].spi);
	return 0;
}

int
redirect_add(int id, const struct vr_redirect_req *q, struct vr_redirect_req *peer_req, char *err,
             size_t errlen)
{
	struct vr_redirect_req mine = *q;
	int rc;

	if (id < 0 || id >= VR_MAX_RELAYS)
		return vr_err(err, errlen, "redirect: relay %d is out of range", id);
	relay_lock();
	rc = add_locked(id, &mine, peer_req, err, errlen);
	relay_unlock();
	sodium_memzero(&mine, sizeof(mine));
	return rc;
}

static const char *const end_names[VR_REDIRECT_END_N] = {
    "its sessions ended", "it carried nothing", "its lifetime ran out",
    "the UNREDIRECT op",  "its relay went",     "the guest runs here: the handover is done"};

/* Relay lock held; r NULL only when it is not running (nor polled). */
static void
remove_locked(struct vr_relay *r, struct redirect *x, enum vr_redirect_end why)
{
	char err[VR_ERR_MAX];
	struct vr_tunnel_port *t = x->t;

	if (r != NULL)
		handoff_tunnel(r->vm2dev, r->dev2vm, NULL);
	x->t = NULL;
	if (demux_publish(err, sizeof(err)) < 0) /* no table: no tunnel at all */
		rte_free(handoff_tunnels(underlay_tap(), NULL));
	sodium_memzero(x->key, sizeof(x->key));
	totals[why]++;
	markers_total += rd64(&t->markers);
	VR_LOG(NOTICE, "relay %d: redirect (%s) ended: %s", (int)(x - rd),
	       redirect_role_name(t->role), end_names[why]);
	port_free(t);
}

int
redirect_remove(int id, char *err, size_t errlen)
{
	int rc = 0;

	if (id < 0 || id >= VR_MAX_RELAYS)
		return vr_err(err, errlen, "unredirect: relay %d is out of range", id);
	relay_lock();
	if (rd[id].t == NULL)
		rc = vr_err(err, errlen, "unredirect: relay %d has no redirect", id);
	else
		remove_locked(relay_get(id), &rd[id], VR_REDIRECT_END_OP);
	relay_unlock();
	return rc;
}

void
redirect_relay_gone(struct vr_relay *r)
{
	int id = r->conf.id;

	if (id >= 0 && id < VR_MAX_RELAYS && rd[id].t != NULL)
		remove_locked(r, &rd[id], VR_REDIRECT_END_RELAY);
}

void
redirect_fini(void)
{
	relay_lock();
	for (int i = 0; i < VR_MAX_RELAYS; i++)
		if (rd[i].t != NULL)
			remove_locked(relay_get(i), &rd[i], VR_REDIRECT_END_RELAY);
	relay_unlock();
	if (timer >= 0) {
		control_unwatch(timer, NULL);
		close(timer);
		timer = -1;
	}
	if (esp_up)
		vr_esp_fini();
	esp_up = false;
}

static void
esp_counters(const struct vr_esp_counters *c, struct vr_esp_counters *o)
{
	const uint64_t *from = (const uint64_t *)c;
	uint64_t *to = (uint64_t *)o;

	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
		to[i] = rd64(&from[i]);
}

bool
redirect_state(int id, struct redirect_state *s)
{
	const struct redirect *x = id >= 0 && id < VR_MAX_RELAYS ? &rd[id] : NULL;

	if (x == NULL || x->t == NULL)
		return false;
	memset(s, 0, sizeof(*s));
	s->role = x->t->role;
	s->peer6 = x->peer6;
	memcpy(s->peer, x->peer, 16);
	s->guest = x->t->old;
	memcpy(s->peer_control, x->peer_control, sizeof(s->peer_control));
	s->peer_relay = x->peer_relay;
	s->handover = x->t->handover;
	for (int f = 0; f < 2; f++) {
		s->spi_out[f] = vr_esp_sa_spi(x->t->out[f]);
		s->spi_in[f] = vr_esp_sa_spi(x->t->in[f]);
	}
	s->rekeys_out = x->rekeys_out;
	s->rekeys_in = x->rekeys_in;
	s->age_ms = (control_now_ns() - x->born_ns) / 1000000;
	esp_counters(&x->t->sealed, &s->sealed);
	esp_counters(&x->t->opened, &s->opened);
	s->under_full = rd64(&x->t->under_full);
	s->answered = rd64(&x->t->answered);
	s->answers_full = rd64(&x->t->answers_full);
	s->fragmented = rd64(&x->t->fragmented);
	s->frag_failed = rd64(&x->t->frag_failed);
	s->markers = rd64(&x->t->markers);
	s->mss_clamped = rd64(&x->t->mss_clamped);
	s->mss[0] = x->t->mss[0];
	s->mss[1] = x->t->mss[1];
	s->under_mtu = x->t->under_mtu;
	for (int side = 0; side < 2; side++) {
		s->flows_live[side] = vr_flows_live(x->t->flows[side]);
		vr_flows_counters(x->t->flows[side], &s->flows[side]);
	}
	return true;
}
