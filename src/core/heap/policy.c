/*
 * policy.c - memory policies: which nodes an allocation may use, in which
 * order, and which node it is "intended" for (numastat's hit/miss).
 *
 *   LOCAL            the CPU's nearest node with memory, then its fallback
 *   PREFERRED        `node` (or its nearest with memory), then fallback
 *   PREFERRED_MANY   `nodes` nearest the CPU first, then the CPU's fallback
 *   BIND             `nodes` only, nearest the CPU first
 *   INTERLEAVE       the next node of `nodes` round-robin, then its fallback;
 *                    the rotor is per CPU (cpu->il_prev, as Linux's per-task
 *                    il_prev): each CPU takes the node after the one it took
 *                    last, so CPUs sharing a policy share no written line
 *                    (alloc.c's fast path follows the same rotor)
 *   INTERLEAVE_INDEX `nodes`[index % n], then its fallback
 *   WEIGHTED_INTERLEAVE  round-robin giving node n weight[n] turns in a row
 *
 * Every list is then cut to the CPU's allowed nodes (cpuset), and to its
 * first node with NUMEM_ALLOC_EXACT_NODE.  Nodes without memory never
 * appear.  "Nearest the CPU" orders by distance from the CPU's node, ties to
 * the lower id, as the fallback lists do.
 */
#include "alloc_internal.h"

/* Nodes of `mask` with memory, sorted by distance from `from`. */
static uint32_t mask_by_distance(const struct numem_topo *t, const numem_nodemask_t *mask,
                                 numem_nid_t from, numem_nid_t *out)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < t->node[from].nr_fallback; i++) {
		numem_nid_t m = t->node[from].fallback[i];
		if (numem_nodemask_test(mask, m))
			out[n++] = m;
	}
	/* Unreachable nodes (not in the fallback list) come last, by id. */
	for (numem_nid_t m = 0; m < t->nr_nodes; m++)
		if (numem_nodemask_test(mask, m) && t->node[m].ram_pages &&
		    t->distance[from][m] == NUMEM_UNREACHABLE)
			out[n++] = m;
	return n;
}

static uint32_t fallback_of(const struct numem_topo *t, numem_nid_t start, numem_nid_t *out)
{
	const struct numem_node *node = &t->node[start];
	for (uint32_t i = 0; i < node->nr_fallback; i++)
		out[i] = node->fallback[i];
	return node->nr_fallback;
}

/* The first node of `mask` with memory after `prev`, wrapping around. */
static numem_nid_t next_node(const struct numem_topo *t, const numem_nodemask_t *mask,
                             numem_nid_t prev)
{
	for (uint32_t i = 1; i <= NUMEM_MAX_NODES; i++) {
		numem_nid_t m = (numem_nid_t)((prev + i) % NUMEM_MAX_NODES);
		if (m < t->nr_nodes && numem_nodemask_test(mask, m) && t->node[m].ram_pages)
			return m;
	}
	return NUMEM_NID_NONE;
}

/* The k-th node (0-based) of `mask` that has memory. */
static numem_nid_t nth_node(const struct numem_topo *t, const numem_nodemask_t *mask, uint64_t k)
{
	for (numem_nid_t m = 0; m < t->nr_nodes; m++)
		if (numem_nodemask_test(mask, m) && t->node[m].ram_pages && k-- == 0)
			return m;
	return NUMEM_NID_NONE;
}

static uint32_t mask_memory_nodes(const struct numem_topo *t, const numem_nodemask_t *mask)
{
	uint32_t n = 0;
	for (numem_nid_t m = 0; m < t->nr_nodes; m++)
		n += numem_nodemask_test(mask, m) && t->node[m].ram_pages;
	return n;
}

