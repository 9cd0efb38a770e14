/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An EAL in memory for the unit tests that need real mbufs: no hugepages,
 * no PCI, no shared config, no telemetry, so tests run anywhere and in
 * parallel. Include after <cmocka.h>.
 */
#ifndef VR_UNIT_EAL_H
#define VR_UNIT_EAL_H

#include <rte_eal.h>
#include <rte_mbuf.h>

/* Brings the EAL up and makes a pool of n 2 KiB mbufs; NULL on failure. */
static inline struct rte_mempool *
unit_eal_pool(const char *prog, unsigned n)
{
	char *argv[] = {(char *)prog,
	                "--no-huge",
	                "--no-pci",
	                "-m",
	                "256",
	                "--no-shconf",
	                "--log-level=lib.eal:error",
	                "--no-telemetry"};

	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0)
		return NULL;
	return rte_pktmbuf_pool_create(prog, n, 0, 0, 2048 + 128, SOCKET_ID_ANY);
}

#endif
