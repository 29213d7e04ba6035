/*
 * debug.c - page poisoning (the `poison` option, default in NUMEM_DEBUG
 * builds; needs phys_to_virt).
 */
#include "heap_internal.h"

/*
 * Poisoning (debug): a freed block's bytes are set to POISON_BYTE and each
 * page's descriptor gets NUMEM_PG_POISONED; an allocation checks the bytes
 * of every page so marked, so a write after free is caught when the page is
 * handed out again.  Pages never freed since boot carry no mark.
 */
void numem__poison_block(struct numem_heap *h, uint64_t pfn, unsigned order)
{
	for (uint64_t i = 0; i < (1ull << order); i++) {
		void *v =
		    h->plat->phys_to_virt(h->plat->ctx, numem_pfn_to_paddr(numem_pfn(pfn + i)));
		if (!v)
			continue;
		memset(v, POISON_BYTE, NUMEM_PAGE_SIZE);
		struct numem_page *pg = numem_pfn_to_page(h->ft, numem_pfn(pfn + i));
		numem__pg_store(pg, numem__pg_flags(pg) | NUMEM_PG_POISONED);
	}
}

/* A page of poison to compare with (memcmp is the embedder's fast one). */
static const uint8_t poison_page[NUMEM_PAGE_SIZE] = {
    [0 ... NUMEM_PAGE_SIZE - 1] = POISON_BYTE,
};

enum numem_err numem__check_poison(struct numem_heap *h, uint64_t pfn, unsigned order,
                                   struct numem_diag *diag)
{
	for (uint64_t i = 0; i < (1ull << order); i++) {
		struct numem_page *pg = numem_pfn_to_page(h->ft, numem_pfn(pfn + i));
		uint64_t f = numem__pg_flags(pg);
		if (!(f & NUMEM_PG_POISONED))
			continue;
		numem__pg_store(pg, f & ~NUMEM_PG_POISONED);
		const uint8_t *v =
		    h->plat->phys_to_virt(h->plat->ctx, numem_pfn_to_paddr(numem_pfn(pfn + i)));
		if (!v || memcmp(v, poison_page, NUMEM_PAGE_SIZE) == 0)
			continue;
		for (uint32_t b = 0; b < NUMEM_PAGE_SIZE; b++)
			if (v[b] != POISON_BYTE)
				return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
				                   "numem_alloc: pfn 0x%llx byte %u is 0x%02x, not "
				                   "the poison 0x%02x: written after it was freed",
				                   (unsigned long long)(pfn + i), b, v[b],
				                   POISON_BYTE);
	}
	return NUMEM_OK;
}
