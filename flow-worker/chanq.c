/*
 * chanq.c — Asterisk's channel command queue, as seen from requests and
 * answers.
 *
 * Asterisk runs channel operations as commands on the channel's control
 * queue; while a playback runs, the queue is busy until the sound ends.
 * For some (answer, adding to a bridge; a variable set on 22.10) the
 * HTTP answer waits for the command to run; others (record, continue)
 * are answered at once but still run after the sound.  ARI says none of
 * this: it is read off the request's method and path, and the channel's
 * fate off the answer's status and message.
 */
#include <string.h>

#include <json-c/json.h>

#include "ari_rest.h"
#include "flow.h"

/*
 * Would Asterisk queue METHOD target behind media playing on channel id?
 * A POST on the channel (answer, variable, record, continue, ...) but not
 * play (Asterisk answers it at once and queues the sound itself), and
 * bridge membership changes.  DELETE (hangup, stop) and GET are not
 * commands on the channel's queue.
 */
int
chanq_behind_media(const char *id, const char *method, const char *target)
{
	char	prefix[FLOW_OBJ_ID_MAX * 3 + 16];
	int	n;

	if (strcmp(method, "POST") != 0)
		return 0;
	if (strncmp(target, "/bridges/", 9) == 0)
		return strstr(target, "/addChannel") != NULL ||
		    strstr(target, "/removeChannel") != NULL;
	if ((n = ari_rest_path(prefix, sizeof(prefix), "/channels/%s/",
	    id)) == -1 || strncmp(target, prefix, (size_t)n) != 0)
		return 0;
	return strncmp(target + n, "play", 4) != 0;
}

/*
 * Not errors: 404 on DELETE (what we wanted gone is gone) and on reading
 * a variable that is not set (the takeover asks for MAI_STATE).
 */
int
chanq_benign(const char *method, const char *target,
    const struct ari_result *res)
{
	return res->status == 404 && (strcmp(method, "DELETE") == 0 ||
	    (strcmp(method, "GET") == 0 &&
	    strstr(target, "/variable?") != NULL));
}

/*
 * Did this answer say that the caller's channel is gone (404) or has
 * left our application (409 "not in Stasis")?  Then the call is over,
 * whatever we asked.  The one 404 under /channels/{id} that is not about
 * the channel: GET .../variable of an unset variable.
 */
int
chanq_gone(const struct call *c, const struct ari_result *res)
{
	struct json_object	*m;
	const char		*msg = "";
	char			 prefix[FLOW_OBJ_ID_MAX * 3 + 16];
	size_t			 n;

	if (res->status != 404 && res->status != 409)
		return 0;
	if (ari_rest_path(prefix, sizeof(prefix), "/channels/%s", c->id) ==
	    -1)
		return 0;
	n = strlen(prefix);
	/* The channel itself, or anything below it or with a query. */
	if (strncmp(res->path, prefix, n) != 0 ||
	    strchr("/?", res->path[n]) == NULL)
		return 0;
	if (json_object_object_get_ex(res->body, "message", &m))
		msg = json_object_get_string(m);
	if (res->status == 409)
		return strstr(msg, "not in Stasis") != NULL;
	return strcmp(msg, "Provided variable was not found") != 0;
}
