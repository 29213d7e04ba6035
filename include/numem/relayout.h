/*
 * numem/relayout.h - live NUMA relayout: change which node owns which
 * physical memory while the heap runs (no hotplug, no stop-the-world).
 *
 * A hypervisor or firmware moves a guest's backing memory between nodes and
 * tells the guest; the guest's allocator follows.  Three steps:
 *
 *   1. Build a memlayout: disjoint pfn ranges, each with a target node, and
 *      optionally a new cpu->node map and distance matrix.  Builders:
 *      numem_memlayout_add() (one range), numem_memlayout_stripe() ("stripe
 *      these ranges across nodes A,B,C in blocks of K pages"),
 *      numem_memlayout_push() ("move everything in these ranges to node N",
 *      new or existing) and numem_memlayout_from_srat() (a new SRAT/SLIT).
 *      Pfns a layout does not name keep their node.
 *   2. numem_memlayout_validate() (numem_relayout_commit() calls it too):
 *      every range inside RAM, target nodes known or declared new (and below
 *      the heap's max_nodes), no overlaps, no size that overflows.  A
 *      rejected layout changes nothing; the error is specific and
 *      diag->msg says which range or node and why.
 *   3. numem_relayout_commit(): in one call, while other CPUs allocate and
 *      free.  Everything it needs (the new topology version, zonelists,
 *      scratch) is allocated first; if any allocation fails
 *      (NUMEM_E_NOMEM) the old layout stays fully in place.  Then:
 *        - the new layout is published as a new generation of the heap's
 *          topology (numem_heap_topo()), the single source of truth for
 *          "which node owns pfn P" (numem_topo_pfn_to_node());
 *        - every free block whose node changes moves to its target node's
 *          buddy lists, per block (never per pfn), split only where a range
 *          edge cuts it, merging with its new buddies;
 *        - allocated blocks and blocks in per-CPU caches whose node changes
 *          are "pending": they stay counted on their old node and go to
 *          their new node when a CPU that has caught up frees them (split
 *          at range edges if they straddle one); until then a CPU's cache
 *          may hold them.  While any page is pending, a caught-up CPU's
 *          free fast path costs an out-of-line call (its tail checks the
 *          layout), which ends at its first slow path after the last one;
 *        - zone spans, present/free/reserved/deferred counts, per-node
 *          pending counts, nearest-memory nodes, fallback orders and
 *          zonelists follow; a node the layout targets comes online (its
 *          zones and zonelists), a node left with no memory and no CPU goes
 *          offline;
 *        - each CPU picks up the new generation on its next slow path or
 *          quiescent call (numem_relayout_quiescent()): its cpu->node, its
 *          fast-path answers, and its cached pages of moved ranges, which
 *          it gives to their new node.
 *      No CPU is stopped or waited for; the commit takes every zone lock
 *      in short windows (publishing, taking a zone's free blocks off,
 *      cutting 32 of them), so a refill may wait one window
 *      (numem_relayout_result.max_lock_ns); per-CPU caches keep serving.
 *
 * Notifiers (struct numem_relayout_notifier) are called before and after
 * the change with what changed.  Contract: they run on the committing
 * thread with NO heap lock held (no zone, grow, shrinker or apply lock; the
 * commit mutex is held, see heap.h's lock order), so they may allocate,
 * free and take their own locks; they must not call numem_relayout_commit()
 * nor (un)register notifiers.  Before: the new layout is validated and its
 * metadata allocated, nothing changed yet.  After: the new layout is in
 * force; pages_moved/pages_pending are filled.  A domain uses the change
 * list to find its frames on moved ranges (numem_relayout_event_find()) and
 * may migrate them at once: allocate on the new node, copy through
 * phys_to_virt, update its p2m, free the old page (which then goes to the
 * new node's free lists).
 *
 * Readers of the topology, zonelists, cpu->node and distances are
 * lock-free: a commit publishes new versions and retires the old ones once
 * every CPU has passed a quiescent point since (an epoch scheme).  A CPU
 * passes one at every allocation or free slow path and at
 * numem_relayout_quiescent(); an embedder whose CPUs may stay idle calls
 * that from its idle loop or scheduler tick (docs/EMBEDDING.md).  Old
 * versions not yet reclaimed are freed at the next commit that can, or by
 * numem_heap_release().
 *
 * Builds with NUMEM_NO_RELAYOUT compile the heap's hooks out (the plain
 * build the benchmark compares against); numem_relayout_commit() then
 * answers NUMEM_E_UNSUPPORTED.
 */
#ifndef NUMEM_RELAYOUT_H
#define NUMEM_RELAYOUT_H

#include <numem/acpi.h>
#include <numem/heap.h>
#include <numem/platform.h>
#include <numem/topo.h>
#include <numem/types.h>

/* One range of a layout: pfns [start_pfn, end_pfn) go to `node`. */
struct numem_memlayout_range {
	uint64_t start_pfn, end_pfn;
	numem_nid_t node;
};

/*
 * A layout request.  Initialise with numem_memlayout_init(), fill with the
 * builders, give back with numem_memlayout_release().  The arrays are the
 * layout's (allocated through plat->meta_alloc and grown as needed); read
 * them, do not write them.
 */
