/* keys: the node's libp2p identity key (Ed25519, via libsodium), the libp2p PublicKey and
 * PrivateKey protobuf envelopes (peer-ids spec, "Keys"), and the on-disk key file.
 * Structs are plain values owned by the caller; wipe a keypair with p2p_keypair_wipe().
 * Every function may be called from any thread.
 *
 * Functions that can fail for a reason a person must read take `char *why, size_t why_len`:
 * on failure a one-line, NUL-terminated explanation is written there (why may be NULL). */
#ifndef AA_P2P_KEYS_H
#define AA_P2P_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define P2P_ED25519_PUBLIC_KEY_BYTES 32
#define P2P_ED25519_SEED_BYTES 32
#define P2P_ED25519_SIGNATURE_BYTES 64
/* Marshalled PublicKey for Ed25519: 08 01 12 20 ‖ 32-byte key. */
#define P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES 36
/* Marshalled PrivateKey for Ed25519, which is also the whole key file: 08 01 12 40 ‖
 * seed ‖ public key. */
#define P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES 68

/* peer-ids spec: the KeyType enum of the key protobufs. */
enum p2p_key_type {
	P2P_KEY_RSA = 0,
	P2P_KEY_ED25519 = 1,
	P2P_KEY_SECP256K1 = 2,
	P2P_KEY_ECDSA = 3,
};

/* An Ed25519 keypair. secret_key is libsodium's form: 32-byte seed followed by the public
 * key, which is byte for byte the libp2p PrivateKey Data field. */
struct p2p_keypair {
	uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES];
	uint8_t secret_key[P2P_ED25519_SEED_BYTES + P2P_ED25519_PUBLIC_KEY_BYTES];
};

/* How p2p_key_load_or_create() obtained the key. */
enum p2p_key_origin {
	P2P_KEY_LOADED = 0,    /* read from the existing key file */
	P2P_KEY_CREATED = 1,   /* generated and written to a new key file */
	P2P_KEY_EPHEMERAL = 2, /* generated, not saved (empty path) */
};

/* Fresh random keypair. */
void p2p_keypair_generate(struct p2p_keypair *kp);
/* Deterministic keypair from a 32-byte seed (RFC 8032 private key). */
void p2p_keypair_from_seed(const uint8_t seed[P2P_ED25519_SEED_BYTES], struct p2p_keypair *kp);
/* Overwrites the secret with zeros. */
void p2p_keypair_wipe(struct p2p_keypair *kp);

/* RFC 8032 Ed25519 signature of msg[0..n). */
void p2p_keypair_sign(const struct p2p_keypair *kp, const uint8_t *msg, size_t n,
		      uint8_t sig[P2P_ED25519_SIGNATURE_BYTES]);
/* 0 if sig is a valid signature of msg by public_key, AA_ECRYPTO otherwise. */
int p2p_ed25519_verify(const uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES], const uint8_t *msg,
		       size_t n, const uint8_t sig[P2P_ED25519_SIGNATURE_BYTES]);

/* Strict structural parse of a PublicKey or PrivateKey protobuf (both have the same shape):
 * exactly field 1 (Type, a known KeyType) then field 2 (Data), canonically encoded, nothing
 * else. *data borrows from p. Returns 0 or AA_EINVAL. Key material is not checked. */
int p2p_key_protobuf_parse(const uint8_t *p, size_t n, enum p2p_key_type *type,
			   struct aa_slice *data);
/* Human name of a key type ("Ed25519", "RSA", …). */
const char *p2p_key_type_name(enum p2p_key_type type);

/* PublicKey protobuf of an Ed25519 public key (always 36 bytes). */
void p2p_public_key_marshal(const uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES],
			    uint8_t out[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES]);
/* Parses a PublicKey protobuf holding an Ed25519 key. AA_EINVAL if malformed or of the wrong
 * length, AA_ENOTSUP for another key type. */
int p2p_public_key_unmarshal(const uint8_t *p, size_t n,
			     uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES], char *why,
			     size_t why_len);

/* PrivateKey protobuf of the keypair, 64-byte Data form (always 68 bytes). */
void p2p_private_key_marshal(const struct p2p_keypair *kp,
			     uint8_t out[P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES]);
/* Parses a PrivateKey protobuf holding an Ed25519 key, in the 64-byte seed‖public form or
 * the legacy 96-byte seed‖public‖public form, and checks that the embedded public key is
 * the one the seed derives. AA_EINVAL if malformed or inconsistent, AA_ENOTSUP for another
 * key type. */
int p2p_private_key_unmarshal(const uint8_t *p, size_t n, struct p2p_keypair *kp, char *why,
			      size_t why_len);

/* The node identity key file (REFERENCE A.1, DECISIONS "Key file").
 * - path "" (or NULL): an ephemeral key is generated and nothing is written.
 * - path missing: a key is generated; missing parent directories are created with mode
 *   0700; the 68-byte file is written with mode 0600 atomically (temporary file in the
 *   same directory, fsync, no-clobber rename, directory fsync). If another process creates
 *   the file first, that file is loaded instead.
 * - path present: it must be a regular file (symlinks to one are followed) of exactly 68
 *   bytes holding an Ed25519 PrivateKey whose public key matches its seed (else AA_EINVAL),
 *   and it must grant no permission to group or others (else AA_EPERM).
 * Other failures: AA_EPERM (access denied), AA_EIO. *origin may be NULL. */
int p2p_key_load_or_create(const char *path, struct p2p_keypair *kp, enum p2p_key_origin *origin,
			   char *why, size_t why_len);
/* Loads an existing key file with the same checks; never creates one (AA_ENOENT). */
int p2p_key_load(const char *path, struct p2p_keypair *kp, char *why, size_t why_len);

#endif
