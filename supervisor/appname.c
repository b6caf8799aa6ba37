/*
 * appname.c — ARI_APP per instance: "%h" is the host name.
 *
 * Several mai instances on one edge need an application name each
 * (StasisBroadcast() offers a call to every matching application, the
 * first claim wins; docs/scaling.md).  With ARI_APP=mai-%h every replica
 * of one container image or Kubernetes Deployment has its own name
 * (Docker: the container id, Kubernetes: the pod name) and nothing else
 * needs configuring.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "supervisor.h"

/* Linux's HOST_NAME_MAX is 64; one more for the NUL. */
#define APPNAME_HOST_MAX	65

/*
 * A host name may hold what an ARI name should not (a DNS name's other
 * characters never appear, but a container runtime can set anything):
 * keep letters, digits, '.', '_' and '-', anything else becomes '-'.
 */
static void
appname_host(char *host, size_t size)
{
	char	*p;

	if (gethostname(host, size) == -1 || host[0] == '\0')
		snprintf(host, size, "localhost");
	host[size - 1] = '\0';
	for (p = host; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._-", *p) != NULL))
			*p = '-';
}

/*
 * Replace "%h" in app (size bytes) with the host name.  Any other '%'
 * (an ARI name cannot hold one), or a result that does not fit, is an
 * error for the operator (err says which); app is unchanged then.
 */
int
appname_expand(char *app, size_t size, char *err, size_t errlen)
{
	char		 out[sizeof(((struct sup_config *)0)->ari_app)];
	char		 host[APPNAME_HOST_MAX];
	const char	*p, *add;
	size_t		 n = 0, len;

	if (strchr(app, '%') == NULL)
		return 0;
	appname_host(host, sizeof(host));
	for (p = app; *p != '\0'; p++) {
		add = NULL;
		if (*p == '%' && p[1] == 'h')
			add = host;
		else if (*p == '%') {
			snprintf(err, errlen, "ARI_APP=%s: '%%' only as %%h (the "
			    "host name), e.g. ARI_APP=mai-%%h", app);
			return -1;
		}
		if (add != NULL)
			p++;
		len = add != NULL ? strlen(add) : 1;
		if (n + len >= sizeof(out) || n + len >= size) {
			snprintf(err, errlen, "ARI_APP=%s is too long with the "
			    "host name %s: at most %zu bytes; shorten the "
			    "prefix", app, host, size - 1);
			return -1;
		}
		memcpy(out + n, add != NULL ? add : p, len);
		n += len;
	}
	out[n] = '\0';
	memcpy(app, out, n + 1);
	return 0;
}
