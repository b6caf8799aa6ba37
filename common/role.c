/*
 * role.c — names and ownership rules shared by every process.
 *
 * The supervisor trusts a flag report only from the role that owns the
 * flag, and a frame only if its payload has the size its type demands.
 */
#include <string.h>

#include "ipc.h"

static const char *const role_names[MAI_ROLE_COUNT] = {
	[MAI_ROLE_WS] = "ws-worker",
	[MAI_ROLE_FLOW] = "flow-worker",
	[MAI_ROLE_HEALTH] = "health-worker",
};

static const struct {
	const char	*name;
	enum mai_role	 owner;
} flags[MAI_FLAG_COUNT] = {
	[MAI_FLAG_EDGE_REACHABLE] = { "edge_http_reachable", MAI_ROLE_HEALTH },
	[MAI_FLAG_ARI_AUTH] = { "ari_auth", MAI_ROLE_HEALTH },
	[MAI_FLAG_WS_CONNECTED] = { "ws_connected", MAI_ROLE_WS },
	[MAI_FLAG_EVENTS_RECEIVED] = { "events_received", MAI_ROLE_WS },
	[MAI_FLAG_WS_AUTH_REJECTED] = { "ws_auth_rejected", MAI_ROLE_WS },
	[MAI_FLAG_APP_REPLACED] = { "app_replaced", MAI_ROLE_WS },
	[MAI_FLAG_EVENT_FILTER] = { "event_filter", MAI_ROLE_WS },
};

static const char *const msg_names[MAI_MSG_MAX] = {
	[MAI_MSG_HELLO] = "hello",
	[MAI_MSG_CONFIG] = "config",
	[MAI_MSG_LISTENER] = "listener",
	[MAI_MSG_FLAG] = "flag",
	[MAI_MSG_SNAPSHOT] = "snapshot",
	[MAI_MSG_EVENT] = "event",
	[MAI_MSG_EVENT_ACK] = "event_ack",
	[MAI_MSG_COUNTERS] = "counters",
	[MAI_MSG_DRAINING] = "draining",
	[MAI_MSG_LATENCY] = "latency",
	[MAI_MSG_FLOWS] = "flows",
	[MAI_MSG_PING] = "ping",
	[MAI_MSG_PONG] = "pong",
	[MAI_MSG_READY] = "ready",
	[MAI_MSG_GAP_BEGIN] = "gap_begin",
	[MAI_MSG_GAP_END] = "gap_end",
};

const char *
role_name(enum mai_role r)
{
	return (unsigned)r < MAI_ROLE_COUNT ? role_names[r] : "unknown";
}

int
role_from_name(const char *name)
{
	int	 i;

	for (i = 0; i < MAI_ROLE_COUNT; i++)
		if (strcmp(name, role_names[i]) == 0)
			return i;
	return -1;
}

const char *
flag_name(enum mai_flag f)
{
	return (unsigned)f < MAI_FLAG_COUNT ? flags[f].name : "unknown";
}

enum mai_role
flag_owner(enum mai_flag f)
{
	return (unsigned)f < MAI_FLAG_COUNT ? flags[f].owner : MAI_ROLE_COUNT;
}

const char *
msg_name(uint8_t type)
{
	return type > 0 && type < MAI_MSG_MAX ? msg_names[type] : "unknown";
}

/* Fixed-size messages must match exactly; events need a body. */
bool
msg_payload_ok(uint8_t type, size_t len)
{
	switch (type) {
	case MAI_MSG_HELLO:	return len == sizeof(struct mai_hello);
	case MAI_MSG_CONFIG:	return len == sizeof(struct mai_config);
	case MAI_MSG_LISTENER:	return len == 0;
	case MAI_MSG_FLAG:	return len == sizeof(struct mai_flag_report);
	case MAI_MSG_SNAPSHOT:	return len == sizeof(struct mai_snapshot);
	case MAI_MSG_EVENT:	return len > 0;
	case MAI_MSG_EVENT_ACK:	return len == 0;
	case MAI_MSG_COUNTERS:	return len == sizeof(struct mai_counters);
	case MAI_MSG_DRAINING:	return len == 0;
	case MAI_MSG_LATENCY:	return len == sizeof(struct mai_latency) *
				    MAI_LAT_COUNT;
	case MAI_MSG_FLOWS:	return true;	/* empty: no file */
	case MAI_MSG_PING:	return len == 0;
	case MAI_MSG_PONG:	return len == sizeof(struct mai_pong);
	case MAI_MSG_READY:	return len == sizeof(struct mai_ready);
	case MAI_MSG_GAP_BEGIN:
	case MAI_MSG_GAP_END:	return len == 0;
	default:		return false;
	}
}
