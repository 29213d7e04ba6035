/*
 * affinity.h - pinning the threads of the two-thread cases (bench/alloc's
 * driver and workers), so that the scheduler cannot stack them on one CPU
 * for part of a run.  Needs _GNU_SOURCE.
 */
#ifndef NUMEM_BENCH_AFFINITY_H
#define NUMEM_BENCH_AFFINITY_H

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

/* The i-th CPU this process may run on, or -1 when it may run on fewer
 * than two (then nothing is pinned). */
static inline int bench_host_cpu(int i)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) || CPU_COUNT(&set) < 2)
		return -1;
	for (int c = 0, seen = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set) && seen++ == i)
			return c;
	return -1;
}

/* Pin the calling thread to CPU c (nothing for c < 0). */
static inline void bench_pin_to(int c)
{
	if (c < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(c, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		abort();
}

#endif
