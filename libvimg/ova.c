/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OVF packages: the manifest (NAME.mf, one "SHA256(name)= hex" line per
 * file, SHA-1 and SHA-512 too) written and verified, and OVAs written as a
 * tar with the descriptor first, the manifest second, then the disks. The
 * disks are converted straight into the archive (a file window at each
 * member's data), so no temporary copy is made; the descriptor and manifest
 * depend on the disks' sizes and hashes, so room for them is kept at the
 * front and they are written last.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ova.h"
#include "vm.h"

#define HASH_CHUNK (1u << 20)
#define MANIFEST_MAX (1u << 20)

static const EVP_MD *digest_by_name(const char *algo, const char **label)
{
	static const struct {
		const char *name, *label;
		const EVP_MD *(*md)(void);
	} algos[] = {
		{ "sha256", "SHA256", EVP_sha256 },
		{ "sha1", "SHA1", EVP_sha1 },
		{ "sha512", "SHA512", EVP_sha512 },
	};

	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++)
		if (!strcasecmp(algos[i].name, algo) || !strcasecmp(algos[i].label, algo)) {
			if (label)
				*label = algos[i].label;
			return algos[i].md();
		}
	return NULL;
}

/* The hex digest of [off, off+len) of f. */
static int hash_range(struct vimg_file *f, uint64_t off, uint64_t len, const EVP_MD *md,
		      char *hex, struct vimg_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = malloc(HASH_CHUNK);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	int rc = 0;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, md, NULL))
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (uint64_t done = 0; !rc && done < len;) {
		size_t n = len - done < HASH_CHUNK ? (size_t)(len - done) : HASH_CHUNK;

		rc = file_pread_full(f, buf, n, off + done, err);
		if (!rc && !EVP_DigestUpdate(ctx, buf, n))
			rc = vimg_error_set(err, VIMG_ENOMEM, "digest failed");
		done += n;
	}
	if (!rc && !EVP_DigestFinal_ex(ctx, d, &dl))
		rc = vimg_error_set(err, VIMG_ENOMEM, "digest failed");
	for (unsigned i = 0; !rc && i < dl; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

static int hash_file(const char *path, const EVP_MD *md, char *hex, struct vimg_error *err)
{
	struct vimg_file *f;
	int64_t size;
	int rc = file_open(path, 0, &f, err);

	if (rc)
		return rc;
	size = file_size(f, err);
	rc = size < 0 ? (int)size : hash_range(f, 0, (uint64_t)size, md, hex, err);
	file_close(f);
	return rc;
}

size_t ova_manifest_line_len(const char *algo, const char *name)
{
	const char *label = "SHA256";
	const EVP_MD *md = digest_by_name(algo, &label);

	return strlen(label) + 1 + strlen(name) + 3 + 2 * (size_t)EVP_MD_size(md) + 1;
}

bool ova_algo_valid(const char *algo)
{
	return digest_by_name(algo, NULL) != NULL;
}

static void add_line(char *out, size_t *len, const char *label, const char *name,
		     const char *hex)
{
	*len += (size_t)sprintf(out + *len, "%s(%s)= %s\n", label, name, hex);
}

int ova_write_manifest(struct vimg_vm *vm, const char *ovf_path, const char *algo,
		       struct vimg_error *err)
{
	const char *label, *slash = strrchr(ovf_path, '/');
	const EVP_MD *md = digest_by_name(algo ? algo : "sha256", &label);
	struct ovf_file *files;
	size_t n, len = 0, cap;
	char hex[2 * EVP_MAX_MD_SIZE + 1], *text, *mf;
	int rc;

	if (!md)
		return vimg_error_set(err, VIMG_EINVAL, "ovf: unknown manifest digest \"%s\"", algo);
	if ((rc = ovf_files_of(vm, &files, &n, err)))
		return rc;
	cap = ova_manifest_line_len(algo ? algo : "sha256", slash ? slash + 1 : ovf_path);
	for (size_t i = 0; i < n; i++)
		cap += ova_manifest_line_len(algo ? algo : "sha256", files[i].href);
	text = malloc(cap + 1);
	mf = strdup(ovf_path);
	if (!text || !mf) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto out;
	}
	rc = hash_file(ovf_path, md, hex, err);
	if (!rc)
		add_line(text, &len, label, slash ? slash + 1 : ovf_path, hex);
	for (size_t i = 0; !rc && i < n; i++) {
		char *p;

		if (!(rc = vm_resolve(vm, files[i].href, &p, err)))
			rc = hash_file(p, md, hex, err);
		free(p);
		if (!rc)
			add_line(text, &len, label, files[i].href, hex);
	}
	if (!rc) {
		char *dot = strrchr(mf, '.');

		if (dot && !strchr(dot, '/') && strlen(dot) >= 3)
			strcpy(dot, ".mf");
		rc = file_replace(mf, text, len, err);
	}
out:
	free(files);
	free(text);
	free(mf);
	return rc;
}

