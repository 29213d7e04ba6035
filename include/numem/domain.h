/*
 * numem/domain.h - guests: vcpus with affinity, node affinity, memory
 * reservations and the guest-physical -> machine frame map (p2m), automatic
 * placement, and virtual NUMA.
 *
 * Reservations.  increase_reservation() hands a domain `nr` extents of
 * 2^order pages at its next guest frames.  By default (NUMEM_RES_BALANCED)
 * the extents are spread over the nodes the domain's vcpus run on (each
 * vcpu's node, or its nearest node with memory), in proportion to the vcpus
 * on each (the 2006 Xen NUMA patch's balancing).  Balance is kept on what
 * landed: the next extent goes to the node whose populated pages
 * (pages_on_node[], where the frames really are) are furthest behind its
 * share of tot_pages, and is taken from that node exactly when it has a
 * block (either heap strategy), falling back as the heap does only when it
 * has none.  So while no node runs out, every node is within one extent of
 * its share.  With NUMEM_RES_NODE the extents come from that one node only
 * (exact; a node without memory is refused, never silently replaced by its
 * neighbour), with NUMEM_RES_MASK from the given nodes only (bind): a guest
 * can live entirely within one node.  A vNUMA domain's frames come from the
 * physical node that backs the virtual node they belong to.
 *
 * Giving back.  decrease_reservation() gives back exactly nr * 2^order
 * pages from the domain's highest populated guest frames, splitting a
 * larger extent (numem_heap_split) when only part of it is asked for;
 * decrease_reservation_at() gives back the extents at given guest frames.
 * Every page goes back with numem_free_owned(domain id): nothing else can
 * free a domain's frames, and a domain cannot free anyone else's.
 *
 * Placement (numem_domain_create with no node affinity and no pinned
 * vcpus), the idea of xl's: for every node, the candidate set is that node
 * plus its nearest nodes (fallback order) until their free memory holds the
 * domain; the chosen set is the smallest, then the one with the fewest vcpus
 * already placed on it, then the one with the most free memory, then the
 * lowest first node.  vcpus are then placed round-robin over the set's CPUs.
 *
 * The p2m is two-level: a root of pointers to leaves of 256 machine frame
 * numbers, both from the slab allocator, leaves allocated as frames are
 * populated, so a sparse or large guest costs what it uses.  The root is at
 * most one max-order block, so a domain has at most NUMEM_DOMAIN_MAX_PAGES
 * guest frames.  Root and leaf entries are atomics: a lock-free reader
 * (numem_domain_p2m) sees a frame or NUMEM_P2M_NONE, never a torn value, and
 * a frame is taken out of the p2m with an atomic exchange whose caller alone
 * frees what it returned, so two vcpus giving back the same frame cannot
 * both free it.
 *
 * Ids and references.  Domain ids are 1..NUMEM_OWNER_DOMAIN_MAX (0 is the
 * heap's own owner, ids above are reserved for core layers), handed out
 * from the free ones in rotation, so an id is never that of a live domain
 * and a destroyed domain's id is reused as late as possible.
 * numem_domain_find() returns the domain with a reference held;
 * numem_domain_put() drops it.  numem_domain_destroy() refuses with
 * NUMEM_E_BUSY (and changes nothing) while any reference is held: it does
 * not wait.  The pointer numem_domain_create() returns is the creator's and
 * holds no reference; it is valid until the creator destroys the domain.
 *
 * Locks.  The manager's lock (numem_domains.lock) protects the domain list,
 * nr_domains, the id bitmap and cursor, every domain's `refs`, and the vcpu
 * placement counters.  A domain's lock (numem_domain.lock) protects its
 * tot_pages, pages_on_node[], next_gpfn, the p2m root's entries and the
 * shape of its extents (splits); reservations take it for the whole call
 * (decrease_reservation_at for each extent, so concurrent callers
 * interleave).  Leaf entries are written and exchanged under it too; being
 * atomics they may also be read without it.
 * Order: the manager's lock and a domain's lock are never held together;
 * a domain's lock is taken before zone and slab locks (allocation and free
 * run under it), never after.  Allocations under it may run the heap's
 * shrinkers, so a shrinker must not take a domain's lock (heap.h, "Lock
 * order", 1b).
 *
 * Relayout (relayout.h).  pages_on_node[] counts each frame on the node
 * the heap's layout in force gives it (numem_heap_topo()), page by page: a
 * block a commit cut in two is counted on both nodes.  numem_domains_init()
 * subscribes the layer to the heap's relayout notifier: after every commit
 * it recounts each domain's pages_on_node[] from its p2m under the
 * domain's lock (a destroy meanwhile waits for that domain's recount to
 * end).  The frames themselves stay where they are until freed (pending);
 * numem_domain_migrate() moves them at once.
 *
 * Bad input (an unknown domain, a reservation beyond max_pages, a node
 * outside the machine or without memory, a vcpu pinned to a missing cpu, a
 * frame outside the guest, a frame already populated or named twice) gets a
 * specific error and changes nothing.
 */
