/*
 * fuzz_config.c — the supervisor's configuration file reader
 * (supervisor/config.c, MAI_CONFIG_FILE's KEY=VALUE lines) and the
 * checks of every value it sets, through config_load() as at start and
 * on SIGHUP.
 *
 * The file is a memfd named by /proc/self/fd/N, so config.c reads it
 * with its own fopen()/fgets() unchanged.  Inputs that set a *_FILE
 * variable are skipped: they would make config.c open any path (a FIFO
 * or a terminal blocks), which is the operator's right, not a parser's
 * bug.  Property: ARI_HOST, where the password goes, is taken only from
 * a line of the file that starts with ARI_HOST= (a line cut into pieces
 * must not make one of its pieces a setting).
 */
#include <sys/mman.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	conf_fd = -1;

static int
memfd_with(const char *name, const char *content)
{
	int	fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC)) == -1 ||
	    write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		abort();
	return fd;
}

/* The environment the file's lines override. */
static void
setup(void)
{
	char	path[64];
	int	flows_fd;

	log_init("fuzz", LOG_LVL_ERROR, 0);
	conf_fd = memfd_with("mai.conf", "");
	flows_fd = memfd_with("flows.json", "{}\n");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", conf_fd);
	setenv("MAI_CONFIG_FILE", path, 1);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", flows_fd);
	setenv("FLOWS_FILE", path, 1);
	setenv("ARI_USER", "mai", 1);
	setenv("ARI_PASSWORD", "fuzz-secret", 1);
	setenv("MAI_USER", "nobody", 1);
	unsetenv("ARI_HOST");
	config_capture_env();
}

/* Is there a line whose first non-blank bytes are "ARI_HOST="? */
static int
has_host_line(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *end = data + size, *nl;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		while (p < nl && isspace(*p))
			p++;
		if ((size_t)(nl - p) >= 9 && memcmp(p, "ARI_HOST=", 9) == 0)
			return 1;
		p = nl + 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sup_config	*c;
	char			 err[1024];
	int			 rc;

	if (conf_fd == -1)
		setup();
	if (memmem(data, size, "_FILE=", 6) != NULL)
		return 0;
	if (ftruncate(conf_fd, 0) == -1 ||
	    pwrite(conf_fd, data, size, 0) != (ssize_t)size)
		abort();
	if ((c = malloc(sizeof(*c))) == NULL)
		abort();
	err[0] = '\0';
	rc = config_load(c, err, sizeof(err));
	if (rc == -1 && err[0] == '\0')
		abort();	/* a refusal must say why */
	if (rc == 0 && strcmp(c->ari_host, "127.0.0.1") != 0 &&
	    !has_host_line(data, size)) {
		fprintf(stderr, "ARI_HOST=%s from no ARI_HOST= line\n",
		    c->ari_host);
		abort();
	}
	config_free(c);
	free(c);
	return 0;
}
