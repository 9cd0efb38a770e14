/* SPDX-License-Identifier: BSD-3-Clause */
#include "device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_pci.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "errmsg.h"
#include "config.h"
#include "log.h"
#include "offload.h"
#include "poolsize.h"
#include "sockpath.h"

/* The part of devargs before the first comma: a PCI address or a vdev name. */
static void
devargs_head(const char *devargs, char *head, size_t len)
{
	size_t n = strcspn(devargs, ",");

	snprintf(head, len, "%.*s", (int)(n < len ? n : len - 1), devargs);
}

static bool
is_pci(const char *devargs)
{
	struct rte_pci_addr addr;
	char head[128];

	devargs_head(devargs, head, sizeof(head));
	return rte_pci_addr_parse(head, &addr) == 0;
}

/* The ethdev name devargs will produce: the canonical PCI address, or the
 * vdev name. */
static void
devargs_port_name(const char *devargs, char *name, size_t len)
{
	struct rte_pci_addr addr;
	char head[128];

	devargs_head(devargs, head, sizeof(head));
	if (rte_pci_addr_parse(head, &addr) == 0)
		rte_pci_device_name(&addr, name, len);
	else
		snprintf(name, len, "%s", head);
}

/* A memif server's socket left by a crashed vrelayd would fail the probe. */
static int
claim_device_socket(const char *devargs, char *err, size_t errlen)
{
	char path[VR_PATH_MAX], sub[VR_ERR_MAX];

	sockpath_memif_server(devargs, path, sizeof(path));
	if (path[0] != '\0' && sockpath_claim(path, sub, sizeof(sub)) < 0)
		return vr_err(err, errlen, "device '%.64s': %s", devargs, sub);
	return 0;
}

bool
device_in_use(const char *devargs)
{
	char name[128];
	uint16_t port;

	devargs_port_name(devargs, name, sizeof(name));
	return rte_eth_dev_get_port_by_name(name, &port) == 0;
}

int
device_open(struct vr_device *dev, const char *devargs, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	char name[128];
	int rc;

	memset(dev, 0, sizeof(*dev));
	dev->port.ops = &vr_ethdev_ops;
	devargs_port_name(devargs, name, sizeof(name));
	if (device_in_use(devargs))
		return vr_err(err, errlen, "device '%s' is already in use", name);
	if (rte_eth_dev_count_total() >= RTE_MAX_ETHPORTS)
		return vr_err(err, errlen,
		              "device '%s': this DPDK build holds at most %d ports "
		              "(RTE_MAX_ETHPORTS) and all are in use",
		              name, RTE_MAX_ETHPORTS);
	if (claim_device_socket(devargs, err, errlen) < 0)
		return -1;
	rc = rte_dev_probe(devargs);
	if (rc < 0)
		return vr_err(
		    err, errlen, "device '%s': probe failed: %s (%s)", devargs, rte_strerror(-rc),
		    is_pci(devargs) ? "is the address right and the device bound to vfio-pci?"
		                    : "the driver's reason is logged above");
	if (rte_eth_dev_get_port_by_name(name, &dev->port_id) != 0) {
		rte_eal_hotplug_remove(strncmp(name, "net_", 4) == 0 ? "vdev" : "pci", name);
		return vr_err(err, errlen,
		              "device '%s' probed but no network port named '%s' "
		              "appeared",
		              devargs, name);
	}
	rc = rte_eth_dev_info_get(dev->port_id, &info);
	if (rc != 0) {
		device_close(dev);
		return vr_err(err, errlen, "device '%s': no device info: %s", name,
		              rte_strerror(-rc));
	}
	dev->max_queues = RTE_MIN(info.max_rx_queues, info.max_tx_queues);
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	return 0;
}

static void
close_members(struct vr_device *m, unsigned n)
{
	for (unsigned i = n; i-- > 0;)
		device_close(&m[i]);
	free(m);
}

