/* mdns: the mDNS discovery service on libuv. One UDP socket per address family, bound to
 * port 5353 and polled with uv_poll, because answering on the right link needs what libuv's
 * uv_udp does not expose: the interface a packet came in on (IP_PKTINFO on receive) and
 * the interface to send each multicast out of (IP_PKTINFO on send). Packets are built and
 * parsed by mdns_packet; this file is timers, interfaces and sockets. */
#include "p2p/mdns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "p2p/mdns_packet.h"

/* Interfaces joined per family; a host with more multicast links than this is unusual,
 * and the rest are simply not used. */
#define MAX_IFACES 32
/* Datagrams read per wakeup, so a flood cannot starve the rest of the loop. */
#define MAX_READS_PER_WAKEUP 32
/* RFC 6762 §6: answers to a shared question (our PTR) wait 20–120 ms so that responders
 * on one link do not all answer at once. */
#define RESPONSE_DELAY_MIN_MS 20
#define RESPONSE_DELAY_SPREAD_MS 101
/* RFC 6762 §5.2: the first query also waits 20–120 ms after start. */
#define FIRST_QUERY_DELAY_MIN_MS 20
/* Legacy unicast answers (RFC 6762 §6.7) bypass the per-interface limit, so they get their
 * own: at most this many per second in all. */
#define MAX_LEGACY_ANSWERS_PER_SECOND 20

struct mdns_iface {
	unsigned index;
	bool seen;          /* present in the latest interface scan */
	bool responded;     /* last_response_ms is valid */
	uint64_t last_response_ms;
	uint64_t due_ms;    /* 0: no response pending */
	bool pending_meta;  /* the pending response also answers the DNS-SD meta-query */
	bool pending_all;   /* the pending response puts every record in the answer section */
};

struct mdns_socket {
	struct mdns_service *svc;
	int family; /* AF_INET or AF_INET6 */
	int fd;     /* -1: not in use */
	bool polling;
	uv_poll_t poll;
	size_t n_ifaces;
	struct mdns_iface ifaces[MAX_IFACES];
};

struct mdns_service {
	uv_loop_t *loop;
	bool enabled;
	bool closing;
	int open_handles;
	struct p2p_peer_id self;
	char instance[MDNS_INSTANCE_MAX_LEN + 1];
	mdns_listen_addrs_fn listen_addrs;
	mdns_peer_fn on_peer;
	void *user;
	uint64_t interval_ms;
	uv_timer_t query_timer;
	uv_timer_t response_timer;
	struct mdns_socket sockets[2]; /* [0] IPv4, [1] IPv6 */
	uint64_t legacy_window_ms;
	unsigned legacy_count;
	void (*on_closed)(void *arg);
	void *closed_arg;
	uint8_t rx[MDNS_MAX_PACKET + 1]; /* one byte more to notice oversized datagrams */
};

/* ---- sockets ---------------------------------------------------------------------------- */

static int set_int_option(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof value);
}

/* Opens one family's socket on port 5353, shared with every other mDNS speaker on the host:
 * SO_REUSEADDR suffices against sockets that set it too (avahi, Node, Go), SO_REUSEPORT
 * against those that set only that; multicast is delivered to all of them either way. */
static int open_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	bool ok = set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1) == 0 &&
		  set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1) == 0;
	if (ok && family == AF_INET) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(MDNS_PORT) };
		/* RFC 6762 §11: multicast with TTL 255; loopback so local peers hear us. */
		ok = bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
		     set_int_option(fd, IPPROTO_IP, IP_MULTICAST_TTL, 255) == 0 &&
		     set_int_option(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1) == 0 &&
		     set_int_option(fd, IPPROTO_IP, IP_PKTINFO, 1) == 0;
	} else if (ok) {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
					      .sin6_port = htons(MDNS_PORT) };
		ok = set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) == 0 &&
		     bind(fd, (struct sockaddr *)&sin6, sizeof sin6) == 0 &&
		     set_int_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255) == 0 &&
		     set_int_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1) == 0 &&
		     set_int_option(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) == 0;
	}
	if (!ok) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Joins (or leaves) the mDNS group on one interface. Joining twice is not an error. */
static int set_membership(const struct mdns_socket *sk, unsigned index, bool join)
{
	int rc;
	if (sk->family == AF_INET) {
		struct ip_mreqn mr = { .imr_ifindex = (int)index };
		inet_pton(AF_INET, MDNS_IPV4_GROUP, &mr.imr_multiaddr);
		rc = setsockopt(sk->fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
				&mr, sizeof mr);
	} else {
		struct ipv6_mreq mr = { .ipv6mr_interface = index };
		inet_pton(AF_INET6, MDNS_IPV6_GROUP, &mr.ipv6mr_multiaddr);
		int option = join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP;
		rc = setsockopt(sk->fd, IPPROTO_IPV6, option, &mr, sizeof mr);
	}
	return rc == 0 || (join && errno == EADDRINUSE) ? 0 : -1;
}

