// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cpu.h"
#include "crinfo.h"
#include "json.h"
#include "pbfield.h"

void json_init(struct json *j, FILE *f, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
	j->first[0] = true;
}

static void newline(struct json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void raw_string(FILE *f, const char *s, size_t len);

/* Separator, indentation and key before a value. */
static void item(struct json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (j->depth)
		newline(j);
	if (key) {
		raw_string(j->f, key, strlen(key));
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void open_level(struct json *j, const char *key, char c)
{
	item(j, key);
	fputc(c, j->f);
	/* Past the last level the separators are still right, only the
	 * indentation stops: the schema nests a few levels, never this many. */
	if (j->depth < JSON_MAX_DEPTH - 1) {
		j->depth++;
		j->first[j->depth] = true;
	} else {
		j->overflow++;
	}
}

static void close_level(struct json *j, char c)
{
	bool empty = j->first[j->depth];

	if (j->overflow)
		j->overflow--;
	else if (j->depth > 0)
		j->depth--;
	if (!empty)
		newline(j);
	fputc(c, j->f);
	if (!j->depth && j->pretty)
		fputc('\n', j->f);
}

void json_begin_object(struct json *j, const char *key)
{
	open_level(j, key, '{');
}

void json_end_object(struct json *j)
{
	close_level(j, '}');
}

void json_begin_array(struct json *j, const char *key)
{
	open_level(j, key, '[');
}

void json_end_array(struct json *j)
{
	close_level(j, ']');
}

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), 0 if
 * there is none: no overlong forms, surrogates or values past U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static void raw_string(FILE *f, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	fputc('"', f);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(u + i, len - i);

		if (n == 0) {
			fputs("\\ufffd", f);
			i++;
		} else if (n > 1) {
			fwrite(u + i, 1, n, f);
			i += n;
		} else {
			unsigned char c = u[i++];

			if (c == '"' || c == '\\')
				fprintf(f, "\\%c", c);
			else if (c == '\n')
				fputs("\\n", f);
			else if (c == '\t')
				fputs("\\t", f);
			else if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

void json_string(struct json *j, const char *key, const char *s, size_t len)
{
	item(j, key);
	raw_string(j->f, s, len);
}

void json_cstr(struct json *j, const char *key, const char *s)
{
	json_string(j, key, s, strlen(s));
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	item(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
	item(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void json_bool(struct json *j, const char *key, bool v)
{
	item(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_hex(struct json *j, const char *key, uint64_t v)
{
	item(j, key);
	fprintf(j->f, "\"0x%016" PRIx64 "\"", v);
}

static void value(struct json *j, const char *key, const ProtobufCFieldDescriptor *fd,
		  const void *p)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		json_i64(j, key, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		json_u64(j, key, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		json_i64(j, key, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		json_u64(j, key, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		item(j, key);
		fprintf(j->f, "%.9g", (double)*(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		item(j, key);
		fprintf(j->f, "%.17g", *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		json_bool(j, key, *(const protobuf_c_boolean *)p);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(fd->descriptor, v);

		if (ev)
			json_cstr(j, key, ev->name);
		else
			json_i64(j, key, v);
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		json_cstr(j, key, s ? s : "");
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		json_begin_object(j, key);
		json_u64(j, "len", b->len);
		json_hex(j, "xxh3", XXH3_64bits(b->data, b->len));
		json_end_object(j);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		json_message(j, key, *(ProtobufCMessage *const *)p);
		break;
	}
}

static bool present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	const char *base = (const char *)m;

	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + fd->quantifier_offset) == fd->id;
	if (fd->type == PROTOBUF_C_TYPE_STRING || fd->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)(base + fd->offset) != NULL;
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL)
		return *(const protobuf_c_boolean *)(base + fd->quantifier_offset);
	return true;
}

void json_message(struct json *j, const char *key, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d;

	if (!m) {
		item(j, key);
		fputs("null", j->f);
		return;
	}
	d = m->descriptor;
	json_begin_object(j, key);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const char *base = (const char *)m;

		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			const char *arr = *(char *const *)(base + fd->offset);

			json_begin_array(j, fd->name);
			for (size_t k = 0; k < n && arr; k++)
				value(j, NULL, fd, arr + k * sc_pb_elem_size(fd->type));
			json_end_array(j);
		} else if (present(m, fd)) {
			value(j, fd->name, fd, base + fd->offset);
		}
	}
	if (m->n_unknown_fields)
		json_u64(j, "unknown_fields", m->n_unknown_fields);
	json_end_object(j);
}

/* ---- the whole image ----------------------------------------------------- */

/* How pages files store their data (cr_pages_stored): "data_bytes" of
 * it in "stored_bytes", and "codec" ("raw", "zstd", or "mixed" when the
 * files differ) with the zstd "level" when there is one. In an object
 * of its own under key, or in the one open when key is NULL. */
static void pages_stored_json(struct json *j, const char *key, const struct cr_pages_stored *s)
{
	if (key)
		json_begin_object(j, key);
	json_cstr(j, "codec",
		  !s->compressed	      ? "raw"
		  : s->compressed == s->files ? "zstd"
					      : "mixed");
	if (s->compressed && !s->levels_differ)
		json_u64(j, "level", s->level);
	json_u64(j, "data_bytes", s->data);
	json_u64(j, "stored_bytes", s->size);
	if (key)
		json_end_object(j);
}

/* Each run of pages a restore reads: where it was, which generation of
 * the chain stores it (0: this image) and where in that one's pages file,
 * and the XXH3 of its bytes (read in chunks: runs can be gigabytes). */
static int pages_json(struct json *j, const struct sc_image *img, const struct sc_proc_img *p,
		      char *err)
{
	const size_t chunk = 8 << 20;
	char *buf = malloc(chunk);
	struct cr_pages_stored stored = { 0 };
	struct sc_pages pg;
	int ret = 0;

	cr_pages_stored_add(&stored, p);
	if (!buf)
		return sc_err(err, "out of memory");
	if (sc_pages_open(&pg, img, p, err)) {
		free(buf);
		return -1;
	}
	for (uint32_t g = 0; g < pg.n; g++)
		if (pg.fds[g] >= 0)
			posix_fadvise(pg.fds[g], 0, 0, POSIX_FADV_SEQUENTIAL);
	json_begin_object(j, "pages");
	json_cstr(j, "file", p->pages_name);
	json_u64(j, "size", p->pages_size);
	pages_stored_json(j, NULL, &stored);
	json_begin_array(j, "runs");
	for (size_t i = 0; i < p->nruns && !ret; i++) {
		const struct sc_run *r = &p->runs[i];
		uint64_t len = r->nr_pages * SC_PAGE_SIZE, done = 0;
		XXH3_state_t st;

		XXH3_64bits_reset(&st);
		while (done < len) {
			size_t n = len - done < chunk ? (size_t)(len - done) : chunk;

			if (sc_pages_get(&pg, NULL, r, r->vaddr + done, buf, n, err)) {
				ret = -1;
				break;
			}
			XXH3_64bits_update(&st, buf, n);
			done += n;
		}
		json_begin_object(j, NULL);
		json_u64(j, "vaddr", r->vaddr);
		json_u64(j, "nr_pages", r->nr_pages);
		json_u64(j, "generation", r->gen);
		json_u64(j, "offset", r->off);
		json_hex(j, "xxh3", XXH3_64bits_digest(&st));
		json_end_object(j);
	}
	json_end_array(j);
	json_end_object(j);
	free(buf);
	sc_pages_close(&pg);
	return ret;
}

/* The chain, newest first: each generation's directory, parent and
 * checksum link, the bytes it stores and those a restore reads from it. */
static int chain_json(struct json *j, const struct sc_image *img, char *err)
{
	struct cr_gen_bytes *gens = cr_chain_bytes(img);
	uint32_t g = 0;

	if (!gens)
		return sc_err(err, "out of memory");
	json_begin_array(j, "chain");
	for (const struct sc_image *gi = img; gi; gi = gi->parent, g++) {
		json_begin_object(j, NULL);
		json_cstr(j, "image", gi->dir);
		json_bool(j, "incremental", gi->inv->parent != NULL);
		if (gi->inv->parent) {
			json_cstr(j, "parent", gi->inv->parent);
			json_hex(j, "parent_inventory_xxh3", gi->inv->parent_inventory_xxh3);
		}
		json_hex(j, "inventory_xxh3", gi->inv_xxh3);
		json_u64(j, "stored_bytes", gens[g].stored);
		json_u64(j, "restored_bytes", gens[g].restored);
		json_end_object(j);
	}
	json_end_array(j);
	free(gens);
	return 0;
}

/* "tiers": the generation, and per tier known its directory and what it
 * holds of it. */
static void tiers_json(struct json *j, const struct cr_tiers *t)
{
	json_begin_object(j, "tiers");
	json_u64(j, "generation", t->gen);
	for (unsigned i = 0; i < CR_TIERS; i++) {
		if (!t->dir[i][0])
			continue;
		json_begin_object(j, cr_tier_names[i]);
		json_cstr(j, "dir", t->dir[i]);
		json_bool(j, "complete", t->complete[i]);
		json_cstr(j, "state", cr_tier_state(t, i));
		json_end_object(j);
	}
	json_end_object(j);
}

int crinfo_json(const struct sc_image *img, const struct cr_tiers *tiers, FILE *out, char *err)
{
	struct cr_pages_stored stored = { 0 };
	struct json j;

	json_init(&j, out, true);
	json_begin_object(&j, NULL);
	json_cstr(&j, "image", img->dir);
	if (tiers && tiers->gen)
		tiers_json(&j, tiers);
	json_message(&j, "inventory", &img->inv->base);
	if (chain_json(&j, img, err))
		return -1;
	if (img->inv->cpu) {
		char names[SC_CPU_ERR_LEN];
		struct sc_cpu c;

		/* The features the restore checks, by name, besides the raw
		 * words in inventory.cpu. */
		sc_cpu_from_msg(img->inv->cpu, &c);
		sc_cpu_feature_names(&c, names, sizeof(names));
		json_begin_array(&j, "cpu_features");
		for (char *save, *w = strtok_r(names, " ", &save); w;
		     w = strtok_r(NULL, " ", &save))
			json_cstr(&j, NULL, w);
		json_end_array(&j);
	}
	for (size_t i = 0; i < img->nprocs; i++)
		cr_pages_stored_add(&stored, &img->procs[i]);
	pages_stored_json(&j, "pages", &stored);
	json_begin_array(&j, "processes");
	for (size_t i = 0; i < img->nprocs; i++) {
		const struct sc_proc_img *p = &img->procs[i];

		json_begin_object(&j, NULL);
		json_i64(&j, "pid", p->pid);
		json_message(&j, "core", &p->core->base);
		json_message(&j, "sigacts", &p->acts->base);
		json_message(&j, "mm", &p->mm->base);
		json_message(&j, "pagemap", &p->pm->base);
		json_message(&j, "fds", &p->fds->base);
		if (pages_json(&j, img, p, err))
			return -1;
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	return ferror(out) ? -1 : 0;
}
