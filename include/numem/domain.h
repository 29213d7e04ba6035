/*
 * numem/domain.h - guests: vcpus with affinity, node affinity, memory
 * reservations and the guest-physical -> machine frame map (p2m), automatic
 * placement, and virtual NUMA.
 *
 * Reservations.  increase_reservation() hands a domain `nr` extents of
 * 2^order pages at its next guest frames.  By default (NUMEM_RES_BALANCED)
 * the extents are spread over the nodes the domain's vcpus run on, in
 * proportion to the vcpus on each (the 2006 Xen NUMA patch's balancing): the
 * k-th extent goes to the node furthest behind its share, so after any
 * number of extents every node is within one extent of its share.  Each
 * extent prefers its node and falls back as the heap does.  With
 * NUMEM_RES_NODE the extents come from one node only (exact), with
 * NUMEM_RES_MASK from the given nodes only (bind): a guest can live entirely
 * within one node.  A vNUMA domain's frames come from the physical node that
 * backs the virtual node they belong to.
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
 * populated, so a sparse or large guest costs what it uses.
 *
 * Bad input (an unknown domain, a reservation beyond max_pages, a node
 * outside the machine, a vcpu pinned to a missing cpu, a frame outside the
 * guest) gets a specific error and changes nothing.
 */
#ifndef NUMEM_DOMAIN_H
#define NUMEM_DOMAIN_H

#include <numem/heap.h>
#include <numem/slab.h>

#define NUMEM_MAX_VCPUS  256
#define NUMEM_MAX_VNODES 16
#define NUMEM_P2M_LEAF   256 /* frames per p2m leaf */
#define NUMEM_P2M_NONE   UINT64_MAX

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

struct numem_domain {
	uint16_t id;
	char name[32];
	uint64_t max_pages;
	uint64_t tot_pages; /* populated frames */
	uint64_t pages_on_node[NUMEM_MAX_NODES];
	uint32_t nr_vcpus;
	struct numem_vcpu vcpu[NUMEM_MAX_VCPUS];
	numem_nodemask_t node_affinity;
	bool auto_placed;
	uint32_t nr_vnodes;
	struct numem_vnode_config vnode[NUMEM_MAX_VNODES];
	uint64_t vnode_start[NUMEM_MAX_VNODES];  /* first gpfn of each virtual node */
	uint64_t next_gpfn;                      /* where increase_reservation appends */
	uint64_t **p2m;                          /* root: leaves of NUMEM_P2M_LEAF mfns */
	uint64_t p2m_leaves;                     /* root entries */
	uint64_t balance_given[NUMEM_MAX_NODES]; /* extents placed by balancing */
	uint64_t balance_total;
	struct numem_domain *next;
	struct numem_domains *mgr;
};

struct numem_domains {
	struct numem_heap *heap;
	struct numem_slab *slab;
	struct numem_domain *list;
	uint16_t next_id;
	uint32_t nr_domains;
	uint32_t vcpus_on_node[NUMEM_MAX_NODES]; /* placed vcpus, for placement */
	uint32_t vcpus_on_cpu[4096];             /* for round-robin vcpu placement */
	_Atomic int lock;                        /* the list and counters */
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

enum numem_err numem_domains_init(struct numem_domains *d, struct numem_heap *heap,
                                  struct numem_slab *slab, struct numem_diag *diag);
/* Destroys every domain left. */
void numem_domains_release(struct numem_domains *d, struct numem_cpu *cpu);

enum numem_err numem_domain_create(struct numem_domains *d, const struct numem_domain_config *cfg,
                                   struct numem_cpu *cpu, struct numem_domain **out,
                                   struct numem_diag *diag);
/* Returns every page and the p2m. */
enum numem_err numem_domain_destroy(struct numem_domains *d, struct numem_cpu *cpu, uint16_t id,
                                    struct numem_diag *diag);
struct numem_domain *numem_domain_find(struct numem_domains *d, uint16_t id);

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
/* Balloon out: free the extents at the domain's highest populated frames. */
enum numem_err numem_domain_decrease_reservation(struct numem_domain *dom, struct numem_cpu *cpu,
                                                 uint64_t nr, unsigned order, uint64_t *done,
                                                 struct numem_diag *diag);
/* Populate the given guest frames (extents of 2^order, aligned). */
enum numem_err numem_domain_populate_physmap(struct numem_domain *dom, struct numem_cpu *cpu,
                                             const uint64_t *gpfn, uint64_t nr, unsigned order,
                                             const struct numem_res *res, uint64_t *done,
                                             struct numem_diag *diag);
/* Converge to `pages` populated frames (order-0 steps). */
enum numem_err numem_domain_set_target(struct numem_domain *dom, struct numem_cpu *cpu,
                                       uint64_t pages, struct numem_diag *diag);

/* Machine frame of a guest frame, or NUMEM_P2M_NONE. */
uint64_t numem_domain_p2m(const struct numem_domain *dom, uint64_t gpfn);

/* The guest's own SRAT and SLIT for its vNUMA layout (malloc-free: into
 * caller buffers; lengths as the writers report them). */
enum numem_err numem_domain_vnuma_tables(const struct numem_domain *dom, void *srat,
                                         size_t srat_cap, size_t *srat_len, void *slit,
                                         size_t slit_cap, size_t *slit_len);

#endif /* NUMEM_DOMAIN_H */
