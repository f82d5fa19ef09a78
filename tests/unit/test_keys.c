/* Unit tests for p2p/keys: Ed25519 keys, the libp2p key protobufs (peer-ids spec test
 * vectors) and the key file (REFERENCE A.1). File tests work in a fresh directory under
 * /tmp that each test's teardown removes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "libp2p/crypto.pb-c.h"
#include "p2p/keys.h"
#include "tmpdir.h"

/* peer-ids spec, "Test vectors". */
static const char SPEC_ED25519_PRIVATE[] =
	"080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2"
	"c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
static const char SPEC_ED25519_PUBLIC[] =
	"080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
static const char SPEC_SECP256K1_PRIVATE[] =
	"0802122053DADF1D5A164D6B4ACDB15E24AA4C5B1D3461BDBD42ABEDB0A4404D56CED8FB";
static const char SPEC_SECP256K1_PUBLIC[] =
	"08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99";
static const char SPEC_ECDSA_PUBLIC[] =
	"0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d53089"
	"9d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646a597fb"
	"4dcec034e9f77c409e62";

/* RFC 8032 section 7.1, TEST 1 (empty message). */
static const char RFC8032_SEED[] =
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char RFC8032_PUBLIC[] =
	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char RFC8032_SIGNATURE[] =
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
	"1cf9b46bd25bf5f0595bbe24655141438e7a100b";

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* ---- keys and protobufs ------------------------------------------------------------- */

static void test_keys_spec_ed25519_private_key_round_trips(void **state)
{
	uint8_t in[128], pub_pb[64], out[P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES];
	size_t n = unhex(SPEC_ED25519_PRIVATE, in, sizeof in);
	size_t pub_n = unhex(SPEC_ED25519_PUBLIC, pub_pb, sizeof pub_pb);
	struct p2p_keypair kp;
	assert_int_equal(p2p_private_key_unmarshal(in, n, &kp, NULL, 0), 0);
	assert_memory_equal(kp.public_key, pub_pb + 4, 32);
	p2p_private_key_marshal(&kp, out);
	assert_int_equal(n, sizeof out);
	assert_memory_equal(out, in, n);
	uint8_t pub_out[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES];
	p2p_public_key_marshal(kp.public_key, pub_out);
	assert_int_equal(pub_n, sizeof pub_out);
	assert_memory_equal(pub_out, pub_pb, pub_n);
}

static void test_keys_spec_ed25519_public_key_unmarshals(void **state)
{
	uint8_t in[64], pub[32];
	size_t n = unhex(SPEC_ED25519_PUBLIC, in, sizeof in);
	assert_int_equal(p2p_public_key_unmarshal(in, n, pub, NULL, 0), 0);
	assert_memory_equal(pub, in + 4, 32);
}

static void test_keys_from_seed_matches_rfc8032(void **state)
{
	uint8_t seed[32], pub[32], sig[64], got[64];
	unhex(RFC8032_SEED, seed, sizeof seed);
	unhex(RFC8032_PUBLIC, pub, sizeof pub);
	unhex(RFC8032_SIGNATURE, sig, sizeof sig);
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	assert_memory_equal(kp.public_key, pub, 32);
	p2p_keypair_sign(&kp, (const uint8_t *)"", 0, got);
	assert_memory_equal(got, sig, 64);
	assert_int_equal(p2p_ed25519_verify(pub, (const uint8_t *)"", 0, sig), 0);
}

static void test_keys_verify_rejects_tampering(void **state)
{
	struct p2p_keypair kp, other;
	p2p_keypair_generate(&kp);
	p2p_keypair_generate(&other);
	const uint8_t msg[] = "libp2p-tls-handshake:payload";
	uint8_t sig[64];
	p2p_keypair_sign(&kp, msg, sizeof msg, sig);
	assert_int_equal(p2p_ed25519_verify(kp.public_key, msg, sizeof msg, sig), 0);
	assert_int_equal(p2p_ed25519_verify(kp.public_key, msg, sizeof msg - 1, sig), AA_ECRYPTO);
	assert_int_equal(p2p_ed25519_verify(other.public_key, msg, sizeof msg, sig), AA_ECRYPTO);
	sig[10] ^= 1;
	assert_int_equal(p2p_ed25519_verify(kp.public_key, msg, sizeof msg, sig), AA_ECRYPTO);
}

