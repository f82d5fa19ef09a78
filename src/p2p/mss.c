/* mss: multistream-select 1.0 negotiation, initiator and responder, as a sans-I/O state
 * machine. Input is parsed one length-prefixed line at a time into a small fixed buffer;
 * replies go into a fixed buffer the caller drains. See mss.h for the calling contract. */
#include "p2p/mss.h"

#include <assert.h>
#include <string.h>

#include "base/err.h"
#include "base/varint.h"

enum mss_role {
	MSS_ROLE_INITIATOR = 1,
	MSS_ROLE_RESPONDER = 2,
};

enum mss_state {
	MSS_ST_HEADER,    /* waiting for the peer's /multistream/1.0.0 line */
	MSS_ST_NEGOTIATE, /* initiator: waiting for an answer; responder: for a proposal */
	MSS_ST_DONE,
	MSS_ST_FAILED,
};

enum mss_reader {
	MSS_RD_LEN,  /* gathering the varint length prefix */
	MSS_RD_BODY, /* copying a line into in[] */
	MSS_RD_SKIP, /* checking and discarding a line too long to be one of ours */
};

/* Wire bytes of one message carrying a protocol ID of the longest allowed length. */
#define MSS_REPLY_MAX (2 + MSS_MAX_PROTO_LEN + 1)
#define MSS_HEADER_LEN (sizeof MSS_PROTOCOL_ID - 1)

/* A length prefix of up to 2 bytes covers every legal message; a longer one is either too
 * large or non-minimal, so it is refused before it is complete. */
static_assert(MSS_MAX_MESSAGE < (1 << 14), "length prefix must fit in 2 varint bytes");
static_assert(MSS_MAX_PROTO_LEN + 1 <= MSS_MAX_MESSAGE, "a protocol line must be a message");
static_assert(MSS_OUT_CAP >= 1 + MSS_HEADER_LEN + 1 + MSS_REPLY_MAX,
	      "reply buffer must hold the header and one maximal reply");