int
device_open_bond(struct vr_device *dev, const char *name, unsigned mode,
                 const char members[][VR_MEMBER_MAX], unsigned n, char *err, size_t errlen)
{
	struct vr_device *m = calloc(n, sizeof(*m));
	char args[VR_DEVARGS_MAX], sub[VR_ERR_MAX];
	int len;

	if (m == NULL)
		return vr_err(err, errlen, "bond %s: out of memory", name);
	len = snprintf(args, sizeof(args), "%s,mode=%u", name, mode);
	for (unsigned i = 0; i < n; i++) {
		if (device_open(&m[i], members[i], sub, sizeof(sub)) < 0) {
			close_members(m, i);
			return vr_err(err, errlen, "bond %s: member %u: %s", name, i + 1, sub);
		}
		/* the bonding PMD names members by port name (DPDK 22.11: "slave") */
		len += snprintf(args + len, sizeof(args) - (size_t)len, ",slave=%s", m[i].name);
	}
	if (len >= (int)sizeof(args) || device_open(dev, args, sub, sizeof(sub)) < 0) {
		close_members(m, n);
		return vr_err(err, errlen, "bond %s: %s", name,
		              len >= (int)sizeof(args) ? "member names too long" : sub);
	}
	dev->members = m;
	dev->n_members = (uint8_t)n;
	return 0;
}

int
device_socket(const struct vr_device *dev)
{
	int s = rte_eth_dev_socket_id(dev->port_id);

	return s >= 0 ? s : (int)rte_socket_id();
}

uint16_t
device_queues_for(const struct vr_device *dev, uint16_t want)
{
	uint16_t n = RTE_MIN(want, dev->max_queues);

	return n > 0 ? n : 1;
}

/*
 * The checksum and TSO offloads the relay asks of this device for a guest's
 * frames (offload.h), or finishes itself. DPDK 22.11's net_tap claims TSO
 * but refuses a full-size segment (it compares segment plus Ethernet header
 * with the MTU) and sends TCP over IPv6 uncut: the relay cuts for it.
 */
static uint64_t
tx_offloads_usable(const struct rte_eth_dev_info *info)
{
	uint64_t capa = info->tx_offload_capa & VR_OFFLOAD_DEV_TX;

	if (info->driver_name != NULL && strcmp(info->driver_name, "net_tap") == 0)
		capa &= ~RTE_ETH_TX_OFFLOAD_TCP_TSO;
	if (!(info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS))
		capa &= ~RTE_ETH_TX_OFFLOAD_TCP_TSO; /* a guest's TSO frame is a chain */
	return capa;
}

