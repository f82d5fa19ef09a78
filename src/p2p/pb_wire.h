/* pb_wire: the few pieces of the protobuf wire format (protobuf encoding guide, "Message
 * Structure") that hand-written libp2p message codecs need: a reader that walks the fields
 * of one message over a borrowed slice, and writers that append tags, varints and
 * length-delimited fields to an aa_buf. The reader checks every length against the input
 * and never allocates; nested messages are read by walking the field's bytes with a second
 * reader, so depth is whatever the caller's code spells out (no recursion here).
 * Header-only (static inline), pure, any thread. */
#ifndef AA_P2P_PB_WIRE_H
#define AA_P2P_PB_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

enum pb_wire_type {
	PB_WIRE_VARINT = 0,
	PB_WIRE_FIXED64 = 1,
	PB_WIRE_LEN = 2,
	PB_WIRE_FIXED32 = 5,
};

/* Protobuf varints are at most 10 bytes (64 bits). */
#define PB_VARINT_MAX_BYTES 10
/* Field numbers are 29 bits (protobuf language guide, "Assigning Field Numbers"). */
#define PB_FIELD_NUMBER_MAX ((UINT32_C(1) << 29) - 1)

struct pb_field {
	uint32_t number;
	enum pb_wire_type wire;
	uint64_t varint;      /* the value for PB_WIRE_VARINT */
	struct aa_slice data; /* the bytes for PB_WIRE_LEN, FIXED32 and FIXED64 (borrowed) */
};

/* Decodes one protobuf varint: up to 10 bytes, the tenth holding only bit 63. Unlike the
 * multiformats varint (base/varint.h) protobuf accepts non-minimal encodings, so we do
 * too. Returns the byte count, AA_ETRUNC if the input ends first, AA_EPROTO if too long. */
static inline int pb_varint_decode(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < PB_VARINT_MAX_BYTES; i++) {
		if (i == n)
			return AA_ETRUNC;
		uint8_t b = p[i];
		if (i == PB_VARINT_MAX_BYTES - 1 && b > 1)
			return AA_EPROTO;
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return (int)i + 1;
		}
	}
	return AA_EPROTO;
}

/* Reads the next field of the message in *in and advances *in past it. Returns 1 with *f
 * filled, 0 at the end of the message, AA_EPROTO if the bytes are not a well-formed
 * message (bad tag, field number 0, groups, or a length past the end). */
static inline int pb_next_field(struct aa_slice *in, struct pb_field *f)
{
	if (in->n == 0)
		return 0;
	uint64_t tag;
	int k = pb_varint_decode(in->p, in->n, &tag);
	if (k < 0)
		return AA_EPROTO;
	size_t off = (size_t)k;
	uint64_t number = tag >> 3;
	if (number == 0 || number > PB_FIELD_NUMBER_MAX)
		return AA_EPROTO;
	f->number = (uint32_t)number;
	f->wire = (enum pb_wire_type)(tag & 7);
	f->varint = 0;
	f->data = aa_slice_make(NULL, 0);
	size_t len;
	switch (tag & 7) {
	case PB_WIRE_VARINT:
		k = pb_varint_decode(in->p + off, in->n - off, &f->varint);
		if (k < 0)
			return AA_EPROTO;
		off += (size_t)k;
		break;
	case PB_WIRE_LEN: {
		uint64_t l;
		k = pb_varint_decode(in->p + off, in->n - off, &l);
		if (k < 0)
			return AA_EPROTO;
		off += (size_t)k;
		if (l > in->n - off)
			return AA_EPROTO;
		len = (size_t)l;
		f->data = aa_slice_make(in->p + off, len);
		off += len;
		break;
	}
	case PB_WIRE_FIXED64:
	case PB_WIRE_FIXED32:
		len = (tag & 7) == PB_WIRE_FIXED64 ? 8 : 4;
		if (len > in->n - off)
			return AA_EPROTO;
		f->data = aa_slice_make(in->p + off, len);
		off += len;
		break;
	default: /* 3 and 4 are the deprecated groups; 6 and 7 do not exist. */
		return AA_EPROTO;
	}
	in->p += off;
	in->n -= off;
	return 1;
}

/* Bytes pb_put_varint() writes for v. */
static inline size_t pb_varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline void pb_put_varint(struct aa_buf *b, uint64_t v)
{
	uint8_t tmp[PB_VARINT_MAX_BYTES];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	aa_buf_append(b, tmp, n);
}

static inline void pb_put_tag(struct aa_buf *b, uint32_t number, enum pb_wire_type wire)
{
	pb_put_varint(b, ((uint64_t)number << 3) | (uint64_t)wire);
}

/* A length-delimited field (bytes, string or an already encoded sub-message). */
static inline void pb_put_bytes(struct aa_buf *b, uint32_t number, const void *p, size_t n)
{
	pb_put_tag(b, number, PB_WIRE_LEN);
	pb_put_varint(b, n);
	if (n)
		aa_buf_append(b, p, n);
}

static inline void pb_put_uint64(struct aa_buf *b, uint32_t number, uint64_t v)
{
	pb_put_tag(b, number, PB_WIRE_VARINT);
	pb_put_varint(b, v);
}

/* Bytes pb_put_bytes() writes for a field with a small number (< 16) and n data bytes. */
static inline size_t pb_bytes_field_size(size_t n)
{
	return 1 + pb_varint_size(n) + n;
}

#endif
