/* aa-mdns: test tool that runs the mDNS discovery service (p2p/mdns) with a fresh identity
 * and the listen addresses given on the command line, for a bounded time.
 *
 *   aa-mdns [--seconds N] [--interval-ms MS] [--ipv6] [--debug] MULTIADDR...
 *
 * stdout (flushed line by line):
 *   self <peer-id> <instance>                 first, once
 *   discovered <peer-id> <multiaddr>...       whenever a peer is heard with a new address set
 * Exit status: 0 after N seconds (default 10), 1 if the service cannot start, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "p2p/keys.h"
#include "p2p/mdns.h"
#include "p2p/peerid.h"

#define MAX_ADDRS 32
#define MAX_PEERS 64

struct tool {
	struct multiaddr addrs[MAX_ADDRS];
	size_t n_addrs;
	size_t n_peers;
	struct p2p_peer_id peers[MAX_PEERS];
	char *printed[MAX_PEERS]; /* the last line printed for each peer */
	struct mdns_service *mdns;
};

static size_t listen_addrs(void *user, const struct multiaddr **addrs)
{
	struct tool *t = user;
	*addrs = t->addrs;
	return t->n_addrs;
}

static void on_peer(void *user, const struct p2p_peer_id *peer, const struct multiaddr *addrs,
		    size_t n)
{
	struct tool *t = user;
	char id[P2P_PEER_ID_STRING_MAX];
	if (p2p_peer_id_to_string(peer, id, sizeof id) < 0)
		return;
	struct aa_buf line;
	aa_buf_init(&line);
	aa_buf_append_str(&line, "discovered ");
	aa_buf_append_str(&line, id);
	for (size_t i = 0; i < n; i++) {
		char *text;
		if (multiaddr_to_string(&addrs[i], &text) != 0)
			continue;
		aa_buf_append_byte(&line, ' ');
		aa_buf_append_str(&line, text);
		free(text);
	}
	size_t len;
	char *s = (char *)aa_buf_steal(&line, &len);
	size_t slot = 0;
	while (slot < t->n_peers && !p2p_peer_id_equal(&t->peers[slot], peer))
		slot++;
	if (slot == t->n_peers) {
		if (t->n_peers == MAX_PEERS) {
			free(s);
			return;
		}
		t->peers[t->n_peers++] = *peer;
	} else if (strcmp(t->printed[slot], s) == 0) {
		free(s); /* heard again, nothing new */
		return;
	}
	free(t->printed[slot]);
	t->printed[slot] = s;
	printf("%s\n", s);
	fflush(stdout);
}

static void on_deadline(uv_timer_t *timer)
{
	struct tool *t = timer->data;
	mdns_service_close(t->mdns, NULL, NULL);
	t->mdns = NULL;
	uv_close((uv_handle_t *)timer, NULL);
}

static int usage(void)
{
	fprintf(stderr, "usage: aa-mdns [--seconds N] [--interval-ms MS] [--ipv6] [--debug] "
			"MULTIADDR...\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct tool t;
	long seconds = 10, interval_ms = 0;
	bool ipv6 = false, debug = false;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--interval-ms") == 0 && i + 1 < argc)
			interval_ms = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--ipv6") == 0)
			ipv6 = true;
		else if (strcmp(argv[i], "--debug") == 0)
			debug = true;
		else
			return usage();
	}
	if (seconds <= 0 || seconds > 3600 || interval_ms < 0)
		return usage();
	for (; i < argc; i++) {
		const char *why = NULL;
		if (t.n_addrs == MAX_ADDRS ||
		    multiaddr_parse(argv[i], &t.addrs[t.n_addrs], &why) != 0) {
			fprintf(stderr, "aa-mdns: bad multiaddr %s (%s)\n", argv[i],
				why ? why : "too many");
			return 2;
		}
		t.n_addrs++;
	}
	aa_log_setup(debug ? AA_LOG_DEBUG : AA_LOG_WARN, AA_LOG_TEXT);

	struct p2p_keypair kp;
	p2p_keypair_generate(&kp);
	struct p2p_peer_id self;
	p2p_peer_id_from_public_key(kp.public_key, &self);
	p2p_keypair_wipe(&kp);
	char self_text[P2P_PEER_ID_STRING_MAX];
	p2p_peer_id_to_string(&self, self_text, sizeof self_text);

	uv_loop_t *loop = uv_default_loop();
	struct mdns_config config = {
		.peer_id = self_text,
		.listen_addrs = listen_addrs,
		.query_interval_ms = (uint64_t)interval_ms,
		.enabled = true,
		.ipv6 = ipv6,
	};
	int rc = mdns_service_new(loop, &config, on_peer, &t, &t.mdns);
	if (rc != 0) {
		fprintf(stderr, "aa-mdns: cannot start mDNS: %s\n", aa_strerror(rc));
		uv_run(loop, UV_RUN_DEFAULT);
		return 1;
	}
	printf("self %s %s\n", self_text, mdns_service_instance(t.mdns));
	fflush(stdout);

	uv_timer_t deadline;
	uv_timer_init(loop, &deadline);
	deadline.data = &t;
	uv_timer_start(&deadline, on_deadline, (uint64_t)seconds * 1000, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);

	for (size_t k = 0; k < t.n_addrs; k++)
		multiaddr_free(&t.addrs[k]);
	for (size_t k = 0; k < t.n_peers; k++)
		free(t.printed[k]);
	return 0;
}
