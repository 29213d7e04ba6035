/*
 * numem/slab.h - small objects on top of the page allocator: per-node object
 * caches with per-CPU magazines, and size-classed general allocation (the
 * role of Xen's xmalloc and Linux's SLUB).
 *
 * Model.  A slab is one 16 KiB block (order 2) from the heap, on the node of
 * the CPU that needed it, whose first bytes are its header (cache, node,
 * free list, a held byte per object); objects follow.  Because every
 * slab is 16 KiB and naturally aligned in both physical and virtual space,
 * an object's slab is its address rounded down to 16 KiB: freeing needs
 * neither a size nor a lookup.  Allocations larger than the biggest class
 * take whole blocks from the heap with the same 16 KiB-aligned header.
 * The platform's phys_to_virt must therefore be linear within each 4 MiB
 * max-order block (a direct map is).
 *
 * Each CPU keeps a magazine of up to NUMEM_SLAB_MAG free objects per cache;
 * the owner's fast path (pop or push, set or clear the object's bit) takes
 * no lock and makes no indirect call.  An empty magazine refills from the
 * node's partial slabs under the node cache's lock; a full one flushes half
 * back to the objects' own slabs.  Empty slabs beyond a few per node go back
 * to the heap, and a heap shrinker gives back all of them under pressure.
 *
 * Bad input (a pointer into no slab, not at an object's start, or an object
 * already free) gets a specific error and changes nothing.  A pointer
 * outside every address a slab ever had is refused without being read; one
 * inside that span is checked through the header it would have (in mapped
 * memory, since the span lies in the platform's physical-memory mapping).
 *
 * Relayout (relayout.h).  A slab is on the lists of the node the heap's
 * layout in force gives its pages.  numem_slab_init() subscribes the
 * allocator to the heap's relayout notifier: after a commit, each slab of
 * a moved range leaves its old node's lists and joins its new node's (the
 * same list, counts with it); meanwhile its header's node reads
 * NUMEM_NID_NONE and a CPU flushing an object to it waits for it to land.
 * The slab's pages stay where they are (pending) until it is given back.
 *
 * Locks: one node cache lock at a time, never with a heap lock held; the
 * heap is called (for slab pages) with none held.  The whole order is
 * written once, in heap.h ("Lock order").
 */
#ifndef NUMEM_SLAB_H
#define NUMEM_SLAB_H

#include <numem/heap.h>
#include <numem/relayout.h>
#include <numem/types.h>

#define NUMEM_SLAB_ORDER     2
#define NUMEM_SLAB_BYTES     (NUMEM_PAGE_SIZE << NUMEM_SLAB_ORDER) /* 16 KiB */
#define NUMEM_SLAB_MAG       32 /* objects per per-CPU magazine */
#define NUMEM_SLAB_CACHES    48 /* caches per allocator, size classes included */
#define NUMEM_SLAB_KEEP      2  /* empty slabs kept per node before giving back */
#define NUMEM_SLAB_MAX_OBJS  1024
#define NUMEM_SLAB_LARGE_HDR 64u /* bytes before a large allocation's user pointer */
/* The largest numem_kmalloc(): a max-order block less the header. */
#define NUMEM_KMALLOC_MAX (((size_t)NUMEM_PAGE_SIZE << NUMEM_MAX_ORDER) - NUMEM_SLAB_LARGE_HDR)

struct numem_slab_hdr;
struct numem_slab;

/* A node's part of a cache.  Protected by lock. */
struct numem_cache_node {
	_Atomic int lock;
	struct numem_slab_hdr *partial, *full, *empty;
	uint64_t nr_slabs, nr_empty;
	uint64_t objs_in_slabs; /* objects not on slab free lists */
};

struct numem_cache {
	char name[24];
	uint32_t index;
	uint32_t size; /* object size, rounded to the alignment */
	uint32_t align;
	uint32_t offset;   /* of the first object in a slab */
	uint32_t per_slab; /* objects per slab */
	uint32_t recip;    /* ceil(2^32 / size): offset -> index without a divide */
	struct numem_slab *slab;
	struct numem_slab_mag *mag; /* [cpu]: this cache's magazines */
	struct numem_cache_node node[NUMEM_MAX_NODES];
	/* statistics: slow-path counts (atomic: bumped under different
	 * nodes' locks) */
	_Atomic uint64_t allocs_slow, frees_slow, slabs_created, slabs_freed;
};

/* One CPU's magazine for one cache.  A whole number of cache lines: a
 * cache's magazines lie side by side, one per CPU. */