#ifndef NUMEM_DOMAIN_H
#define NUMEM_DOMAIN_H

#include <numem/heap.h>
#include <numem/relayout.h>
#include <numem/slab.h>

#define NUMEM_MAX_VCPUS  256
#define NUMEM_MAX_VNODES 16
#define NUMEM_P2M_LEAF   256 /* frames per p2m leaf */
#define NUMEM_P2M_NONE   UINT64_MAX
/* The p2m root is at most one max-order block (less the slab's header). */
#define NUMEM_P2M_MAX_LEAVES                                                                       \
	(((NUMEM_PAGE_SIZE << NUMEM_MAX_ORDER) - NUMEM_PAGE_SIZE) / sizeof(void *))
#define NUMEM_DOMAIN_MAX_PAGES ((uint64_t)NUMEM_P2M_MAX_LEAVES * NUMEM_P2M_LEAF)
/* Extents one numem_domain_populate_physmap() call may name: its duplicate
 * check sorts a copy of the list in one slab allocation (never platform
 * metadata: the count is the guest's). */
#define NUMEM_DOMAIN_POPULATE_MAX ((uint64_t)(NUMEM_KMALLOC_MAX / sizeof(uint64_t)))

struct numem_vnode_config {
	uint64_t pages;                     /* guest memory of this virtual node */
	numem_nid_t pnode;                  /* the physical node that backs it */
	uint32_t nr_vcpus;                  /* vcpus in this virtual node (consecutive ids) */
	uint8_t distance[NUMEM_MAX_VNODES]; /* to each virtual node; 0: 10/20 */
};

struct numem_domain_config {
	char name[32];
	uint64_t max_pages;
	uint32_t nr_vcpus;
	/* Hard affinity: vcpu i may run only on pcpu[i] (when pinned), else on
	 * the CPUs of the node affinity.  -1 entries are unpinned. */
	int32_t pin[NUMEM_MAX_VCPUS];
	bool pinned;            /* pin[] is given */
	numem_nodemask_t nodes; /* node affinity (soft); empty: automatic */
	uint32_t nr_vnodes;     /* 0: no vNUMA */
	struct numem_vnode_config vnode[NUMEM_MAX_VNODES];
};

struct numem_vcpu {
	uint32_t pcpu;    /* where it runs */
	numem_nid_t node; /* the pcpu's node */
	bool pinned;      /* hard affinity to pcpu only */
	uint8_t vnode;    /* vNUMA: its virtual node */
};

/* A p2m leaf entry: a machine frame or NUMEM_P2M_NONE. */
typedef _Atomic(uint64_t) numem_p2m_entry_t;

