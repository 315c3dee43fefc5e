// SPDX-License-Identifier: MIT
/* Structure-aware protobuf-c mutator: see pbmutate.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pbfield.h"
#include "pbmutate.h"

/* Every change is logged so it can be undone before the decoded message is
 * freed: protobuf-c must free exactly what it allocated. */
struct undo {
	void *addr;
	size_t n;
	uint8_t old[sizeof(ProtobufCBinaryData)];
};

#define MAX_UNDO 64
#define MAX_DEPTH 4

struct mctx {
	pbm_rand_fn rnd;
	void *ctx;
	struct undo log[MAX_UNDO];
	int nlog;
	void *allocs[8]; /* grown repeated-field arrays, freed after the undo */
	int nallocs;
};

static uint64_t R(struct mctx *m, uint64_t n)
{
	return n ? m->rnd(m->ctx) % n : 0;
}

static bool save(struct mctx *m, void *addr, size_t n)
{
	if (m->nlog == MAX_UNDO || n > sizeof(m->log[0].old))
		return false;
	m->log[m->nlog].addr = addr;
	m->log[m->nlog].n = n;
	memcpy(m->log[m->nlog].old, addr, n);
	m->nlog++;
	return true;
}

static void undo_all(struct mctx *m)
{
	while (m->nlog > 0) {
		struct undo *u = &m->log[--m->nlog];

		memcpy(u->addr, u->old, u->n);
	}
	while (m->nallocs > 0)
		free(m->allocs[--m->nallocs]);
}

/* Numbers at the edges image checks care about: page and address-space
 * limits, pid limits, XSAVE sizes, signedness and overflow boundaries. */
static const uint64_t edges[] = {
	0,
	1,
	2,
	7,
	8,
	9,
	15,
	16,
	19,
	31,
	32,
	63,
	64,
	65,
	0x1ff,
	0x200,
	0x201,
	0x208,
	0x240,
	0x777,
	0x1000,
	0xfff,
	0x1001,
	0x4000,
	0x4001,
	0x7fffffff,
	0x80000000,
	0xffffffff,
	0x100000000ULL,
	(1ULL << 20),
	(1ULL << 22),
	(1ULL << 22) + 1,
	0x7ffffffff000ULL,
	0x7ffffffff000ULL - 0x1000,
	0x7ffffffff000ULL + 0x1000,
	0x7ffffffffULL,
	0x800000000ULL,
	0x800000000000ULL,
	(1ULL << 52),
	(1ULL << 52) + 1,
	0x7fffffffffffffffULL,
	0x8000000000000000ULL,
	0xffffffffff600000ULL,
	0xfffffffffffff000ULL,
	UINT64_MAX,
	UINT64_MAX - 1,
};

static uint64_t new_number(struct mctx *m, uint64_t cur)
{
	switch (R(m, 6)) {
	case 0:
	case 1:
		return edges[R(m, sizeof(edges) / sizeof(edges[0]))];
	case 2: /* near the current value, by bytes or pages */
		return cur + (R(m, 2) ? 1 : -1) * (R(m, 2) ? R(m, 16) : 0x1000 * (1 + R(m, 16)));
	case 3:
		return cur ^ (1ULL << R(m, 64));
	case 4:
		return -cur;
	default:
		return m->rnd(m->ctx);
	}
}

static const char long_name[] =
	"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static const char *const strings[] = {
	"",
	"/",
	".",
	"..",
	"../x",
	"a/b",
	"relative",
	"/tmp/x",
	"/dev/null",
	"runtime",
	"crdump",
	"core-1.img",
	"pages-1.img",
	"123456789012345",
	"1234567890123456",
	"[heap]",
	"%s%s%n",
	long_name,
};

/* Zeroed backing for resized byte fields (XSAVE areas around their limits). */
static uint8_t bytes_pool[16384 + 64];

static void mutate_message(struct mctx *m, ProtobufCMessage *msg, int depth);

