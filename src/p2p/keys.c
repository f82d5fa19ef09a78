/* keys: Ed25519 identity keys (libsodium), the libp2p key protobufs and the key file.
 *
 * The PublicKey/PrivateKey protobufs are encoded and decoded by hand here rather than with
 * the protobuf-c code generated from proto/libp2p/crypto.proto. The peer-ids spec ("Keys")
 * requires a deterministic encoding because PeerIDs and handshake signatures are computed
 * over the exact bytes. protobuf-c would accept many byte strings for one key (non-minimal
 * varints, fields out of order or repeated, unknown fields), so a peer could present a key
 * whose bytes differ from what we would re-encode. The canonical form is so small (tag,
 * type, tag, length, data) that accepting only it, byte by byte, is both simpler and
 * stricter. The unit tests cross-check this code against protobuf-c. */
#include "p2p/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/varint.h"

/* Protobuf field keys (field number << 3 | wire type): 1/varint and 2/length-delimited. */
#define KEY_TAG_TYPE 0x08
#define KEY_TAG_DATA 0x12
/* peer-ids spec, Ed25519: the legacy private Data form repeats the public key. */
#define ED25519_LEGACY_PRIVATE_BYTES 96
/* A key file larger than this is not worth reading just to explain what it holds. */
#define KEY_FILE_DIAGNOSE_MAX 8192

void p2p_keypair_generate(struct p2p_keypair *kp)
{
	aa_require_sodium();
	crypto_sign_keypair(kp->public_key, kp->secret_key);
}

void p2p_keypair_from_seed(const uint8_t seed[P2P_ED25519_SEED_BYTES], struct p2p_keypair *kp)
{
	aa_require_sodium();
	crypto_sign_seed_keypair(kp->public_key, kp->secret_key, seed);
}

void p2p_keypair_wipe(struct p2p_keypair *kp)
{
	sodium_memzero(kp, sizeof *kp);
}

void p2p_keypair_sign(const struct p2p_keypair *kp, const uint8_t *msg, size_t n,
		      uint8_t sig[P2P_ED25519_SIGNATURE_BYTES])
{
	aa_require_sodium();
	crypto_sign_detached(sig, NULL, msg, n, kp->secret_key);
}

int p2p_ed25519_verify(const uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES], const uint8_t *msg,
		       size_t n, const uint8_t sig[P2P_ED25519_SIGNATURE_BYTES])
{
	aa_require_sodium();
	return crypto_sign_verify_detached(sig, msg, n, public_key) == 0 ? 0 : AA_ECRYPTO;
}

const char *p2p_key_type_name(enum p2p_key_type type)
{
	switch (type) {
	case P2P_KEY_RSA: return "RSA";
	case P2P_KEY_ED25519: return "Ed25519";
	case P2P_KEY_SECP256K1: return "Secp256k1";
	case P2P_KEY_ECDSA: return "ECDSA";
	}
	return "unknown";
}

int p2p_key_protobuf_parse(const uint8_t *p, size_t n, enum p2p_key_type *type,
			   struct aa_slice *data)
{
	/* peer-ids spec, "Keys": fields in tag order, all present, minimal varints, no others.
	 * KeyType values are 0..3, so the minimal Type varint is always a single byte. */
	if (n < 4 || p[0] != KEY_TAG_TYPE || p[1] > P2P_KEY_ECDSA || p[2] != KEY_TAG_DATA)
		return AA_EINVAL;
	uint64_t len;
	int used = varint_decode(p + 3, n - 3, &len);
	if (used <= 0)
		return AA_EINVAL;
	size_t off = 3 + (size_t)used;
	if (len != n - off)
		return AA_EINVAL; /* Data runs past the end, or trailing bytes follow it */
	*type = (enum p2p_key_type)p[1];
	*data = aa_slice_make(p + off, (size_t)len);
	return 0;
}

void p2p_public_key_marshal(const uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES],
			    uint8_t out[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES])
{
	out[0] = KEY_TAG_TYPE;
	out[1] = P2P_KEY_ED25519;
	out[2] = KEY_TAG_DATA;
	out[3] = P2P_ED25519_PUBLIC_KEY_BYTES;
	memcpy(out + 4, public_key, P2P_ED25519_PUBLIC_KEY_BYTES);
}

