/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer, and protobuf-c messages as JSON through
 * their descriptors: every field of every message, so a field added to a
 * .proto shows up in `crinfo show --json` without a line of code here.
 */
#ifndef SELFCKPT_JSON_H
#define SELFCKPT_JSON_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 64

struct json {
	FILE *f;
	bool pretty; /* newlines and two-space indentation */
	int depth;
	bool first[JSON_MAX_DEPTH]; /* nothing written yet at that level */
	int overflow; /* levels opened past JSON_MAX_DEPTH */
};

void json_init(struct json *j, FILE *f, bool pretty);
/* key is NULL inside arrays and at the top. */
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
/* A JSON string of len bytes: UTF-8 passes through, control characters
 * are escaped, bytes that are not UTF-8 become U+FFFD. */
void json_string(struct json *j, const char *key, const char *s, size_t len);
void json_cstr(struct json *j, const char *key, const char *s);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, bool v);
/* "0x" and 16 hex digits: checksums, which are not quantities. */
void json_hex(struct json *j, const char *key, uint64_t v);

/* m as an object: field name -> value. Absent optional fields are left
 * out, enums are their names (numbers when unknown), bytes fields are
 * {"len": N, "xxh3": "0x..."}, unknown fields are counted. */
void json_message(struct json *j, const char *key, const ProtobufCMessage *m);

#endif