static struct mdns_iface *find_iface(struct mdns_socket *sk, unsigned index)
{
	for (size_t i = 0; i < sk->n_ifaces; i++)
		if (sk->ifaces[i].index == index)
			return &sk->ifaces[i];
	return NULL;
}

static void note_interface(struct mdns_socket *sk, const char *name)
{
	unsigned index = if_nametoindex(name);
	if (index == 0)
		return;
	struct mdns_iface *known = find_iface(sk, index);
	if (known) {
		known->seen = true;
		return;
	}
	if (sk->n_ifaces >= MAX_IFACES)
		return;
	if (set_membership(sk, index, true) != 0) {
		aa_log(AA_LOG_DEBUG, "mdns: cannot join the multicast group", "interface", name,
		       "error", strerror(errno), NULL);
		return;
	}
	aa_log(AA_LOG_DEBUG, "mdns: joined the multicast group", "interface", name, "family",
	       sk->family == AF_INET ? "ipv4" : "ipv6", NULL);
	sk->ifaces[sk->n_ifaces++] = (struct mdns_iface){ .index = index, .seen = true };
}

/* Brings the joined interfaces in line with the system's: every interface that is up,
 * multicast-capable (loopback too, if someone turned MULTICAST on) and has an address of
 * the socket's family. Interfaces that went away are dropped. */
static void scan_interfaces(struct mdns_socket *sk)
{
	struct ifaddrs *list;
	if (sk->fd < 0 || getifaddrs(&list) != 0)
		return;
	for (size_t i = 0; i < sk->n_ifaces; i++)
		sk->ifaces[i].seen = false;
	for (struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != sk->family ||
		    !(ifa->ifa_flags & IFF_UP) || !(ifa->ifa_flags & IFF_MULTICAST))
			continue;
		note_interface(sk, ifa->ifa_name);
	}
	freeifaddrs(list);
	size_t kept = 0;
	for (size_t i = 0; i < sk->n_ifaces; i++) {
		if (sk->ifaces[i].seen)
			sk->ifaces[kept++] = sk->ifaces[i];
		else
			set_membership(sk, sk->ifaces[i].index, false); /* it may be gone already */
	}
	sk->n_ifaces = kept;
}

/* Sends one datagram out of a given interface: to the mDNS group, or to `to` (a legacy
 * unicast querier). The interface goes in an IP_PKTINFO/IPV6_PKTINFO control message, so
 * each send picks its own link without touching socket-wide state. A datagram the kernel
 * cannot take right now is dropped: the next query or answer repeats it. */
