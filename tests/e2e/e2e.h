/*
 * e2e.h — what the end-to-end suites share: driving tests/e2e/asterisk.sh.
 */
#ifndef MAI_E2E_H
#define MAI_E2E_H

#include <stddef.h>

const char	*e2e_src(void);
int		 ast(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

#endif