struct numem_domain {
	uint16_t id;
	char name[32];
	uint64_t max_pages;
	uint64_t tot_pages;                      /* populated frames (lock) */
	uint64_t pages_on_node[NUMEM_MAX_NODES]; /* populated frames per node (lock) */
	uint32_t nr_vcpus;
	struct numem_vcpu vcpu[NUMEM_MAX_VCPUS];
	numem_nodemask_t node_affinity;
	bool auto_placed;
	uint32_t nr_vnodes;
	struct numem_vnode_config vnode[NUMEM_MAX_VNODES];
	uint64_t vnode_start[NUMEM_MAX_VNODES]; /* first gpfn of each virtual node */
	uint64_t next_gpfn;                     /* where increase_reservation appends (lock) */
	/* root: leaves of NUMEM_P2M_LEAF entries (root entries: lock to set) */
	numem_p2m_entry_t *_Atomic *p2m;
	uint64_t p2m_leaves; /* root entries */
	uint32_t refs;       /* references from numem_domain_find (manager's lock) */
	uint32_t pins;       /* a relayout recount is at work on it (manager's lock) */
	_Atomic int lock;    /* see "Locks" above */
	struct numem_domain *next;
	struct numem_domains *mgr;
};

struct numem_domains {
	struct numem_heap *heap;
	struct numem_slab *slab;
	struct numem_domain *list;
	uint16_t next_id; /* where the search for a free id starts */
	uint32_t nr_domains;
	uint64_t id_used[NUMEM_OWNER_DOMAIN_MAX / 64 + 1]; /* bit i: id i is live */
	uint32_t vcpus_on_node[NUMEM_MAX_NODES];           /* placed vcpus, for placement */
	uint32_t vcpus_on_cpu[4096];                       /* for round-robin vcpu placement */
	_Atomic int lock;                                  /* see "Locks" above */
	struct numem_relayout_notifier relayout;           /* the layer's subscription */
	_Atomic uint64_t recounts;                         /* domains recounted after commits */
	struct numem_domain_hook *hooks;                   /* destroy hooks (see below) */
};

/* Reservation modes. */
enum numem_res_mode {
	NUMEM_RES_BALANCED = 0, /* over the vcpus' nodes (vNUMA: the vnode's node) */
	NUMEM_RES_NODE = 1,     /* only `node` */
	NUMEM_RES_MASK = 2,     /* only `nodes` */
};

struct numem_res {
	enum numem_res_mode mode;
	numem_nid_t node;
	numem_nodemask_t nodes;
	unsigned flags; /* NUMEM_ALLOC_* (zone limit, zero, ...) */
};

/* Sets the layer up and subscribes it to the heap's relayout notifier
 * (numem_domains_release() unsubscribes: release before the struct goes). */
enum numem_err numem_domains_init(struct numem_domains *d, struct numem_heap *heap,
                                  struct numem_slab *slab, struct numem_diag *diag);
/* Destroys every domain left, references or not (the embedder is shutting
 * the layer down: nobody may use a domain after this), and unsubscribes. */
void numem_domains_release(struct numem_domains *d, struct numem_cpu *cpu);

enum numem_err numem_domain_create(struct numem_domains *d, const struct numem_domain_config *cfg,
                                   struct numem_cpu *cpu, struct numem_domain **out,
                                   struct numem_diag *diag);
/*
 * Returns every page (numem_free_owned with the domain's id) and the p2m,
 * and frees the id.  NUMEM_E_INVAL for an unknown id, NUMEM_E_BUSY while a
 * reference from numem_domain_find() is held (nothing changed in either
 * case).  NUMEM_E_CORRUPT when the p2m mapped a frame the domain no longer
 * held (freed behind its back): the domain is destroyed all the same and the
 * message names the first such frame; its id is then retired (never handed
 * out again), since blocks the p2m lost track of may still carry it.
 */
enum numem_err numem_domain_destroy(struct numem_domains *d, struct numem_cpu *cpu, uint16_t id,
                                    struct numem_diag *diag);
/* The live domain with this id, with a reference held (drop it with
 * numem_domain_put), or NULL. */
struct numem_domain *numem_domain_find(struct numem_domains *d, uint16_t id);
/* Drop a reference numem_domain_find() took; the pointer is not to be used
 * after.  A put with no reference held (put twice) is an assertion failure
 * (NUMEM_ASSERT: the platform's panic), not a silent no-op. */
void numem_domain_put(struct numem_domain *dom);

/*
 * Give the domain up to `nr` extents of 2^order pages at its next guest
 * frames.  *done = extents populated.  NUMEM_E_INVAL (nothing changed) for
 * a reservation beyond max_pages or a node outside the machine;
 * NUMEM_E_NO_PAGES when memory ran out part-way (*done says how far).
 */
