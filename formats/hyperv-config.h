/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hyper-V's configuration as a tree of named keys, whichever file it came
 * from: the XML of Windows Server 2012 R2 (hyperv-xml.c) and the binary
 * .vmcx of 2016 and later (hyperv-vmcx.c) hold the same settings under the
 * same names. Each reader fills a tree; hyperv_config_read maps it onto the
 * VM model once for both (hyperv-config.c).
 */
#ifndef VIMG_HYPERV_CONFIG_H
#define VIMG_HYPERV_CONFIG_H

#include "vm.h"

/* Bounds on what a reader may build: real configurations are about eight
 * keys deep and hold a few thousand keys. */
#define HV_MAX_DEPTH 64
#define HV_MAX_NODES 65536

struct hv_node {
	struct hv_node *child, *last, *next;	/* children, in the file's order */
	struct hv_node *all;			/* the tree's next node, for freeing */
	char *value;				/* a leaf's text (UTF-8), else NULL */
	unsigned depth;				/* top-level keys are 1 */
	char name[];
};

struct hv_tree {
	struct hv_node *top, *top_last;		/* the top-level keys */
	struct hv_node *all;
	size_t count;
};

/*
 * Add the key name[nlen] (with value[vlen] as its text, or no value when
 * value is NULL) as the last child of parent, or at the top when parent is
 * NULL. Past HV_MAX_DEPTH or HV_MAX_NODES: VIMG_ECORRUPT "<fmt>: ...".
 */
int hv_add(struct hv_tree *t, struct hv_node *parent, const char *name, size_t nlen,
	   const char *value, size_t vlen, const char *fmt, struct hv_node **out,
	   struct vimg_error *err);
void hv_free(struct hv_tree *t);

/*
 * The VM the tree's top-level "configuration" key describes, into vm. A tree
 * without one (a runtime state file, Hyper-V's VM registry) is VIMG_EFORMAT
 * "<fmt>: <path> ...: <what>" with what naming the file kind expected.
 */
int hyperv_config_read(struct vimg_vm *vm, const struct hv_tree *t, const char *fmt,
		       const char *path, const char *what, struct vimg_error *err);

/* What a .vmcx container held besides its keys (hyperv-vmcx.c). */
struct vmcx_info {
	uint32_t version;
	unsigned object_tables, key_tables;	/* key tables read: one per index */
	uint16_t header_seq;			/* of the header copy used */
};

/* The keys of the .vmcx in buf[len] into t (empty before; hv_free it after
 * an error too); info may be NULL. */
int vmcx_parse(const uint8_t *buf, size_t len, struct hv_tree *t, struct vmcx_info *info,
	       struct vimg_error *err);

#endif