static void test_keys_generated_keys_differ_and_round_trip(void **state)
{
	struct p2p_keypair a, b, back;
	p2p_keypair_generate(&a);
	p2p_keypair_generate(&b);
	assert_memory_not_equal(a.public_key, b.public_key, 32);
	uint8_t pb[P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES];
	p2p_private_key_marshal(&a, pb);
	assert_int_equal(p2p_private_key_unmarshal(pb, sizeof pb, &back, NULL, 0), 0);
	assert_memory_equal(&back, &a, sizeof a);
	p2p_keypair_wipe(&back);
	uint8_t zero[sizeof back] = { 0 };
	assert_memory_equal(&back, zero, sizeof back);
}

static void test_keys_private_accepts_legacy_96_byte_form(void **state)
{
	uint8_t spec[128], legacy[100];
	unhex(SPEC_ED25519_PRIVATE, spec, sizeof spec);
	memcpy(legacy, spec, 68);
	legacy[3] = 96;
	memcpy(legacy + 68, spec + 36, 32);
	struct p2p_keypair kp;
	assert_int_equal(p2p_private_key_unmarshal(legacy, sizeof legacy, &kp, NULL, 0), 0);
	assert_memory_equal(kp.secret_key, spec + 4, 64);
}

static void test_keys_private_rejects_legacy_with_two_public_keys(void **state)
{
	uint8_t spec[128], legacy[100];
	unhex(SPEC_ED25519_PRIVATE, spec, sizeof spec);
	memcpy(legacy, spec, 68);
	legacy[3] = 96;
	memcpy(legacy + 68, spec + 36, 32);
	legacy[99] ^= 0x80;
	struct p2p_keypair kp;
	char why[160] = "";
	assert_int_equal(p2p_private_key_unmarshal(legacy, sizeof legacy, &kp, why, sizeof why),
			 AA_EINVAL);
	assert_non_null(strstr(why, "two different public keys"));
}

static void test_keys_private_rejects_public_key_not_matching_seed(void **state)
{
	uint8_t in[128];
	size_t n = unhex(SPEC_ED25519_PRIVATE, in, sizeof in);
	in[n - 1] ^= 1;
	struct p2p_keypair kp;
	char why[160] = "";
	assert_int_equal(p2p_private_key_unmarshal(in, n, &kp, why, sizeof why), AA_EINVAL);
	assert_non_null(strstr(why, "does not match the seed"));
}

static void test_keys_rejects_other_key_types_as_unsupported(void **state)
{
	uint8_t in[128], pub[32];
	struct p2p_keypair kp;
	char why[160] = "";
	size_t n = unhex(SPEC_SECP256K1_PRIVATE, in, sizeof in);
	assert_int_equal(p2p_private_key_unmarshal(in, n, &kp, why, sizeof why), AA_ENOTSUP);
	assert_non_null(strstr(why, "Secp256k1"));
	n = unhex(SPEC_SECP256K1_PUBLIC, in, sizeof in);
	assert_int_equal(p2p_public_key_unmarshal(in, n, pub, why, sizeof why), AA_ENOTSUP);
	n = unhex(SPEC_ECDSA_PUBLIC, in, sizeof in);
	assert_int_equal(p2p_public_key_unmarshal(in, n, pub, why, sizeof why), AA_ENOTSUP);
	assert_non_null(strstr(why, "ECDSA"));
}

static void test_keys_protobuf_parse_accepts_every_known_type(void **state)
{
	for (uint8_t t = 0; t <= 3; t++) {
		uint8_t in[] = { 0x08, t, 0x12, 0x02, 0xaa, 0xbb };
		enum p2p_key_type type;
		struct aa_slice data;
		assert_int_equal(p2p_key_protobuf_parse(in, sizeof in, &type, &data), 0);
		assert_int_equal(type, t);
		assert_int_equal(data.n, 2);
		assert_ptr_equal(data.p, in + 4);
	}
}

