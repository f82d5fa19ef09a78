/* health: grpc.health.v1.Health Check and Watch (grpc/grpc doc/health-checking.md) over a
 * table of service statuses. Messages are the generated protobuf-c types of
 * proto/grpc/health/v1/health.proto. */
#include "rpc/health.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/map.h"
#include "base/mem.h"
#include "grpc/health/v1/health.pb-c.h"

struct watcher {
	struct grpc_health *h;
	struct watcher *prev, *next;
	struct grpc_call *call;
	char *service;
	int last_sent; /* -1 before the first message */
};

struct grpc_health {
	struct aa_map statuses; /* service name -> (void *)(uintptr_t)(status + 1) */
	struct watcher *watchers;
};

static enum grpc_health_status lookup(const struct grpc_health *h, const char *service, bool *known)
{
	void *v;
	*known = map_find(&h->statuses, service, strlen(service), &v);
	return *known ? (enum grpc_health_status)((uintptr_t)v - 1) : GRPC_HEALTH_SERVICE_UNKNOWN;
}

/* Packs a HealthCheckResponse into buf (the message is two bytes at most). */
static size_t pack_response(enum grpc_health_status status, uint8_t buf[8])
{
	Grpc__Health__V1__HealthCheckResponse resp;
	grpc__health__v1__health_check_response__init(&resp);
	resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
	return grpc__health__v1__health_check_response__pack(&resp, buf);
}

/* Decodes the request's service name into a fresh string, or NULL if the bytes are not a
 * HealthCheckRequest. */
static char *unpack_service(const uint8_t *msg, size_t len)
{
	Grpc__Health__V1__HealthCheckRequest *req =
		grpc__health__v1__health_check_request__unpack(NULL, len, msg);
	if (!req)
		return NULL;
	char *service = aa_strdup(req->service ? req->service : "");
	grpc__health__v1__health_check_request__free_unpacked(req, NULL);
	return service;
}

static void check_on_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	struct grpc_health *h = user;
	char *service = unpack_service(msg, len);
	if (!service) {
		grpc_call_finish(call, GRPC_STATUS_INTERNAL, "cannot parse HealthCheckRequest");
		return;
	}
	bool known;
	enum grpc_health_status st = lookup(h, service, &known);
	free(service);
	if (!known) {
		/* health-checking.md: Check for an unregistered service fails with NOT_FOUND. */
		grpc_call_finish(call, GRPC_STATUS_NOT_FOUND, "unknown service");
		return;
	}
	uint8_t buf[8];
	size_t n = pack_response(st, buf);
	if (grpc_call_send(call, buf, n) != 0)
		grpc_call_finish(call, GRPC_STATUS_INTERNAL, "cannot send response");
	else
		grpc_call_finish(call, GRPC_STATUS_OK, NULL);
}

/* Sends the watcher the service's current status unless it already has it. If the call's
 * queue is full the status is sent from on_writable, by then perhaps a newer one. */
static void watcher_update(struct watcher *w)
{
	bool known;
	enum grpc_health_status st = lookup(w->h, w->service, &known);
	if ((int)st == w->last_sent)
		return;
	uint8_t buf[8];
	size_t n = pack_response(st, buf);
	if (grpc_call_send(w->call, buf, n) == 0)
		w->last_sent = (int)st;
}

static void watcher_free(struct watcher *w)
{
	struct grpc_health *h = w->h;
	if (w->prev)
		w->prev->next = w->next;
	else
		h->watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	free(w->service);
	free(w);
}

static void watch_on_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	struct grpc_health *h = user;
	char *service = unpack_service(msg, len);
	if (!service) {
		grpc_call_finish(call, GRPC_STATUS_INTERNAL, "cannot parse HealthCheckRequest");
		return;
	}
	struct watcher *w = aa_calloc(1, sizeof *w);
	w->h = h;
	w->call = call;
	w->service = service;
	w->last_sent = -1;
	w->next = h->watchers;
	if (h->watchers)
		h->watchers->prev = w;
	h->watchers = w;
	grpc_call_set_data(call, w);
	/* health-checking.md: Watch answers at once with the current status, SERVICE_UNKNOWN
	 * for an unknown service, and keeps the call open. */
	watcher_update(w);
}

static void watch_on_writable(struct grpc_call *call, void *user)
{
	struct watcher *w = grpc_call_data(call);
	if (w)
		watcher_update(w);
}

static void watch_on_cancel(struct grpc_call *call, enum grpc_cancel_reason why, void *user)
{
	struct watcher *w = grpc_call_data(call);
	if (w)
		watcher_free(w);
}

struct grpc_health *grpc_health_new(struct grpc_server *s)
{
	struct grpc_health *h = aa_calloc(1, sizeof *h);
	/* Entries come from the daemon's own calls, never from clients. */
	map_init(&h->statuses, 0);
	const struct grpc_handler check = { .on_message = check_on_message };
	const struct grpc_handler watch = {
		.on_message = watch_on_message,
		.on_writable = watch_on_writable,
		.on_cancel = watch_on_cancel,
	};
	if (grpc_server_register(s, "/grpc.health.v1.Health/Check", GRPC_UNARY, &check, h) != 0 ||
	    grpc_server_register(s, "/grpc.health.v1.Health/Watch", GRPC_SERVER_STREAM, &watch, h) != 0) {
		map_free(&h->statuses);
		free(h);
		return NULL;
	}
	return h;
}

static void notify(struct grpc_health *h, const char *service)
{
	for (struct watcher *w = h->watchers; w; w = w->next)
		if (strcmp(w->service, service) == 0)
			watcher_update(w);
}

void grpc_health_set(struct grpc_health *h, const char *service, enum grpc_health_status status)
{
	map_put(&h->statuses, service, strlen(service), (void *)((uintptr_t)status + 1), NULL);
	notify(h, service);
}

void grpc_health_clear(struct grpc_health *h, const char *service)
{
	map_remove(&h->statuses, service, strlen(service));
	notify(h, service);
}

void grpc_health_free(struct grpc_health *h)
{
	if (!h)
		return;
	while (h->watchers) {
		struct watcher *w = h->watchers;
		grpc_call_finish(w->call, GRPC_STATUS_UNAVAILABLE, "health service stopped");
		watcher_free(w);
	}
	map_free(&h->statuses);
	free(h);
}