/* Shared by both unmarshal functions: parse, then insist on Ed25519. */
static int parse_ed25519(const char *what, const uint8_t *p, size_t n, struct aa_slice *data,
			 char *why, size_t why_len)
{
	enum p2p_key_type type;
	if (p2p_key_protobuf_parse(p, n, &type, data) != 0) {
		aa_set_why(why, why_len, "not a canonical libp2p %s protobuf (%zu bytes)", what, n);
		return AA_EINVAL;
	}
	if (type != P2P_KEY_ED25519) {
		aa_set_why(why, why_len, "%s %s keys are not supported (only Ed25519)",
			p2p_key_type_name(type), what);
		return AA_ENOTSUP;
	}
	return 0;
}

int p2p_public_key_unmarshal(const uint8_t *p, size_t n,
			     uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES], char *why,
			     size_t why_len)
{
	struct aa_slice data;
	int rc = parse_ed25519("public", p, n, &data, why, why_len);
	if (rc != 0)
		return rc;
	if (data.n != P2P_ED25519_PUBLIC_KEY_BYTES) {
		aa_set_why(why, why_len, "Ed25519 public key is %zu bytes, expected %d", data.n,
			P2P_ED25519_PUBLIC_KEY_BYTES);
		return AA_EINVAL;
	}
	memcpy(public_key, data.p, P2P_ED25519_PUBLIC_KEY_BYTES);
	return 0;
}

void p2p_private_key_marshal(const struct p2p_keypair *kp,
			     uint8_t out[P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES])
{
	out[0] = KEY_TAG_TYPE;
	out[1] = P2P_KEY_ED25519;
	out[2] = KEY_TAG_DATA;
	out[3] = sizeof kp->secret_key;
	memcpy(out + 4, kp->secret_key, sizeof kp->secret_key);
}

int p2p_private_key_unmarshal(const uint8_t *p, size_t n, struct p2p_keypair *kp, char *why,
			      size_t why_len)
{
	struct aa_slice data;
	int rc = parse_ed25519("private", p, n, &data, why, why_len);
	if (rc != 0)
		return rc;
	if (data.n != sizeof kp->secret_key && data.n != ED25519_LEGACY_PRIVATE_BYTES) {
		aa_set_why(why, why_len, "Ed25519 private key is %zu bytes, expected 64 (or legacy 96)",
			data.n);
		return AA_EINVAL;
	}
	const uint8_t *seed = data.p;
	const uint8_t *embedded = data.p + P2P_ED25519_SEED_BYTES;
	/* peer-ids spec: the legacy form is seed‖pub‖pub; both copies must agree. */
	if (data.n == ED25519_LEGACY_PRIVATE_BYTES &&
	    sodium_memcmp(embedded, embedded + P2P_ED25519_PUBLIC_KEY_BYTES,
			  P2P_ED25519_PUBLIC_KEY_BYTES) != 0) {
		aa_set_why(why, why_len, "legacy Ed25519 private key holds two different public keys");
		return AA_EINVAL;
	}
	struct p2p_keypair derived;
	p2p_keypair_from_seed(seed, &derived);
	if (sodium_memcmp(derived.public_key, embedded, P2P_ED25519_PUBLIC_KEY_BYTES) != 0) {
		p2p_keypair_wipe(&derived);
		aa_set_why(why, why_len, "Ed25519 private key: public key does not match the seed");
		return AA_EINVAL;
	}
	*kp = derived;
	p2p_keypair_wipe(&derived);
	return 0;
}

/* ---- key file ------------------------------------------------------------------------- */

static int errno_to_err(int e)
{
	switch (e) {
	case ENOENT: return AA_ENOENT;
	case EACCES:
	case EPERM: return AA_EPERM;
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG: return AA_EINVAL;
	default: return AA_EIO;
	}
}

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a regular file";
}