struct numem_memlayout {
	const struct numem_platform *plat;
	uint32_t nr, cap;                    /* ranges used / allocated */
	struct numem_memlayout_range *range; /* sorted by start once validated */
	numem_nodemask_t new_nodes;          /* nodes declared new (brought online) */
	/* Optional parts of the same request. */
	uint32_t nr_cpu_nodes; /* entries of cpu_node (0: keep the map) */
	numem_nid_t *cpu_node; /* cpu -> node; NUMEM_NID_NONE: keep */
	uint32_t distance_dim; /* 0: keep the distances; else max_nodes */
	uint8_t *distance;     /* [from * distance_dim + to]; 0: keep */
	bool sorted;           /* validated since the last change */
	size_t range_bytes, cpu_bytes, distance_bytes;
};

void numem_memlayout_init(struct numem_memlayout *l, const struct numem_platform *plat);
void numem_memlayout_release(struct numem_memlayout *l);

/*
 * Append one range [start_pfn, end_pfn) -> node.  NUMEM_E_INVAL for an
 * empty range (start >= end) or node NUMEM_NID_NONE; NUMEM_E_NOMEM when the
 * array cannot grow.  Nothing else is checked until validation.
 */
enum numem_err numem_memlayout_add(struct numem_memlayout *l, uint64_t start_pfn, uint64_t end_pfn,
                                   numem_nid_t node, struct numem_diag *diag);

/* Declare `node` new: the commit brings it online (its id must be below the
 * heap's max_nodes and not a node of the current topology). */
enum numem_err numem_memlayout_declare_node(struct numem_memlayout *l, numem_nid_t node,
                                            struct numem_diag *diag);

/*
 * Stripe the RAM of the heap's current topology inside [start_pfn,
 * end_pfn) across nodes[0..nr-1] in blocks of `block_pages` pages: the
 * block at pfn p (counted from start_pfn, aligned down to block_pages) goes
 * to nodes[(p - start_pfn) / block_pages % nr].  Holes are skipped (the
 * ranges added are cut at RAM edges).  (0, UINT64_MAX) means all RAM.  A
 * node beyond the current topology is declared new (as with push).
 * NUMEM_E_INVAL: nr 0 or above NUMEM_MAX_NODES, block_pages 0, a node id
 * NUMEM_NID_NONE; NUMEM_E_RANGE: no RAM in the span.
 */
enum numem_err numem_memlayout_stripe(struct numem_memlayout *l, const struct numem_heap *heap,
                                      uint64_t start_pfn, uint64_t end_pfn,
                                      const numem_nid_t *nodes, uint32_t nr, uint64_t block_pages,
                                      struct numem_diag *diag);

/* Everything RAM inside [start_pfn, end_pfn) goes to `node` (holes
 * skipped).  A node beyond the current topology is declared new. */
enum numem_err numem_memlayout_push(struct numem_memlayout *l, const struct numem_heap *heap,
                                    uint64_t start_pfn, uint64_t end_pfn, numem_nid_t node,
                                    struct numem_diag *diag);

/*
 * From a new SRAT (and optionally SLIT), parsed by numem_srat_parse():
 * every enabled memory entry that is neither hot-pluggable nor
 * non-volatile gives its RAM (cut to the current topology's RAM) to the
 * node of its proximity domain: an existing node with that pxm, else a new
 * node (declared, next free id).  Processor entries give the new cpu->node
 * map (matched by hardware id); a valid SLIT gives the new distances.  A
 * proximity domain with CPUs and no memory becomes a memoryless node.
 * NUMEM_E_TOO_MANY_NODES when the new domains do not fit below max_nodes.
 */
enum numem_err numem_memlayout_from_srat(struct numem_memlayout *l, const struct numem_heap *heap,
                                         const struct numem_srat *srat,
                                         const struct numem_slit *slit, struct numem_diag *diag);

/* Part of the same request: CPU `cpu` moves to `node`. */
enum numem_err numem_memlayout_set_cpu_node(struct numem_memlayout *l,
                                            const struct numem_heap *heap, uint32_t cpu,
                                            numem_nid_t node, struct numem_diag *diag);
/* Part of the same request: distance from -> to (10 on the diagonal, 11..254
 * elsewhere, or NUMEM_UNREACHABLE).  Unset entries keep the current value. */
enum numem_err numem_memlayout_set_distance(struct numem_memlayout *l,
                                            const struct numem_heap *heap, numem_nid_t from,
                                            numem_nid_t to, uint8_t distance,
                                            struct numem_diag *diag);

/*
 * Check a layout against the heap, changing nothing in the heap (the
 * ranges are sorted).  Errors, each with the range or node in diag->msg:
 *   NUMEM_E_INVAL   a target node unknown and not declared new, a node at
 *                   or above max_nodes, a declared-new node that exists, a
 *                   cpu or distance entry out of range
 *   NUMEM_E_RANGE   a range not inside RAM (a hole, beyond max_pfn)
 *   NUMEM_E_OVERLAP two ranges overlap
 *   NUMEM_E_NO_MEMORY a node declared new that gets neither RAM nor a CPU
 *                   (one with CPUs only comes online memoryless, its
 *                   zonelists falling back by distance)
 */