static void test_keys_protobuf_parse_rejects_noncanonical_input(void **state)
{
	/* Each is a valid protobuf (or nearly) that a lenient decoder would take for a key. */
	static const struct {
		size_t n;
		uint8_t b[8];
	} bad[] = {
		{ 0, { 0 } },
		{ 3, { 0x08, 0x01, 0x12 } },                         /* no length */
		{ 5, { 0x08, 0x01, 0x12, 0x02, 0xaa } },             /* Data truncated */
		{ 7, { 0x08, 0x01, 0x12, 0x02, 0xaa, 0xbb, 0xcc } }, /* trailing byte */
		{ 6, { 0x12, 0x02, 0xaa, 0xbb, 0x08, 0x01 } },       /* fields out of order */
		{ 4, { 0x12, 0x02, 0xaa, 0xbb } },                   /* Type missing */
		{ 4, { 0x08, 0x01, 0x08, 0x01 } },                   /* Data missing */
		{ 6, { 0x08, 0x04, 0x12, 0x02, 0xaa, 0xbb } },       /* unknown KeyType */
		{ 7, { 0x08, 0x81, 0x00, 0x12, 0x01, 0xaa, 0 } },    /* non-minimal Type */
		{ 7, { 0x08, 0x01, 0x12, 0x82, 0x00, 0xaa, 0xbb } }, /* non-minimal length */
		{ 8, { 0x08, 0x01, 0x12, 0x02, 0xaa, 0xbb, 0x18, 0x01 } }, /* extra field */
		{ 6, { 0x08, 0x01, 0x0a, 0x02, 0xaa, 0xbb } },       /* Data as field 1 */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		enum p2p_key_type type;
		struct aa_slice data;
		assert_int_equal(p2p_key_protobuf_parse(bad[i].b, bad[i].n, &type, &data), AA_EINVAL);
	}
}

static void test_keys_public_rejects_wrong_key_length(void **state)
{
	uint8_t in[64], pub[32];
	size_t n = unhex(SPEC_ED25519_PUBLIC, in, sizeof in);
	in[3] = 31;
	char why[160] = "";
	assert_int_equal(p2p_public_key_unmarshal(in, n - 1, pub, why, sizeof why), AA_EINVAL);
	assert_non_null(strstr(why, "31 bytes"));
	in[3] = 32;
	assert_int_equal(p2p_public_key_unmarshal(in, n - 1, pub, why, sizeof why), AA_EINVAL);
}

static void test_keys_private_rejects_wrong_key_length(void **state)
{
	uint8_t in[36] = { 0x08, 0x01, 0x12, 0x20 };
	memset(in + 4, 7, 32);
	struct p2p_keypair kp;
	char why[160] = "";
	assert_int_equal(p2p_private_key_unmarshal(in, sizeof in, &kp, why, sizeof why), AA_EINVAL);
	assert_non_null(strstr(why, "32 bytes"));
}

/* The hand encoder must produce exactly what protobuf-c packs for the same message, and
 * protobuf-c must read our bytes back: the .proto and the hand code agree. */
static void test_keys_encoding_matches_protobuf_c(void **state)
{
	struct p2p_keypair kp;
	p2p_keypair_generate(&kp);
	uint8_t ours[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES], theirs[64];
	p2p_public_key_marshal(kp.public_key, ours);
	Libp2p__Crypto__PublicKey msg = LIBP2P__CRYPTO__PUBLIC_KEY__INIT;
	msg.type = LIBP2P__CRYPTO__KEY_TYPE__Ed25519;
	msg.data.data = kp.public_key;
	msg.data.len = 32;
	assert_int_equal(libp2p__crypto__public_key__get_packed_size(&msg), sizeof ours);
	libp2p__crypto__public_key__pack(&msg, theirs);
	assert_memory_equal(ours, theirs, sizeof ours);

	uint8_t priv[P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES];
	p2p_private_key_marshal(&kp, priv);
	Libp2p__Crypto__PrivateKey *back = libp2p__crypto__private_key__unpack(NULL, sizeof priv, priv);
	assert_non_null(back);
	assert_int_equal(back->type, LIBP2P__CRYPTO__KEY_TYPE__Ed25519);
	assert_int_equal(back->data.len, 64);
	assert_memory_equal(back->data.data, kp.secret_key, 64);
	libp2p__crypto__private_key__free_unpacked(back, NULL);
}

/* ---- key file ------------------------------------------------------------------------- */

struct fixture {
	char dir[64];
	char path[128];
};