struct numem_slab_mag {
	uint32_t n;
	void *obj[NUMEM_SLAB_MAG];
	uint8_t pad_[64 - (sizeof(void *) * (1 + NUMEM_SLAB_MAG)) % 64];
};

struct numem_slab {
	struct numem_heap *heap;
	uint32_t nr_caches;
	struct numem_cache cache[NUMEM_SLAB_CACHES];
	struct numem_slab_mag *mag; /* [cache * nr_cpus + cpu] (cache->mag is its row) */
	uint8_t class_of[256];      /* (size + 15) / 16 -> size-class cache, 0xff: large */
	uint32_t nr_classes;
	struct numem_shrinker shrinker;
	_Atomic uint64_t large_blocks; /* live large allocations */
	/* Lowest and highest address any slab or large block ever had: a
	 * pointer outside is refused before anything is read through it. */
	_Atomic uintptr_t lo, hi;
	size_t mag_bytes;
	struct numem_relayout_notifier relayout; /* the allocator's subscription */
	_Atomic uint64_t slabs_relaid;           /* slabs moved to another node's lists */
};

/* Set up over a heap (whose platform must have phys_to_virt) with the
 * general size classes 16 B .. 4032 B; registers a shrinker and a relayout
 * notifier (numem_slab_release() removes both). */
enum numem_err numem_slab_init(struct numem_slab *s, struct numem_heap *heap,
                               struct numem_diag *diag);
/* Every object must have been freed; gives all slabs back, draining every
 * CPU's magazines and shrinking through CPU 0's handle: no CPU may be using
 * its handle meanwhile. */
void numem_slab_release(struct numem_slab *s);

/* A named cache of objects of one size (1 .. 4032 bytes), alignment a power
 * of two up to 4096 (0: 16). */
struct numem_cache *numem_cache_create(struct numem_slab *s, const char *name, size_t size,
                                       size_t align, struct numem_diag *diag);

/* NULL when no memory is left (diag says why). */
void *numem_cache_alloc(struct numem_cpu *cpu, struct numem_cache *c, struct numem_diag *diag);
/* Any size up to NUMEM_KMALLOC_MAX: a size class, or whole blocks above
 * 4032 bytes.  A larger size is NULL with NUMEM_E_INVAL (diag names the size
 * and the limit), checked before any rounding.  Size 0 gets the smallest
 * object (like malloc(0), a unique pointer numem_kfree() takes back). */
void *numem_kmalloc(struct numem_slab *s, struct numem_cpu *cpu, size_t size,
                    struct numem_diag *diag);
/* Frees what numem_cache_alloc or numem_kmalloc returned.  NUMEM_E_INVAL
 * for no cpu, a pointer into no slab or not at an object's start, or whose
 * in-band header the heap does not confirm (a header forged inside a
 * caller's own block names a pfn that is not the head of a slab block with
 * that header); NUMEM_E_DOUBLE_FREE for an object already free.  Nothing
 * changes on error.  Two CPUs freeing one object or large allocation at the
 * same moment: a large allocation is claimed with a compare-and-swap of its
 * header (exactly one wins, the other gets NUMEM_E_DOUBLE_FREE); an object
 * is claimed atomically where numem_heap_free_is_atomic() is true and is the
 * caller's bug elsewhere, as for numem_free. */
enum numem_err numem_kfree(struct numem_slab *s, struct numem_cpu *cpu, void *ptr,
                           struct numem_diag *diag);

/* Give this CPU's magazines back to the slabs. */
void numem_slab_drain_cpu(struct numem_slab *s, struct numem_cpu *cpu);
/* Give empty slabs back to the heap; returns pages given back. */
uint64_t numem_slab_shrink(struct numem_slab *s, struct numem_cpu *cpu);

/* /proc/slabinfo-like figures for one cache. */
struct numem_slab_info {
	uint64_t active_objs, num_objs, active_slabs, num_slabs;
	uint32_t objsize, objperslab, pagesperslab;
};
void numem_slab_cache_info(const struct numem_slab *s, const struct numem_cache *c,
                           struct numem_slab_info *out);

/* Walk every slab: headers, free lists, held bytes, counts against
 * magazines, and each slab on the lists of the node the layout in force
 * gives its pages.  Needs the CPUs quiescent. */
enum numem_err numem_slab_verify(struct numem_slab *s, struct numem_diag *diag);

#endif /* NUMEM_SLAB_H */
