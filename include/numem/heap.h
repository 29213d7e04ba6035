/*
 * numem/heap.h - the NUMA-aware page allocator.
 *
 * Model.  Each node's RAM is cut into zones by physical address: DMA
 * (< 16 MiB), DMA32 (< 4 GiB), NORMAL, and optionally MOVABLE (the top
 * `movable_pages` of each node, a kernelcore=-style split).  Each zone has a
 * buddy free area for orders 0..NUMEM_MAX_ORDER and a spinlock.  Each CPU
 * (struct numem_cpu, owned by its caller) has page caches for orders up to
 * NUMEM_PCP_MAX_ORDER and for NUMEM_PCP_THP_ORDER per zone, statistics and
 * a trace ring; the owner's fast path takes no lock and makes no indirect
 * call.
 *
 * Allocation walks a zonelist: the nodes a policy names, in order (node
 * order by default: for each node, its zones from high to low; zone order
 * as an option), limited by the flags' zone limit and the caller's allowed
 * nodes.  Two fallback strategies:
 *   NUMEM_STRATEGY_LINUX  take the first zone in the list with any block of
 *                         the order or larger (splitting a larger local
 *                         block before going remote);
 *   NUMEM_STRATEGY_XEN    first look along the whole list for a block of
 *                         exactly the order, and split a larger block only
 *                         when none exists anywhere (the 2006 Xen NUMA
 *                         patch: "fall back on memory of the requested size
 *                         rather than fragmenting larger contiguous chunks").
 *
 * Watermarks: a normal request leaves a zone at least `low` free pages, or
 * `min` after the shrinkers ran; NUMEM_ALLOC_HIGH may go down to min/2.
 * Below low, registered shrinkers are asked for pages (not with
 * NUMEM_ALLOC_NORECLAIM).
 *
 * Statistics follow Linux's numastat: numa_hit (allocated on the intended
 * node), numa_miss (allocated here, another node was intended), numa_foreign
 * (intended here, allocated elsewhere), interleave_hit, local_node
 * (allocated on the allocating CPU's node), other_node.  They are per-CPU
 * and folded on read.
 *
 * Lock order.  This is the only place it is written; every spinlock of
 * the core is here (grep numem__lock), outermost first.  "A -> B" means B
 * may be taken while A is held; no other nesting exists.
 *   0. relayout commit mutex (the heap's relayout state, relayout.h):
 *      taken with no other lock held, by numem_relayout_commit() and the
 *      notifier (un)registration.  Held across the notifiers, which run
 *      with nothing else held and may take any lock below (a domain's, to
 *      migrate its frames; tmem's, to re-account its pages).  commit
 *      mutex -> apply lock (1d).
 *   1. domain manager lock (struct numem_domains.lock): taken with no other
 *      lock held; nothing below is taken under it (no heap or slab call).
 *   1b. a domain's lock (struct numem_domain.lock): never held with the
 *      manager's lock nor with another domain's; held across the heap and
 *      slab calls of a reservation (domain lock -> grow, zone, shrinker and
 *      slab locks), and so also while the shrinkers an allocation of that
 *      reservation calls run: a shrinker must not take any domain's lock
 *      nor call numem_domain_* (it could be the domain whose lock its own
 *      CPU holds: a self-deadlock on a spinlock).
 *   1c. tmem's lock (one per tmem instance, src/core/tmem): taken with no
 *      core lock held, under one domain's lock (a put or get holds the
 *      guest frame with numem_domain_frame_access; a reservation's
 *      allocation may run tmem's shrinker), or under the commit mutex (its
 *      relayout subscriber): domain lock -> tmem lock, never the reverse.
 *      Held across heap calls only for allocations with
 *      NUMEM_ALLOC_NORECLAIM (tmem lock -> apply lock -> zone locks: the
 *      allocation's slow path may catch up with a relayout; no shrinker
 *      runs), never across a free, a slab call, a shrinker or
 *      numem_domain_*: tmem gives back what it freed after dropping it (its
 *      shrinker too).
 *   1d. relayout apply lock: held by a commit while it changes the layout
 *      (apply lock -> grow lock -> zone locks), and by an allocation's or
 *      free's slow path (any caller's locks above may be held, a domain's
 *      or tmem's among them) that gives a pending block, one whose range a
 *      commit moved, to its new node (apply lock -> zone locks, one at a
 *      time).  In short windows of a commit (publishing the layout; taking
 *      one zone's free blocks off; cutting a batch of them) it holds every
 *      zone lock at once, taken in zone-index order, as the verifier does.
 *   2. grow lock (heap->grow_lock, deferred section initialisation):
 *      grow lock -> zone lock, one zone lock at a time.
 *   3. zone locks (zone->lock): a leaf.  Never held while taking another
 *      zone lock, the grow lock, the shrinker lock or a slab lock, nor while
 *      calling out (shrinkers, the platform).  Exception: the verifier and
 *      numem_heap_drain_all() hold all zone locks at once, taken in
 *      zone-index order, and need the CPUs quiescent.
 *   4. shrinker lock (heap->shrinker_lock): a leaf.  Guards the shrinker
 *      list and each shrinker's counters; it is NOT held while a shrinker
 *      runs (see struct numem_shrinker), so a shrinker may take its own
 *      locks and allocate.
 *   5. slab node-cache locks (numem_cache_node.lock): leaves.  The slab
 *      calls the heap with none held, and takes one at a time.
 * A shrinker's or embedder's own locks sit outside all of these: they may
 * be held while calling the heap or the slab, never taken under a core
 * lock.  Debug builds (NUMEM_DEBUG) check "held" where a function needs
 * its lock (numem__lock_assert_held, lib/spinlock.h).
 */