enum numem_err numem_domain_increase_reservation(struct numem_domain *dom, struct numem_cpu *cpu,
                                                 uint64_t nr, unsigned order,
                                                 const struct numem_res *res, uint64_t *done,
                                                 struct numem_diag *diag);
/*
 * Balloon out: give back exactly min(nr, tot_pages >> order) * 2^order
 * pages, from the domain's highest populated guest frames down, splitting
 * an extent when only part of it goes; *done = extents' worth given back.
 * NUMEM_E_INVAL for an order above NUMEM_MAX_ORDER; NUMEM_E_CORRUPT (with
 * the gpfn and mfn) when the p2m maps a frame the domain no longer holds,
 * *done saying how far it got.
 */
enum numem_err numem_domain_decrease_reservation(struct numem_domain *dom, struct numem_cpu *cpu,
                                                 uint64_t nr, unsigned order, uint64_t *done,
                                                 struct numem_diag *diag);
/*
 * Give back the extents of 2^order guest frames at gpfn[0..nr) (aligned,
 * inside max_pages: checked for the whole call first).  A frame that is not
 * populated is skipped (another vcpu may have given it back first); *done =
 * extents of which this call gave back at least one frame.  Safe against a
 * concurrent call on the same frames: each frame is freed by exactly one.
 */
enum numem_err numem_domain_decrease_reservation_at(struct numem_domain *dom, struct numem_cpu *cpu,
                                                    const uint64_t *gpfn, uint64_t nr,
                                                    unsigned order, uint64_t *done,
                                                    struct numem_diag *diag);
/*
 * Populate the given guest frames (extents of 2^order, aligned).  The
 * whole call is checked first: more than NUMEM_DOMAIN_POPULATE_MAX extents,
 * a frame misaligned or beyond max_pages, one already populated, or two
 * extents naming the same frames gets NUMEM_E_INVAL and nothing changes
 * (the duplicate check of more than 32 extents takes a slab object the size
 * of the list, given back before the call returns).  NUMEM_E_NO_PAGES when memory ran out
 * part-way (*done extents populated, the rest untouched).
 */
enum numem_err numem_domain_populate_physmap(struct numem_domain *dom, struct numem_cpu *cpu,
                                             const uint64_t *gpfn, uint64_t nr, unsigned order,
                                             const struct numem_res *res, uint64_t *done,
                                             struct numem_diag *diag);
/* Converge to `pages` populated frames (order-0 steps). */
enum numem_err numem_domain_set_target(struct numem_domain *dom, struct numem_cpu *cpu,
                                       uint64_t pages, struct numem_diag *diag);

/* Machine frame of a guest frame, or NUMEM_P2M_NONE.  Lock-free. */
uint64_t numem_domain_p2m(const struct numem_domain *dom, uint64_t gpfn);

/*
 * The machine frame behind guest frame gpfn, checked: populated in the p2m
 * and inside an allocated block the domain holds (the owner check the Xen
 * tmem advisories lacked).  NUMEM_E_RANGE for a gpfn beyond max_pages or
 * not populated, NUMEM_E_OWNER for a frame the domain does not hold (the
 * p2m is then corrupt).  Lock-free: the answer may be stale as soon as it
 * returns (the guest may give the frame back); to use the frame, see
 * numem_domain_frame_access.
 */
enum numem_err numem_domain_frame_of(const struct numem_domain *dom, uint64_t gpfn,
                                     numem_pfn_t *pfn, struct numem_diag *diag);
/*
 * Check gpfn as numem_domain_frame_of does and call fn(ctx, pfn) with the
 * domain's lock held, so the frame stays the domain's for the call (no
 * decrease_reservation can give it back meanwhile); *ret = fn's return.
 * The errors of numem_domain_frame_of (fn not called).  fn runs under a
 * domain lock (heap.h, lock order 1b): it may take leaf locks ordered
 * after it (tmem's lock, zone locks) and allocate with
 * NUMEM_ALLOC_NORECLAIM, never call numem_domain_* or the slab.
 */