static void
fill_port_conf(struct rte_eth_conf *conf, const struct rte_eth_dev_info *info, uint16_t nq,
               uint16_t mtu)
{
	uint64_t rss =
	    (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info->flow_type_rss_offloads;

	memset(conf, 0, sizeof(*conf));
	conf->rxmode.mtu = mtu;
	if (nq > 1 && rss != 0) {
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_hf = rss;
		conf->rxmode.offloads |= info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH;
	}
	/* jumbo frames arrive and leave as chains of 2 KiB segments */
	if ((uint32_t)mtu + 22 > VR_MBUF_DATA_ROOM)
		conf->rxmode.offloads |= info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER;
	/* ... and so do a guest's TSO frames, up to 64 KiB */
	conf->txmode.offloads |= info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	conf->txmode.offloads |= tx_offloads_usable(info);
}

static int
setup_rx_queues(struct vr_device *dev, struct rte_mempool *pool, char *err, size_t errlen)
{
	for (uint16_t q = 0; q < dev->n_queues; q++) {
		int rc = rte_eth_rx_queue_setup(dev->port_id, q, dev->rxd, device_socket(dev), NULL,
		                                pool);

		if (rc != 0)
			return vr_err(err, errlen, "device '%s': RX queue %u setup failed: %s",
			              dev->name, q, rte_strerror(-rc));
	}
	return 0;
}

static int
start_port(struct vr_device *dev, char *err, size_t errlen)
{
	int rc = rte_eth_dev_start(dev->port_id);

	if (rc != 0)
		return vr_err(err, errlen, "device '%s': start failed: %s", dev->name,
		              rte_strerror(-rc));
	/* The guest's MAC is not the device's: the relay must see every frame. */
	rc = rte_eth_promiscuous_enable(dev->port_id);
	if (rc != 0 && rc != -ENOTSUP)
		VR_LOG(WARNING, "device '%s': promiscuous mode refused: %s", dev->name,
		       rte_strerror(-rc));
	dev->started = true;
	return 0;
}

int
device_start(struct vr_device *dev, uint16_t want_queues, uint16_t mtu, struct rte_mempool *pool,
             char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	int rc;

	rc = rte_eth_dev_info_get(dev->port_id, &info);
	if (rc != 0)
		return vr_err(err, errlen, "device '%s': no device info", dev->name);
	if (mtu > info.max_mtu || mtu < info.min_mtu ||
	    (uint32_t)mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN > info.max_rx_pktlen)
		return vr_err(err, errlen,
		              "device '%s' takes MTU %u..%u and frames up to %u bytes; the relay's "
		              "MTU %u does not fit",
		              dev->name, info.min_mtu, info.max_mtu, info.max_rx_pktlen, mtu);
	dev->n_queues = device_queues_for(dev, want_queues);
	fill_port_conf(&conf, &info, dev->n_queues, mtu);
	dev->rss = conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS;
	dev->tx_offloads = conf.txmode.offloads & VR_OFFLOAD_DEV_TX;
	/* a guest chooses how its frames are chained: a chain longer than the
	 * NIC takes can stall its queue or, on some VFs, trip the PF's checks */
	dev->max_segs = info.tx_desc_lim.nb_mtu_seg_max;
	dev->max_tso_segs = info.tx_desc_lim.nb_seg_max;
	rc = rte_eth_dev_configure(dev->port_id, dev->n_queues, dev->n_queues, &conf);
	if (rc != 0)
		return vr_err(err, errlen,
		              "device '%s': configure with %u queues, MTU %u failed: %s", dev->name,
		              dev->n_queues, mtu, rte_strerror(-rc));
	dev->rxd = VR_DEV_RXD;
	dev->txd = VR_DEV_TXD;
	rte_eth_dev_adjust_nb_rx_tx_desc(dev->port_id, &dev->rxd, &dev->txd);
	if (setup_rx_queues(dev, pool, err, errlen) < 0)
		return -1;
	for (uint16_t q = 0; q < dev->n_queues; q++) {
		rc = rte_eth_tx_queue_setup(dev->port_id, q, dev->txd, device_socket(dev), NULL);
		if (rc != 0)
			return vr_err(err, errlen, "device '%s': TX queue %u setup failed: %s",
			              dev->name, q, rte_strerror(-rc));
	}
	return start_port(dev, err, errlen);
}

int
device_restart_on_pool(struct vr_device *dev, struct rte_mempool *pool, char *err, size_t errlen)
{
	device_stop(dev);
	if (setup_rx_queues(dev, pool, err, errlen) < 0)
		return -1;
	return start_port(dev, err, errlen);
}

void
device_stop(struct vr_device *dev)
{
	if (!dev->started)
		return;
	rte_eth_dev_stop(dev->port_id);
	dev->started = false;
}

/* Frames the device received that no worker will take any more go back to
 * their pool before the port closes: drivers that queue in software (net_ring
 * loops what was sent into its receive ring, and keeps the ring when the port
 * goes) would otherwise keep the relay's mbufs for good. Workers are detached. */
static void
drain_rx(struct vr_device *dev)
{
	struct rte_mbuf *m[32];

	if (!dev->started)
		return;
	for (uint16_t q = 0; q < dev->n_queues; q++) {
		uint16_t n;
		unsigned rounds = 0;

		do {
			n = rte_eth_rx_burst(dev->port_id, q, m, RTE_DIM(m));
			rte_pktmbuf_free_bulk(m, n);
		} while (n > 0 && ++rounds < 4096);
	}
}

void
device_close(struct vr_device *dev)
{
	struct rte_eth_dev_info info;
	struct rte_device *rdev = NULL;

	drain_rx(dev);
	device_stop(dev);
	if (rte_eth_dev_info_get(dev->port_id, &info) == 0)
		rdev = info.device;
	/* the bonding PMD refuses removal while it holds members: closing the
	 * bond port releases them first */
	if (dev->members != NULL)
		rte_eth_dev_close(dev->port_id);
	/* The driver's remove closes the port itself; closing first leaves
	 * some PMDs (memif, null) unable to find and free their private data. */
	if (rdev == NULL || rte_dev_remove(rdev) != 0) {
		VR_LOG(WARNING, "device '%s': hot-unplug failed; closing the port only", dev->name);
		rte_eth_dev_close(dev->port_id);
	}
	if (dev->members != NULL)
		close_members(dev->members, dev->n_members);
	dev->members = NULL;
	dev->n_members = 0;
}
