/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration: the daemon's settings and its relays, read from a config
 * file (docs/configuration.md) and the command line. Pure C with no DPDK
 * dependency so that every parser is unit-tested and fuzzable on its own.
 *
 * Every parse function returns 0 on success or -1 with a message in err that
 * names the offending item (file:line, key, value) and the reason.
 */
#ifndef VR_CONFIG_H
#define VR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "underlay.h"

#define VR_MAX_RELAYS    64
#define VR_MAX_QP        32
#define VR_MAX_CPUS      126 /* lcore ids 0..125; RTE_MAX_LCORE-1 is the control lcore */
#define VR_DEVARGS_MAX   1024
#define VR_PATH_MAX      108 /* sun_path */
#define VR_MTU_MIN       68
#define VR_MTU_MAX       9000
#define VR_ERR_MAX       256
#define VR_CPU_UNPINNED  -1
#define VR_BOND_MAX      8   /* bond members, as the bonding PMD's own limit */
#define VR_MEMBER_MAX    256 /* one bond member: PCI address or devargs */
#define VR_EP_MAX        256 /* a ZeroMQ endpoint */
#define VR_BOND_MODE_MAX 6   /* round-robin .. adaptive load balancing; 4 = 802.3ad */

enum vr_vhost_mode { VR_VHOST_SERVER = 0, VR_VHOST_CLIENT = 1 };

/* One relay: a device paired with a vhost-user socket. */
struct vr_relay_conf {
	int id;                      /* 0..VR_MAX_RELAYS-1 */
	char device[VR_DEVARGS_MAX]; /* PCI address or DPDK devargs */
	char socket[VR_PATH_MAX];    /* vhost-user socket path */
	enum vr_vhost_mode mode;
	uint16_t queues; /* maximum queue pairs, 1..VR_MAX_QP */
	uint16_t mtu;
	bool mrgbuf; /* offer VIRTIO_NET_F_MRG_RXBUF */
	bool tso;    /* offer HOST_TSO4/6: the device or the relay cuts the guest's TCP frames */
	int cpu[2];  /* [VR_VM2DEV], [VR_DEV2VM]; -1 unpinned */
	/* A bond: device holds the bond's name ("net_bonding..."), members its
	 * member devices; bond_mode is the bonding PMD's mode (0..6). */
	uint8_t n_members;
	uint8_t bond_mode;
	char members[VR_BOND_MAX][VR_MEMBER_MAX];
	char ident[64]; /* external label (OVSDB interface name), "" none */
};

struct vr_cpuset {
	uint16_t n;
	uint16_t cpu[VR_MAX_CPUS];
};

/* The control services (docs/control.md). An empty endpoint is off. */
enum vr_service { VR_SVC_PORT_CONTROL, VR_SVC_STATS, VR_SVC_CONFIG, VR_SVC_CORE_SCHED, VR_SVC_N };

struct vr_ctl_conf {
	char ep[VR_SVC_N][VR_EP_MAX];
	char owner[64], group[64];                /* of ipc:// endpoint files; "" = unchanged */
	mode_t mode;                              /* of ipc:// endpoint files */
	char curve_secret_file[VR_PATH_MAX * 2];  /* server secret key (Z85); tcp:// needs it */
	char curve_clients_file[VR_PATH_MAX * 2]; /* authorised client public keys */
	char ovsdb[VR_PATH_MAX];                  /* ovsdb-server unix socket; "" off */
	char watch_file[VR_PATH_MAX * 2];         /* inotify-watched command file; "" off */
	bool dynamic_sockets;                     /* sockets only through ADD_SOCK */
	char socket_pattern[VR_PATH_MAX];         /* socket file name, one %u = relay id */
	int pins[VR_MAX_RELAYS][2];               /* pins for relays added at run time */
	char devices[256]; /* device kinds the runtime sources may add (devargs.h) */
};