#ifndef NUMEM_HEAP_H
#define NUMEM_HEAP_H

#include <numem/memmap.h>
#include <numem/platform.h>
#include <numem/topo.h>
#include <numem/types.h>
#include <stdatomic.h>

#ifndef NUMEM_MAX_ORDER
#define NUMEM_MAX_ORDER 10 /* largest block: 2^10 pages = 4 MiB */
#endif
/* Per-CPU caches hold orders 0..NUMEM_PCP_MAX_ORDER and one large order,
 * Linux's pageblock (THP) order, 2 MiB blocks (Linux: pcp_allowed_order()):
 * at most NUMEM_PCP_THP_HIGH of those per zone and CPU, refilled and
 * drained one block at a time. */
#define NUMEM_PCP_MAX_ORDER  3
#define NUMEM_PCP_THP_ORDER  9
#define NUMEM_PCP_THP_HIGH   2u
#define NUMEM_PCP_THP_LIST   (NUMEM_PCP_MAX_ORDER + 1) /* its list in struct numem_pcp */
#define NUMEM_PCP_NR_LISTS   (NUMEM_PCP_MAX_ORDER + 2)
#define NUMEM_HEAP_MAX_CPUS  65536u     /* opts.nr_cpus at most */
#define NUMEM_HEAP_MAX_TRACE (1u << 24) /* opts.trace_entries at most (per CPU) */
#define NUMEM_NR_ORDERS      (NUMEM_MAX_ORDER + 1)
#if NUMEM_MAX_ORDER < NUMEM_PCP_THP_ORDER
#error "NUMEM_MAX_ORDER below NUMEM_PCP_THP_ORDER: lower NUMEM_PCP_THP_ORDER with it"
#endif

enum numem_zone_type {
	NUMEM_ZONE_DMA = 0,
	NUMEM_ZONE_DMA32 = 1,
	NUMEM_ZONE_NORMAL = 2,
	NUMEM_ZONE_MOVABLE = 3,
	NUMEM_NR_ZONE_TYPES = 4,
};

/* Allocation flags (one word). */
#define NUMEM_ALLOC_ZONE_MASK  0x3u  /* highest zone allowed: */
#define NUMEM_ALLOC_NORMAL     0x0u  /*   any zone but MOVABLE (default) */
#define NUMEM_ALLOC_DMA        0x1u  /*   DMA only */
#define NUMEM_ALLOC_DMA32      0x2u  /*   DMA32 or DMA */
#define NUMEM_ALLOC_EXACT_NODE 0x4u  /* the policy's first node or nothing */
#define NUMEM_ALLOC_NORECLAIM  0x8u  /* do not call shrinkers */
#define NUMEM_ALLOC_ZERO       0x10u /* zero the pages (needs phys_to_virt) */
#define NUMEM_ALLOC_MOVABLE    0x20u /* may come from the MOVABLE zone */
#define NUMEM_ALLOC_HIGH       0x40u /* may dip below the min watermark */
#define NUMEM_ALLOC_NOPCP      0x80u /* bypass the per-CPU cache */
#define NUMEM_ALLOC_FLAGS_ALL  0xffu

enum numem_strategy {
	NUMEM_STRATEGY_LINUX = 0,
	NUMEM_STRATEGY_XEN = 1,
};

