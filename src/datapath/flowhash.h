/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Software flow hash for spreading device-to-guest traffic over the guest's
 * enabled RX vrings when the device gives no RSS hash. Hashes the L3/L4
 * addresses (through up to two VLAN tags) so every packet of one flow lands
 * on one vring and stays in order; non-IP frames hash on their MACs.
 */
#ifndef VR_FLOWHASH_H
#define VR_FLOWHASH_H

#include <stdint.h>

uint32_t vr_flow_hash(const uint8_t *frame, uint32_t len);

#endif
