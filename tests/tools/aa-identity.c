/* aa-identity: test tool that exposes the node identity code (p2p/keys, p2p/peerid) on the
 * command line, so scripts can compare it with other libp2p implementations.
 *
 *   aa-identity show KEYFILE        load an existing key file
 *   aa-identity create KEYFILE      create a new key file (fails if it exists)
 *   aa-identity parse-id TEXT       parse a PeerID in any text form
 *   aa-identity parse-did DIDKEY    parse a did:key
 *
 * Each prints one line "peer_id=<base58btc> cid=<base32 CID> did=<did:key>" (parse-id of a
 * PeerID without an Ed25519 key prints did=-). Exit status: 0 ok, 1 error, 2 usage. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "p2p/keys.h"
#include "p2p/peerid.h"

static int print_identity(const struct p2p_peer_id *id)
{
	char text[P2P_PEER_ID_STRING_MAX], cid[P2P_PEER_ID_STRING_MAX];
	char did[P2P_DID_KEY_STRING_MAX] = "-";
	uint8_t pub[P2P_ED25519_PUBLIC_KEY_BYTES];
	if (p2p_peer_id_to_string(id, text, sizeof text) < 0 ||
	    p2p_peer_id_to_cid_string(id, cid, sizeof cid) < 0) {
		fprintf(stderr, "aa-identity: cannot render the PeerID\n");
		return 1;
	}
	if (p2p_peer_id_ed25519_public_key(id, pub) == 0 &&
	    p2p_did_key_from_public_key(pub, did, sizeof did) < 0) {
		fprintf(stderr, "aa-identity: cannot render the did:key\n");
		return 1;
	}
	printf("peer_id=%s cid=%s did=%s\n", text, cid, did);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_key_file(const char *cmd, const char *path)
{
	struct p2p_keypair kp;
	char why[512] = "";
	int rc;
	if (strcmp(cmd, "show") == 0) {
		rc = p2p_key_load(path, &kp, why, sizeof why);
	} else {
		enum p2p_key_origin origin;
		rc = p2p_key_load_or_create(path, &kp, &origin, why, sizeof why);
		if (rc == 0 && origin != P2P_KEY_CREATED) {
			snprintf(why, sizeof why, "refusing to replace the existing key file %s", path);
			rc = AA_EEXIST;
		}
	}
	if (rc != 0) {
		fprintf(stderr, "aa-identity: %s (%s)\n", why, aa_strerror(rc));
		p2p_keypair_wipe(&kp);
		return 1;
	}
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(kp.public_key, &id);
	p2p_keypair_wipe(&kp);
	return print_identity(&id);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: aa-identity show|create KEYFILE\n"
				"       aa-identity parse-id PEERID | parse-did DIDKEY\n");
		return 2;
	}
	const char *cmd = argv[1], *arg = argv[2];
	if (strcmp(cmd, "show") == 0 || strcmp(cmd, "create") == 0)
		return cmd_key_file(cmd, arg);
	struct p2p_peer_id id;
	if (strcmp(cmd, "parse-id") == 0) {
		int rc = p2p_peer_id_parse(arg, strlen(arg), &id);
		if (rc != 0) {
			fprintf(stderr, "aa-identity: not a PeerID: %s (%s)\n", arg, aa_strerror(rc));
			return 1;
		}
		return print_identity(&id);
	}
	if (strcmp(cmd, "parse-did") == 0) {
		uint8_t pub[P2P_ED25519_PUBLIC_KEY_BYTES];
		int rc = p2p_did_key_parse(arg, strlen(arg), pub);
		if (rc != 0) {
			fprintf(stderr, "aa-identity: not an Ed25519 did:key: %s (%s)\n", arg,
				aa_strerror(rc));
			return 1;
		}
		p2p_peer_id_from_public_key(pub, &id);
		return print_identity(&id);
	}
	fprintf(stderr, "aa-identity: unknown command %s\n", cmd);
	return 2;
}
