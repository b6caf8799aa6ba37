/*
 * Id-keyed hash tables with chaining.  Entries are embedded in the
 * objects they name (channels, bridges, playbacks, recordings), so a
 * table never allocates per entry.
 */

#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* FNV-1a: ids are short and the table is sized for its bound. */
static size_t
tab_hash(const struct sim_tab *t, const char *key)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return (size_t)h & (t->nb - 1);
}

/* nb is rounded up to a power of two. */
int
sim_tab_init(struct sim_tab *t, size_t nb)
{
	size_t	n = 16;

	while (n < nb)
		n *= 2;
	if ((t->b = calloc(n, sizeof(t->b[0]))) == NULL)
		return -1;
	t->nb = n;
	t->n = 0;
	return 0;
}

void
sim_tab_free(struct sim_tab *t)
{
	free(t->b);
	memset(t, 0, sizeof(*t));
}

struct sim_hent *
sim_tab_find(const struct sim_tab *t, const char *key)
{
	struct sim_hent	*e;

	if (t->b == NULL)
		return NULL;
	for (e = t->b[tab_hash(t, key)]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

void
sim_tab_add(struct sim_tab *t, struct sim_hent *e)
{
	size_t	i = tab_hash(t, e->key);

	e->next = t->b[i];
	t->b[i] = e;
	t->n++;
}

void
sim_tab_del(struct sim_tab *t, struct sim_hent *e)
{
	struct sim_hent	**pp;

	for (pp = &t->b[tab_hash(t, e->key)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			t->n--;
			return;
		}
}
