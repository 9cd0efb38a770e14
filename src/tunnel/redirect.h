/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Redirects, control side (docs/tunnel.md, "The redirect"): a guest that
 * left this relay (SOURCE) or came to it from another subnet (DEST) keeps
 * its old identity through an ESP tunnel between the two relays. A
 * redirect is made by the REDIRECT op on each relay: the first one called
 * makes fresh keys (libsodium) and answers with the request its peer needs,
 * which the orchestrator passes on over the peer's authenticated control
 * channel; keys never leave the control channels. UNREDIRECT ends it.
 *
 * Control thread; takes the relay lock itself. The data plane sees a
 * redirect only through handoff_tunnel (the guest's two directions) and
 * handoff_tunnels (the underlay tap's SPI table).
 */
#ifndef VR_REDIRECT_H
#define VR_REDIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "announce.h"
#include "esp.h"
#include "flows.h"
#include "redirect_req.h"
#include "tunnel_port.h"

/* After underlay_start: keys and the cipher device, when there is an
 * underlay. 0, or -1 with err. */
int redirect_init(char *err, size_t errlen);
/* Ends every redirect and frees the cipher device (after the relays). */
void redirect_fini(void);

/* Relay id gets the redirect q. On success *peer_req is what the peer
 * relay's REDIRECT needs (the other role, this relay's underlay address,
 * the keys mirrored), and 0 is returned; else -1 with err. */
int redirect_add(int id, const struct vr_redirect_req *q, struct vr_redirect_req *peer_req,
                 char *err, size_t errlen);
/* Ends relay id's redirect: 0, or -1 with err when it has none. */
int redirect_remove(int id, char *err, size_t errlen);
/* Relay r is going (out of the table already): its redirect, if any, goes
 * first, while its directions still run (relay lock held). */
struct vr_relay;
void redirect_relay_gone(struct vr_relay *r);

/* Why a redirect ended. */
enum vr_redirect_end {
	VR_REDIRECT_END_SESSIONS, /* every session it carried ended (FIN, RST, idle) */
	VR_REDIRECT_END_UNUSED,   /* it carried nothing for tunnel-unused */
	VR_REDIRECT_END_LIFETIME, /* tunnel-lifetime ran out */
	VR_REDIRECT_END_OP,       /* UNREDIRECT */
	VR_REDIRECT_END_RELAY,    /* its relay went (or vrelayd stopped) */
	VR_REDIRECT_END_HANDOVER, /* a handover's guest runs here, nothing more came */
	VR_REDIRECT_END_N
};

struct redirect_totals {
	uint64_t added, ended[VR_REDIRECT_END_N];
	uint64_t markers; /* handovers' markers passed on or taken, of redirects ended */
};
/* Since start (relay lock held: any thread). */
void redirect_totals(struct redirect_totals *t);
const char *redirect_end_key(enum vr_redirect_end why);

struct redirect_state {
	enum vr_tunnel_role role;
	bool peer6;
	uint8_t peer[16];
	struct vr_addrs guest; /* the old identity it carries */
	char peer_control[VR_PEER_CONTROL_MAX];
	int peer_relay; /* -1: not given */
	bool handover;  /* a switchover within one LAN */
	uint32_t spi_out[2], spi_in[2];
	uint64_t rekeys_out, rekeys_in; /* SAs replaced: ours, the peer's */
	uint64_t age_ms;
	struct vr_esp_counters sealed, opened;
	uint64_t under_full, answered, answers_full, fragmented, frag_failed, markers;
	uint16_t under_mtu, mss[2];
	uint64_t mss_clamped;
	uint32_t flows_live[2]; /* [VR_SEAL], [VR_OPEN] */
	struct vr_flow_counters flows[2];
};
/* Relay id's redirect: true and *s, or false when it has none (relay lock
 * held: any thread). */
bool redirect_state(int id, struct redirect_state *s);

const char *redirect_role_name(enum vr_tunnel_role role);

#endif