static int make_tmpdir(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/aa-test-keys-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/key", f->dir);
	*state = f;
	return 0;
}

static int remove_tmpdir(void **state)
{
	struct fixture *f = *state;
	test_rm_tree(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const uint8_t *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_key_file_created_with_private_modes(void **state)
{
	struct fixture *f = *state;
	char path[256], a[256], ab[256];
	snprintf(a, sizeof a, "%s/a", f->dir);
	snprintf(ab, sizeof ab, "%s/a/b", f->dir);
	snprintf(path, sizeof path, "%s/a/b/key.bin", f->dir);
	struct p2p_keypair kp;
	enum p2p_key_origin origin;
	assert_int_equal(p2p_key_load_or_create(path, &kp, &origin, NULL, 0), 0);
	assert_int_equal(origin, P2P_KEY_CREATED);
	assert_int_equal(mode_of(a), 0700);
	assert_int_equal(mode_of(ab), 0700);
	assert_int_equal(mode_of(path), 0600);

	uint8_t buf[128];
	int fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof buf), 68);
	close(fd);
	uint8_t expect[68];
	p2p_private_key_marshal(&kp, expect);
	assert_memory_equal(buf, expect, 68);

	/* The temporary file is gone: the directory holds only the key. */
	DIR *d = opendir(ab);
	int entries = 0;
	for (struct dirent *e; (e = readdir(d));)
		entries += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(entries, 1);
}

static void test_key_file_created_despite_restrictive_umask(void **state)
{
	struct fixture *f = *state;
	char path[256];
	snprintf(path, sizeof path, "%s/sub/key", f->dir);
	mode_t old = umask(0277);
	struct p2p_keypair kp;
	int rc = p2p_key_load_or_create(path, &kp, NULL, NULL, 0);
	umask(old);
	assert_int_equal(rc, 0);
	assert_int_equal(mode_of(path), 0600);
}

static void test_key_file_reload_gives_same_identity(void **state)
{
	struct fixture *f = *state;
	struct p2p_keypair first, second;
	enum p2p_key_origin origin;
	assert_int_equal(p2p_key_load_or_create(f->path, &first, &origin, NULL, 0), 0);
	assert_int_equal(origin, P2P_KEY_CREATED);
	assert_int_equal(p2p_key_load_or_create(f->path, &second, &origin, NULL, 0), 0);
	assert_int_equal(origin, P2P_KEY_LOADED);
	assert_memory_equal(&first, &second, sizeof first);
}

static void test_key_file_loads_spec_vector(void **state)
{
	struct fixture *f = *state;
	uint8_t in[128];
	size_t n = unhex(SPEC_ED25519_PRIVATE, in, sizeof in);
	write_file(f->path, in, n, 0600);
	struct p2p_keypair kp;
	enum p2p_key_origin origin;
	assert_int_equal(p2p_key_load_or_create(f->path, &kp, &origin, NULL, 0), 0);
	assert_int_equal(origin, P2P_KEY_LOADED);
	assert_memory_equal(kp.secret_key, in + 4, 64);
}

static void test_key_file_empty_path_is_ephemeral(void **state)
{
	struct p2p_keypair a, b;
	enum p2p_key_origin origin;
	assert_int_equal(p2p_key_load_or_create("", &a, &origin, NULL, 0), 0);
	assert_int_equal(origin, P2P_KEY_EPHEMERAL);
	assert_int_equal(p2p_key_load_or_create(NULL, &b, &origin, NULL, 0), 0);
	assert_int_equal(origin, P2P_KEY_EPHEMERAL);
	assert_memory_not_equal(a.public_key, b.public_key, 32);
}

static void test_key_file_refuses_group_or_world_access(void **state)
{
	struct fixture *f = *state;
	uint8_t in[128];
	size_t n = unhex(SPEC_ED25519_PRIVATE, in, sizeof in);
	const mode_t modes[] = { 0640, 0604, 0644, 0620, 0602 };
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		write_file(f->path, in, n, modes[i]);
		struct p2p_keypair kp;
		char why[256] = "";
		assert_int_equal(p2p_key_load_or_create(f->path, &kp, NULL, why, sizeof why), AA_EPERM);
		assert_non_null(strstr(why, "chmod 600"));
	}
}

