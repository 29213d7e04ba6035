/*
 * owner.c - who holds an allocated block, and the operations that change a
 * block's shape or holder without freeing it: splitting (Linux's
 * split_page()) and handing over.
 *
 * The owner lives in the head descriptor (NUMEM_PG_OWNER_*).  Each
 * operation here checks, before it writes anything, that the named owner
 * holds an allocated block of exactly that order at that pfn
 * (numem__check_allocated, shared with numem_free), so a caller can only
 * reshape or give away what it holds.  The caller holds the block, so no
 * other CPU writes these descriptors; a CPU merging a neighbouring free
 * block reads them (relaxed) and sees allocated heads, which never merge.
 */
#include "heap_internal.h"

const char *numem_owner_name(uint16_t owner, char *buf, size_t cap)
{
	switch (owner) {
	case NUMEM_OWNER_HEAP:
		return "the heap's user (owner 0)";
	case NUMEM_OWNER_SLAB:
		return "the slab allocator";
	case NUMEM_OWNER_SLAB_LARGE:
		return "a slab large allocation";
	case NUMEM_OWNER_TMEM:
		return "tmem";
	default:
		break;
	}
	if (owner <= NUMEM_OWNER_DOMAIN_MAX)
		numem__fmt(buf, cap, "domain %u", owner);
	else
		numem__fmt(buf, cap, "reserved owner 0x%x", owner);
	return buf;
}

enum numem_err numem_heap_split(struct numem_heap *h, numem_pfn_t pfn, unsigned order,
                                unsigned new_order, uint16_t owner, struct numem_diag *diag)
{
	if (!h)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_heap_split: no heap");
	enum numem_err err;
	struct numem_page *pg =
	    numem__check_allocated(h, "numem_heap_split", pfn, order, owner, &err, diag);
	if (!pg)
		return err;
	if (new_order >= order)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_heap_split: pfn 0x%llx: new order %u is not below the "
		                   "block's order %u",
		                   (unsigned long long)pfn.v, new_order, order);
	uint64_t f = numem__pg_flags(pg);
	const uint64_t shape = NUMEM__PG_STATE_BITS | NUMEM__PG_OWNER_BITS |
	                       NUMEM_PG_ORDER_MASK << NUMEM_PG_ORDER_SHIFT |
	                       NUMEM_PG_ZONE_MASK << NUMEM_PG_ZONE_SHIFT |
	                       NUMEM_PG_NODE_MASK << NUMEM_PG_NODE_SHIFT;
	/* The new heads take the block's state, owner, zone and node and the
	 * smaller order; each keeps its own section bits and poison mark. */
	uint64_t head = (f & shape & ~(NUMEM_PG_ORDER_MASK << NUMEM_PG_ORDER_SHIFT)) |
	                (uint64_t)new_order << NUMEM_PG_ORDER_SHIFT;
	uint64_t step = 1ull << new_order, n = 1ull << order;
	for (uint64_t i = step; i < n; i += step) {
		struct numem_page *sub = numem_pfn_to_page(h->ft, numem_pfn(pfn.v + i));
		sub->private = pg->private;
		numem__pg_store(sub, (numem__pg_flags(sub) & ~shape) | head);
	}
	numem__pg_store(pg, (f & ~shape) | head);
	return NUMEM_OK;
}

enum numem_err numem_heap_set_owner(struct numem_heap *h, numem_pfn_t pfn, unsigned order,
                                    uint16_t from, uint16_t to, struct numem_diag *diag)
{
	if (!h)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_heap_set_owner: no heap");
	enum numem_err err;
	struct numem_page *pg =
	    numem__check_allocated(h, "numem_heap_set_owner", pfn, order, from, &err, diag);
	if (!pg)
		return err;
	numem__pg_set_state_owner(pg, NUMEM_PS_ALLOCATED, to);
	return NUMEM_OK;
}
