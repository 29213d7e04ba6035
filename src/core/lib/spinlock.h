/*
 * spinlock.h - the core's spinlock, on C11 atomics (core-internal).
 *
 * A test-and-test-and-set lock: an exchange to take it, relaxed loads while
 * it is held by another CPU, release on unlock.  Which lock may be taken
 * while holding which is written once, in heap.h ("Lock order").
 */
#ifndef NUMEM_CORE_SPINLOCK_H
#define NUMEM_CORE_SPINLOCK_H

#include <stdatomic.h>

#include "assert.h"

static inline void numem__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static inline void numem__lock(_Atomic int *l)
{
	for (;;) {
		if (!atomic_exchange_explicit(l, 1, memory_order_acquire))
			return;
		while (atomic_load_explicit(l, memory_order_relaxed))
			numem__cpu_relax();
	}
}

static inline void numem__unlock(_Atomic int *l)
{
	NUMEM_DEBUG_ASSERT(0, atomic_load_explicit(l, memory_order_relaxed),
	                   "unlocking lock %p that is not held", (void *)l);
	atomic_store_explicit(l, 0, memory_order_release);
}

/*
 * Debug builds: assert that `l` is held, where a function's contract says
 * "zone lock held".  The lock records no owner (one int, taken by any CPU),
 * so this catches a caller that forgot the lock, not one that relies on
 * another CPU's hold; that needs the caller's CPU id in the lock word.
 */
#define numem__lock_assert_held(plat, l)                                                           \
	NUMEM_DEBUG_ASSERT(plat, atomic_load_explicit((l), memory_order_relaxed) != 0,             \
	                   "lock %s (%p) not held", #l, (void *)(l))

#endif /* NUMEM_CORE_SPINLOCK_H */