enum numem_policy_mode {
	NUMEM_POLICY_LOCAL = 0,           /* the CPU's node (its nearest with memory) */
	NUMEM_POLICY_PREFERRED,           /* `node` first, then its fallback order */
	NUMEM_POLICY_PREFERRED_MANY,      /* `nodes` nearest first, then anywhere */
	NUMEM_POLICY_BIND,                /* only `nodes`, nearest first */
	NUMEM_POLICY_INTERLEAVE,          /* round-robin over `nodes`, per CPU */
	NUMEM_POLICY_INTERLEAVE_INDEX,    /* `nodes`[index % n] (e.g. a guest pfn) */
	NUMEM_POLICY_WEIGHTED_INTERLEAVE, /* round-robin, `weight[n]` turns per node */
	NUMEM_POLICY_COUNT
};

/* A memory policy.  Interleave state is atomic: one policy may be shared by
 * many CPUs.  Initialise with numem_policy_init(). */
struct numem_policy {
	enum numem_policy_mode mode;
	numem_nid_t node;                /* PREFERRED */
	numem_nodemask_t nodes;          /* PREFERRED_MANY, BIND, INTERLEAVE* */
	uint8_t weight[NUMEM_MAX_NODES]; /* WEIGHTED_INTERLEAVE: 0 means 1 */
	uint64_t index;                  /* INTERLEAVE_INDEX */
	_Atomic uint64_t next;           /* WEIGHTED_INTERLEAVE cursor (INTERLEAVE's is per CPU) */
};

void numem_policy_init(struct numem_policy *p, enum numem_policy_mode mode);

/* numastat counters.  Like Linux's (zone_statistics() counts one per
 * allocation, whatever its order), each allocation counts once: numa_hit,
 * numa_miss, numa_foreign, interleave_hit, local_node and other_node are
 * allocations, not pages.  Two page-weighted counters follow them for views
 * that show pages (the simulator's local %). */
enum numem_stat {
	NUMEM_STAT_NUMA_HIT = 0,
	NUMEM_STAT_NUMA_MISS,
	NUMEM_STAT_NUMA_FOREIGN,
	NUMEM_STAT_INTERLEAVE_HIT,
	NUMEM_STAT_LOCAL_NODE,
	NUMEM_STAT_OTHER_NODE,
	NUMEM_NR_NUMASTAT, /* the six above count allocations, as Linux's do */
	/* Page-weighted: pages allocated on the allocating CPU's node / on
	 * another node (each allocation adds 2^order).  Not numastat. */
	NUMEM_STAT_LOCAL_PAGES = NUMEM_NR_NUMASTAT,
	NUMEM_STAT_OTHER_PAGES,
	NUMEM_NR_STATS
};
const char *numem_stat_name(enum numem_stat s);

struct numem_heap;
struct numem_trace_ring;

/* A per-CPU page cache for one zone: a list per cached order, list i
 * holding order i up to NUMEM_PCP_MAX_ORDER, list NUMEM_PCP_THP_LIST
 * holding order NUMEM_PCP_THP_ORDER. */
struct numem_pcp {
	union {
		struct {
			struct numem_page *list[NUMEM_PCP_NR_LISTS];
			/* Blocks per list.  The THP list's count is also read by
			 * any CPU with no lock (numem_pcp_cached_pages): its owner
			 * stores it with relaxed atomic stores. */
			uint32_t count[NUMEM_PCP_NR_LISTS];
			/* Pages in the lists of orders 0..NUMEM_PCP_MAX_ORDER
			 * (the high mark's: pcp_high): not the THP list's.
			 * Written by the owning CPU only, with relaxed atomic
			 * stores; read by any CPU with no lock
			 * (numem_heap_node_free, automatic placement) with relaxed
			 * atomic loads.  Everything else here is the owner's
			 * alone. */
			uint32_t pages;
		};
		/* 64 bytes in all (any pointer size): a free finds it by a
		 * shift. */
		uint8_t line_[64];
	};
};

/* Pages a CPU's cache of one zone holds, every list (relaxed loads: any
 * CPU, no lock; a recent value, not a consistent one). */
static inline uint64_t numem_pcp_cached_pages(const struct numem_pcp *pcp)
{
	return __atomic_load_n(&pcp->pages, __ATOMIC_RELAXED) +
	       ((uint64_t)__atomic_load_n(&pcp->count[NUMEM_PCP_THP_LIST], __ATOMIC_RELAXED)
	        << NUMEM_PCP_THP_ORDER);
}

/* A CPU's handle: pass it to every call made on that CPU.  Only one thread
 * uses a handle at a time.  Cache-line aligned (no two CPUs' handles share
 * a line) and a power of two in size (numem_heap_cpu is a shift). */
