/* SPDX-License-Identifier: BSD-3-Clause */
#include "domxml.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "errmsg.h"

/* An attribute of node as text into buf; false when absent or too long. */
static bool
attr(xmlNodePtr node, const char *name, char *buf, size_t len)
{
	xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
	bool ok = v != NULL && strlen((const char *)v) < len;

	if (ok)
		snprintf(buf, len, "%s", (const char *)v);
	xmlFree(v);
	return ok;
}

/* The first child element of node named name, or NULL. */
static xmlNodePtr
child(xmlNodePtr node, const char *name)
{
	for (xmlNodePtr c = node->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, (const xmlChar *)name) == 0)
			return c;
	return NULL;
}

/* One <interface type='vhostuser'> into *o: 0, or -1 with err. */
static int
one_iface(xmlNodePtr iface, unsigned k, struct vr_dom_iface *o, char *err, size_t errlen)
{
	xmlNodePtr mac = child(iface, "mac"), src = child(iface, "source");
	char type[16] = "unix", mode[16] = "client";

	memset(o, 0, sizeof(*o));
	if (mac == NULL || !attr(mac, "address", o->mac, sizeof(o->mac)))
		return vr_err(err, errlen, "vhostuser interface %u: no <mac address=...>", k);
	for (char *p = o->mac; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (src == NULL)
		return vr_err(err, errlen, "vhostuser interface %u: no <source>", k);
	if (xmlHasProp(src, (const xmlChar *)"type") != NULL &&
	    !attr(src, "type", type, sizeof(type)))
		return vr_err(err, errlen, "vhostuser interface %u: bad source type", k);
	if (strcmp(type, "unix") != 0)
		return vr_err(err, errlen, "vhostuser interface %u: source type '%s', not unix", k,
		              type);
	if (!attr(src, "path", o->path, sizeof(o->path)))
		return vr_err(err, errlen,
		              "vhostuser interface %u: no socket path, or one longer than %d bytes",
		              k, VR_PATH_MAX - 1);
	if (xmlHasProp(src, (const xmlChar *)"mode") != NULL &&
	    !attr(src, "mode", mode, sizeof(mode)))
		return vr_err(err, errlen, "vhostuser interface %u: bad source mode", k);
	o->qemu_server = strcmp(mode, "server") == 0;
	return 0;
}

int
vr_domxml_vhostuser(const char *xml, size_t len, struct vr_dom_iface *out, unsigned max, char *err,
                    size_t errlen)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr set = NULL;
	int n = -1;

	/* before parsing: xmlReadMemory takes an int */
	if (len > VR_DOMXML_MAX)
		return vr_err(err, errlen, "the domain XML is larger than %d bytes", VR_DOMXML_MAX);
	/* no network, no entities substituted, no DTD loaded: the text is data */
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		vr_err(err, errlen, "not a well-formed XML document");
		goto out;
	}
	if (xmlStrcmp(xmlDocGetRootElement(doc)->name, (const xmlChar *)"domain") != 0) {
		vr_err(err, errlen, "the XML's root is <%s>, not <domain>",
		       (const char *)xmlDocGetRootElement(doc)->name);
		goto out;
	}
	ctx = xmlXPathNewContext(doc);
	set = ctx ? xmlXPathEvalExpression(
	                (const xmlChar *)"/domain/devices/interface[@type='vhostuser']", ctx)
	          : NULL;
	if (set == NULL) {
		vr_err(err, errlen, "out of memory reading the domain XML");
		goto out;
	}
	n = 0;
	for (int i = 0; set->nodesetval != NULL && i < set->nodesetval->nodeNr; i++) {
		if ((unsigned)n == max) {
			n = vr_err(err, errlen, "more than %u vhostuser interfaces", max);
			break;
		}
		if (one_iface(set->nodesetval->nodeTab[i], (unsigned)i, &out[n], err, errlen) < 0) {
			n = -1;
			break;
		}
		n++;
	}
out:
	xmlXPathFreeObject(set);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return n;
}
