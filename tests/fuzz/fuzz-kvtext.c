/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the key = "value" engine, in both of its dialects
 * (.vmx: |XX escapes and .encoding; VMDK descriptor: other lines and
 * "encoding"). A document that parses must render back to its input byte
 * for byte, and again after a new key is set and unset; setting an existing
 * key to a value with a quote, a bar and a line feed must render and parse
 * back to that value. Any difference aborts. Run with scripts/fuzz.sh.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kvtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct kv_limits lim = { 1u << 20, 1u << 16 };

static void same_or_abort(const struct kvtext *kv, const uint8_t *data, size_t size)
{
	char *out;
	size_t len;

	if (kv_render(kv, &out, &len, NULL))
		return;
	if (len != size || memcmp(out, data, size))
		abort();
	free(out);
}

static void one(const uint8_t *data, size_t size, unsigned flags, const char *enc_key)
{
	struct kvtext kv = { 0 }, again = { 0 };
	char *out;
	size_t len;

	if (kv_parse(&kv, (const char *)data, size, flags, "fuzz", enc_key, &lim, NULL))
		goto out;
	same_or_abort(&kv, data, size);
	/* Only a key the input lacks comes out again with the bytes. */
	if (!kv_get(&kv, "fuzz.new.key") && kv_set(&kv, "fuzz.new.key", "v", NULL) == 0) {
		kv_unset(&kv, "fuzz.new.key");
		same_or_abort(&kv, data, size);
	}
	for (size_t i = 0; i < kv_lines(&kv); i++) {
		char key[256];

		if (kv_line_kind(&kv, i) != KV_LINE_PAIR || strlen(kv_line_key(&kv, i)) >= sizeof(key))
			continue;
		strcpy(key, kv_line_key(&kv, i));
		if (kv_set(&kv, key, (flags & KV_ESCAPES) ? "a\"b|c\nd" : "abc", NULL))
			break;
		if (kv_render(&kv, &out, &len, NULL) == 0) {
			if (kv_parse(&again, out, len, flags, "fuzz", enc_key, &lim, NULL) == 0 &&
			    (!kv_get(&again, key) ||
			     strcmp(kv_get(&again, key), (flags & KV_ESCAPES) ? "a\"b|c\nd" : "abc")))
				abort();
			free(out);
		}
		break;
	}
out:
	kv_free(&again);
	kv_free(&kv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, KV_ESCAPES, ".encoding");
	one(data, size, KV_OTHER_LINES, "encoding");
	return 0;
}