struct numem_cpu {
	_Alignas(64) struct numem_heap *heap;
	uint32_t id;
	numem_nid_t node;                 /* cpu_to_node */
	numem_nid_t mem_node;             /* nearest node with memory */
	numem_nodemask_t allowed;         /* cpuset: every policy stays inside it */
	struct numem_pcp *pcp;            /* one per zone, indexed like heap zones */
	uint64_t (*stat)[NUMEM_NR_STATS]; /* [node][stat], folded on read (+ fast_allocs) */
	uint64_t fallback_steps;          /* zones tried beyond the first */
	struct numem_trace_ring *trace;
	/* The fast path's precomputed answers (heap-internal): the cache of
	 * the first zone of the local zonelist (an empty cache nobody fills
	 * when there is no fast path), its node, and what its allocations
	 * count: fast_allocs[order] (one increment per allocation, in the
	 * CPU's own metadata) stands for numa_hit, fast_near (local_node or
	 * other_node) and that one's page-weighted twin on fast_node, which
	 * numem_heap_node_stats() adds when it folds; numem__cpu_fast_path()
	 * moves the counts into stat[fast_node] before it changes the node. */
	struct numem_pcp *fast_pcp;
	uint64_t *fast_allocs;
	numem_nid_t fast_node;
	/* The interleave rotor (NUMEM_POLICY_INTERLEAVE): the node this CPU
	 * interleaved to last, as Linux's per-task il_prev.  Owner only. */
	numem_nid_t il_prev;
	uint16_t fast_near; /* NUMEM_STAT_LOCAL_NODE or NUMEM_STAT_OTHER_NODE */
	/* What a free's fast path compares the head's state and zone bits
	 * with: the ALLOCATED state and the node and type of fast_pcp's zone
	 * (a zone type no head has when there is no fast zone), or state 15,
	 * which no descriptor has, when frees must all take the slow path
	 * (poisoning). */
	uint64_t free_want;
	/* A fast free calls its out-of-line tail (trace, drain) when the cache
	 * holds more pages than this: the heap's pcp_high, or 0 when the CPU
	 * has a trace ring. */
	uint32_t free_tail_above;
	const struct numem_frametable *ft; /* the heap's, one load closer */
	_Atomic uintptr_t *online_map;     /* the heap's, one load closer */
};

/* A zone.  Fields after `lock` are protected by it.  Two counters are also
 * read with no lock, by numem_heap_node_free() on any CPU (automatic
 * placement) and the allocator's deferred-growth test: free_pages, written
 * under the lock with relaxed atomic stores and read unlocked with relaxed
 * atomic loads; deferred_pages, an atomic.  Such a reader sees a recent
 * value of each, not a consistent sum (nor one with the CPUs' caches). */
struct numem_zone {
	_Atomic int lock;
	numem_nid_t node;
	uint8_t type;       /* enum numem_zone_type */
	bool populated;     /* has any page */
	uint64_t start_pfn; /* span: lowest pfn */
	uint64_t end_pfn;   /* span: one past the highest pfn */
	uint64_t present_pages;
	/* Pages.  Set at boot; a relayout commit recomputes them for the
	 * zone's new size (relaxed atomic stores under every zone lock):
	 * readers outside the zone lock use relaxed atomic loads. */
	uint64_t wmark_min __attribute__((aligned(8)));
	uint64_t wmark_low __attribute__((aligned(8)));
	uint64_t wmark_high __attribute__((aligned(8)));
	uint64_t free_pages __attribute__((aligned(8))); /* in the buddy lists (read unlocked) */
	_Atomic uint64_t deferred_pages; /* RAM in sections not yet initialised (read unlocked) */
	uint64_t reserved_pages;         /* never given to the heap (opts.reserved) */
	uint64_t grow_cursor;            /* next section to look at when growing */
	struct {
		struct numem_page *head;
		uint64_t nr; /* blocks */
	} area[NUMEM_NR_ORDERS];
	uint64_t splits; /* blocks split to serve smaller requests */
};

/*
 * A shrinker.  The contract:
 *  - scan() runs on an allocating CPU whose request fell below the low
 *    watermark, with NO heap lock held (no zone, grow or shrinker lock): it
 *    may take its own locks, and several CPUs may run it at once.  The
 *    allocating caller's own locks may be held, among them a domain's lock
 *    (lock order 1b): a scan takes no domain's lock.
 *  - It gives back up to `pages` pages, preferably on `node`, freeing with
 *    `cpu` (the allocator drains that CPU's cache afterwards), and returns
 *    the number freed.  It allocates, if at all, with NUMEM_ALLOC_NORECLAIM.
 *  - numem_heap_unregister_shrinker() waits until no scan of that shrinker
 *    runs, so it must not be called from the shrinker's own scan nor while
 *    holding a lock the scan takes; after it returns the struct may go.
 * The fields below `ctx` are the heap's (guarded by the shrinker lock).
 */