/* Reads up to cap bytes until EOF; returns the count or -1 with errno set. */
static ssize_t read_upto(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	while (got < cap) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Explains a key file that is not 68 bytes: another key type is named, since that is the
 * likeliest mistake (a key copied from another libp2p program). */
static void explain_wrong_size(const char *path, int fd, off_t size, char *why, size_t why_len)
{
	if (size > 0 && size <= KEY_FILE_DIAGNOSE_MAX) {
		uint8_t *buf = aa_malloc((size_t)size + 1);
		ssize_t got = read_upto(fd, buf, (size_t)size + 1);
		enum p2p_key_type type;
		struct aa_slice data;
		int parsed = got > 0 ? p2p_key_protobuf_parse(buf, (size_t)got, &type, &data) : -1;
		sodium_memzero(buf, (size_t)size + 1);
		free(buf);
		if (parsed == 0 && type != P2P_KEY_ED25519) {
			aa_set_why(why, why_len,
				"key file %s holds a %s private key; only Ed25519 keys are supported",
				path, p2p_key_type_name(type));
			return;
		}
		if (parsed == 0) {
			aa_set_why(why, why_len,
				"key file %s holds an Ed25519 key with %zu bytes of key data; the key file "
				"must be the 68-byte form (64 bytes of data)", path, data.n);
			return;
		}
	}
	aa_set_why(why, why_len,
		"key file %s is %lld bytes; a libp2p Ed25519 key file is exactly %d bytes", path,
		(long long)size, P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES);
}

/* Loads an existing key file. AA_ENOENT (with why set) if there is none. */
static int key_file_load(const char *path, struct p2p_keypair *kp, char *why, size_t why_len)
{
	/* O_NONBLOCK: a FIFO at the path must not hang start-up; it is rejected below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		aa_set_why(why, why_len, "cannot open key file %s: %s", path, strerror(e));
		return errno_to_err(e);
	}
	struct stat st;
	int rc;
	if (fstat(fd, &st) != 0) {
		aa_set_why(why, why_len, "cannot stat key file %s: %s", path, strerror(errno));
		rc = AA_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		aa_set_why(why, why_len, "key file %s is %s, not a regular file", path,
			file_kind(st.st_mode));
		rc = AA_EINVAL;
		goto out;
	}
	/* Like ssh with private keys: a key others can read (or replace) is no identity. */
	if ((st.st_mode & 077) != 0) {
		aa_set_why(why, why_len,
			"key file %s has mode %04o, which lets group or others access it; "
			"refusing to use it (fix with: chmod 600 %s)",
			path, (unsigned)(st.st_mode & 07777), path);
		rc = AA_EPERM;
		goto out;
	}
	if (st.st_size != P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES) {
		explain_wrong_size(path, fd, st.st_size, why, why_len);
		rc = AA_EINVAL;
		goto out;
	}
	/* Read one byte more than expected so a file that grew since fstat is noticed. */
	uint8_t buf[P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES + 1];
	ssize_t got = read_upto(fd, buf, sizeof buf);
	if (got < 0) {
		aa_set_why(why, why_len, "cannot read key file %s: %s", path, strerror(errno));
		rc = AA_EIO;
		goto out;
	}
	if (got != P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES) {
		aa_set_why(why, why_len, "key file %s changed size while being read", path);
		rc = AA_EINVAL;
	} else {
		char detail[160];
		rc = p2p_private_key_unmarshal(buf, (size_t)got, kp, detail, sizeof detail);
		if (rc != 0) {
			aa_set_why(why, why_len, "key file %s: %s", path, detail);
			rc = AA_EINVAL;
		}
	}
	sodium_memzero(buf, sizeof buf);
out:
	close(fd);
	return rc;
}

/* Creates each missing directory above path's last component with mode 0700. */
static int make_parent_dirs(const char *path, char *why, size_t why_len)
{
	char *dir = aa_strdup(path);
	char *slash = strrchr(dir, '/');
	int rc = 0;
	if (!slash || slash == dir)
		goto out; /* relative name in the working directory, or a file in "/" */
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		bool last = *p == '\0';
		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) == 0) {
			/* The umask may have removed owner bits; the contract is exactly 0700. */
			if (chmod(dir, 0700) != 0) {
				aa_set_why(why, why_len, "cannot chmod %s: %s", dir, strerror(errno));
				rc = errno_to_err(errno);
				goto out;
			}
		} else if (errno == EEXIST) {
			struct stat st;
			if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
				aa_set_why(why, why_len, "cannot create key file %s: %s is not a directory",
					path, dir);
				rc = AA_EINVAL;
				goto out;
			}
		} else {
			int e = errno;
			aa_set_why(why, why_len, "cannot create directory %s: %s", dir, strerror(e));
			rc = errno_to_err(e);
			goto out;
		}
		if (last)
			break;
		*p = '/';
		while (p[1] == '/')
			p++; /* "a//b" */
	}