static_assert(MSS_MAX_REJECTS <= UINT8_MAX, "rejects counter is a uint8_t");
static_assert(sizeof(struct mss) < 1536, "per-stream negotiation state must stay small");

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		size_t more;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			more = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (n - i - 1 < more)
			return false;
		for (size_t k = 1; k <= more; k++) {
			uint8_t d = p[i + k];
			if ((d & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (d & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += more + 1;
	}
	return true;
}

/* Control characters (including a second '\n') have no place in a protocol ID line. */
static bool is_control(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

static bool text_valid(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_control(p[i]))
			return false;
	return utf8_valid(p, n);
}

static bool text_is(const char *text, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(text, lit, len) == 0;
}

/* A protocol ID we were given to propose or list: sane length, printable, and not one of the
 * two words multistream-select reserves for itself. */
static bool proto_id_valid(const char *s)
{
	if (s == NULL)
		return false;
	size_t len = strnlen(s, MSS_MAX_PROTO_LEN + 1);
	if (len == 0 || len > MSS_MAX_PROTO_LEN)
		return false;
	if (text_is(s, len, "na") || text_is(s, len, "ls"))
		return false;
	return text_valid((const uint8_t *)s, len);
}

static size_t out_room(const struct mss *m)
{
	return MSS_OUT_CAP - m->out_n;
}

/* Queues one message: varint(len + 1), text, '\n'. Callers reserved the room beforehand
 * (see reply_need()), so running out here is a bug, reported rather than overflowed. */
static int out_message(struct mss *m, const char *text, size_t len)
{
	uint8_t prefix[AA_VARINT_MAX_BYTES];
	int plen = varint_encode(len + 1, prefix);
	if (plen < 0 || out_room(m) < (size_t)plen + len + 1)
		return AA_ENOMEM;
	memcpy(m->out + m->out_n, prefix, (size_t)plen);
	memcpy(m->out + m->out_n + plen, text, len);
	m->out[m->out_n + plen + len] = '\n';
	m->out_n = (uint16_t)(m->out_n + plen + len + 1);
	return 0;
}

/* Byte `pos` of `ls` entry `proto`: varint(len + 1), the ID, '\n' (multistream-select
 * README, "ls example in detail"; go-multistream before v0.3 and js-libp2p agree). */
static uint8_t ls_entry_byte(const char *proto, size_t pos, size_t *entry_len)
{
	size_t len = strlen(proto);
	uint8_t prefix[AA_VARINT_MAX_BYTES];
	size_t plen = (size_t)varint_encode(len + 1, prefix);
	*entry_len = plen + len + 1;
	if (pos < plen)
		return prefix[pos];
	if (pos < plen + len)
		return (uint8_t)proto[pos - plen];
	return '\n';
}

/* Moves as much of the pending `ls` reply into out[] as fits. */
static void ls_pump(struct mss *m)
{
	while (m->ls_active && m->out_n < MSS_OUT_CAP) {
		if (m->next == m->ls_count) {
			m->out[m->out_n++] = '\n'; /* the list's own terminating newline */
			m->ls_active = false;
			break;
		}
		size_t entry_len;
		m->out[m->out_n++] = ls_entry_byte(m->protos[m->next], m->ls_pos, &entry_len);
		if (++m->ls_pos == entry_len) {
			m->ls_pos = 0;
			m->next++;
		}
	}
}

/* The `ls` reply is one message whose body is the supported IDs, each itself a
 * length-prefixed line, followed by '\n'. Entries that would push it past MSS_MAX_MESSAGE are
 * left out: peers refuse larger messages anyway. */
static void ls_start(struct mss *m)
{
	size_t body = 1;
	size_t count = 0;
	for (size_t i = 0; i < m->nprotos; i++) {
		size_t len = strlen(m->protos[i]);
		size_t entry = varint_size(len + 1) + len + 1;
		if (body + entry > MSS_MAX_MESSAGE)
			break;
		body += entry;
		count++;
	}
	int plen = varint_encode(body, m->out + m->out_n); /* room: see reply_need() */
	m->out_n = (uint16_t)(m->out_n + plen);
	m->ls_count = count;
	m->next = 0;
	m->ls_pos = 0;
	m->ls_active = true;
	ls_pump(m);
}

/* Output room the next incoming message may need for its reply. Input is not consumed past a
 * message boundary unless that much is free, which bounds the reply buffer. */
static size_t reply_need(const struct mss *m)
{
	if (m->role == MSS_ROLE_RESPONDER)
		return m->state == MSS_ST_HEADER ? 1 + MSS_HEADER_LEN + 1 : MSS_REPLY_MAX;
	/* An eager initiator answers "na" with its next proposal. */
	return m->state == MSS_ST_NEGOTIATE && !m->lazy ? MSS_REPLY_MAX : 0;
}

static int responder_reject(struct mss *m)
{
	if (m->rejects >= MSS_MAX_REJECTS)
		return AA_EPROTO;
	m->rejects++;
	return out_message(m, "na", 2);
}

static int responder_line(struct mss *m, const char *text, size_t len)
{
	if (m->state == MSS_ST_HEADER) {
		/* connections spec: anything but the multistream ID as first message aborts. */
		if (!text_is(text, len, MSS_PROTOCOL_ID))
			return AA_EPROTO;
		m->state = MSS_ST_NEGOTIATE;
		return out_message(m, MSS_PROTOCOL_ID, MSS_HEADER_LEN);
	}
	if (text_is(text, len, "ls") && m->protos != NULL) {
		if (m->rejects >= MSS_MAX_REJECTS)
			return AA_EPROTO;
		m->rejects++;
		ls_start(m);
		return 0;
	}
	if (text_is(text, len, "ls") || text_is(text, len, "na") ||
	    !m->supported(m->user, text, len))
		return responder_reject(m);
	/* Echoing the proposal accepts it; what follows on the wire is the protocol's. */
	int r = out_message(m, text, len);
	if (r < 0)
		return r;
	m->selected = text;
	m->state = MSS_ST_DONE;
	return 0;
}

static int initiator_line(struct mss *m, const char *text, size_t len)
{
	if (m->state == MSS_ST_HEADER) {
		if (!text_is(text, len, MSS_PROTOCOL_ID))
			return AA_EPROTO;
		m->state = MSS_ST_NEGOTIATE;
		return 0;
	}
	const char *want = m->protos[m->next];
	if (text_is(text, len, want)) {
		m->selected = want;
		m->state = MSS_ST_DONE;
		return 0;
	}
	if (!text_is(text, len, "na"))
		return AA_EPROTO;
	/* A lazy proposal may already be followed by application data, so it cannot be
	 * retracted: the stream fails (go-multistream lazy client does the same). */
	if (m->lazy || m->next + 1 >= m->nprotos)
		return AA_ENOTSUP;
	m->next++;
	return out_message(m, m->protos[m->next], strlen(m->protos[m->next]));
}

/* A complete line sits in in[0..msg_len). */
static int line_complete(struct mss *m)
{
	size_t len = m->msg_len - 1u;
	if (m->in[len] != '\n' || !text_valid(m->in, len))
		return AA_EPROTO;
	m->in[len] = '\0';
	const char *text = (const char *)m->in;
	if (m->role == MSS_ROLE_RESPONDER)
		return responder_line(m, text, len);
	return initiator_line(m, text, len);
}

/* The length prefix has been decoded: decide how to read the line. */
static int line_begin(struct mss *m, uint64_t len)
{
	/* A message holds at least one character and the newline: an empty message lacks the
	 * newline, a lone newline is an empty line. Neither is a valid message. */
	if (len < 2 || len > MSS_MAX_MESSAGE)
		return AA_EPROTO;
	if (m->state == MSS_ST_HEADER && len != MSS_HEADER_LEN + 1)
		return AA_EPROTO;
	m->msg_len = (uint16_t)len;
	m->msg_got = 0;
	if (len - 1 <= MSS_MAX_PROTO_LEN) {
		m->reader = MSS_RD_BODY;
		return 0;
	}
	/* Longer than any ID we use: to an initiator it can be neither "na" nor our echo; a
	 * responder answers it "na" without buffering it. */
	if (m->role == MSS_ROLE_INITIATOR)
		return AA_EPROTO;
	m->reader = MSS_RD_SKIP;
	return 0;
}

static int read_len_byte(struct mss *m, uint8_t b)
{
	m->len_buf[m->len_n++] = b;
	if (b & 0x80) {
		if (m->len_n >= varint_size(MSS_MAX_MESSAGE))
			return AA_EPROTO;
		return 0;
	}
	uint64_t len;
	int r = varint_decode(m->len_buf, m->len_n, &len);
	m->len_n = 0;
	if (r < 0)
		return AA_EPROTO;
	return line_begin(m, len);
}

/* Copies body bytes; returns how many were taken or a negative error. */
static int read_body(struct mss *m, const uint8_t *p, size_t n)
{
	size_t take = m->msg_len - m->msg_got;
	if (take > n)
		take = n;
	memcpy(m->in + m->msg_got, p, take);
	m->msg_got = (uint16_t)(m->msg_got + take);
	if (m->msg_got == m->msg_len) {
		m->reader = MSS_RD_LEN;
		int r = line_complete(m);
		if (r < 0)
			return r;
	}
	return (int)take;
}

/* Checks and drops the bytes of an overlong proposal, then refuses it. */
static int read_skip(struct mss *m, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && m->msg_got < m->msg_len) {
		uint8_t c = p[i++];
		bool last = ++m->msg_got == m->msg_len;
		if (last ? c != '\n' : is_control(c))
			return AA_EPROTO;
	}
	if (m->msg_got == m->msg_len) {
		m->reader = MSS_RD_LEN;
		int r = responder_reject(m);
		if (r < 0)
			return r;
	}
	return (int)i;
}

static void clear(struct mss *m, uint8_t role)
{
	memset(m, 0, sizeof *m);
	m->role = role;
	m->state = MSS_ST_HEADER;
	m->reader = MSS_RD_LEN;
}

int mss_initiator_init(struct mss *m, const char *const *protos, size_t n, bool lazy)
{
	clear(m, MSS_ROLE_INITIATOR);
	m->state = MSS_ST_FAILED;
	m->err = AA_EINVAL;
	if (protos == NULL || n == 0 || (lazy && n != 1))
		return AA_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!proto_id_valid(protos[i]))
			return AA_EINVAL;
	m->state = MSS_ST_HEADER;
	m->err = 0;
	m->protos = protos;
	m->nprotos = n;
	m->lazy = lazy;
	/* multistream-select README, "Protocol Selection": header and first proposal go out in
	 * the same packet. */
	out_message(m, MSS_PROTOCOL_ID, MSS_HEADER_LEN);
	out_message(m, protos[0], strlen(protos[0]));
	return 0;
}