static void send_datagram(struct mdns_socket *sk, unsigned index, const uint8_t *p, size_t n,
			  const struct sockaddr_storage *to)
{
	struct sockaddr_storage dst;
	socklen_t dst_len;
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof control);
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf };
	struct cmsghdr *cm = (struct cmsghdr *)control.buf;
	if (sk->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&dst;
		if (to) {
			memcpy(&dst, to, sizeof(struct sockaddr_in));
		} else {
			memset(sin, 0, sizeof *sin);
			sin->sin_family = AF_INET;
			sin->sin_port = htons(MDNS_PORT);
			inet_pton(AF_INET, MDNS_IPV4_GROUP, &sin->sin_addr);
		}
		dst_len = sizeof *sin;
		struct in_pktinfo info = { .ipi_ifindex = (int)index };
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof info);
		memcpy(CMSG_DATA(cm), &info, sizeof info);
		msg.msg_controllen = CMSG_SPACE(sizeof info);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&dst;
		if (to) {
			memcpy(&dst, to, sizeof(struct sockaddr_in6));
		} else {
			memset(sin6, 0, sizeof *sin6);
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(MDNS_PORT);
			sin6->sin6_scope_id = index; /* ff02::fb is link-scoped */
			inet_pton(AF_INET6, MDNS_IPV6_GROUP, &sin6->sin6_addr);
		}
		dst_len = sizeof *sin6;
		struct in6_pktinfo info = { .ipi6_ifindex = index };
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof info);
		memcpy(CMSG_DATA(cm), &info, sizeof info);
		msg.msg_controllen = CMSG_SPACE(sizeof info);
	}
	msg.msg_name = &dst;
	msg.msg_namelen = dst_len;
	if (sendmsg(sk->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		aa_logf(AA_LOG_DEBUG, "mdns: send on interface %u failed: %s", index,
			strerror(errno));
}

/* ---- responses -------------------------------------------------------------------------- */

static uint64_t random_below(uint32_t bound)
{
	return randombytes_uniform(bound);
}

/* Builds our response; AA_ENOENT when we have no address worth announcing. */
static int build_response(struct mdns_service *s, uint16_t id, bool legacy, bool meta,
			  bool all, uint8_t **out, size_t *out_len)
{
	const struct multiaddr *addrs = NULL;
	size_t n = s->listen_addrs(s->user, &addrs);
	struct mdns_response_params params = {
		.instance = s->instance,
		.peer = &s->self,
		.addrs = addrs,
		.n_addrs = addrs ? n : 0,
		.id = id,
		.legacy_unicast = legacy,
		.all_answers = all,
		.answer_meta = meta,
	};
	return mdns_packet_build_response(&params, out, out_len);
}

static void arm_response_timer(struct mdns_service *s);

static void on_response_timer(uv_timer_t *timer)
{
	struct mdns_service *s = timer->data;
	uint64_t now = uv_now(s->loop);
	for (size_t f = 0; f < 2 && !s->closing; f++) {
		struct mdns_socket *sk = &s->sockets[f];
		for (size_t i = 0; i < sk->n_ifaces; i++) {
			struct mdns_iface *ifc = &sk->ifaces[i];
			if (ifc->due_ms == 0 || ifc->due_ms > now)
				continue;
			uint8_t *packet;
			size_t len;
			int rc = build_response(s, 0, false, ifc->pending_meta, ifc->pending_all,
						&packet, &len);
			if (rc == 0) {
				send_datagram(sk, ifc->index, packet, len, NULL);
				free(packet);
				ifc->responded = true;
				ifc->last_response_ms = now;
			} else if (rc != AA_ENOENT) {
				aa_logf(AA_LOG_WARN, "mdns: cannot build our response: %s",
					aa_strerror(rc));
			}
			ifc->due_ms = 0;
			ifc->pending_meta = ifc->pending_all = false;
		}
	}
	arm_response_timer(s);
}

static void arm_response_timer(struct mdns_service *s)
{
	if (s->closing)
		return;
	uint64_t next = 0;
	for (size_t f = 0; f < 2; f++)
		for (size_t i = 0; i < s->sockets[f].n_ifaces; i++) {
			uint64_t due = s->sockets[f].ifaces[i].due_ms;
			if (due && (next == 0 || due < next))
				next = due;
		}
	if (next == 0) {
		uv_timer_stop(&s->response_timer);
		return;
	}
	uint64_t now = uv_now(s->loop);
	uv_timer_start(&s->response_timer, on_response_timer, next > now ? next - now : 0, 0);
}

/* Queues our multicast response on one interface: after the RFC 6762 §6 random delay and
 * no sooner than a second after the last one there. Requests that arrive while one is
 * pending ride along with it. */
static void schedule_response(struct mdns_service *s, struct mdns_iface *ifc, uint64_t delay_ms,
			      bool meta, bool all)
{
	uint64_t now = uv_now(s->loop);
	uint64_t due = now + delay_ms;
	if (ifc->responded && due < ifc->last_response_ms + MDNS_MIN_RESPONSE_INTERVAL_MS)
		due = ifc->last_response_ms + MDNS_MIN_RESPONSE_INTERVAL_MS;
	if (due == 0)
		due = 1; /* 0 means "nothing pending" */
	if (ifc->due_ms == 0 || due < ifc->due_ms)
		ifc->due_ms = due;
	ifc->pending_meta = ifc->pending_meta || meta;
	ifc->pending_all = ifc->pending_all || all;
	arm_response_timer(s);
}

void mdns_service_announce(struct mdns_service *s)
{
	if (!s || !s->enabled || s->closing)
		return;
	for (size_t f = 0; f < 2; f++)
		for (size_t i = 0; i < s->sockets[f].n_ifaces; i++)
			schedule_response(s, &s->sockets[f].ifaces[i], 0, false, false);
}

/* RFC 6762 §6.7: a query from a port other than 5353 comes from a plain DNS resolver,
 * which gets a unicast answer carrying its ID and question. */
static void answer_legacy(struct mdns_service *s, struct mdns_socket *sk, unsigned index,
			  const struct mdns_message *msg, const struct sockaddr_storage *from)
{
	uint64_t now = uv_now(s->loop);
	if (now - s->legacy_window_ms >= 1000) {
		s->legacy_window_ms = now;
		s->legacy_count = 0;
	}
	if (s->legacy_count >= MAX_LEGACY_ANSWERS_PER_SECOND || !msg->asks_peers)
		return;
	s->legacy_count++;
	uint8_t *packet;
	size_t len;
	if (build_response(s, msg->id, true, false, false, &packet, &len) == 0) {
		send_datagram(sk, index, packet, len, from);
		free(packet);
	}
}

/* ---- receiving -------------------------------------------------------------------------- */

static void report_peers(struct mdns_service *s, const struct mdns_message *msg)
{
	for (size_t i = 0; i < msg->n_peers && !s->closing; i++) {
		const struct mdns_peer_info *peer = &msg->peers[i];
		if (p2p_peer_id_equal(&peer->id, &s->self) || peer->n_addrs == 0)
			continue; /* our own answer, looped back */
		s->on_peer(s->user, &peer->id, peer->addrs, peer->n_addrs);
	}
}

static void handle_packet(struct mdns_service *s, struct mdns_socket *sk, size_t n,
			  unsigned index, const struct sockaddr_storage *from)
{
	uint16_t port = sk->family == AF_INET
				 ? ntohs(((const struct sockaddr_in *)from)->sin_port)
				 : ntohs(((const struct sockaddr_in6 *)from)->sin6_port);
	struct mdns_message msg;
	int rc = mdns_packet_parse(s->rx, n, s->instance, &msg);
	if (rc != 0) {
		aa_logf(AA_LOG_DEBUG, "mdns: ignoring a %zu-byte packet: %s", n, aa_strerror(rc));
		return;
	}
	if (msg.is_response) {
		/* RFC 6762 §6: responses not from port 5353 MUST be ignored. */
		if (port == MDNS_PORT)
			report_peers(s, &msg);
	} else if (msg.asks_peers || msg.asks_meta || msg.asks_self) {
		if (msg.knows_self) {
			/* RFC 6762 §7.1: the querier already has our answer. */
		} else if (port != MDNS_PORT) {
			answer_legacy(s, sk, index, &msg, from);
		} else {
			struct mdns_iface *ifc = find_iface(sk, index);
			if (ifc)
				schedule_response(s, ifc,
						  RESPONSE_DELAY_MIN_MS +
							  random_below(RESPONSE_DELAY_SPREAD_MS),
						  msg.asks_meta, msg.asks_self && !msg.asks_peers);
		}
	}
	mdns_message_free(&msg);
}

/* The interface a datagram arrived on, from its IP_PKTINFO/IPV6_PKTINFO control message. */
static unsigned arrival_interface(const struct mdns_socket *sk, struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (sk->family == AF_INET && cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo info;
			memcpy(&info, CMSG_DATA(cm), sizeof info);
			return (unsigned)info.ipi_ifindex;
		}
		if (sk->family == AF_INET6 && cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo info;
			memcpy(&info, CMSG_DATA(cm), sizeof info);
			return info.ipi6_ifindex;
		}
	}
	return 0;
}

