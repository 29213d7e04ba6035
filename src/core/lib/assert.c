/*
 * assert.c - the failure path of NUMEM_ASSERT (see assert.h).
 *
 * It runs when the core's state is already wrong, so it allocates nothing
 * and takes no lock: one line on the stack, the platform's log, the
 * platform's panic, then a trap.
 */
#include "internal.h"

void numem__assert_fail(const struct numem_platform *plat, const char *func, const char *cond,
                        const char *fmt, ...)
{
	char line[320];
	size_t n =
	    numem__fmt(line, sizeof(line), "numem: assertion failed in %s: %s: ", func, cond);
	if (n < sizeof(line)) {
		va_list ap;
		va_start(ap, fmt);
		numem__vfmt(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
	}
	if (plat && plat->log)
		plat->log(plat->ctx, NUMEM_LOG_ERROR, line);
	if (plat && plat->panic)
		plat->panic(plat->ctx, line);
	__builtin_trap();
}