struct numem_shrinker {
	uint64_t (*scan)(void *ctx, struct numem_cpu *cpu, numem_nid_t node, uint64_t pages);
	void *ctx;
	struct numem_shrinker *next;
	uint64_t calls, freed; /* statistics */
	uint32_t running;      /* scans in progress */
	bool linked;           /* on the heap's list */
};

struct numem_heap_opts {
	enum numem_strategy strategy;
	bool zone_order;          /* zonelists in zone order instead of node order */
	uint64_t movable_pages;   /* per node: top pages that form ZONE_MOVABLE */
	uint32_t min_free_kbytes; /* 0: Linux's sqrt(16 * lowmem_kbytes) */
	uint32_t nr_cpus;         /* 0: the topology's; at most NUMEM_HEAP_MAX_CPUS */
	uint32_t pcp_high;        /* 0: 6 * batch */
	uint32_t pcp_batch;       /* 0: 31 pages */
	uint32_t trace_entries;   /* per CPU, power of two up to NUMEM_HEAP_MAX_TRACE;
				    * 0: no tracing */
	bool deferred;            /* initialise sections on demand (frame table
				    * built with deferred = true) */
	int poison;               /* poison freed pages and check on allocation (needs
		     * phys_to_virt): 1 on, -1 off, 0 the build's default (on
		     * with NUMEM_DEBUG) */
	/* Physical ranges that stay reserved (firmware, the embedder's own
	 * image and boot metadata), [base, base+length) in bytes. */
	const struct numem_ram_range *reserved;
	uint32_t nr_reserved;
	/* Room for nodes a relayout may bring online (relayout.h): zones, per-CPU
	 * caches and counters are sized for this many nodes.  0: the
	 * topology's; at most NUMEM_MAX_NODES. */
	uint32_t max_nodes;
};

struct numem__relayout;

struct numem_heap {
	const struct numem_platform *plat;
	const struct numem_topo *topo;
	struct numem_frametable *ft;
	enum numem_strategy strategy;
	bool zone_order, poison;
	_Atomic bool tracing;
	uint32_t nr_zones;       /* nodes * NUMEM_NR_ZONE_TYPES */
	struct numem_zone *zone; /* [node * NUMEM_NR_ZONE_TYPES + type] */
	/* zonelist[node]: zone indexes, best first; NUMEM_NR_ZONE_TYPES lists
	 * per node, one per zone limit (DMA, DMA32, NORMAL, NORMAL+MOVABLE). */
	uint16_t *zonelist;
	uint32_t zonelist_len;
	uint32_t nr_cpus;
	struct numem_cpu *cpu;
	uint32_t pcp_high, pcp_batch;
	/* The machine's min watermark in pages (Linux's min_free_kbytes), set
	 * at boot; each zone's share of it is its share of the managed pages,
	 * redistributed by every relayout commit. */
	uint64_t min_free_pages;
	/* Set with the zonelists at init and rebuilt by each relayout commit
	 * before it publishes its zonelists (relaxed atomic stores and loads,
	 * 8-aligned words for i686).  The nodes with RAM; per node, the zone
	 * a local allocation there tries first (the first of its NORMAL
	 * zonelist) if that zone is on the node, else UINT16_MAX: the
	 * interleave fast path pops that zone's cache.  A reader that mixes
	 * two versions pops a cache of a zone of the node it chose and checks
	 * the block's node: a slow path at worst, never a wrong count. */
	numem_nodemask_t mem_nodes __attribute__((aligned(8)));
	uint16_t node_zone[NUMEM_MAX_NODES];
	/* Per section of the frame table: 0 until the heap has taken it
	 * (ONLINE), then its descriptors' biased base with bit 0 set
	 * (descriptor of pfn p = base - 1 + p), stored with release: a free's
	 * one acquire load that finds the descriptor and says it may be read. */
	_Atomic uintptr_t *online_map;
	_Atomic int shrinker_lock;
	_Atomic int grow_lock;                   /* deferred section initialisation */
	uint64_t movable_start[NUMEM_MAX_NODES]; /* first pfn of a node's MOVABLE zone */
	const struct numem_ram_range *reserved;  /* copied: sorted, in pages */
	uint32_t nr_reserved;
	struct numem_shrinker *shrinkers;
	size_t alloc_bytes; /* one metadata block */
	void *alloc_block;
	uint32_t max_nodes;               /* zone arrays are sized for this many */
	struct numem__relayout *relayout; /* relayout state (NULL until first used) */
};