static void on_readable(uv_poll_t *poll, int status, int events)
{
	struct mdns_socket *sk = poll->data;
	struct mdns_service *s = sk->svc;
	if (status < 0) {
		aa_logf(AA_LOG_WARN, "mdns: socket poll failed: %s", uv_strerror(status));
		return;
	}
	for (int i = 0; i < MAX_READS_PER_WAKEUP && !s->closing; i++) {
		struct sockaddr_storage from;
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
			struct cmsghdr align;
		} control;
		struct iovec iov = { .iov_base = s->rx, .iov_len = sizeof s->rx };
		struct msghdr msg = {
			.msg_name = &from,
			.msg_namelen = sizeof from,
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control.buf,
			.msg_controllen = sizeof control.buf,
		};
		ssize_t n = recvmsg(sk->fd, &msg, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				aa_logf(AA_LOG_DEBUG, "mdns: recvmsg: %s", strerror(errno));
			return;
		}
		if ((msg.msg_flags & MSG_TRUNC) || (size_t)n > MDNS_MAX_PACKET ||
		    from.ss_family != sk->family)
			continue; /* over RFC 6762 §17's limit, or not what we asked for */
		handle_packet(s, sk, (size_t)n, arrival_interface(sk, &msg), &from);
	}
}

/* ---- queries ---------------------------------------------------------------------------- */