static void mutate_value(struct mctx *m, const ProtobufCFieldDescriptor *f, void *p, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM: {
		uint32_t v;

		if (!save(m, p, sizeof(v)))
			return;
		memcpy(&v, p, sizeof(v));
		if (f->type == PROTOBUF_C_TYPE_ENUM && R(m, 2))
			v = (uint32_t)R(m, 10) - 1; /* -1 .. 8 */
		else
			v = (uint32_t)new_number(m, v);
		memcpy(p, &v, sizeof(v));
		break;
	}
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		uint64_t v;

		if (!save(m, p, sizeof(v)))
			return;
		memcpy(&v, p, sizeof(v));
		v = new_number(m, v);
		memcpy(p, &v, sizeof(v));
		break;
	}
	case PROTOBUF_C_TYPE_BOOL:
		if (save(m, p, sizeof(protobuf_c_boolean)))
			*(protobuf_c_boolean *)p = !*(protobuf_c_boolean *)p;
		break;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = strings[R(m, sizeof(strings) / sizeof(strings[0]))];

		if (f->label == PROTOBUF_C_LABEL_OPTIONAL && R(m, 4) == 0)
			s = NULL; /* absent */
		if (save(m, p, sizeof(char *)))
			*(const char **)p = s;
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		static const size_t sizes[] = {0, 1, 463, 464, 511, 512, 513, 520, 575, 576, 577, 832,
					       2696, 4096, 16384, 16385};

		if (!save(m, b, sizeof(*b)))
			return;
		switch (R(m, 3)) {
		case 0: /* shorter */
			b->len = R(m, b->len + 1);
			break;
		case 1: { /* one byte changed, in place */
			if (b->len && b->data) {
				size_t k = R(m, b->len);

				if (save(m, b->data + k, 1))
					b->data[k] = (uint8_t)new_number(m, b->data[k]);
			}
			break;
		}
		default: { /* another size, the old contents first, zeros after */
			size_t n = sizes[R(m, sizeof(sizes) / sizeof(sizes[0]))];

			memset(bytes_pool, 0, sizeof(bytes_pool));
			if (b->data)
				memcpy(bytes_pool, b->data, b->len < n ? b->len : n);
			b->data = bytes_pool;
			b->len = n;
			break;
		}
		}
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		ProtobufCMessage *sub = *(ProtobufCMessage **)p;

		if (sub && depth < MAX_DEPTH)
			mutate_message(m, sub, depth + 1);
		break;
	}
	default: /* float, double: none in the image schema */
		break;
	}
}

static void mutate_message(struct mctx *m, ProtobufCMessage *msg, int depth)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const ProtobufCFieldDescriptor *f;
	char *base = (char *)msg;

	if (!d->n_fields)
		return;
	f = &d->fields[R(m, d->n_fields)];
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *np = (size_t *)(base + f->quantifier_offset);
		char *arr = *(char **)(base + f->offset);
		size_t n = *np, es = sc_pb_elem_size(f->type);

		if (n == 0 || !arr)
			return;
		switch (R(m, 6)) {
		case 4: { /* one more element, a copy of another, anywhere */
			size_t at = R(m, n + 1), from = R(m, n);
			char *grown;

			if (m->nallocs == 8 || !(grown = malloc((n + 1) * es)))
				return;
			if (!save(m, np, sizeof(*np)) ||
			    !save(m, base + f->offset, sizeof(char *))) {
				free(grown);
				return;
			}
			m->allocs[m->nallocs++] = grown;
			memcpy(grown, arr, at * es);
			memcpy(grown + at * es, arr + from * es, es);
			memcpy(grown + (at + 1) * es, arr + at * es, (n - at) * es);
			*(char **)(base + f->offset) = grown;
			*np = n + 1;
			break;
		}
		case 0: { /* swap two elements: order matters to the checks */
			size_t i = R(m, n), j = R(m, n);
			uint8_t tmp[sizeof(ProtobufCBinaryData)];

			if (i == j || !save(m, arr + i * es, es) || !save(m, arr + j * es, es))
				return;
			memcpy(tmp, arr + i * es, es);
			memcpy(arr + i * es, arr + j * es, es);
			memcpy(arr + j * es, tmp, es);
			break;
		}
		case 1: /* drop the tail */
			if (save(m, np, sizeof(*np)))
				*np = R(m, n);
			break;
		case 2: /* one element in place of another: a duplicate */
			if (n >= 2) {
				size_t i = R(m, n), j = R(m, n);

				if (i != j && save(m, arr + j * es, es))
					memcpy(arr + j * es, arr + i * es, es);
			}
			break;
		default:
			mutate_value(m, f, arr + R(m, n) * es, depth);
			break;
		}
		return;
	}
	/* Optional scalars and bytes have a has_ flag: present or absent. */
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
	    f->type != PROTOBUF_C_TYPE_MESSAGE && f->quantifier_offset && R(m, 3) == 0) {
		protobuf_c_boolean *has = (protobuf_c_boolean *)(base + f->quantifier_offset);

		if (save(m, has, sizeof(*has)))
			*has = !*has;
		return;
	}
	mutate_value(m, f, base + f->offset, depth);
}

size_t pbm_mutate(const ProtobufCMessageDescriptor *d, const uint8_t *in, size_t in_len,
		  uint8_t *out, size_t cap, pbm_rand_fn rnd, void *ctx)
{
	struct mctx m = {.rnd = rnd, .ctx = ctx};
	ProtobufCMessage *msg = protobuf_c_message_unpack(d, NULL, in_len, in);
	size_t len = 0;
	int rounds;

	if (!msg)
		return 0;
	rounds = 1 + (int)R(&m, 4);
	for (int i = 0; i < rounds; i++)
		mutate_message(&m, msg, 0);
	if (protobuf_c_message_get_packed_size(msg) <= cap)
		len = protobuf_c_message_pack(msg, out);
	undo_all(&m);
	protobuf_c_message_free_unpacked(msg, NULL);
	return len;
}