enum numem_err numem_domain_frame_access(struct numem_domain *dom, uint64_t gpfn,
                                         int (*fn)(void *ctx, numem_pfn_t pfn), void *ctx, int *ret,
                                         struct numem_diag *diag);

/*
 * Destroy hooks: layers above domains (tmem) that keep per-domain state
 * register one; numem_domain_destroy() (and numem_domains_release) call
 * every hook's destroy(ctx, cpu, id) once the domain is off the list (no
 * numem_domain_find finds it) and before its frames go, with no lock
 * held.  A hook may call the heap and the slab, not numem_domain_* on that
 * domain.  Add and remove hooks only while no destroy runs (at init and
 * teardown); the struct is the caller's until removed.
 */
struct numem_domain_hook {
	void (*destroy)(void *ctx, struct numem_cpu *cpu, uint16_t id);
	void *ctx;
	struct numem_domain_hook *next; /* the manager's */
};
void numem_domains_add_hook(struct numem_domains *d, struct numem_domain_hook *h);
void numem_domains_remove_hook(struct numem_domains *d, struct numem_domain_hook *h);

/*
 * How far the domain is from its balanced share: the largest
 * |pages_on_node[n] - share(n)| over the nodes, in pages, where share(n) is
 * tot_pages split over its vcpus' nodes (nearest with memory) in proportion
 * to the vcpus on each (vNUMA: the populated pages of each virtual node on
 * its physical node).  *worst (if given) is that node.
 */
uint64_t numem_domain_imbalance(const struct numem_domain *dom, numem_nid_t *worst);

/*
 * The ownership invariant: every allocated block's owner is
 * NUMEM_OWNER_HEAP, a reserved core owner (>= NUMEM_OWNER_SLAB, 0xfff0) or
 * a live domain, and each domain holds exactly the pages its p2m maps; every
 * frame a p2m maps is in an allocated block owned by that domain and is
 * mapped once (over all domains); tot_pages and pages_on_node[] equal what
 * the p2m maps.  Needs the heap and the domains quiescent.  Returns the
 * first violation (the domain, gpfn, mfn, expected and found).
 */
enum numem_err numem_domain_verify(struct numem_domains *d, struct numem_diag *diag);

/*
 * Migrate the domain's frames that a relayout left pending (their pages
 * belong to another node in the layout in force than the node their block
 * was allocated on) at once, rather than when they are freed: for each such
 * extent, a block of the same order on the node the layout gives it
 * (exactly that node), the contents copied through the platform's
 * phys_to_virt, the p2m switched to the new frames, the old block freed
 * (to its new node's lists).  An extent a commit cut across nodes is split
 * (numem_heap_split) at the cuts first, each piece moving on its own.  It
 * stops once `max_pages` pages have moved (whole extents; 0: no limit);
 * *moved (if given) = pages moved, *left (if given) = pages still pending.  Takes the domain's lock
 * (lock order 1b: call with no heap or slab lock held).  The guest's vcpus
 * must not write the frames meanwhile (as for Xen's page migration).
 * NUMEM_E_UNSUPPORTED without phys_to_virt (or a frame it cannot map:
 * nothing of that extent changed); NUMEM_E_NO_PAGES when a target
 * node has no block left (what moved stays moved, the rest pending);
 * NUMEM_E_CORRUPT when the p2m maps a frame the domain no longer holds.
 */
enum numem_err numem_domain_migrate(struct numem_domain *dom, struct numem_cpu *cpu,
                                    uint64_t max_pages, uint64_t *moved, uint64_t *left,
                                    struct numem_diag *diag);
/* Pages of the domain a relayout left pending: those the layout gives
 * another node than their block was allocated on (what
 * numem_domain_migrate() would move; *left counts the same way).  Takes
 * the domain's lock. */
uint64_t numem_domain_pending(struct numem_domain *dom);

/* The guest's own SRAT and SLIT for its vNUMA layout (malloc-free: into
 * caller buffers; lengths as the writers report them). */
enum numem_err numem_domain_vnuma_tables(const struct numem_domain *dom, void *srat,
                                         size_t srat_cap, size_t *srat_len, void *slit,
                                         size_t slit_cap, size_t *slit_len);

#endif /* NUMEM_DOMAIN_H */
