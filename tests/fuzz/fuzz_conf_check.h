/* SPDX-License-Identifier: BSD-3-Clause */
/* Invariants of a struct vr_conf that a parser accepted, shared by the
 * config and vfconf targets. */
#ifndef VR_FUZZ_CONF_CHECK_H
#define VR_FUZZ_CONF_CHECK_H

#include "config.h"
#include "vfconf.h"
#include "fuzz_common.h"

static inline void
fuzz_check_cpu(int cpu)
{
	FUZZ_CHECK(cpu == VR_CPU_UNPINNED || (cpu >= 0 && cpu < VR_MAX_CPUS));
}

static inline void
fuzz_check_relay(const struct vr_relay_conf *r, bool is_default)
{
	if (is_default)
		FUZZ_CHECK(r->id == -1);
	else
		FUZZ_CHECK(r->id >= 0 && r->id < VR_MAX_RELAYS);
	FUZZ_STR(r->device);
	FUZZ_STR(r->socket);
	FUZZ_STR(r->ident);
	FUZZ_CHECK(r->mode == VR_VHOST_SERVER || r->mode == VR_VHOST_CLIENT);
	FUZZ_CHECK(r->queues >= 1 && r->queues <= VR_MAX_QP);
	FUZZ_CHECK(r->mtu >= VR_MTU_MIN && r->mtu <= VR_MTU_MAX);
	fuzz_check_cpu(r->cpu[0]);
	fuzz_check_cpu(r->cpu[1]);
	FUZZ_CHECK(r->n_members <= VR_BOND_MAX);
	FUZZ_CHECK(r->bond_mode <= VR_BOND_MODE_MAX);
	for (unsigned i = 0; i < r->n_members; i++) {
		FUZZ_STR(r->members[i]);
		FUZZ_CHECK(r->members[i][0] != '\0');
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(r->members[i], r->members[j]) != 0);
	}
}

/* After a successful parse (and again after vr_conf_finish). */
static inline void
fuzz_check_conf(const struct vr_conf *c)
{
	char err[VR_ERR_MAX];

	FUZZ_CHECK(c->workers.n <= VR_MAX_CPUS);
	for (unsigned i = 0; i < c->workers.n; i++) {
		FUZZ_CHECK(c->workers.cpu[i] < VR_MAX_CPUS);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(c->workers.cpu[i] != c->workers.cpu[j]);
	}
	FUZZ_CHECK(c->main_cpu >= -1 && c->main_cpu < VR_MAX_CPUS);
	FUZZ_CHECK(c->log_level >= 1 && c->log_level <= 8);
	FUZZ_CHECK(strcmp(vr_log_level_name(c->log_level), "?") != 0);
	FUZZ_CHECK((c->socket_mode & ~0777u) == 0);
	FUZZ_CHECK(c->retry_us <= 10000000);
	FUZZ_STR(c->file_prefix);
	FUZZ_STR(c->socket_dir);
	FUZZ_STR(c->control_dir);
	FUZZ_STR(c->socket_owner);
	FUZZ_STR(c->socket_group);
	FUZZ_STR(c->huge_dir);
	FUZZ_STR(c->vfio_token);
	FUZZ_STR(c->pid_file);
	FUZZ_STR(c->warnings);
	FUZZ_CHECK(c->socket_dir[0] == '/');
	FUZZ_CHECK(c->control_dir[0] == '/');

	for (int s = 0; s < VR_SVC_N; s++)
		FUZZ_STR(c->ctl.ep[s]);
	FUZZ_STR(c->ctl.owner);
	FUZZ_STR(c->ctl.group);
	FUZZ_STR(c->ctl.curve_secret_file);
	FUZZ_STR(c->ctl.curve_clients_file);
	FUZZ_STR(c->ctl.ovsdb);
	FUZZ_STR(c->ctl.watch_file);
	FUZZ_STR(c->ctl.socket_pattern);
	FUZZ_CHECK((c->ctl.mode & ~0777u) == 0 && (c->ctl.mode & 0002) == 0);
	/* the pattern becomes a printf format (vr_relay_conf_default_socket) */
	if (c->ctl.socket_pattern[0] != '\0')
		FUZZ_CHECK(vr_socket_pattern_check(c->ctl.socket_pattern, err, sizeof(err)) == 0);
	for (int i = 0; i < VR_MAX_RELAYS; i++) {
		fuzz_check_cpu(c->ctl.pins[i][0]);
		fuzz_check_cpu(c->ctl.pins[i][1]);
	}

	fuzz_check_relay(&c->defaults, true);
	FUZZ_CHECK(c->n_relays <= VR_MAX_RELAYS);
	for (unsigned i = 0; i < c->n_relays; i++) {
		fuzz_check_relay(&c->relays[i], false);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(c->relays[i].id != c->relays[j].id);
	}
}

/* Validate, then fill defaults in (endpoints, sockets from the pattern,
 * pins) and validate again, as vrelayd does. */
static inline void
fuzz_validate_and_finish(struct vr_conf *c)
{
	char err[VR_ERR_MAX];
	int rc;

	err[0] = '\0';
	rc = vr_conf_validate(c, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0)
		FUZZ_ERR_SET(err);

	vr_conf_finish(c);
	fuzz_check_conf(c);
	for (unsigned i = 0; i < c->n_relays; i++)
		FUZZ_CHECK(c->relays[i].socket[0] == '\0' || c->relays[i].socket[0] == '/');
	err[0] = '\0';
	rc = vr_conf_validate(c, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0)
		FUZZ_ERR_SET(err);
	for (unsigned i = 0; i < c->n_relays; i++)
		FUZZ_CHECK(vr_relay_conf_equal(&c->relays[i], &c->relays[i]));
}

#endif
