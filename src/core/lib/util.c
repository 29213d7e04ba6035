/*
 * util.c - sorting and metadata allocation for the core.
 *
 * numem__sort is a heap sort: O(n log n) worst case and no recursion, so an
 * adversarial table (thousands of entries) can neither slow boot to a crawl
 * nor exhaust a small hypervisor stack.
 */
#include "internal.h"

static void swap_bytes(uint8_t *a, uint8_t *b, size_t size)
{
	while (size--) {
		uint8_t t = *a;
		*a++ = *b;
		*b++ = t;
	}
}

static void sift_down(uint8_t *base, size_t root, size_t n, size_t size,
                      int (*cmp)(const void *, const void *, void *), void *arg)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && cmp(base + child * size, base + (child + 1) * size, arg) < 0)
			child++;
		if (cmp(base + root * size, base + child * size, arg) >= 0)
			return;
		swap_bytes(base + root * size, base + child * size, size);
		root = child;
	}
}

void numem__sort(void *base, size_t n, size_t size,
                 int (*cmp)(const void *a, const void *b, void *arg), void *arg)
{
	uint8_t *b = base;
	if (n < 2)
		return;
	NUMEM_DEBUG_ASSERT(0, size && n <= SIZE_MAX / size, "%zu elements of %zu bytes overflow", n,
	                   size);
	for (size_t i = n / 2; i-- > 0;)
		sift_down(b, i, n, size, cmp, arg);
	for (size_t end = n - 1; end > 0; end--) {
		swap_bytes(b, b + end * size, size);
		sift_down(b, 0, end, size, cmp, arg);
	}
}

void *numem__meta_alloc(const struct numem_platform *plat, size_t bytes, numem_nid_t nid)
{
	if (!plat || !plat->meta_alloc || bytes == 0)
		return 0;
	void *p = plat->meta_alloc(plat->ctx, bytes, 64, nid);
	/* Descriptors and counters in metadata take 8-byte atomics, which a
	 * block misaligned for them would tear or fault on; the 64 asked for
	 * (no false sharing) is checked in debug builds. */
	NUMEM_ASSERT(plat, ((uintptr_t)p & 7) == 0,
	             "meta_alloc(%zu bytes, align 64, node %u) returned %p, misaligned for "
	             "8-byte atomics",
	             bytes, (unsigned)nid, p);
	NUMEM_DEBUG_ASSERT(plat, ((uintptr_t)p & 63) == 0,
	                   "meta_alloc(%zu bytes, align 64, node %u) returned %p, not 64-aligned",
	                   bytes, (unsigned)nid, p);
	return p;
}

void numem__meta_free(const struct numem_platform *plat, void *ptr, size_t bytes)
{
	NUMEM_DEBUG_ASSERT(plat, !ptr || bytes, "meta_free(%p) of 0 bytes", ptr);
	if (ptr && plat && plat->meta_free)
		plat->meta_free(plat->ctx, ptr, bytes);
}