static void test_key_file_rejects_wrong_size(void **state)
{
	struct fixture *f = *state;
	uint8_t in[128];
	size_t n = unhex(SPEC_ED25519_PRIVATE, in, sizeof in);
	const size_t sizes[] = { 0, 1, 67, 69 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		write_file(f->path, in, sizes[i] <= n ? sizes[i] : n, 0600);
		if (sizes[i] > n) {
			int fd = open(f->path, O_WRONLY | O_APPEND);
			assert_int_equal(write(fd, "\n", 1), 1); /* a trailing newline, say */
			close(fd);
		}
		struct p2p_keypair kp;
		char why[256] = "";
		assert_int_equal(p2p_key_load_or_create(f->path, &kp, NULL, why, sizeof why), AA_EINVAL);
		assert_non_null(strstr(why, "68 bytes"));
	}
}

static void test_key_file_rejects_other_key_type(void **state)
{
	struct fixture *f = *state;
	uint8_t in[128];
	size_t n = unhex(SPEC_SECP256K1_PRIVATE, in, sizeof in);
	write_file(f->path, in, n, 0600);
	struct p2p_keypair kp;
	char why[256] = "";
	assert_int_equal(p2p_key_load_or_create(f->path, &kp, NULL, why, sizeof why), AA_EINVAL);
	assert_non_null(strstr(why, "Secp256k1"));
}

static void test_key_file_rejects_legacy_form(void **state)
{
	struct fixture *f = *state;
	uint8_t spec[128], legacy[100];
	unhex(SPEC_ED25519_PRIVATE, spec, sizeof spec);
	memcpy(legacy, spec, 68);
	legacy[3] = 96;
	memcpy(legacy + 68, spec + 36, 32);
	write_file(f->path, legacy, sizeof legacy, 0600);
	struct p2p_keypair kp;
	char why[256] = "";
	assert_int_equal(p2p_key_load_or_create(f->path, &kp, NULL, why, sizeof why), AA_EINVAL);
	assert_non_null(strstr(why, "96 bytes of key data"));
}

static void test_key_file_rejects_public_key_not_matching_seed(void **state)
{
	struct fixture *f = *state;
	uint8_t in[128];
	size_t n = unhex(SPEC_ED25519_PRIVATE, in, sizeof in);
	in[40] ^= 0x55;
	write_file(f->path, in, n, 0600);
	struct p2p_keypair kp;
	char why[256] = "";
	assert_int_equal(p2p_key_load_or_create(f->path, &kp, NULL, why, sizeof why), AA_EINVAL);
	assert_non_null(strstr(why, f->path));
	assert_non_null(strstr(why, "does not match the seed"));
}

static void test_key_file_rejects_68_bytes_of_garbage(void **state)
{
	struct fixture *f = *state;
	uint8_t junk[68];
	memset(junk, 'k', sizeof junk);
	write_file(f->path, junk, sizeof junk, 0600);
	struct p2p_keypair kp;
	char why[256] = "";
	assert_int_equal(p2p_key_load_or_create(f->path, &kp, NULL, why, sizeof why), AA_EINVAL);
	assert_non_null(strstr(why, "not a canonical libp2p private protobuf"));
}

static void test_key_file_rejects_directory(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkdir(f->path, 0700), 0);
	struct p2p_keypair kp;
	char why[256] = "";
	assert_int_equal(p2p_key_load_or_create(f->path, &kp, NULL, why, sizeof why), AA_EINVAL);
	assert_non_null(strstr(why, "directory"));
}

static void test_key_file_rejects_fifo_without_blocking(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(mkfifo(f->path, 0600), 0);
	struct p2p_keypair kp;
	char why[256] = "";
	assert_int_equal(p2p_key_load_or_create(f->path, &kp, NULL, why, sizeof why), AA_EINVAL);
	assert_non_null(strstr(why, "FIFO"));
}

static void test_key_file_rejects_trailing_slash(void **state)
{
	struct fixture *f = *state;
	char path[256];
	snprintf(path, sizeof path, "%s/newdir/", f->dir);
	struct p2p_keypair kp;
	char why[256] = "";
	assert_int_equal(p2p_key_load_or_create(path, &kp, NULL, why, sizeof why), AA_EINVAL);
}