/* Extra error codes of the heap live in types.h (NUMEM_E_*). */

/*
 * Bring up a heap over a topology and frame table: zones, watermarks,
 * zonelists, CPU handles; every RAM page not in opts->reserved is freed into
 * the buddy lists (or left for deferred initialisation).  Options are
 * checked before anything is allocated: NUMEM_E_INVAL (naming the option
 * and its limit) for an unknown strategy, trace_entries not a power of two
 * or above NUMEM_HEAP_MAX_TRACE, nr_cpus above NUMEM_HEAP_MAX_CPUS, a
 * reserved range whose base + length wraps, or metadata whose size
 * overflows a size_t.
 */
enum numem_err numem_heap_init(struct numem_heap *heap, const struct numem_platform *plat,
                               const struct numem_topo *topo, struct numem_frametable *ft,
                               const struct numem_heap_opts *opts, struct numem_diag *diag);
void numem_heap_release(struct numem_heap *heap);

static inline struct numem_cpu *numem_heap_cpu(struct numem_heap *heap, uint32_t id)
{
	return id < heap->nr_cpus ? &heap->cpu[id] : 0;
}

/* Set a CPU's allowed nodes (cpuset).  NUMEM_E_INVAL for an empty mask or
 * one without a node with memory. */
enum numem_err numem_cpu_set_allowed(struct numem_cpu *cpu, const numem_nodemask_t *mask,
                                     struct numem_diag *diag);

/*
 * Owners.  The head descriptor of every allocated block names exactly one
 * owner: NUMEM_OWNER_HEAP for numem_alloc()'s callers, a domain id for a
 * guest's frames, or an id reserved for a layer of the core.  Every
 * transition to ALLOCATED writes the owner; free blocks have none.  A block
 * is freed (or split, or handed over) only by naming the owner that holds
 * it, so one owner's free can never release another's frames.  Domain ids
 * stop below the reserved range, as Xen's stop at DOMID_FIRST_RESERVED.
 */
#define NUMEM_OWNER_HEAP       0u      /* numem_alloc() / numem_free() */
#define NUMEM_OWNER_DOMAIN_MAX 0x7fefu /* domain ids are 1..this */
#define NUMEM_OWNER_SLAB       0xfff0u /* slab pages (small objects) */
#define NUMEM_OWNER_SLAB_LARGE 0xfff1u /* slab large allocations */
#define NUMEM_OWNER_TMEM       0xfff2u /* transcendent memory pages */

/* Is `owner` an id a block may carry: the heap's (0), a domain's
 * (1..NUMEM_OWNER_DOMAIN_MAX) or a core layer's (>= NUMEM_OWNER_SLAB)?  The
 * ids between are nobody's: numem_alloc_owned() and numem_heap_set_owner()
 * refuse them (NUMEM_E_INVAL), as numem_domain_verify() would report them. */
static inline bool numem_owner_valid(uint16_t owner)
{
	return owner <= NUMEM_OWNER_DOMAIN_MAX || owner >= NUMEM_OWNER_SLAB;
}

/* A printable name for an owner ("heap", "domain 3", "slab", ...). */
const char *numem_owner_name(uint16_t owner, char *buf, size_t cap);

/*
 * Allocate 2^order pages for `owner`.  policy NULL means local.  On success
 * *pfn is the first page and its head descriptor names `owner`.  On
 * failure, no state changed, and diag says why: which nodes and zones were
 * tried, the zone limit, the watermark.  An owner numem_owner_valid()
 * refuses is NUMEM_E_INVAL.
 */
enum numem_err numem_alloc_owned(struct numem_cpu *cpu, unsigned order, unsigned flags,
                                 struct numem_policy *policy, uint16_t owner, numem_pfn_t *pfn,
                                 struct numem_diag *diag);
/* numem_alloc_owned() for NUMEM_OWNER_HEAP. */
enum numem_err numem_alloc(struct numem_cpu *cpu, unsigned order, unsigned flags,
                           struct numem_policy *policy, numem_pfn_t *pfn, struct numem_diag *diag);