struct vr_conf {
	struct vr_cpuset workers;      /* worker CPUs */
	int main_cpu;                  /* CPU of the control thread; -1 = pick */
	char file_prefix[64];          /* EAL --file-prefix */
	char socket_dir[VR_PATH_MAX];  /* default directory for relay sockets */
	char control_dir[VR_PATH_MAX]; /* default directory of the ipc:// endpoints */
	char socket_owner[64];         /* user name or uid, "" = unchanged */
	char socket_group[64];         /* group name or gid, "" = unchanged */
	mode_t socket_mode;            /* permission bits of server sockets */
	uint32_t retry_us;             /* peer-full retry window before dropping */
	/* the migration destination's hold (datapath/hold.h): frames, bytes and
	 * how long a guest on its way is waited for */
	uint32_t hold_frames, hold_bytes, hold_ms;
	int log_level;                    /* RTE_LOG_* numbering: 1 emerg .. 8 debug */
	char huge_dir[VR_PATH_MAX];       /* EAL --huge-dir, "" = EAL's choice */
	char vfio_token[64];              /* EAL --vfio-vf-token, "" = none */
	char pid_file[VR_PATH_MAX * 2];   /* "" = none */
	char run_user[64], run_group[64]; /* dropped to after start-up; "" = stay */
	struct vr_ctl_conf ctl;
	struct vr_underlay_conf underlay; /* the tunnel's own address (underlay.h) */
	char warnings[2048];              /* config lines accepted but ignored, one per line */
	struct vr_relay_conf defaults;    /* values a [relay] section starts from */
	uint16_t n_relays;
	struct vr_relay_conf relays[VR_MAX_RELAYS];
};

void vr_conf_init(struct vr_conf *c);
void vr_relay_conf_init(struct vr_relay_conf *r, const struct vr_relay_conf *defaults);

/* A relay id 0..VR_MAX_RELAYS-1 written in decimal, the whole of s (or of
 * s up to end when end is not NULL); -1 when it is anything else. */
int vr_relay_id_parse(const char *s, const char *end);

/* "1,3-5,8" -> set; accepts also a hex mask "0x3a". */
int vr_cpuset_parse(struct vr_cpuset *set, const char *s, char *err, size_t errlen);
bool vr_cpuset_has(const struct vr_cpuset *set, int cpu);

/* "cpu" or "cpu_vm2dev,cpu_dev2vm" -> cpu[2]. */
int vr_pin_parse(int cpu[2], const char *s, char *err, size_t errlen);

/* Apply one key = value to the daemon section or to a relay. */
int vr_conf_set_daemon(struct vr_conf *c, const char *key, const char *val, char *err,
                       size_t errlen);
int vr_conf_set_relay(struct vr_relay_conf *r, const char *key, const char *val, char *err,
                      size_t errlen);

/* "id=0 device=net_ring0 socket=/run/x.sock ..." (the --relay option). */
int vr_relay_conf_parse_spec(struct vr_relay_conf *r, const struct vr_relay_conf *defaults,
                             const char *spec, char *err, size_t errlen);

/* Parse a whole config text / file into c (which holds defaults already). */
int vr_conf_parse_text(struct vr_conf *c, const char *text, const char *name, char *err,
                       size_t errlen);
/* Either format: virtio-forwarder's shell variables are recognised by their
 * first line (vr_vfconf_detect). */
int vr_conf_load_file(struct vr_conf *c, const char *path, char *err, size_t errlen);
#define VR_CONF_FILE_MAX (1u << 20) /* bytes: a config file is refused above */

/* Checks across items: unique ids and sockets, pins inside the worker set. */
int vr_conf_validate(const struct vr_conf *c, char *err, size_t errlen);
int vr_relay_conf_validate(const struct vr_relay_conf *r, const struct vr_cpuset *workers,
                           char *err, size_t errlen);

/* Fill a relay's socket path from socket_dir and the pattern when it was not
 * given (pattern NULL or "" = "relay%u.sock"). */
void vr_relay_conf_default_socket(struct vr_relay_conf *r, const char *socket_dir,
                                  const char *pattern);

/* After parsing: default endpoints, sockets and pins filled in. */
void vr_conf_finish(struct vr_conf *c);
const char *vr_service_name(enum vr_service s);

/* Add one bond member (PCI addresses canonicalised); refuses duplicates. */
int vr_relay_conf_add_member(struct vr_relay_conf *r, const char *member, char *err, size_t errlen);

/* path is a file inside dir (or a subdirectory of it), with no . or ..
 * components that could lead out of it. */
bool vr_path_in_dir(const char *path, const char *dir);

/* A socket file name pattern must hold exactly one %u and no other %. */
int vr_socket_pattern_check(const char *pattern, char *err, size_t errlen);

/* "0000:05:08.1", "05:08.1" -> canonical "0000:05:08.1"; -1 if not a PCI address. */
int vr_pci_parse(const char *s, char out[16]);

/* Apply the default pins of relay id from c->ctl.pins if the relay has none. */
void vr_relay_conf_apply_pins(struct vr_relay_conf *r, const struct vr_conf *c);

bool vr_relay_conf_equal(const struct vr_relay_conf *a, const struct vr_relay_conf *b);

const char *vr_log_level_name(int level);

#endif