static void test_key_file_rejects_parent_that_is_a_file(void **state)
{
	struct fixture *f = *state;
	write_file(f->path, (const uint8_t *)"x", 1, 0600);
	char path[256];
	snprintf(path, sizeof path, "%s/inner/key", f->path);
	struct p2p_keypair kp;
	char why[256] = "";
	assert_int_equal(p2p_key_load_or_create(path, &kp, NULL, why, sizeof why), AA_EINVAL);
	assert_true(why[0] != '\0');
}

static void test_key_file_follows_symlink_to_regular_file(void **state)
{
	struct fixture *f = *state;
	char link_path[256];
	snprintf(link_path, sizeof link_path, "%s/link", f->dir);
	struct p2p_keypair created, loaded;
	assert_int_equal(p2p_key_load_or_create(f->path, &created, NULL, NULL, 0), 0);
	assert_int_equal(symlink(f->path, link_path), 0);
	enum p2p_key_origin origin;
	assert_int_equal(p2p_key_load_or_create(link_path, &loaded, &origin, NULL, 0), 0);
	assert_int_equal(origin, P2P_KEY_LOADED);
	assert_memory_equal(&created, &loaded, sizeof created);
}

static void test_key_file_dangling_symlink_is_an_error(void **state)
{
	struct fixture *f = *state;
	char link_path[256], target[256];
	snprintf(link_path, sizeof link_path, "%s/link", f->dir);
	snprintf(target, sizeof target, "%s/nowhere/key", f->dir);
	assert_int_equal(symlink(target, link_path), 0);
	struct p2p_keypair kp;
	char why[256] = "";
	assert_int_equal(p2p_key_load_or_create(link_path, &kp, NULL, why, sizeof why), AA_EINVAL);
	assert_non_null(strstr(why, "dangling"));
}

#define FILE_TEST(fn) cmocka_unit_test_setup_teardown(fn, make_tmpdir, remove_tmpdir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_spec_ed25519_private_key_round_trips),
		cmocka_unit_test(test_keys_spec_ed25519_public_key_unmarshals),
		cmocka_unit_test(test_keys_from_seed_matches_rfc8032),
		cmocka_unit_test(test_keys_verify_rejects_tampering),
		cmocka_unit_test(test_keys_generated_keys_differ_and_round_trip),
		cmocka_unit_test(test_keys_private_accepts_legacy_96_byte_form),
		cmocka_unit_test(test_keys_private_rejects_legacy_with_two_public_keys),
		cmocka_unit_test(test_keys_private_rejects_public_key_not_matching_seed),
		cmocka_unit_test(test_keys_rejects_other_key_types_as_unsupported),
		cmocka_unit_test(test_keys_protobuf_parse_accepts_every_known_type),
		cmocka_unit_test(test_keys_protobuf_parse_rejects_noncanonical_input),
		cmocka_unit_test(test_keys_public_rejects_wrong_key_length),
		cmocka_unit_test(test_keys_private_rejects_wrong_key_length),
		cmocka_unit_test(test_keys_encoding_matches_protobuf_c),
		FILE_TEST(test_key_file_created_with_private_modes),
		FILE_TEST(test_key_file_created_despite_restrictive_umask),
		FILE_TEST(test_key_file_reload_gives_same_identity),
		FILE_TEST(test_key_file_loads_spec_vector),
		cmocka_unit_test(test_key_file_empty_path_is_ephemeral),
		FILE_TEST(test_key_file_refuses_group_or_world_access),
		FILE_TEST(test_key_file_rejects_wrong_size),
		FILE_TEST(test_key_file_rejects_other_key_type),
		FILE_TEST(test_key_file_rejects_legacy_form),
		FILE_TEST(test_key_file_rejects_public_key_not_matching_seed),
		FILE_TEST(test_key_file_rejects_68_bytes_of_garbage),
		FILE_TEST(test_key_file_rejects_directory),
		FILE_TEST(test_key_file_rejects_fifo_without_blocking),
		FILE_TEST(test_key_file_rejects_trailing_slash),
		FILE_TEST(test_key_file_rejects_parent_that_is_a_file),
		FILE_TEST(test_key_file_follows_symlink_to_regular_file),
		FILE_TEST(test_key_file_dangling_symlink_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