/*
 * Free 2^order pages at pfn on behalf of `owner`.  Rejected with a specific
 * error and no state change: a pfn outside RAM or in a hole
 * (NUMEM_E_RANGE), misaligned for the order (NUMEM_E_MISALIGNED), already
 * free (NUMEM_E_DOUBLE_FREE), not the head of an allocated block
 * (NUMEM_E_NOT_ALLOCATED), allocated with another order
 * (NUMEM_E_BAD_ORDER), held by another owner (NUMEM_E_OWNER).
 *
 * Two CPUs freeing the same block at the same moment is the caller's bug
 * (as with free(3)); layers that let guests free (domains) make it
 * impossible by taking the frame out of their own map atomically first.
 * Builds where numem_heap_free_is_atomic() is true (debug builds, and the
 * NUMEM_FREE_CAS build option) catch it: the free claims the block with a
 * compare-and-swap of its head, so exactly one of the two succeeds and the
 * other gets NUMEM_E_DOUBLE_FREE.  Release builds leave it out of the
 * fast path (its cost: docs/PERFORMANCE.md) and may then corrupt the lists.
 */
enum numem_err numem_free_owned(struct numem_cpu *cpu, numem_pfn_t pfn, unsigned order,
                                uint16_t owner, struct numem_diag *diag);
/* Does this build's free claim blocks atomically (see numem_free_owned)? */
bool numem_heap_free_is_atomic(void);

/* numem_free_owned() for NUMEM_OWNER_HEAP. */
enum numem_err numem_free(struct numem_cpu *cpu, numem_pfn_t pfn, unsigned order,
                          struct numem_diag *diag);

/*
 * Split an allocated block of 2^order pages at pfn, held by `owner`, into
 * 2^(order - new_order) allocated blocks of 2^new_order pages, each with the
 * same owner, zone and node (Linux's split_page()); each may then be freed
 * on its own.  The errors of numem_free_owned(), and NUMEM_E_INVAL for
 * new_order >= order.  The caller must not free the block concurrently.
 */
enum numem_err numem_heap_split(struct numem_heap *heap, numem_pfn_t pfn, unsigned order,
                                unsigned new_order, uint16_t owner, struct numem_diag *diag);

/*
 * Hand an allocated block from one owner to another (a domain's page given
 * to the heap's user, or the reverse), checking that `from` holds it.  The
 * errors of numem_free_owned(), and NUMEM_E_INVAL for a `to` that
 * numem_owner_valid() refuses (checked first: nothing changes).
 */
enum numem_err numem_heap_set_owner(struct numem_heap *heap, numem_pfn_t pfn, unsigned order,
                                    uint16_t from, uint16_t to, struct numem_diag *diag);

/*
 * The block covering a pfn, as its head descriptor says now: returns the
 * block's state (FREE, PCP or ALLOCATED) and fills *out, or returns the
 * page's own state (HOLE for a pfn outside RAM, RESERVED, UNINIT) and
 * leaves *out zeroed.  A layer that keeps an in-band header in its blocks
 * asks this before trusting the header (the slab: "is this pfn the head of
 * a block I own?").  Lock-free; the answer is exact for a block the caller
 * holds and may be stale for any other.
 */
struct numem_heap_block {
	numem_pfn_t head; /* first pfn of the block */
	unsigned order;
	uint16_t owner;   /* ALLOCATED: who holds it */
	uint64_t private; /* ALLOCATED: the head descriptor's owner word */
};
enum numem_page_state numem_heap_block_of(const struct numem_heap *heap, numem_pfn_t pfn,
                                          struct numem_heap_block *out);

/*
 * The fast paths' lookup through a heap's online map (struct numem_heap):
 * the biased base of pfn's descriptors if its section is online, else 0;
 * then the descriptor from that base.  One acquire load both finds the
 * descriptors and orders their reading after deferred initialisation wrote
 * them.  (Core-internal helpers, inline for the layers above the heap.)
 */
static inline uintptr_t numem__online_base(const _Atomic uintptr_t *map,
                                           const struct numem_frametable *ft, numem_pfn_t pfn)
{
	if (pfn.v >= ft->max_pfn)
		return 0;
	return atomic_load_explicit(&map[pfn.v >> ft->pfn_section_shift], memory_order_acquire);
}

static inline struct numem_page *numem__online_page(uintptr_t base, numem_pfn_t pfn)
{
	return (struct numem_page *)(base - 1 + (uintptr_t)pfn.v * sizeof(struct numem_page));
}

/*
 * The fast form of numem_heap_block_of() for a layer checking one of its
 * own blocks (the slab's numem_kfree): true when pfn, in an online section,
 * heads an allocated block held by `owner` whose owner word is `word`; then
 * *order is the block's order.  Inline: a bounds check, two loads (the
 * section's online-map entry, the descriptor) and compares.
 */
