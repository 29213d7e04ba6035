/* Page helpers the tmem benches share (bench/tmem.c, bench/tmem_split.c). */
#ifndef NUMEM_BENCH_TMEM_PAGES_H
#define NUMEM_BENCH_TMEM_PAGES_H

#include <numem/platform.h>
#include <stdint.h>
#include <string.h>

/* The page at pfn through the platform's mapping. */
static inline uint8_t *bench_page_virt(const struct numem_platform *plat, uint64_t pfn)
{
	return plat->phys_to_virt(plat->ctx, numem_pfn_to_paddr(numem_pfn(pfn)));
}

/* An incompressible page: xorshift words from `seed`. */
static inline void bench_fill_random(uint8_t *p, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (int i = 0; i < 4096; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
}

#endif
