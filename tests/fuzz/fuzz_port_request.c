/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: PortControlRequest decoding (src/api/request.c). */
#include "fuzz_common.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vr_port_req q;
	char err[VR_ERR_MAX];
	char pci[16];
	int rc;

	err[0] = '\0';
	rc = vr_port_req_decode(data, size, &q, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		FUZZ_ERR_SET(err);
		return 0;
	}

	FUZZ_CHECK(q.op <= VR_PORT_UNREDIRECT);
	FUZZ_CHECK(strcmp(vr_port_op_name(q.op), "?") != 0);
	FUZZ_CHECK(q.id >= -1 && q.id < VR_MAX_RELAYS);
	FUZZ_STR(q.device);
	FUZZ_STR(q.socket);
	FUZZ_CHECK(q.n_members <= VR_BOND_MAX);
	/* a bond has 2..VR_BOND_MAX members */
	FUZZ_CHECK(q.n_members != 1);
	for (unsigned i = 0; i < q.n_members; i++) {
		FUZZ_STR(q.members[i]);
		/* members are canonical PCI addresses, each given once */
		FUZZ_CHECK(vr_pci_parse(q.members[i], pci) == 0);
		FUZZ_CHECK(strcmp(pci, q.members[i]) == 0);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(q.members[i], q.members[j]) != 0);
	}
	for (unsigned i = q.n_members; i < VR_BOND_MAX; i++)
		FUZZ_CHECK(q.members[i][0] == '\0');
	if (q.n_members > 0) {
		FUZZ_CHECK(q.mode <= VR_BOND_MODE_MAX);
		FUZZ_CHECK(strncmp(q.device, "net_bonding", 11) == 0);
		FUZZ_CHECK(strchr(q.device, ',') == NULL);
		FUZZ_CHECK(strlen(q.device) < 64);
	}
	if (q.socket[0] != '\0')
		FUZZ_CHECK(q.socket[0] == '/');

	switch (q.op) {
	case VR_PORT_ADD:
		FUZZ_CHECK(q.id >= 0);
		FUZZ_CHECK(q.device[0] != '\0');
		break;
	case VR_PORT_ADD_SOCK:
		FUZZ_CHECK(q.device[0] != '\0');
		FUZZ_CHECK(q.socket[0] != '\0');
		break;
	case VR_PORT_REMOVE:
		FUZZ_CHECK(q.id >= 0);
		break;
	case VR_PORT_REMOVE_SOCK:
		FUZZ_CHECK(q.socket[0] != '\0' || q.device[0] != '\0');
		break;
	case VR_PORT_QUERY:
		FUZZ_CHECK(q.socket[0] != '\0');
		break;
	case VR_PORT_ANNOUNCE:
		FUZZ_CHECK(q.id >= 0 && q.announce.has_mac && (q.announce.mac[0] & 1) == 0);
		break;
	case VR_PORT_REDIRECT:
		FUZZ_CHECK(q.id >= 0);
		FUZZ_CHECK(q.redirect.n_sa == 0 || q.redirect.n_sa == VR_REDIRECT_SAS);
		/* keys of AES-128/256-GCM under distinct, unreserved SPIs */
		for (unsigned i = 0; i < q.redirect.n_sa; i++) {
			FUZZ_CHECK(q.redirect.sa[i].spi >= 256);
			FUZZ_CHECK(q.redirect.sa[i].key_len == 16 ||
			           q.redirect.sa[i].key_len == 32);
			for (unsigned j = 0; j < i; j++)
				FUZZ_CHECK(q.redirect.sa[i].spi != q.redirect.sa[j].spi);
		}
		/* the destination gets everything from the source's reply */
		if (q.redirect.role == VR_TUNNEL_DEST)
			FUZZ_CHECK(q.redirect.guest.has_mac && q.redirect.has_gw_mac &&
			           q.redirect.n_sa == VR_REDIRECT_SAS);
		break;
	case VR_PORT_UNREDIRECT:
		FUZZ_CHECK(q.id >= 0);
		break;
	}
	return 0;
}
