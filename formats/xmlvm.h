/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the XML VM codecs (libvirt, VirtualBox) share: reading a bounded
 * document without network access, DTDs or entity expansion, walking it by
 * element name, and writing one through libxml2's writer, which escapes
 * every name and path.
 */
#ifndef VIMG_XMLVM_H
#define VIMG_XMLVM_H

#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include "vm.h"

/* The document in path (at most max bytes), or VIMG_EFORMAT "<what>: ..."
 * when it is no well-formed XML; free with xmlFreeDoc. */
int xmlvm_read(const char *path, size_t max, const char *what, xmlDoc **out,
	       struct vimg_error *err);
bool xmlvm_named(const xmlNode *n, const char *name);
/* The first child element called name, or NULL (n may be NULL). */
const xmlNode *xmlvm_child(const xmlNode *n, const char *name);
/* An attribute or the text of an element, malloc'd by libxml2 (xmlFree), or
 * NULL; n may be NULL. */
char *xmlvm_attr(const xmlNode *n, const char *name);
char *xmlvm_text(const xmlNode *n);
/* A decimal number of at most max from a libxml2 string (freed here), or
 * dflt when it is absent or anything else. */
unsigned xmlvm_uint(char *v, unsigned dflt, unsigned max);

/* A writer into a memory buffer, indented by two spaces; NULL when out of
 * memory. */
xmlTextWriterPtr xmlvm_writer(xmlBufferPtr *buf);
/* End the document, free the writer and put what was written at path
 * (file_replace); ok false (a write failed) is VIMG_ENOMEM. Frees buf. */
int xmlvm_save(xmlTextWriterPtr x, xmlBufferPtr buf, bool ok, const char *path, const char *what,
	       struct vimg_error *err);

/* Collect a writer call's failure in a local bool ok. */
#define W(call)                                                                                    \
	do {                                                                                       \
		if ((call) < 0)                                                                    \
			ok = false;                                                                \
	} while (0)

#endif