/* ---- writing an OVA -------------------------------------------------------- */

int ova_pack_begin(struct ova_pack *p, const char *path, uint64_t reserve, const char *algo,
		   bool no_sync, struct vimg_error *err)
{
	*p = (struct ova_pack){ .algo = algo ? algo : "sha256", .next = reserve, .reserved = reserve };
	if (!digest_by_name(p->algo, NULL))
		return vimg_error_set(err, VIMG_EINVAL, "ova: unknown manifest digest \"%s\"", algo);
	p->mtime = time(NULL);
	return file_open(path, FILE_CREATE | (no_sync ? FILE_NOSYNC : 0), &p->f, err);
}

static int pack_record(struct ova_pack *p, const char *name, uint64_t size,
		       struct vimg_error *err)
{
	struct ova_member *m;
	uint8_t hdr[TAR_BLOCK];
	const EVP_MD *md = digest_by_name(p->algo, NULL);
	int rc = tar_header(hdr, name, size, p->mtime, err);

	if (rc)
		return rc;
	if (p->n >= TAR_MAX_MEMBERS)
		return vimg_error_set(err, VIMG_EINVAL, "ova: more than %d members",
				      TAR_MAX_MEMBERS);
	m = realloc(p->m, (p->n + 1) * sizeof(*m));
	if (!m)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	p->m = m;
	m = &p->m[p->n];
	*m = (struct ova_member){ .size = size };
	if (!(m->name = strdup(name)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	p->n++;
	/* Read back from the page cache: the writer of the member may have
	 * gone back over what it wrote (a stream's header). */
	rc = file_pwrite_full(p->f, hdr, TAR_BLOCK, p->next, err);
	if (!rc)
		rc = hash_range(p->f, p->next + TAR_BLOCK, size, md, m->hex, err);
	p->next += TAR_BLOCK + tar_round(size);
	return rc;
}

int ova_pack_member_done(struct ova_pack *p, const char *name, struct vimg_error *err)
{
	int64_t end = file_size(p->f, err);
	uint64_t data = ova_pack_data_offset(p);

	if (end < 0)
		return (int)end;
	if ((uint64_t)end < data)
		return vimg_error_set(err, VIMG_EIO, "ova: member \"%s\" was not written", name);
	return pack_record(p, name, (uint64_t)end - data, err);
}

int ova_pack_add_file(struct ova_pack *p, const char *name, const char *path,
		      struct vimg_error *err)
{
	char *buf;
	size_t len;
	int rc = file_read_all(path, 64u << 20, "ova", &buf, &len, err);

	if (!rc)
		rc = file_pwrite_full(p->f, buf, len, ova_pack_data_offset(p), err);
	free(buf);
	return rc ? rc : pack_record(p, name, len, err);
}

size_t ova_pack_size(const struct ova_pack *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->m[i].name, name))
			return p->m[i].size;
	return 0;
}

