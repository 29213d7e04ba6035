/*
 * domain_internal.h - what the files of domain/ share (core-internal).
 *
 * domain.c       the manager: init, create, destroy, ids, references
 * placement.c    automatic node affinity and vcpu placement
 * p2m.c          the two-level guest -> machine map and extent lookup
 * reservation.c  increase_reservation, populate_physmap, balancing
 * balloon.c      decrease_reservation(_at), set_target
 * vnuma.c        the guest's SRAT and SLIT
 * verify.c       the ownership invariant and the balance measure
 * relayout.c     the relayout subscriber (recount) and numem_domain_migrate
 *
 * No file here includes heap internals: frames are taken and given back
 * with numem_alloc_owned / numem_free_owned / numem_heap_split, and frame
 * descriptors are only read (memmap.h), except the private word of a head
 * the domain holds (its guest frame).
 */
#ifndef NUMEM_DOMAIN_INTERNAL_H
#define NUMEM_DOMAIN_INTERNAL_H

#include <numem/domain.h>

#include "../lib/internal.h"
#include "../lib/spinlock.h"

static inline void numem__dom_lock(struct numem_domain *dom)
{
	numem__lock(&dom->lock);
}

static inline void numem__dom_unlock(struct numem_domain *dom)
{
	numem__unlock(&dom->lock);
}

/* A descriptor's flags, read as the heap writes them (relaxed atomics). */
static inline uint64_t numem__dom_pg_flags(const struct numem_page *pg)
{
	return __atomic_load_n(&pg->flags, __ATOMIC_RELAXED);
}

static inline uint16_t numem__dom_pg_owner(uint64_t flags)
{
	return (uint16_t)((flags >> NUMEM_PG_OWNER_SHIFT) & NUMEM_PG_OWNER_MASK);
}

/* ---- p2m.c ---- */

/* The leaf entry of gpfn, or NULL when its leaf was never allocated. */
numem_p2m_entry_t *numem__p2m_slot(const struct numem_domain *dom, uint64_t gpfn);
/* Make sure gpfn's leaf exists (domain lock held).  NUMEM_E_NO_PAGES when
 * the slab could not supply it (nothing changed). */
enum numem_err numem__p2m_leaf(struct numem_domain *dom, struct numem_cpu *cpu, uint64_t gpfn,
                               struct numem_diag *diag);
/* Map gpfn (leaf present, domain lock held). */
void numem__p2m_set(struct numem_domain *dom, uint64_t gpfn, uint64_t mfn);
/* Unmap gpfn atomically; returns what it mapped (NUMEM_P2M_NONE: nothing,
 * someone else took it). */
uint64_t numem__p2m_take(struct numem_domain *dom, uint64_t gpfn);
/* The first populated guest frame at or after gpfn (its machine frame in
 * *mfn), skipping leaves never allocated; dom->max_pages when none. */
uint64_t numem__p2m_next(const struct numem_domain *dom, uint64_t gpfn, uint64_t *mfn);
/* Entry i of a caller's frame list: gpfn[i] aligned to `order` and the
 * extent inside the guest (below max_pages); else NUMEM_E_INVAL naming fn,
 * the domain, the entry and the limit. */
enum numem_err numem__dom_check_frame(const struct numem_domain *dom, const char *fn,
                                      const uint64_t *gpfn, uint64_t i, unsigned order,
                                      struct numem_diag *diag);

/* An extent the domain holds: the allocated heap block covering a frame. */
struct numem__extent {
	uint64_t gpfn;  /* first guest frame */
	uint64_t mfn;   /* its machine frame (the block's head) */
	unsigned order; /* the block's order */
	numem_nid_t node;
};

/*
 * The extent holding guest frame gpfn, which maps mfn.  Looks at most
 * NUMEM_MAX_ORDER + 1 aligned candidates below mfn (blocks are aligned), so
 * it always ends.  NUMEM_E_CORRUPT, naming fn, the domain, gpfn and mfn,
 * when mfn is not inside an allocated block owned by the domain whose head
 * the p2m maps at the matching guest frame.
 */
enum numem_err numem__p2m_extent(const struct numem_domain *dom, const char *fn, uint64_t gpfn,
                                 uint64_t mfn, struct numem__extent *ext, struct numem_diag *diag);

/*
 * Take an extent out of the p2m (an atomic exchange per frame; the head's
 * exchange decides who frees), give it back with the domain's id and
 * uncount it.  Domain lock held.  NUMEM_E_CORRUPT if the heap refuses the
 * free (it holds what we took, nothing is freed twice).
 */
enum numem_err numem__dom_free_extent(struct numem_domain *dom, struct numem_cpu *cpu,
                                      const struct numem__extent *ext, bool *freed,
                                      struct numem_diag *diag);

/* ---- relayout.c ---- */

/*
 * Count the frames [mfn, mfn + n) on the nodes topology t gives them, page
 * by page (a run of one range at a time): add them to pages_on_node[] when
 * `add`, else take them off.  Domain lock held.
 */
void numem__dom_count(struct numem_domain *dom, const struct numem_topo *t, uint64_t mfn,
                      uint64_t n, bool add);
/* The node t gives pfn, and in *end the first pfn after it that the same
 * range no longer holds (NUMEM_NID_NONE and pfn + 1 for a hole). */
numem_nid_t numem__dom_node_run(const struct numem_topo *t, uint64_t pfn, uint64_t *end);
/* Register the layer's relayout notifier (numem_domains_init). */
void numem__dom_relayout_subscribe(struct numem_domains *d);

/* ---- placement.c ---- */

void numem__dom_place(struct numem_domains *d, uint64_t pages, numem_nodemask_t *out);
uint32_t numem__dom_pick_cpu(struct numem_domains *d, const numem_nodemask_t *set);

/* ---- reservation.c (domain lock held) ---- */

enum numem_err numem__dom_increase(struct numem_domain *dom, struct numem_cpu *cpu, uint64_t nr,
                                   unsigned order, const struct numem_res *res, uint64_t *done,
                                   struct numem_diag *diag);
enum numem_err numem__dom_populate(struct numem_domain *dom, struct numem_cpu *cpu,
                                   const uint64_t *gpfn, uint64_t nr, unsigned order,
                                   const struct numem_res *res, uint64_t *done,
                                   struct numem_diag *diag);
/* Vcpus per node (their nearest node with memory) into on[]; returns the
 * number counted. */
uint32_t numem__dom_vcpu_share(const struct numem_domain *dom, uint32_t on[NUMEM_MAX_NODES]);

/* ---- balloon.c (domain lock held) ---- */

enum numem_err numem__dom_decrease(struct numem_domain *dom, struct numem_cpu *cpu, uint64_t nr,
                                   unsigned order, uint64_t *done, struct numem_diag *diag);
/* Split ext's block to pieces of 2^p pages and narrow ext to the piece
 * holding guest frame g (the new heads get their guest frame as the
 * owner's word).  NUMEM_E_CORRUPT when the heap refuses. */
enum numem_err numem__dom_split_to(struct numem_domain *dom, struct numem__extent *ext, unsigned p,
                                   uint64_t g, struct numem_diag *diag);

#endif /* NUMEM_DOMAIN_INTERNAL_H */
