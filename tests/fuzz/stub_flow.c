/*
 * stub_flow.c — what the flow-worker's objects need from its main.c,
 * which the harnesses replace.  A reload (FLOWS frame) is not driven
 * here: fuzz_flowfile calls the parser itself.
 */
#include "flow.h"

void
flow_flows_take(struct flow *f, const char *buf, size_t len)
{
	(void)f;
	(void)buf;
	(void)len;
}