int ova_pack_finish(struct ova_pack *p, const char *ovf_name, const char *ovf, size_t ovf_len,
		    uint64_t ovf_room, struct vimg_error *err)
{
	const char *label;
	const EVP_MD *md = digest_by_name(p->algo, &label);
	static const uint8_t zero[2 * TAR_BLOCK];
	char hex[2 * EVP_MAX_MD_SIZE + 1], *mf, *mf_name, *padded;
	size_t mf_len = 0, cap = ova_manifest_line_len(p->algo, ovf_name);
	uint8_t hdr[TAR_BLOCK];
	uint64_t end = p->next;
	int rc;

	if (ovf_len > ovf_room)
		return vimg_error_set(err, VIMG_EINVAL, "ova: the descriptor outgrew its room");
	for (size_t i = 0; i < p->n; i++)
		cap += ova_manifest_line_len(p->algo, p->m[i].name);
	mf = malloc(cap + 1);
	padded = malloc(ovf_room + 1);
	mf_name = strdup(ovf_name);
	if (!mf || !padded || !mf_name) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto out;
	}
	/* The descriptor fills its room exactly: XML allows white space after
	 * the root element, as ovftool pads its own. */
	memcpy(padded, ovf, ovf_len);
	memset(padded + ovf_len, ' ', ovf_room - ovf_len);
	if (ovf_room > ovf_len)
		padded[ovf_room - 1] = '\n';
	{
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		unsigned char d[EVP_MAX_MD_SIZE];
		unsigned dl = 0;

		if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL) ||
		    !EVP_DigestUpdate(ctx, padded, ovf_room) || !EVP_DigestFinal_ex(ctx, d, &dl)) {
			EVP_MD_CTX_free(ctx);
			rc = vimg_error_set(err, VIMG_ENOMEM, "digest failed");
			goto out;
		}
		EVP_MD_CTX_free(ctx);
		for (unsigned i = 0; i < dl; i++)
			sprintf(hex + 2 * i, "%02x", d[i]);
	}
	add_line(mf, &mf_len, label, ovf_name, hex);
	for (size_t i = 0; i < p->n; i++)
		add_line(mf, &mf_len, label, p->m[i].name, p->m[i].hex);
	strcpy(strrchr(mf_name, '.') ? strrchr(mf_name, '.') : mf_name + strlen(mf_name), ".mf");
	if (TAR_BLOCK + tar_round(ovf_room) + TAR_BLOCK + tar_round(mf_len) != p->reserved) {
		rc = vimg_error_set(err, VIMG_EINVAL, "ova: the manifest does not fit its room");
		goto out;
	}
	rc = tar_header(hdr, ovf_name, ovf_room, p->mtime, err);
	if (!rc)
		rc = file_pwrite_full(p->f, hdr, TAR_BLOCK, 0, err);
	if (!rc)
		rc = file_pwrite_full(p->f, padded, ovf_room, TAR_BLOCK, err);
	if (!rc)
		rc = tar_header(hdr, mf_name, mf_len, p->mtime, err);
	if (!rc)
		rc = file_pwrite_full(p->f, hdr, TAR_BLOCK, TAR_BLOCK + tar_round(ovf_room), err);
	if (!rc)
		rc = file_pwrite_full(p->f, mf, mf_len, 2 * TAR_BLOCK + tar_round(ovf_room), err);
	/* Zero the padding of each member's last block, then the end blocks. */
	if (!rc)
		rc = file_truncate(p->f, end, err);
	if (!rc)
		rc = file_pwrite_full(p->f, zero, sizeof(zero), end, err);
	if (!rc)
		rc = file_fsync(p->f, err);
out:
	free(mf);
	free(padded);
	free(mf_name);
	return rc;
}

void ova_pack_end(struct ova_pack *p)
{
	file_close(p->f);
	for (size_t i = 0; i < p->n; i++)
		free(p->m[i].name);
	free(p->m);
	*p = (struct ova_pack){ 0 };
}

/* ---- verifying a manifest -------------------------------------------------- */

struct mf_line {
	const EVP_MD *md;
	const char *label;
	char *name, *hex;
};

/* "SHA256(name)= hex" as ovftool writes it, or "SHA256 (name) = hex" as
 * sha256sum --tag does. */
static bool parse_mf_line(char *line, struct mf_line *l)
{
	char *open = strchr(line, '('), *close = strrchr(line, ')'), *p, *e;

	if (!open || !close || close < open)
		return false;
	for (e = open; e > line && e[-1] == ' '; e--)
		;
	*e = 0;
	if (!(l->md = digest_by_name(line, &l->label)))
		return false;
	*close = 0;
	l->name = open + 1;
	for (p = close + 1; *p == ' '; p++)
		;
	if (*p++ != '=')
		return false;
	while (*p == ' ')
		p++;
	for (e = p; *e && *e != ' ' && *e != '\r'; e++)
		;
	*e = 0;
	l->hex = p;
	return strlen(p) == 2 * (size_t)EVP_MD_size(l->md) && *l->name;
}

static const struct tar_member *member_named(const struct vimg_vm *vm, const char *name)
{
	return tar_find(vm->members, vm->n_members, name);
}

static bool is_manifest(const char *name)
{
	size_t l = strlen(name);

	return l > 3 && !strcasecmp(name + l - 3, ".mf");
}

static bool is_certificate(const char *name)
{
	size_t l = strlen(name);

	return l > 5 && !strcasecmp(name + l - 5, ".cert");
}

static int read_manifest(struct vimg_vm *vm, const char *ovf_path, char **text, char **where,
			 struct vimg_error *err)
{
	size_t len;

