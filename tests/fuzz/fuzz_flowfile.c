/*
 * fuzz_flowfile.c — the flow-file parser (flow-worker/flowfile.c with
 * flowjson.c, flowact.c and flowcheck.c) over arbitrary file bytes, as
 * the flow-worker meets them in a FLOWS frame.
 *
 * A file is taken whole or not at all: a refusal must say why, and a
 * taken file must route only to flows it has.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "flow.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 quiet;
	struct flowset	*fs;
	char		 err[FLOW_ERR_MAX];
	size_t		 i;

	if (!quiet) {
		log_init("fuzz", LOG_LVL_ERROR, 0);
		quiet = 1;
	}
	err[0] = '\0';
	fs = flowset_parse("fuzz.json", (const char *)data, size, err,
	    sizeof(err));
	if (fs == NULL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (fs->dflt >= (int)fs->nflows)
		abort();
	for (i = 0; i < fs->nroutes; i++)
		if (fs->routes[i].flow < 0 ||
		    (size_t)fs->routes[i].flow >= fs->nflows)
			abort();
	for (i = 0; i < fs->nflows; i++)
		if (fs->flows[i].initial < 0 ||
		    (size_t)fs->flows[i].initial >= fs->flows[i].nstates)
			abort();
	(void)flowset_route(fs, "43720270346", NULL);
	flowset_unref(fs);
	return 0;
}