int mss_responder_init(struct mss *m, mss_supported_fn supported, const char *const *list,
		       size_t list_n, void *user)
{
	clear(m, MSS_ROLE_RESPONDER);
	m->state = MSS_ST_FAILED;
	m->err = AA_EINVAL;
	if (supported == NULL || (list == NULL && list_n != 0))
		return AA_EINVAL;
	for (size_t i = 0; i < list_n; i++)
		if (!proto_id_valid(list[i]))
			return AA_EINVAL;
	m->state = MSS_ST_HEADER;
	m->err = 0;
	m->supported = supported;
	m->protos = list;
	m->nprotos = list_n;
	m->user = user;
	return 0;
}

static int fail(struct mss *m, int err)
{
	m->state = MSS_ST_FAILED;
	m->err = err;
	m->out_n = 0;
	m->ls_active = false;
	return err;
}

int mss_receive(struct mss *m, const uint8_t *p, size_t n, size_t *consumed)
{
	*consumed = 0;
	if (m->state == MSS_ST_FAILED)
		return m->err;
	if (m->state == MSS_ST_DONE)
		return MSS_DONE;
	size_t i = 0;
	while (i < n) {
		/* Take no new message until its reply is sure to fit (see reply_need()). */
		if (m->reader == MSS_RD_LEN && m->len_n == 0 &&
		    (m->ls_active || out_room(m) < reply_need(m)))
			break;
		int r;
		switch (m->reader) {
		case MSS_RD_LEN:
			r = read_len_byte(m, p[i]);
			if (r == 0)
				r = 1;
			break;
		case MSS_RD_BODY:
			r = read_body(m, p + i, n - i);
			break;
		default:
			r = read_skip(m, p + i, n - i);
			break;
		}
		if (r < 0) {
			*consumed = i;
			return fail(m, r);
		}
		i += (size_t)r;
		if (m->state == MSS_ST_DONE) {
			*consumed = i;
			return MSS_DONE;
		}
	}
	*consumed = i;
	return MSS_AGAIN;
}

void mss_output(const struct mss *m, struct aa_slice *out)
{
	out->p = m->out;
	out->n = m->out_n;
}

void mss_output_consumed(struct mss *m, size_t n)
{
	if (n > m->out_n)
		n = m->out_n;
	memmove(m->out, m->out + n, m->out_n - n);
	m->out_n = (uint16_t)(m->out_n - n);
	ls_pump(m);
}

bool mss_can_send_app(const struct mss *m)
{
	if (m->out_n != 0)
		return false;
	if (m->state == MSS_ST_DONE)
		return true;
	return m->role == MSS_ROLE_INITIATOR && m->lazy && m->state != MSS_ST_FAILED;
}

const char *mss_selected(const struct mss *m)
{
	return m->state == MSS_ST_DONE ? m->selected : NULL;
}
