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
	atomic_store_explicit(l, 0, memory_order_release);
}

/*
 * Debug builds: a function that needs a lock held checks that it is (the
 * lock word is the holder flag; it cannot tell which CPU holds it, so it
 * catches "nobody took it", the common mistake).  A trap, not a message:
 * this is internal corruption, never input.  To be switched to the core's
 * assertion macro (lib/assert.h) when that lands.
 */
#ifdef NUMEM_DEBUG
#define numem__assert_held(l)                                                                      \
	do {                                                                                       \
		if (!atomic_load_explicit((l), memory_order_relaxed))                              \
			__builtin_trap();                                                          \
	} while (0)
#else
#define numem__assert_held(l) ((void)0)
#endif

#endif /* NUMEM_CORE_SPINLOCK_H */
