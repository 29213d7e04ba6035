/*
 * assert.h - the core's assertions (core-internal; included by internal.h).
 *
 * Two levels, after FreeBSD's KASSERT and Hafnium's CHECK:
 *
 *  NUMEM_ASSERT(plat, cond, fmt, ...)        always compiled in.  For cheap
 *      checks of invariants whose violation would corrupt memory if the
 *      code went on: a descriptor array that is not there, an index past a
 *      table, metadata the platform returned misaligned.  Never for
 *      anything input can cause (a bad table, a bad pfn from the caller):
 *      that is an error return with a numem_diag.
 *  NUMEM_DEBUG_ASSERT(plat, cond, fmt, ...)  only with NUMEM_DEBUG (Debug
 *      builds define it); compiled out otherwise, but still type-checked
 *      and never evaluated.  For expensive checks and lock-held checks
 *      (numem__lock_assert_held in lib/spinlock.h).
 *
 * On failure numem__assert_fail formats one line
 *     numem: assertion failed in FUNCTION: CONDITION: VALUES
 * where VALUES is fmt applied to the arguments (the bad index, pfn,
 * pointer, and what was expected), logs it through plat->log at
 * NUMEM_LOG_ERROR, calls plat->panic with the same line if the platform has
 * one, and if that returns (or there is none, or plat is NULL) executes
 * __builtin_trap().  It never returns.
 */
#ifndef NUMEM_CORE_ASSERT_H
#define NUMEM_CORE_ASSERT_H

#include <numem/platform.h>

void numem__assert_fail(const struct numem_platform *plat, const char *func, const char *cond,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5), noreturn, cold));

#define NUMEM_ASSERT(plat, cond, ...)                                                              \
	do {                                                                                       \
		if (__builtin_expect(!(cond), 0))                                                  \
			numem__assert_fail((plat), __func__, #cond, __VA_ARGS__);                  \
	} while (0)

#ifdef NUMEM_DEBUG
#define NUMEM_DEBUG_ASSERT(plat, cond, ...) NUMEM_ASSERT(plat, cond, __VA_ARGS__)
#else
#define NUMEM_DEBUG_ASSERT(plat, cond, ...)                                                        \
	do {                                                                                       \
		if (0 && !(cond))                                                                  \
			numem__assert_fail((plat), __func__, #cond, __VA_ARGS__);                  \
	} while (0)
#endif

#endif /* NUMEM_CORE_ASSERT_H */
