/* health: the standard grpc.health.v1.Health service (grpc/grpc doc/health-checking.md) on a
 * grpc_server. The daemon sets a status per service name ("" = the whole server); Check
 * answers it (NOT_FOUND for a name never set) and Watch streams it (SERVICE_UNKNOWN for such
 * a name, then every change; a slow watcher gets the latest status, not every step).
 * Loop thread only. */
#ifndef AA_RPC_HEALTH_H
#define AA_RPC_HEALTH_H

#include "rpc/grpc.h"

/* HealthCheckResponse.ServingStatus values. */
enum grpc_health_status {
	GRPC_HEALTH_UNKNOWN = 0,
	GRPC_HEALTH_SERVING = 1,
	GRPC_HEALTH_NOT_SERVING = 2,
	GRPC_HEALTH_SERVICE_UNKNOWN = 3,
};

struct grpc_health;

/* Registers /grpc.health.v1.Health/Check and /Watch on s. NULL if either is registered. */
struct grpc_health *grpc_health_new(struct grpc_server *s);
/* Sets a service's status (adding the service); watchers hear of a change. */
void grpc_health_set(struct grpc_health *h, const char *service, enum grpc_health_status status);
/* Forgets a service: Check says NOT_FOUND again, watchers get SERVICE_UNKNOWN. */
void grpc_health_clear(struct grpc_health *h, const char *service);
/* Frees the service after grpc_server_close() (which cancels every Watch). Must not be
 * called while the server still runs: the server keeps using h for new calls. */
void grpc_health_free(struct grpc_health *h);

#endif