out:
	free(dir);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Makes the rename durable; file systems that cannot fsync a directory are tolerated. */
static void fsync_parent_dir(const char *path)
{
	char *dir = aa_strdup(path);
	char *slash = strrchr(dir, '/');
	const char *name = ".";
	if (slash == dir)
		name = "/";
	else if (slash) {
		*slash = '\0';
		name = dir;
	}
	int fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Moves tmp to path unless path exists (then AA_EEXIST): a second node starting at the same
 * moment must not replace a key the first is already using. */
static int install_no_clobber(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST)
		return AA_EEXIST;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -1;
	/* The file system lacks RENAME_NOREPLACE; link(2) is also atomic and no-clobber. */
	int rc = link(tmp, path);
	int e = errno;
	unlink(tmp);
	errno = e;
	if (rc == 0)
		return 0;
	return e == EEXIST ? AA_EEXIST : -1;
}

/* Generates a key and writes it to path. AA_EEXIST if path appeared meanwhile. */
static int key_file_create(const char *path, struct p2p_keypair *kp, char *why, size_t why_len)
{
	int rc = make_parent_dirs(path, why, why_len);
	if (rc != 0)
		return rc;
	struct p2p_keypair fresh;
	p2p_keypair_generate(&fresh);
	uint8_t bytes[P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES];
	p2p_private_key_marshal(&fresh, bytes);

	char *tmp = aa_sprintf("%s.tmp-XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC); /* created 0600, O_EXCL */
	if (fd < 0) {
		int e = errno;
		aa_set_why(why, why_len, "cannot create key file %s: %s", path, strerror(e));
		rc = errno_to_err(e);
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, bytes, sizeof bytes) != 0 || fsync(fd) != 0) {
		int e = errno;
		aa_set_why(why, why_len, "cannot write key file %s: %s", tmp, strerror(e));
		close(fd);
		unlink(tmp);
		rc = errno_to_err(e);
		goto out;
	}
	if (close(fd) != 0) {
		int e = errno;
		aa_set_why(why, why_len, "cannot write key file %s: %s", tmp, strerror(e));
		unlink(tmp);
		rc = errno_to_err(e);
		goto out;
	}
	rc = install_no_clobber(tmp, path);
	if (rc != 0) {
		int e = errno;
		unlink(tmp);
		if (rc != AA_EEXIST) {
			aa_set_why(why, why_len, "cannot move %s to %s: %s", tmp, path, strerror(e));
			rc = errno_to_err(e);
		}
		goto out;
	}
	fsync_parent_dir(path);
	*kp = fresh;
out:
	free(tmp);
	sodium_memzero(bytes, sizeof bytes);
	p2p_keypair_wipe(&fresh);
	return rc;
}

int p2p_key_load(const char *path, struct p2p_keypair *kp, char *why, size_t why_len)
{
	if (!path || path[0] == '\0') {
		aa_set_why(why, why_len, "no key file path given");
		return AA_EINVAL;
	}
	return key_file_load(path, kp, why, why_len);
}

int p2p_key_load_or_create(const char *path, struct p2p_keypair *kp, enum p2p_key_origin *origin,
			   char *why, size_t why_len)
{
	enum p2p_key_origin dummy;
	if (!origin)
		origin = &dummy;
	if (!path || path[0] == '\0') {
		p2p_keypair_generate(kp);
		*origin = P2P_KEY_EPHEMERAL;
		return 0;
	}
	if (path[strlen(path) - 1] == '/') {
		aa_set_why(why, why_len, "key file path %s names a directory", path);
		return AA_EINVAL;
	}
	int rc = key_file_load(path, kp, why, why_len);
	if (rc != AA_ENOENT) {
		*origin = P2P_KEY_LOADED;
		return rc;
	}
	rc = key_file_create(path, kp, why, why_len);
	if (rc == 0) {
		*origin = P2P_KEY_CREATED;
		return 0;
	}
	if (rc != AA_EEXIST)
		return rc;
	/* Someone else created it between our open and our rename: use theirs. */
	rc = key_file_load(path, kp, why, why_len);
	if (rc == AA_ENOENT) {
		aa_set_why(why, why_len,
			"key file %s exists but cannot be opened (a dangling symbolic link?)", path);
		return AA_EINVAL;
	}
	*origin = P2P_KEY_LOADED;
	return rc;
}