enum numem_err numem_memlayout_validate(const struct numem_heap *heap, struct numem_memlayout *l,
                                        struct numem_diag *diag);

/* What a commit changed: one run of pfns whose node changed.  Runs are
 * sorted, disjoint, and cut where the old or new node changes. */
struct numem_relayout_change {
	uint64_t start_pfn, end_pfn;
	numem_nid_t old_node, new_node;
};

enum numem_relayout_phase {
	NUMEM_RELAYOUT_BEFORE = 0, /* validated and prepared, nothing changed */
	NUMEM_RELAYOUT_AFTER = 1,  /* the new layout is in force */
};

/* Figures of one commit (the result, and the AFTER event's). */
struct numem_relayout_result {
	uint64_t generation;                /* the layout generation the commit published */
	uint32_t nr_changes;                /* runs in the change list */
	uint64_t pages_changed;             /* RAM pages whose node changed */
	uint64_t pages_moved;               /* free pages moved to their new node at once */
	uint64_t blocks_moved;              /* free blocks relinked (after range-edge splits) */
	uint64_t pages_pending;             /* allocated or cached pages that move when freed */
	uint64_t pages_deferred;            /* not yet initialised: they simply follow */
	uint64_t pages_reserved;            /* reserved RAM: counted on the new node */
	numem_nodemask_t onlined, offlined; /* nodes brought online / taken offline */
	bool cpu_nodes_changed, distances_changed;
	uint64_t ns;          /* the whole commit (platform clock; 0 without one) */
	uint64_t max_lock_ns; /* the longest window in which the commit held every
	                       * zone lock (platform clock; 0 without one) */
};

/* What a notifier is told. */
struct numem_relayout_event {
	enum numem_relayout_phase phase;
	const struct numem_relayout_change *change; /* sorted by start_pfn */
	uint32_t nr_changes;
	const struct numem_topo *old_topo, *new_topo; /* valid for the call */
	const struct numem_relayout_result *result;   /* AFTER: the figures; BEFORE:
	                                               * generation and changes only */
};

/* The change run holding pfn, or NULL when pfn did not move (binary
 * search). */
const struct numem_relayout_change *numem_relayout_event_find(const struct numem_relayout_event *ev,
                                                              numem_pfn_t pfn);

/* A subscriber.  The heap owns `next` and `linked`. */
struct numem_relayout_notifier {
	void (*call)(void *ctx, struct numem_heap *heap, const struct numem_relayout_event *ev);
	void *ctx;
	struct numem_relayout_notifier *next;
	bool linked;
};

/* Add (one already registered is left as it is) / remove (one not
 * registered is ignored).  Not from inside a notifier. */
void numem_relayout_register(struct numem_heap *heap, struct numem_relayout_notifier *n);
void numem_relayout_unregister(struct numem_heap *heap, struct numem_relayout_notifier *n);

/*
 * Commit a layout (validated first: the errors of
 * numem_memlayout_validate(), nothing changed).  NUMEM_E_NOMEM when the
 * metadata of the new version cannot be allocated: nothing changed either.
 * One commit at a time (a second waits on the commit mutex).  `res` may be
 * NULL.  The layout is left as it is (sorted) for the caller to release.
 */
enum numem_err numem_relayout_commit(struct numem_heap *heap, struct numem_memlayout *l,
                                     struct numem_relayout_result *res, struct numem_diag *diag);

/* Pages pending for `node`: allocated or cached on another node, that will
 * come to `node` when freed.  0 for a node outside max_nodes. */
uint64_t numem_relayout_pending(const struct numem_heap *heap, numem_nid_t node);

/* The current layout generation (0 until the first commit). */
uint64_t numem_relayout_generation(const struct numem_heap *heap);

/* Is `node` online (has memory or CPUs in the current layout)? */
bool numem_relayout_node_online(const struct numem_heap *heap, numem_nid_t node);

/*
 * Debug aid: with `on`, every commit runs numem_heap_verify() between its
 * lock windows (after publishing, after taking the free blocks off, after
 * each batch of cuts, blocks in transit included) and panics
 * (NUMEM_ASSERT) on a violation.  The verifier needs the other CPUs
 * quiescent: for tests and fuzzing, not for a heap under load.  Creates
 * the relayout state (false when there is no memory for it).
 */
bool numem_relayout_self_check(struct numem_heap *heap, bool on);

/* The heap's current topology: the layout in force.  Valid until the
 * caller's CPU passes a quiescent point. */
const struct numem_topo *numem_heap_topo(const struct numem_heap *heap);

/*
 * A quiescent point of `cpu` (its owner calls it, holding no pointer into
 * the heap's topology or zonelists): picks up a new layout generation
 * (cpu->node, fast path, cached pages of moved ranges go to their new node)
 * and lets old versions be reclaimed.  Cheap when nothing changed: two
 * loads and a compare.
 */
void numem_relayout_quiescent(struct numem_cpu *cpu);

#endif /* NUMEM_RELAYOUT_H */
