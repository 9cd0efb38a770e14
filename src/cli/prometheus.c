/* SPDX-License-Identifier: BSD-3-Clause */
#include "prometheus.h"

#include <string.h>

#include "counters.h"
#include "statsrows.h"

/* "tunnel.out" -> "vrelay_tunnel_out" + suffix: metric names are
 * [a-zA-Z_:][a-zA-Z0-9_:]*. */
static void
metric_name(char *out, size_t len, const char *name, const char *suffix)
{
	size_t n = (size_t)snprintf(out, len, "vrelay_%s%s", name, suffix);

	for (size_t i = 0; i < n && i < len; i++)
		if (out[i] == '.' || out[i] == '-')
			out[i] = '_';
}

/* A label value, escaped as the format asks (\\, \", \n). */
static void
label_value(FILE *out, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(out, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

static void
family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The direction counters, one family each, over every relay's directions
 * that carry it. */
static void
dir_counters(FILE *out, const Virtioforwarder__StatsResponse *r)
{
	char name[128];

	for (unsigned k = 0; k < VR_N_DIR_COUNTERS; k++) {
		metric_name(name, sizeof(name), vr_dir_counter_desc[k].name, "_total");
		family(out, name, "counter", vr_dir_counter_desc[k].help);
		for (size_t i = 0; i < r->n_relay; i++) {
			struct dir_row row[2];

			dir_rows(r->relay[i], row);
			for (int d = 0; d < 2; d++) {
				long long v = counter_of(&row[d], vr_dir_counter_desc[k].name);

				if (v >= 0)
					fprintf(out, "%s{relay=\"%u\",direction=\"%s\"} %lld\n",
					        name, r->relay[i]->id, row[d].name, v);
			}
		}
	}
}

/* The relay counters (connects, ...), by name from the reply. */
static void
relay_counters(FILE *out, const Virtioforwarder__StatsResponse *r)
{
	char name[128];

	for (unsigned k = 0; k < VR_N_RELAY_COUNTERS; k++) {
		metric_name(name, sizeof(name), vr_relay_counter_desc[k].name, "_total");
		family(out, name, "counter", vr_relay_counter_desc[k].help);
		for (size_t i = 0; i < r->n_relay; i++) {
			const Virtioforwarder__RelayState *s = r->relay[i];

			for (size_t c = 0; c < s->n_counters; c++)
				if (strcmp(s->counters[c]->name, vr_relay_counter_desc[k].name) ==
				    0)
					fprintf(out, "%s{relay=\"%u\"} %llu\n", name, s->id,
					        (unsigned long long)s->counters[c]->value);
		}
	}
}

/* The rates and CPUs the reply carries per direction, as gauges. */
static void
dir_gauges(FILE *out, const Virtioforwarder__StatsResponse *r)
{
	static const struct {
		const char *name, *help;
	} g[] = {
	    {"vrelay_rx_packets_per_second", "frames a second taken from the source port"},
	    {"vrelay_tx_packets_per_second", "frames a second the destination port took"},
	    {"vrelay_tx_bytes_per_second", "bytes a second the destination port took"},
	    {"vrelay_direction_cpu", "the worker CPU of the direction (-1: none)"},
	};

	for (unsigned k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		family(out, g[k].name, "gauge", g[k].help);
		for (size_t i = 0; i < r->n_relay; i++) {
			struct dir_row row[2];

			dir_rows(r->relay[i], row);
			for (int d = 0; d < 2; d++) {
				double v = k == 0   ? row[d].rx_pps
				           : k == 1 ? row[d].tx_pps
				           : k == 2 ? row[d].tx_bytes_per_s
				                    : row[d].cpu;

				fprintf(out, "%s{relay=\"%u\",direction=\"%s\"} %.17g\n", g[k].name,
				        r->relay[i]->id, row[d].name, v);
			}
		}
	}
}

static void
relay_info(FILE *out, const Virtioforwarder__StatsResponse *r)
{
	family(out, "vrelay_relay_info", "gauge",
	       "a relay: its device, vhost-user socket, mode and state (always 1)");
	for (size_t i = 0; i < r->n_relay; i++) {
		const Virtioforwarder__RelayState *s = r->relay[i];

		fprintf(out, "vrelay_relay_info{relay=\"%u\",device=\"", s->id);
		label_value(out, s->vf ? s->vf->pci_addr_str : "");
		fputs("\",socket=\"", out);
		label_value(out, s->vhost->vhost_socket_name);
		fputs("\",mode=\"", out);
		label_value(out, s->vhost_mode);
		fputs("\",state=\"", out);
		label_value(out, s->state);
		fputs("\"} 1\n", out);
	}
	family(out, "vrelay_relay_active", "gauge",
	       "1 when the relay has both a guest and a device link");
	for (size_t i = 0; i < r->n_relay; i++)
		fprintf(out, "vrelay_relay_active{relay=\"%u\"} %d\n", r->relay[i]->id,
		        r->relay[i]->active ? 1 : 0);
}

void
prometheus_write(FILE *out, const Virtioforwarder__StatsResponse *r)
{
	relay_info(out, r);
	relay_counters(out, r);
	dir_counters(out, r);
	dir_gauges(out, r);
}
