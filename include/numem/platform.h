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
 *  meta_alloc   Boot-time metadata.  Returns `bytes` bytes aligned to `align`
 *               (a power of two, <= 4096 unless the embedder allows more),
 *               preferably on node `nid` (NUMEM_NID_NONE: anywhere).  The
 *               memory reads as zero.  It may be backed lazily: the core
 *               relies on untouched metadata costing nothing, and reports
 *               "bytes touched" through the embedder.  NULL on failure.
 *  meta_free    Optional.  Gives back a meta_alloc block (same bytes).  The
 *               core only calls it on teardown and on a failed init.
 *  vmap_reserve Optional (needed for the virtual frame-table layout).
 *               Reserves `bytes` of virtual address space, aligned to 4096,
 *               with nothing mapped.  NULL on failure.
 *  vmap_populate Maps zero-reading memory at [addr, addr+bytes), preferably
 *               on node `nid`; addr and bytes are 4096-aligned.  0 on success.
 *  vmap_release Gives the whole reservation back.
 *  phys_to_virt Optional.  Where the contents of physical page `pa` can be
 *               read and written, or NULL if not backed.
 *  log          Optional.  One line of text, no newline; level 0 = error,
 *               1 = warning, 2 = info, 3 = debug.
 *  clock_ns     Optional.  A monotonic clock in nanoseconds.
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
};

#endif /* NUMEM_PLATFORM_H */