static inline bool numem_heap_holds(const struct numem_heap *heap, numem_pfn_t pfn, uint16_t owner,
                                    uint64_t word, unsigned *order)
{
	uintptr_t base = numem__online_base(heap->online_map, heap->ft, pfn);
	if (!base) /* not RAM, or its section not online */
		return false;
	const struct numem_page *pg = numem__online_page(base, pfn);
	uint64_t f = __atomic_load_n(&pg->flags, __ATOMIC_RELAXED);
	const uint64_t mask = NUMEM_PG_STATE_MASK << NUMEM_PG_STATE_SHIFT |
	                      NUMEM_PG_OWNER_MASK << NUMEM_PG_OWNER_SHIFT;
	if ((f & mask) != ((uint64_t)NUMEM_PS_ALLOCATED << NUMEM_PG_STATE_SHIFT |
	                   (uint64_t)owner << NUMEM_PG_OWNER_SHIFT) ||
	    __atomic_load_n(&pg->private, __ATOMIC_RELAXED) != word)
		return false;
	*order = (unsigned)((f >> NUMEM_PG_ORDER_SHIFT) & NUMEM_PG_ORDER_MASK);
	return true;
}

/*
 * Set the owner word (`private`) of an allocated block's head descriptor,
 * checking first that `owner` holds a block of `order` at pfn (the errors
 * of numem_free_owned()).  The slab keeps its header's address there, so a
 * header can be checked against the descriptor.  numem_heap_split() copies
 * the word to every new head.
 */
enum numem_err numem_heap_set_private(struct numem_heap *heap, numem_pfn_t pfn, unsigned order,
                                      uint16_t owner, uint64_t value, struct numem_diag *diag);

/* Give this CPU's cached pages back to the buddy lists. */
void numem_heap_drain_cpu(struct numem_cpu *cpu);
/* Every CPU's; the CPUs must be quiescent. */
void numem_heap_drain_all(struct numem_heap *heap);

/* Add a shrinker (scan and ctx set; a shrinker already registered is left
 * as it is).  Remove one: waits for its running scans (see the contract at
 * struct numem_shrinker); one not registered is ignored. */
void numem_heap_register_shrinker(struct numem_heap *heap, struct numem_shrinker *s);
void numem_heap_unregister_shrinker(struct numem_heap *heap, struct numem_shrinker *s);

/* Folded statistics. */
void numem_heap_node_stats(const struct numem_heap *heap, numem_nid_t node,
                           uint64_t out[NUMEM_NR_STATS]);
/* Free pages of a node (buddy + per-CPU caches + deferred sections); 0 for
 * a node outside the machine (as numem_heap_node_stats, all zero). */
uint64_t numem_heap_node_free(const struct numem_heap *heap, numem_nid_t node);
/* Pages of a node allocated to users; 0 for a node outside the machine. */
uint64_t numem_heap_node_allocated(const struct numem_heap *heap, numem_nid_t node);

/*
 * Linux's unusable free space index for a zone at `order`: the fraction
 * (0..1000, per mille) of free memory in blocks too small for the order.
 */
uint32_t numem_zone_unusable_index(const struct numem_zone *zone, unsigned order);

/*
 * The invariant walk: for every zone and node, free + per-CPU + allocated +
 * reserved + deferred = present; every free block is on exactly one list
 * with a matching, aligned descriptor inside its zone; no two free buddies
 * are left unmerged; per-CPU caches hold cached pages only.  Needs the heap
 * quiescent.  Returns the first violation (function, pfn, expected, found).
 */
enum numem_err numem_heap_verify(struct numem_heap *heap, struct numem_diag *diag);

static inline struct numem_zone *numem_heap_zone(const struct numem_heap *heap, numem_nid_t node,
                                                 enum numem_zone_type type)
{
	return &heap->zone[(uint32_t)node * NUMEM_NR_ZONE_TYPES + type];
}

const char *numem_zone_name(enum numem_zone_type type);

/* What holds a pfn: the state of the block covering it (FREE, PCP,
 * ALLOCATED, RESERVED, HOLE, UNINIT) and, when allocated, the owner field
 * of its head (a domain id, 0 for the heap's own users).  For views; the
 * answer may be stale as soon as it is returned. */
enum numem_page_state numem_heap_pfn_owner(const struct numem_heap *heap, numem_pfn_t pfn,
                                           uint16_t *owner);

#endif /* NUMEM_HEAP_H */
