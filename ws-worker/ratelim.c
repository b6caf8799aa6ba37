/*
 * ratelim.c — keep warnings a peer can trigger from flooding the log.
 *
 * A malformed or oversized event, or a full queue, can repeat thousands of
 * times a second; one line per RATELIM_INTERVAL_MS with the number of
 * lines left out says the same without drowning everything else.
 */
#include "ws.h"

/*
 * True when a line may go out now; *suppressed then holds how many were
 * held back since the last one, for the caller to print.
 */
bool
ratelim_pass(struct ratelim *rl, uint64_t *suppressed)
{
	lws_usec_t	now = lws_now_usecs();

	if (rl->last != 0 && now - rl->last < RATELIM_INTERVAL_MS * MSEC) {
		rl->suppressed++;
		return false;
	}
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->last = now;
	return true;
}
