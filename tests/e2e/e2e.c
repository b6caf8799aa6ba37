/*
 * e2e.c — run tests/e2e/asterisk.sh (start, stop, cli …) from a suite.
 */
#include <sys/wait.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "e2e.h"

const char *
e2e_src(void)
{
	const char	*s = getenv("MAI_SRC");

	return s != NULL ? s : "../..";
}

/* asterisk.sh ARGS; its stdout into out (if given), stderr to ours. */
int
ast(char *out, size_t size, const char *fmt, ...)
{
	char	args[512], cmd[1100];
	va_list	ap;
	FILE	*fp;
	size_t	n = 0;
	int	st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s/tests/e2e/asterisk.sh' %s", e2e_src(),
	    args);
	if ((fp = popen(cmd, "r")) == NULL)
		return -1;
	if (out != NULL)
		n = fread(out, 1, size - 1, fp);
	else
		while (fgetc(fp) != EOF)
			;
	if (out != NULL)
		out[n] = '\0';
	st = pclose(fp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
