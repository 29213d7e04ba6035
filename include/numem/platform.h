/*
 * numem/platform.h - the one door between the freestanding core and the world.
 *
 * An embedder (hypervisor, kernel, or numem's own hosted build) fills one
 * struct numem_platform and hands it to every init call.  The core never calls
 * anything else outside memcpy/memset/memmove/memcmp.  Hot paths (page
 * lookup, later allocation) never call through this struct: it is for boot,
 * diagnostics and slow paths only.
 *
 * Contracts, per callback:
 *
 *  meta_alloc   Metadata.  Returns `bytes` bytes aligned to `align`
 *               (a power of two, <= 4096 unless the embedder allows more),
 *               preferably on node `nid` (NUMEM_NID_NONE: anywhere).  The
 *               memory reads as zero.  It may be backed lazily: the core
 *               relies on untouched metadata costing nothing, and reports
 *               "bytes touched" through the embedder.  NULL on failure.
 *               Most calls are at boot and init (tables, topology, frame
 *               table, heap, slab), kept until the matching release.  But
 *               some calls are made at run time, for scratch that the same
 *               call gives back with meta_free before it returns (on every
 *               path, success or failure):
 *                 numem_heap_verify            per-zone tallies (a few
 *                                              hundred bytes)
 *                 numem_topo_build, emulation  ~16 KiB of old node tables
 *                 numem_domain_vnuma_tables    ~7 KiB of SRAT/SLIT entries
 *                 numem_domain_verify          ~290 KiB of per-id tallies
 *                                              and a bit per frame
 *               So an embedder whose meta_alloc is a bump allocator must
 *               still implement meta_free (a free list, or at least undoing
 *               the most recent allocation, which is what these calls need:
 *               nothing else is allocated between their alloc and free, as
 *               long as no other CPU allocates metadata meanwhile), or it
 *               leaks that much per call.  docs/EMBEDDING.md lists what is
 *               allocated when.
 *  meta_free    Optional, but see above.  Gives back a meta_alloc block
 *               (same bytes).  Called for run-time scratch, on teardown
 *               (the release functions) and on a failed init.
 *  vmap_reserve Optional (needed for the virtual frame-table layout).
 *               Reserves `bytes` of virtual address space, aligned to 4096,
 *               with nothing mapped.  NULL on failure.
 *  vmap_populate Maps zero-reading memory at [addr, addr+bytes), preferably
 *               on node `nid`; addr and bytes are 4096-aligned.  0 on success.
 *  vmap_release Gives the whole reservation back.
 *  phys_to_virt Optional.  Where the contents of physical page `pa` can be
 *               read and written, or NULL if not backed.
 *  direct_map   Optional (data, not a callback).  A linear direct map, as a
 *               kernel's PAGE_OFFSET: when not NULL, every physical address
 *               pa that phys_to_virt maps is at direct_map + pa, and
 *               phys_to_virt(ctx, pa) returns exactly that (so phys_to_virt
 *               must be set too).  It lets a caller turn an allocated pfn
 *               into an address with one add instead of an indirect call
 *               (numem_phys_to_virt below); the core's own uses stay on
 *               phys_to_virt, which also answers "not backed".
 *  log          Optional.  One line of text, no newline; level 0 = error,
 *               1 = warning, 2 = info, 3 = debug.
 *  clock_ns     Optional.  A monotonic clock in nanoseconds.
 *  panic        Optional.  Called when an assertion of the core fails
 *               (NUMEM_ASSERT: an invariant whose violation would corrupt
 *               memory), after the message went to `log` at level ERROR;
 *               `line` is that message ("numem: assertion failed in
 *               FUNCTION: CONDITION: VALUES").  It should not return (halt
 *               the machine, crash the guest, longjmp out in a test).  If
 *               it is absent, or returns, the core executes
 *               __builtin_trap().
 */
#ifndef NUMEM_PLATFORM_H
#define NUMEM_PLATFORM_H

#include <numem/types.h>

enum numem_log_level {
	NUMEM_LOG_ERROR = 0,
	NUMEM_LOG_WARN = 1,
	NUMEM_LOG_INFO = 2,
	NUMEM_LOG_DEBUG = 3,
};

struct numem_platform {
	void *ctx; /* passed back to every callback */
	void *(*meta_alloc)(void *ctx, size_t bytes, size_t align, numem_nid_t nid);
	void (*meta_free)(void *ctx, void *ptr, size_t bytes);
	void *(*vmap_reserve)(void *ctx, size_t bytes);
	int (*vmap_populate)(void *ctx, void *addr, size_t bytes, numem_nid_t nid);
	void (*vmap_release)(void *ctx, void *addr, size_t bytes);
	void *(*phys_to_virt)(void *ctx, numem_paddr_t pa);
	void (*log)(void *ctx, enum numem_log_level level, const char *line);
	uint64_t (*clock_ns)(void *ctx);
	void (*panic)(void *ctx, const char *line);
	void *direct_map; /* see above: NULL, or phys_to_virt(pa) == direct_map + pa */
};

/*
 * The address of physical address `pa`, for a caller that knows pa is
 * backed (a block the heap just gave it): one add with a direct map, else
 * the platform's phys_to_virt (NULL when unbacked or without one).
 */
static inline void *numem_phys_to_virt(const struct numem_platform *p, numem_paddr_t pa)
{
	if (p->direct_map)
		return (char *)p->direct_map + pa.v;
	return p->phys_to_virt ? p->phys_to_virt(p->ctx, pa) : 0;
}

#endif /* NUMEM_PLATFORM_H */
