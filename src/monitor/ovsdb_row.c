/* SPDX-License-Identifier: BSD-3-Clause */
#include "ovsdb_row.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"

const char *
vr_ovsdb_map_get(const json_t *map, const char *key)
{
	const json_t *pairs, *pair;
	size_t i;

	if (!json_is_array(map) || json_array_size(map) != 2 ||
	    !json_is_string(json_array_get(map, 0)) ||
	    strcmp(json_string_value(json_array_get(map, 0)), "map") != 0)
		return NULL;
	pairs = json_array_get(map, 1);
	json_array_foreach(pairs, i, pair)
	{
		const json_t *k = json_array_get(pair, 0), *v = json_array_get(pair, 1);

		if (json_is_string(k) && json_is_string(v) &&
		    strcmp(json_string_value(k), key) == 0)
			return json_string_value(v);
	}
	return NULL;
}

int
vr_ovsdb_row_parse(const json_t *row, struct vr_ovsdb_row *out, char *err, size_t errlen)
{
	const json_t *name = json_object_get(row, "name");
	const char *v, *dev;
	long id;

	memset(out, 0, sizeof(*out));
	out->id = -1;
	if (!json_is_object(row))
		return vr_err(err, errlen, "row is not an object");
	if (json_is_string(name))
		snprintf(out->name, sizeof(out->name), "%s", json_string_value(name));
	v = vr_ovsdb_map_get(json_object_get(row, "external_ids"), "virtio_forwarder");
	if (v == NULL)
		v = vr_ovsdb_map_get(json_object_get(row, "external_ids"), "virtio_relay");
	if (v == NULL)
		return 0;
	id = vr_relay_id_parse(v, NULL);
	if (id < 0)
		return vr_err(err, errlen,
		              "interface %s: external_ids:virtio_forwarder='%.32s' is not "
		              "a relay id in 0..%d",
		              out->name, v, VR_MAX_RELAYS - 1);
	dev = vr_ovsdb_map_get(json_object_get(row, "options"), "dpdk-devargs");
	if (dev != NULL && (dev[0] == '\0' || strlen(dev) >= sizeof(out->devargs)))
		return vr_err(err, errlen,
		              "interface %s: options:dpdk-devargs is empty or too long", out->name);
	if (dev == NULL && out->name[0] == '\0')
		return vr_err(err, errlen, "interface without a name or options:dpdk-devargs");
	if (dev != NULL)
		snprintf(out->devargs, sizeof(out->devargs), "%s", dev);
	out->id = (int)id;
	return 0;
}