	*text = *where = NULL;
	if (vm->archive) {
		const struct tar_member *mf = NULL;
		struct vimg_file *f;
		int rc;

		for (size_t i = 0; i < vm->n_members; i++) {
			if (!is_manifest(vm->members[i].name))
				continue;
			if (mf)
				return vimg_error_set(err, VIMG_ECORRUPT, "ova: %s has two manifests "
						      "(\"%s\", \"%s\")", vm->archive, mf->name,
						      vm->members[i].name);
			mf = &vm->members[i];
		}
		if (!mf)
			return 0;
		if (mf->size > MANIFEST_MAX)
			return vimg_error_set(err, VIMG_ECORRUPT, "ova: manifest \"%s\" is larger "
					      "than %u bytes", mf->name, MANIFEST_MAX);
		if (!(*text = malloc(mf->size + 1)) ||
		    asprintf(where, "%s/%s", vm->archive, mf->name) < 0) {
			free(*text);
			*text = *where = NULL;
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		}
		if (!(rc = file_open(vm->archive, 0, &f, err))) {
			rc = file_pread_full(f, *text, mf->size, mf->offset, err);
			file_close(f);
		}
		(*text)[mf->size] = 0;
		return rc;
	}
	if (!(*where = strdup(ovf_path)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (strrchr(*where, '.') && !strchr(strrchr(*where, '.'), '/'))
		strcpy(strrchr(*where, '.'), ".mf");
	if (access(*where, F_OK) < 0)
		return 0;
	return file_read_all(*where, MANIFEST_MAX, "ovf manifest", text, &len, err);
}

/* The hash of a package file: a member of the archive, or beside the .ovf. */
static int hash_package_file(struct vimg_vm *vm, const char *name, const EVP_MD *md, char *hex,
			     struct vimg_error *err)
{
	const struct tar_member *m;
	struct vimg_file *f;
	char *path;
	int rc;

	if (!vm->archive) {
		if ((rc = vm_resolve(vm, name, &path, err)))
			return rc;
		rc = hash_file(path, md, hex, err);
		free(path);
		return rc;
	}
	if (!(m = member_named(vm, name)))
		return vimg_error_set(err, VIMG_ENOENT, "no member \"%s\"", name);
	if ((rc = file_open(vm->archive, 0, &f, err)))
		return rc;
	rc = hash_range(f, m->offset, m->size, md, hex, err);
	file_close(f);
	return rc;
}

int ova_verify(struct vimg_vm *vm, const char *ovf_path, struct vimg_error *err)
{
	char *text, *where, *save = NULL, hex[2 * EVP_MAX_MD_SIZE + 1];
	const char *slash = strrchr(ovf_path, '/');
	char **listed = NULL;
	size_t n_listed = 0;
	int rc = read_manifest(vm, ovf_path, &text, &where, err);

	if (rc || !text) {
		free(where);
		return rc;
	}
	for (char *line = strtok_r(text, "\n", &save); !rc && line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct mf_line l;
		char **nl, shown[84];

		if (!*line || !strcmp(line, "\r"))
			continue;
		snprintf(shown, sizeof(shown), "%s", line);
		if (!parse_mf_line(line, &l)) {
			rc = vimg_error_set(err, VIMG_ECORRUPT, "manifest: \"%s\" is no SHA1, SHA256 "
					    "or SHA512 line", shown);
			break;
		}
		if (!(nl = realloc(listed, (n_listed + 1) * sizeof(*nl)))) {
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			break;
		}
		listed = nl;
		listed[n_listed++] = l.name;
		rc = hash_package_file(vm, l.name, l.md, hex, err);
		if (rc)
			vimg_error_prefix(err, "manifest: \"%s\"", l.name);
		else if (strcasecmp(hex, l.hex))
			rc = vimg_error_set(err, VIMG_ECORRUPT, "manifest: the %s of \"%s\" is %s, "
					    "not %s as listed", l.label, l.name, hex, l.hex);
	}
	/* Everything the package holds must be listed. */
	for (size_t i = 0; !rc && vm->archive && i < vm->n_members; i++) {
		const char *name = vm->members[i].name;
		bool found = false;

		for (size_t j = 0; j < n_listed && !found; j++)
			found = !strcmp(listed[j], name);
		if (!found && !is_manifest(name) && !is_certificate(name))
			rc = vimg_error_set(err, VIMG_ECORRUPT, "manifest: member \"%s\" is not "
					    "listed", name);
	}
	for (size_t i = 0; !rc && !vm->archive && i <= vm->n_disks; i++) {
		const char *name = i < vm->n_disks ? vm->disks[i].file : slash ? slash + 1 : ovf_path;
		bool found = false;

		if (!name || (i < vm->n_disks && vm->disks[i].kind != VIMG_DEV_DISK))
			continue;
		for (size_t j = 0; j < n_listed && !found; j++)
			found = !strcmp(listed[j], name);
		if (!found)
			rc = vimg_error_set(err, VIMG_ECORRUPT, "manifest: \"%s\" is not listed",
					    name);
	}
	if (rc)
		vimg_error_prefix(err, "%s", where);
	free(listed);
	free(text);
	free(where);
	return rc;
}
