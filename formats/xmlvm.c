/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers of the XML VM codecs: xmlvm.h says what they do. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "xmlvm.h"

int xmlvm_read(const char *path, size_t max, const char *what, xmlDoc **out, struct vimg_error *err)
{
	char *buf;
	size_t len;
	int rc = file_read_all(path, max, what, &buf, &len, err);

	if (rc)
		return rc;
	/* No XML_PARSE_NOENT: entities stay unexpanded; NONET: no fetching. */
	*out = xmlReadMemory(buf, (int)len, path, NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(buf);
	if (!*out)
		return vimg_error_set(err, VIMG_EFORMAT, "%s: %s is not well-formed XML", what,
				      path);
	return 0;
}

bool xmlvm_named(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

const xmlNode *xmlvm_child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (xmlvm_named(c, name))
			return c;
	return NULL;
}

char *xmlvm_attr(const xmlNode *n, const char *name)
{
	return n ? (char *)xmlGetProp(n, BAD_CAST name) : NULL;
}

char *xmlvm_text(const xmlNode *n)
{
	return n ? (char *)xmlNodeGetContent(n) : NULL;
}

unsigned xmlvm_uint(char *v, unsigned dflt, unsigned max)
{
	char *end;
	unsigned long x = v ? strtoul(v, &end, 10) : 0;
	bool ok = v && end != v && !*end && x <= max;

	xmlFree(v);
	return ok ? (unsigned)x : dflt;
}

xmlTextWriterPtr xmlvm_writer(xmlBufferPtr *buf)
{
	xmlTextWriterPtr x;

	*buf = xmlBufferCreate();
	x = *buf ? xmlNewTextWriterMemory(*buf, 0) : NULL;
	if (x && (xmlTextWriterSetIndent(x, 1) < 0 ||
		  xmlTextWriterSetIndentString(x, BAD_CAST "  ") < 0)) {
		xmlFreeTextWriter(x);
		x = NULL;
	}
	if (!x) {
		xmlBufferFree(*buf);
		*buf = NULL;
	}
	return x;
}

int xmlvm_save(xmlTextWriterPtr x, xmlBufferPtr buf, bool ok, const char *path, const char *what,
	       struct vimg_error *err)
{
	int rc;

	if (x) {
		W(xmlTextWriterEndDocument(x));
		xmlFreeTextWriter(x);
	}
	if (!x || !ok) {
		xmlBufferFree(buf);
		return vimg_error_set(err, VIMG_ENOMEM, "%s: writing %s: out of memory", what,
				      path);
	}
	rc = file_replace(path, xmlBufferContent(buf), (size_t)xmlBufferLength(buf), err);
	xmlBufferFree(buf);
	return rc;
}