enum numem_err numem__policy_nodes(struct numem_cpu *cpu, struct numem_policy *p, unsigned flags,
                                   struct numem__plan *plan, struct numem_diag *diag)
{
	const struct numem_topo *t = cpu->heap->topo;
	numem_nid_t list[NUMEM_MAX_NODES];
	uint32_t n = 0;
	enum numem_policy_mode mode = p ? p->mode : NUMEM_POLICY_LOCAL;
	bool interleave = false;
	switch (mode) {
	case NUMEM_POLICY_LOCAL:
		n = fallback_of(t, cpu->node, list);
		break;
	case NUMEM_POLICY_PREFERRED:
		if (p->node >= t->nr_nodes)
			return numem__fail(
			    diag, NUMEM_E_INVAL, 0, 0,
			    "numem_alloc: preferred node %u, the machine has %u nodes", p->node,
			    t->nr_nodes);
		n = fallback_of(t, p->node, list);
		break;
	case NUMEM_POLICY_PREFERRED_MANY:
	case NUMEM_POLICY_BIND: {
		if (!mask_memory_nodes(t, &p->nodes))
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "numem_alloc: %s policy with no node with memory in its "
			                   "mask",
			                   mode == NUMEM_POLICY_BIND ? "bind" : "preferred-many");
		n = mask_by_distance(t, &p->nodes, cpu->node, list);
		if (mode == NUMEM_POLICY_PREFERRED_MANY) {
			numem_nid_t rest[NUMEM_MAX_NODES];
			uint32_t r = fallback_of(t, cpu->node, rest);
			for (uint32_t i = 0; i < r; i++)
				if (!numem_nodemask_test(&p->nodes, rest[i]))
					list[n++] = rest[i];
		}
		break;
	}
	case NUMEM_POLICY_INTERLEAVE:
	case NUMEM_POLICY_INTERLEAVE_INDEX:
	case NUMEM_POLICY_WEIGHTED_INTERLEAVE: {
		uint32_t count = mask_memory_nodes(t, &p->nodes);
		if (!count)
			return numem__fail(
			    diag, NUMEM_E_INVAL, 0, 0,
			    "numem_alloc: interleave policy with no node with memory "
			    "in its mask");
		numem_nid_t target;
		if (mode == NUMEM_POLICY_INTERLEAVE_INDEX) {
			target = nth_node(t, &p->nodes, p->index % count);
		} else if (mode == NUMEM_POLICY_INTERLEAVE) {
			target = next_node(t, &p->nodes, cpu->il_prev);
			cpu->il_prev = target;
		} else {
			uint64_t total = 0;
			for (numem_nid_t m = 0; m < t->nr_nodes; m++)
				if (numem_nodemask_test(&p->nodes, m) && t->node[m].ram_pages)
					total += p->weight[m] ? p->weight[m] : 1;
			uint64_t k =
			    atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed) % total;
			target = NUMEM_NID_NONE;
			for (numem_nid_t m = 0; m < t->nr_nodes && target == NUMEM_NID_NONE; m++) {
				if (!numem_nodemask_test(&p->nodes, m) || !t->node[m].ram_pages)
					continue;
				uint64_t w = p->weight[m] ? p->weight[m] : 1;
				if (k < w)
					target = m;
				else
					k -= w;
			}
		}
		n = fallback_of(t, target, list);
		interleave = true;
		break;
	}
	default:
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_alloc: unknown policy mode %u",
		                   (unsigned)mode);
	}
	/* Intended node: the head of the list before the cpuset cut. */
	plan->intended = n ? list[0] : cpu->mem_node;
	plan->interleave = interleave;
	plan->nr_nodes = 0;
	for (uint32_t i = 0; i < n; i++)
		if (numem_nodemask_test(&cpu->allowed, list[i]))
			plan->node[plan->nr_nodes++] = list[i];
	if (!plan->nr_nodes)
		return numem__fail(diag, NUMEM_E_NO_PAGES, 0, 0,
		                   "numem_alloc: cpu %u: the policy's nodes (intended %u) are all "
		                   "outside the CPU's allowed nodes",
		                   cpu->id, plan->intended);
	if (flags & NUMEM_ALLOC_EXACT_NODE) {
		if (plan->node[0] != plan->intended)
			return numem__fail(diag, NUMEM_E_NO_PAGES, 0, 0,
			                   "numem_alloc: exact node %u is not allowed for cpu %u",
			                   plan->intended, cpu->id);
		plan->nr_nodes = 1;
	}
	return NUMEM_OK;
}

void numem_policy_init(struct numem_policy *p, enum numem_policy_mode mode)
{
	memset(p, 0, sizeof(*p));
	p->mode = mode;
	atomic_init(&p->next, 0);
}
