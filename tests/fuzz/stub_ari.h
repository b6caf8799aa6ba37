/*
 * stub_ari.h — an ARI that the harness answers (stub_ari.c), linked in
 * place of common/ari_rest.c by fuzz_flow_events.
 */
#ifndef MAI_STUB_ARI_H
#define MAI_STUB_ARI_H

#include <stddef.h>

struct ari_rest;

size_t	stub_ari_pending(const struct ari_rest *);
int	stub_ari_answer(struct ari_rest *, long, int, const char *, size_t);

#endif /* MAI_STUB_ARI_H */