static void on_query_timer(uv_timer_t *timer)
{
	struct mdns_service *s = timer->data;
	uint8_t *packet;
	size_t len;
	if (mdns_packet_build_query(&packet, &len) != 0)
		return;
	for (size_t f = 0; f < 2; f++) {
		struct mdns_socket *sk = &s->sockets[f];
		scan_interfaces(sk); /* interfaces come and go; re-join on each round */
		for (size_t i = 0; i < sk->n_ifaces; i++)
			send_datagram(sk, sk->ifaces[i].index, packet, len, NULL);
	}
	free(packet);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle)
{
	struct mdns_service *s = handle->data;
	if (handle->type == UV_POLL) {
		struct mdns_socket *sk = handle->data;
		s = sk->svc;
	}
	if (--s->open_handles > 0)
		return;
	for (size_t f = 0; f < 2; f++)
		if (s->sockets[f].fd >= 0)
			close(s->sockets[f].fd); /* also leaves every group */
	void (*cb)(void *) = s->on_closed;
	void *arg = s->closed_arg;
	free(s);
	if (cb)
		cb(arg);
}

void mdns_service_close(struct mdns_service *s, void (*on_closed)(void *arg), void *arg)
{
	if (!s || s->closing)
		return;
	s->closing = true;
	s->on_closed = on_closed;
	s->closed_arg = arg;
	uv_close((uv_handle_t *)&s->query_timer, on_handle_closed);
	uv_close((uv_handle_t *)&s->response_timer, on_handle_closed);
	for (size_t f = 0; f < 2; f++)
		if (s->sockets[f].polling)
			uv_close((uv_handle_t *)&s->sockets[f].poll, on_handle_closed);
}

const char *mdns_service_instance(const struct mdns_service *s)
{
	return s->instance;
}

static bool start_socket(struct mdns_service *s, struct mdns_socket *sk)
{
	sk->fd = open_socket(sk->family);
	if (sk->fd < 0) {
		aa_log(AA_LOG_WARN, "mdns: cannot open the mDNS socket", "family",
		       sk->family == AF_INET ? "ipv4" : "ipv6", "error", strerror(errno), NULL);
		return false;
	}
	int rc = uv_poll_init(s->loop, &sk->poll, sk->fd);
	if (rc == 0) {
		sk->poll.data = sk;
		sk->polling = true;
		s->open_handles++;
		rc = uv_poll_start(&sk->poll, UV_READABLE, on_readable);
	}
	if (rc != 0) {
		aa_logf(AA_LOG_WARN, "mdns: cannot poll the mDNS socket: %s", uv_strerror(rc));
		return false;
	}
	scan_interfaces(sk);
	return true;
}

int mdns_service_new(uv_loop_t *loop, const struct mdns_config *config, mdns_peer_fn on_peer,
		     void *user, struct mdns_service **out)
{
	*out = NULL;
	if (!loop || !config)
		return AA_EINVAL;
	struct p2p_peer_id self;
	if (config->enabled &&
	    (!on_peer || !config->listen_addrs || !config->peer_id ||
	     p2p_peer_id_parse(config->peer_id, strlen(config->peer_id), &self) != 0))
		return AA_EINVAL;

	struct mdns_service *s = aa_calloc(1, sizeof *s);
	s->loop = loop;
	s->enabled = config->enabled;
	s->on_peer = on_peer;
	s->listen_addrs = config->listen_addrs;
	s->user = user;
	s->interval_ms = config->query_interval_ms ? config->query_interval_ms
						   : MDNS_DEFAULT_QUERY_INTERVAL_MS;
	if (s->enabled)
		s->self = self;
	mdns_instance_name_generate(s->instance);
	uv_timer_init(loop, &s->query_timer);
	uv_timer_init(loop, &s->response_timer);
	s->query_timer.data = s->response_timer.data = s;
	s->open_handles = 2;
	for (size_t f = 0; f < 2; f++) {
		s->sockets[f] = (struct mdns_socket){ .svc = s, .family = f ? AF_INET6 : AF_INET,
						      .fd = -1 };
	}
	if (!s->enabled) {
		*out = s;
		return 0;
	}

	bool v4 = start_socket(s, &s->sockets[0]);
	bool v6 = config->ipv6 && start_socket(s, &s->sockets[1]);
	if (!v4 && !v6) {
		mdns_service_close(s, NULL, NULL); /* frees s once the loop runs the closes */
		return AA_EIO;
	}
	uv_timer_start(&s->query_timer, on_query_timer,
		       FIRST_QUERY_DELAY_MIN_MS + random_below(RESPONSE_DELAY_SPREAD_MS),
		       s->interval_ms);
	aa_log(AA_LOG_DEBUG, "mdns: started", "instance", s->instance, NULL);
	*out = s;
	return 0;
}
