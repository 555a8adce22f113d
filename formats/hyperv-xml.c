/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hyper-V's XML configuration (Windows Server 2012 R2 and earlier; UTF-16)
 * read into the VM model: the document becomes a tree of keys, one per
 * element, which hyperv-config.c maps onto the model as it does the binary
 * .vmcx of later versions (hyperv-vmcx.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hyperv-config.h"

#define CONFIG_MAX_BYTES (4u << 20)

static const char *const hyperv_xml_ext[] = { ".xml", NULL };

/* The elements below n as keys under parent: an element with elements in it
 * is a key with children, any other a key whose value is its text. */
static int to_tree(struct hv_tree *t, struct hv_node *parent, const xmlNode *n,
		   struct vimg_error *err)
{
	int rc = 0;

	for (const xmlNode *c = n->children; c && !rc; c = c->next) {
		const xmlNode *e = c->children;
		struct hv_node *k;
		char *text = NULL;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		while (e && e->type != XML_ELEMENT_NODE)
			e = e->next;
		if (!e && !(text = (char *)xmlNodeGetContent(c)))
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		rc = hv_add(t, parent, (const char *)c->name, strlen((const char *)c->name), text,
			    text ? strlen(text) : 0, "hyperv", &k, err);
		xmlFree(text);
		if (!rc && e)
			rc = to_tree(t, k, c, err);
	}
	return rc;
}

static int hyperv_xml_load(struct vimg_vm *vm, const char *path, struct vimg_error *err)
{
	struct hv_tree t = { 0 };
	struct hv_node *top;
	char *buf;
	size_t len;
	xmlDoc *doc;
	const xmlNode *root;
	int rc = file_read_all(path, CONFIG_MAX_BYTES, "hyperv", &buf, &len, err);

	if (rc)
		return rc;
	doc = xmlReadMemory(buf, (int)len, path, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(buf);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root) {
		xmlFreeDoc(doc);
		return vimg_error_set(err, VIMG_EFORMAT,
				      "hyperv: %s is not a Hyper-V XML configuration", path);
	}
	rc = hv_add(&t, NULL, (const char *)root->name, strlen((const char *)root->name), NULL, 0,
		    "hyperv", &top, err);
	if (!rc)
		rc = to_tree(&t, top, root, err);
	xmlFreeDoc(doc);
	if (!rc && (rc = hyperv_config_read(vm, &t, "hyperv", path,
					    "a Hyper-V XML configuration", err)) == VIMG_EFORMAT) {
		hv_free(&t);
		return rc;
	}
	hv_free(&t);
	return rc ? vimg_error_prefix(err, "%s", path) : 0;
}

/* "<configuration>" near the start, in UTF-16LE (as Hyper-V writes it) or 8-bit. */
static int hyperv_xml_probe(const struct vimg_probe *p)
{
	static const char u16[] = "<\0c\0o\0n\0f\0i\0g\0u\0r\0a\0t\0i\0o\0n\0>";

	if (memmem(p->head, p->head_len, u16, sizeof(u16) - 1) ||
	    memmem(p->head, p->head_len, "<configuration>", 15))
		return 70;
	return 0;
}

const struct vimg_codec vimg_codec_hyperv_xml = {
	.name = "hyperv-xml",
	.description = "Hyper-V XML configuration (Windows Server 2012 R2 and earlier)",
	.extensions = hyperv_xml_ext,
	.probe = hyperv_xml_probe,
	.load = hyperv_xml_load,
};
