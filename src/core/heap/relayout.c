/*
 * relayout.c - numem_relayout_commit(): applying a memlayout to a running
 * heap, the per-CPU catch-up, giving pending blocks to their new node when
 * they are freed, the epoch that retires old versions, and notifiers.
 * (Building and validating layouts: layout.c.  The design: the top of
 * relayout_internal.h and docs/ARCHITECTURE.md, "Relayout".)
 *
 * A commit, in order:
 *   prepare (commit mutex only; nothing visible changes): validate; the
 *     change list (runs of RAM whose node changes, cut at every old or new
 *     node change); one metadata block for the new version (topology with
 *     its ranges rewritten, CPUs, cpumasks; zonelists).  A failed
 *     allocation returns NUMEM_E_NOMEM here with the old layout in place.
 *   BEFORE notifiers (commit mutex only).
 *   apply (apply lock -> grow lock -> zone locks):
 *     1. mark the changed sections (sec_moved); from the publication on,
 *        every buddy insert of a marked section checks the layout under its
 *        zone lock;
 *     2. holding every zone lock, in one window: publish the topology
 *        (release), and account, per change run cut at zone and section
 *        edges: reserved and deferred pages and
 *        their present counts go to the new zone (the descriptors of
 *        online reserved pages get the new node bits); every other page of
 *        an online section is counted pending for the new node, and the
 *        new zone's span grows over the run;
 *     3. holding every zone lock, in a window per source zone: walk its
 *        free lists and take off each free block that meets a change run
 *        of its node (only the lists as they were are walked) onto the
 *        transit list, which the verifier counts; then, in
 *        windows of CUT_BATCH blocks, cut each at the run edges (maximal
 *        aligned pieces) and free the pieces into the target zones
 *        (merging with their new buddies) or back into the source zone;
 *        what moves is no longer pending;
 *     4. zones left empty leave the zonelists, new zones get watermarks,
 *        the new zonelists are built and published, the generation bumps,
 *        the old version is retired.
 *   AFTER notifiers (commit mutex only).
 * Every step keeps free + cached + allocated + reserved + deferred =
 * present per zone whenever no zone lock is held by the commit, so
 * numem_heap_verify() passes before, during and after a commit.
 *
 * Cost: the change runs (per run, O(log) lookups), plus the free blocks of
 * the source zones (one binary search per block); allocated pages are not
 * visited unless a run meets a section that still holds pending pages of
 * an earlier commit (then that run's blocks are walked once).
 */
#include "relayout_internal.h"

#include <numem/trace.h>

uint32_t numem__topo_first_range(const struct numem_topo *t, uint64_t pfn)
{
	uint64_t pa = pfn << NUMEM_PAGE_SHIFT;
	uint32_t lo = 0, hi = t->nr_ranges;
	if (pfn > (UINT64_MAX >> NUMEM_PAGE_SHIFT))
		return t->nr_ranges;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->range[mid].end <= pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct numem_topo *numem_heap_topo(const struct numem_heap *h)
{
	return numem__topo(h);
}

/* ---- state ---------------------------------------------------------------- */

struct numem__relayout *numem__relayout_get(struct numem_heap *h)
{
	struct numem__relayout *rl = numem__relayout_of(h);
	if (rl)
		return rl;
	size_t head = numem__align_up(sizeof(*rl), 64);
	size_t cpu_b = (size_t)h->nr_cpus * sizeof(uint64_t);
	size_t sec = (size_t)h->ft->nr_sections;
	size_t moved_b = numem__align_up(sec + 2 * (size_t)h->nr_zones, 8);
	size_t pend_b = sec * sizeof(uint64_t);
	size_t bytes = head + cpu_b + moved_b + pend_b; /* bounded by the heap's own sizes */
	uint8_t *p = numem__meta_alloc(h->plat, bytes, NUMEM_NID_NONE);
	if (!p)
		return 0;
	rl = (struct numem__relayout *)p;
	rl->bytes = bytes;
	rl->cpu_gen = (numem__u64a *)(p + head);
	rl->sec_moved = (uint8_t *)(p + head + cpu_b);
	rl->zone_moved = p + head + cpu_b + sec;
	rl->zone_seen = rl->zone_moved + h->nr_zones;
	rl->sec_pending = (numem__u64a *)(p + head + cpu_b + moved_b);
	rl->boot_topo = numem_heap_topo(h);
	rl->boot_nodes = rl->boot_topo->nr_nodes;
	struct numem__relayout *none = 0;
	if (!__atomic_compare_exchange_n(&h->relayout, &none, rl, false, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_ACQUIRE)) {
		numem__meta_free(h->plat, p, bytes);
		return none;
	}
	return rl;
}

static void version_free(struct numem_heap *h, struct numem__version *v)
{
	numem__meta_free(h->plat, v, v->bytes);
}

void numem__relayout_release(struct numem_heap *h)
{
	struct numem__relayout *rl = numem__relayout_of(h);
	if (!rl)
		return;
	while (rl->retired) {
		struct numem__version *v = rl->retired;
		rl->retired = v->next;
		version_free(h, v);
	}
	if (rl->current)
		version_free(h, rl->current);
	/* The frame table outlives the heap: give it its boot topology back. */
	h->ft->topo = rl->boot_topo;
	h->topo = rl->boot_topo;
	h->relayout = 0;
	numem__meta_free(h->plat, rl, rl->bytes);
}

/* Free the retired versions every CPU has moved past (commit mutex held). */
static void reclaim(struct numem_heap *h, struct numem__relayout *rl)
{
	if (!rl->retired)
		return;
	uint64_t low = UINT64_MAX;
	for (uint32_t c = 0; c < h->nr_cpus; c++)
		low = NUMEM_MIN(low, __atomic_load_n(&rl->cpu_gen[c], __ATOMIC_ACQUIRE));
	struct numem__version **pp = &rl->retired;
	while (*pp) {
		struct numem__version *v = *pp;
		if (v->retire_gen <= low) {
			*pp = v->next;
			version_free(h, v);
		} else {
			pp = &v->next;
		}
	}
}

uint64_t numem_relayout_generation(const struct numem_heap *h)
{
	struct numem__relayout *rl = h ? numem__relayout_of(h) : 0;
	return rl ? __atomic_load_n(&rl->gen, __ATOMIC_ACQUIRE) : 0;
}

uint64_t numem_relayout_pending(const struct numem_heap *h, numem_nid_t node)
{
	struct numem__relayout *rl = h ? numem__relayout_of(h) : 0;
	if (!rl || node >= h->max_nodes)
		return 0;
	return __atomic_load_n(&rl->pending[node], __ATOMIC_RELAXED);
}

bool numem_relayout_node_online(const struct numem_heap *h, numem_nid_t node)
{
	const struct numem_topo *t = numem_heap_topo(h);
	return node < t->nr_nodes && (t->node[node].ram_pages || t->node[node].nr_cpus);
}

const struct numem_relayout_change *numem_relayout_event_find(const struct numem_relayout_event *ev,
                                                              numem_pfn_t pfn)
{
	uint32_t lo = 0, hi = ev ? ev->nr_changes : 0;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ev->change[mid].end_pfn <= pfn.v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (ev && lo < ev->nr_changes && ev->change[lo].start_pfn <= pfn.v)
		return &ev->change[lo];
	return 0;
}

/* ---- counters (apply lock held: the only writers) ------------------------ */

static void counter_add(numem__u64a *c, uint64_t v)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static void counter_sub(numem__u64a *c, uint64_t v)
{
	uint64_t old = __atomic_load_n(c, __ATOMIC_RELAXED);
	__atomic_store_n(c, old > v ? old - v : 0, __ATOMIC_RELAXED);
}

/* ---- giving pages to zones ----------------------------------------------- */

/* The zone pieces of [s, e) on node n: calls fn per piece. */
static uint64_t zone_cut(const struct numem_heap *h, numem_nid_t n, uint64_t s, uint64_t e)
{
	return NUMEM_MIN(e, numem__zone_boundary_after(h, n, s));
}

/* [s, e) of a detached block (zone `from`, lock held or all held) goes to
 * node n: counted and freed into n's zones (their locks held by the
 * caller when `locked`, else taken one at a time). */
static void give(struct numem_heap *h, struct numem__relayout *rl, struct numem_zone *from,
                 numem_nid_t n, uint64_t s, uint64_t e, bool locked)
{
	if (n == from->node) {
		if (!locked)
			numem__lock(&from->lock);
		numem__buddy_free_range(h, from, s, e);
		if (!locked)
			numem__unlock(&from->lock);
		return;
	}
	if (!locked)
		numem__lock(&from->lock);
	from->present_pages -= e - s;
	if (!locked)
		numem__unlock(&from->lock);
	for (uint64_t p = s; p < e;) {
		uint64_t cut = zone_cut(h, n, p, e);
		struct numem_zone *to = numem__zone_of(h, n, p);
		if (!locked)
			numem__lock(&to->lock);
		to->present_pages += cut - p;
		numem__buddy_free_range(h, to, p, cut);
		if (!locked)
			numem__unlock(&to->lock);
		p = cut;
	}
	counter_sub(&rl->pending[n], e - s);
	counter_sub(&rl->sec_pending[s >> h->ft->pfn_section_shift], e - s);
}

bool numem__relayout_moved(const struct numem_heap *h, numem_nid_t node, uint64_t pfn,
                           unsigned order)
{
	const struct numem_topo *t = numem_heap_topo(h);
	uint64_t end = pfn + (1ull << order);
	for (uint32_t i = numem__topo_first_range(t, pfn); i < t->nr_ranges; i++) {
		uint64_t s, e;
		if (!numem_range_pfns(&t->range[i], &s, &e))
			continue;
		if (s >= end)
			break;
		if (t->range[i].node != node)
			return true;
	}
	return false;
}

void numem__relayout_divert(struct numem_heap *h, uint32_t zi, uint64_t pfn, unsigned order)
{
	struct numem__relayout *rl = numem__relayout_of(h);
	struct numem_zone *from = &h->zone[zi];
	numem__lock(&rl->apply_lock);
	const struct numem_topo *t = numem_heap_topo(h);
	uint64_t pos = pfn, end = pfn + (1ull << order);
	uint32_t i = numem__topo_first_range(t, pos);
	while (pos < end) {
		uint64_t s = end, e = end;
		numem_nid_t n = from->node;
		for (; i < t->nr_ranges; i++)
			if (numem_range_pfns(&t->range[i], &s, &e) && e > pos)
				break;
		if (i < t->nr_ranges && s <= pos) {
			n = t->range[i].node;
			e = NUMEM_MIN(e, end);
		} else { /* no RAM range holds pos (cannot happen): keep it home */
			e = i < t->nr_ranges ? NUMEM_MIN(s, end) : end;
		}
		give(h, rl, from, n, pos, e, false);
		pos = e;
	}
	numem__unlock(&rl->apply_lock);
}

/* ---- the CPU's side ---------------------------------------------------------- */

void numem__relayout_catch_up(struct numem_cpu *cpu)
{
	struct numem_heap *h = cpu->heap;
	struct numem__relayout *rl = numem__relayout_of(h);
	uint64_t gen = __atomic_load_n(&rl->gen, __ATOMIC_ACQUIRE);
	const struct numem_topo *t = numem_heap_topo(h);
	if (cpu->id < t->nr_cpus)
		cpu->node = t->cpu[cpu->id].node;
	cpu->mem_node = t->node[cpu->node].nearest_mem;
	/* Nodes brought online join every CPU's allowed set. */
	for (numem_nid_t n = (numem_nid_t)rl->boot_nodes; n < t->nr_nodes; n++)
		if (t->node[n].ram_pages)
			numem_nodemask_set(&cpu->allowed, n);
	numem__cpu_fast_path(cpu);
	/* Cached blocks of moved ranges go to their new node now. */
	for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
		struct numem_pcp *pcp = &cpu->pcp[zi];
		if (!pcp->pages && !pcp->count[NUMEM_PCP_THP_LIST])
			continue;
		for (unsigned li = 0; li < NUMEM_PCP_NR_LISTS; li++) {
			unsigned o = numem__pcp_list_order(li);
			struct numem_page **pp = &pcp->list[li], *out = 0;
			while (*pp) {
				struct numem_page *pg = *pp;
				uint64_t pfn = numem_page_to_pfn(h->ft, pg).v;
				if (__atomic_load_n(&rl->sec_moved[pfn >> h->ft->pfn_section_shift],
				                    __ATOMIC_RELAXED) &&
				    numem__relayout_moved(h, h->zone[zi].node, pfn, o)) {
					*pp = pg->next;
					pg->next = out;
					out = pg;
					numem__pcp_account(pcp, li, -1);
				} else {
					pp = &pg->next;
				}
			}
			while (out) {
				struct numem_page *pg = out;
				out = pg->next;
				pg->next = 0;
				numem__relayout_divert(h, zi, numem_page_to_pfn(h->ft, pg).v, o);
			}
		}
	}
	/* the walk above may have diverted the last pending blocks */
	numem__relayout_pending_end(cpu);
	__atomic_store_n(&rl->cpu_gen[cpu->id], gen, __ATOMIC_RELEASE);
}

void numem_relayout_quiescent(struct numem_cpu *cpu)
{
	if (cpu)
		numem__relayout_sync(cpu);
}

bool numem_relayout_self_check(struct numem_heap *h, bool on)
{
	struct numem__relayout *rl = h ? numem__relayout_get(h) : 0;
	if (rl)
		rl->self_check = on;
	return rl != 0;
}

/* Between two lock windows of a commit (no zone lock held): the verifier,
 * when asked for. */
static void self_check(struct numem_heap *h, struct numem__relayout *rl, const char *when)
{
	struct numem_diag d;
	if (!rl->self_check)
		return;
	enum numem_err err = numem_heap_verify(h, &d);
	NUMEM_ASSERT(h->plat, err == NUMEM_OK, "relayout commit, %s: %s", when, d.msg);
}

/* ---- notifiers ------------------------------------------------------------- */

void numem_relayout_register(struct numem_heap *h, struct numem_relayout_notifier *n)
{
	struct numem__relayout *rl = h && n ? numem__relayout_get(h) : 0;
	if (!rl)
		return;
	numem__lock(&rl->commit_lock);
	if (!n->linked) {
		n->next = rl->notifiers;
		rl->notifiers = n;
		n->linked = true;
	}
	numem__unlock(&rl->commit_lock);
}

void numem_relayout_unregister(struct numem_heap *h, struct numem_relayout_notifier *n)
{
	struct numem__relayout *rl = h && n ? numem__relayout_of(h) : 0;
	if (!rl)
		return;
	numem__lock(&rl->commit_lock);
	for (struct numem_relayout_notifier **pp = &rl->notifiers; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	n->next = 0;
	n->linked = false;
	numem__unlock(&rl->commit_lock);
}

static void notify(struct numem_heap *h, struct numem__relayout *rl,
                   const struct numem_relayout_event *ev)
{
	for (struct numem_relayout_notifier *n = rl->notifiers; n; n = n->next)
		n->call(n->ctx, h, ev);
}

/* ---- prepare --------------------------------------------------------------- */

/* The change runs of layout l against topology t: counted (out NULL) or
 * written.  Runs merge when contiguous with the same old and new node. */
static uint64_t changes(const struct numem_topo *t, const struct numem_memlayout *l,
                        struct numem_relayout_change *out)
{
	uint64_t k = 0;
	struct numem_relayout_change last = {0, 0, 0, 0};
	for (uint32_t j = 0; j < l->nr; j++) {
		const struct numem_memlayout_range *r = &l->range[j];
		for (uint32_t i = numem__topo_first_range(t, r->start_pfn); i < t->nr_ranges; i++) {
			uint64_t s, e;
			if (!numem_range_pfns(&t->range[i], &s, &e))
				continue;
			if (s >= r->end_pfn)
				break;
			s = NUMEM_MAX(s, r->start_pfn);
			e = NUMEM_MIN(e, r->end_pfn);
			if (s >= e || t->range[i].node == r->node)
				continue;
			if (k && last.end_pfn == s && last.old_node == t->range[i].node &&
			    last.new_node == r->node) {
				last.end_pfn = e;
			} else {
				k++;
				last =
				    (struct numem_relayout_change){s, e, t->range[i].node, r->node};
			}
			if (out)
				out[k - 1] = last;
		}
	}
	return k;
}

/* Append a range to t, merging with the previous one when they touch. */
static void put_range(struct numem_topo *t, uint64_t base, uint64_t end, numem_nid_t node,
                      uint8_t flags)
{
	struct numem_mem_range *p = t->nr_ranges ? &t->range[t->nr_ranges - 1] : 0;
	if (base >= end)
		return;
	if (p && p->end == base && p->node == node && p->flags == flags) {
		p->end = end;
		return;
	}
	t->range[t->nr_ranges++] = (struct numem_mem_range){base, end, node, flags};
}

/* The new topology's ranges: t's, with the change runs' node. */
static void rewrite_ranges(const struct numem_topo *cur, const struct numem_relayout_change *c,
                           uint32_t nr, struct numem_topo *t)
{
	uint32_t j = 0;
	t->nr_ranges = 0;
	for (uint32_t i = 0; i < cur->nr_ranges; i++) {
		const struct numem_mem_range *r = &cur->range[i];
		uint64_t s, e;
		if (!numem_range_pfns(r, &s, &e)) {
			put_range(t, r->base, r->end, r->node, r->flags);
			continue;
		}
		uint64_t pos = r->base;
		while (j < nr && c[j].end_pfn <= s)
			j++;
		for (uint32_t k = j; k < nr && c[k].start_pfn < e; k++) {
			uint64_t cs = NUMEM_MAX(c[k].start_pfn, s), ce = NUMEM_MIN(c[k].end_pfn, e);
			put_range(t, pos, cs << NUMEM_PAGE_SHIFT, r->node, r->flags);
			put_range(t, cs << NUMEM_PAGE_SHIFT,
			          ce == e ? r->end : ce << NUMEM_PAGE_SHIFT, c[k].new_node,
			          r->flags);
			pos = ce == e ? r->end : ce << NUMEM_PAGE_SHIFT;
		}
		put_range(t, pos, r->end, r->node, r->flags);
	}
}

/* Everything a commit allocates, before it changes anything. */
struct plan {
	struct numem__version *v;
	struct numem_relayout_change *change;
	uint32_t nr_changes;
	size_t change_bytes;
};

static enum numem_err prepare(struct numem_heap *h, const struct numem_memlayout *l,
                              struct plan *pl, struct numem_relayout_result *res,
                              struct numem_diag *diag)
{
	const struct numem_topo *cur = numem_heap_topo(h);
	uint64_t nr = changes(cur, l, 0);
	uint64_t nr_ranges = (uint64_t)cur->nr_ranges + 2 * nr + 1;
	size_t cb, rb, cpub, maskb, zlb, total = 0;
	uint32_t words = cur->nr_cpus ? (cur->nr_cpus + 63) / 64 : 1;
	bool ok = nr <= UINT32_MAX && nr_ranges <= UINT32_MAX &&
	          numem__mul_ok((size_t)nr, sizeof(*pl->change), &cb) &&
	          numem__mul_ok((size_t)nr_ranges, sizeof(struct numem_mem_range), &rb) &&
	          numem__mul_ok((size_t)cur->nr_cpus, sizeof(struct numem_cpu_desc), &cpub) &&
	          numem__mul_ok((size_t)words * sizeof(uint64_t), NUMEM_MAX_NODES, &maskb) &&
	          numem__mul_ok((size_t)h->max_nodes * NUMEM_NR_ZONE_TYPES * h->zonelist_len,
	                        sizeof(uint16_t), &zlb) &&
	          numem__add_ok(numem__align_up(sizeof(struct numem__version), 64),
	                        numem__align_up(rb, 64), &total) &&
	          numem__add_ok(total, numem__align_up(cpub, 64), &total) &&
	          numem__add_ok(total, numem__align_up(maskb, 64), &total) &&
	          numem__add_ok(total, zlb, &total);
	if (!ok)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_relayout_commit: %llu change runs overflow the metadata "
		                   "sizes",
		                   (unsigned long long)nr);
	pl->change_bytes = cb ? cb : 1;
	pl->change = numem__meta_alloc(h->plat, pl->change_bytes, NUMEM_NID_NONE);
	if (!pl->change)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "numem_relayout_commit: no metadata memory for %llu change runs "
		                   "(%zu bytes); the layout is unchanged",
		                   (unsigned long long)nr, pl->change_bytes);
	uint8_t *p = numem__meta_alloc(h->plat, total, NUMEM_NID_NONE);
	if (!p) {
		numem__meta_free(h->plat, pl->change, pl->change_bytes);
		pl->change = 0;
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "numem_relayout_commit: no metadata memory for the new topology "
		                   "and zonelists (%zu bytes); the layout is unchanged",
		                   total);
	}
	pl->nr_changes = (uint32_t)changes(cur, l, pl->change);
	struct numem__version *v = (struct numem__version *)p;
	p += numem__align_up(sizeof(*v), 64);
	v->bytes = total;
	v->topo = *cur;
	struct numem_topo *t = &v->topo;
	t->range = (struct numem_mem_range *)p;
	t->range_cap = (uint32_t)nr_ranges;
	p += numem__align_up(rb, 64);
	t->cpu = (struct numem_cpu_desc *)p;
	t->cpu_cap = cur->nr_cpus;
	if (cpub)
		memcpy(t->cpu, cur->cpu, cpub);
	p += numem__align_up(cpub, 64);
	t->cpumask = (uint64_t *)p;
	p += numem__align_up(maskb, 64);
	v->zonelist = (uint16_t *)p;
	rewrite_ranges(cur, pl->change, pl->nr_changes, t);

	/* Nodes: targets, declared ones and CPUs' may extend the count. */
	uint32_t nodes = cur->nr_nodes;
	for (uint32_t i = 0; i < l->nr; i++)
		nodes = NUMEM_MAX(nodes, (uint32_t)l->range[i].node + 1);
	for (uint32_t c = 0; c < l->nr_cpu_nodes && c < t->nr_cpus; c++)
		if (l->cpu_node[c] != NUMEM_NID_NONE) {
			t->cpu[c].node = l->cpu_node[c];
			nodes = NUMEM_MAX(nodes, (uint32_t)l->cpu_node[c] + 1);
			res->cpu_nodes_changed = true;
		}
	for (uint32_t n = cur->nr_nodes; n < nodes; n++) {
		memset(&t->node[n], 0, sizeof(t->node[n]));
		t->node[n].pxm = n;
		for (uint32_t m = 0; m < nodes; m++)
			t->distance[n][m] = t->distance[m][n] =
			    n == m ? NUMEM_LOCAL_DISTANCE : NUMEM_REMOTE_DISTANCE;
	}
	t->nr_nodes = nodes;
	if (l->distance)
		for (uint32_t a = 0; a < nodes; a++)
			for (uint32_t b = 0; b < nodes; b++)
				if (l->distance[(size_t)a * l->distance_dim + b]) {
					t->distance[a][b] =
					    l->distance[(size_t)a * l->distance_dim + b];
					res->distances_changed = true;
				}
	enum numem_err err = numem_topo_refresh(t, diag);
	if (err) {
		numem__meta_free(h->plat, pl->change, pl->change_bytes);
		numem__meta_free(h->plat, v, total);
		pl->change = 0;
		return err;
	}
	for (numem_nid_t n = 0; n < nodes; n++) {
		bool was = n < cur->nr_nodes && (cur->node[n].ram_pages || cur->node[n].nr_cpus);
		bool is = t->node[n].ram_pages || t->node[n].nr_cpus;
		if (is && !was)
			numem_nodemask_set(&res->onlined, n);
		if (was && !is)
			numem_nodemask_set(&res->offlined, n);
	}
	pl->v = v;
	return NUMEM_OK;
}

/* ---- apply ------------------------------------------------------------------- */

/* A commit's windows of every zone lock (index order, as the verifier),
 * timed with the platform's clock when it has one: the longest is the
 * result's max_lock_ns. */
static void lock_all(struct numem_heap *h)
{
	for (uint32_t zi = 0; zi < h->nr_zones; zi++)
		numem__lock(&h->zone[zi].lock);
	if (h->plat->clock_ns)
		h->relayout->win_t0 = h->plat->clock_ns(h->plat->ctx);
}

static void unlock_all(struct numem_heap *h)
{
	struct numem__relayout *rl = h->relayout;
	if (h->plat->clock_ns) {
		uint64_t ns = h->plat->clock_ns(h->plat->ctx) - rl->win_t0;
		rl->win_max = NUMEM_MAX(rl->win_max, ns);
	}
	for (uint32_t zi = h->nr_zones; zi-- > 0;)
		numem__unlock(&h->zone[zi].lock);
}

/* Reserved pages (opts.reserved, sorted by base) inside [s, e); with
 * `node` set, their descriptors (online section) get that node. */
static uint64_t reserved_in(struct numem_heap *h, uint64_t s, uint64_t e, numem_nid_t node,
                            bool rewrite)
{
	uint64_t n = 0, pos = s;
	for (uint32_t k = 0; k < h->nr_reserved && pos < e; k++) {
		uint64_t rs = h->reserved[k].base, re = rs + h->reserved[k].length;
		if (rs >= e)
			break;
		rs = NUMEM_MAX(rs, pos);
		re = NUMEM_MIN(re, e);
		if (rs >= re)
			continue;
		n += re - rs;
		if (rewrite)
			for (uint64_t p = rs; p < re; p++) {
				struct numem_page *pg = numem_pfn_to_page(h->ft, numem_pfn(p));
				uint64_t f = numem__pg_flags(pg);
				f &= ~(NUMEM_PG_NODE_MASK << NUMEM_PG_NODE_SHIFT);
				numem__pg_store(pg, f | (uint64_t)node << NUMEM_PG_NODE_SHIFT);
			}
		pos = re;
	}
	return n;
}

/* The head of the block covering pfn (an online section), or pfn itself. */
static uint64_t block_head(const struct numem_frametable *ft, uint64_t pfn)
{
	for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++) {
		uint64_t hp = pfn & ~((1ull << o) - 1);
		if ((hp >> ft->pfn_section_shift) != (pfn >> ft->pfn_section_shift))
			break;
		enum numem_page_state st = numem__pg_state(numem_pfn_to_page(ft, numem_pfn(hp)));
		if ((st == NUMEM_PS_FREE || st == NUMEM_PS_PCP || st == NUMEM_PS_ALLOCATED) &&
		    numem__pg_order(numem_pfn_to_page(ft, numem_pfn(hp))) >= o)
			return hp;
	}
	return pfn;
}

/* A run [s, e) of a section that still held pending pages before this
 * commit: per allocated or cached block, undo what "every page is newly
 * pending for c" got wrong (pages pending for b before, pages back home). */
static void reclassify(struct numem_heap *h, struct numem__relayout *rl, uint64_t s, uint64_t e,
                       numem_nid_t b, numem_nid_t c)
{
	const struct numem_frametable *ft = h->ft;
	numem__u64a *sp = &rl->sec_pending[s >> ft->pfn_section_shift];
	for (uint64_t p = block_head(ft, s); p < e;) {
		const struct numem_page *pg = numem_pfn_to_page(ft, numem_pfn(p));
		enum numem_page_state st = numem__pg_state(pg);
		uint64_t len = 1;
		if (st == NUMEM_PS_FREE || st == NUMEM_PS_PCP || st == NUMEM_PS_ALLOCATED)
			len = 1ull << numem__pg_order(pg);
		if (st == NUMEM_PS_PCP || st == NUMEM_PS_ALLOCATED) {
			uint64_t k = NUMEM_MIN(p + len, e) - NUMEM_MAX(p, s);
			numem_nid_t hn = numem_page_node(pg);
			if (hn != b) { /* was pending for b */
				counter_sub(&rl->pending[b], k);
				counter_sub(sp, k);
			}
			if (hn == c) { /* back home: not pending */
				counter_sub(&rl->pending[c], k);
				counter_sub(sp, k);
			}
		}
		p += len;
	}
}

struct tally {
	uint64_t moved, blocks, pending, deferred, reserved, changed;
};

/* What step 2 changes in one zone, summed without its lock. */
struct zdelta {
	uint64_t present_in, present_out, reserved_in, reserved_out, deferred_in, deferred_out;
	uint64_t lo, hi; /* span the zone must cover */
	bool touched;
};

/* Call fn for every piece of the runs: a run cut at the old and the new
 * node's zone edges and at section edges (one old zone, one new). */
typedef void (*piece_fn)(struct numem_heap *h, struct numem__relayout *rl,
                         const struct numem_relayout_change *c, uint64_t s, uint64_t e, void *arg);

static void for_each_piece(struct numem_heap *h, struct numem__relayout *rl,
                           const struct numem_relayout_change *c, uint32_t nr, piece_fn fn,
                           void *arg)
{
	const struct numem_frametable *ft = h->ft;
	for (uint32_t i = 0; i < nr; i++)
		for (uint64_t s = c[i].start_pfn; s < c[i].end_pfn;) {
			uint64_t e =
			    NUMEM_MIN(c[i].end_pfn, zone_cut(h, c[i].old_node, s, UINT64_MAX));
			e = zone_cut(h, c[i].new_node, s, e);
			e = NUMEM_MIN(e, ((s >> ft->pfn_section_shift) + 1)
			                     << ft->pfn_section_shift);
			fn(h, rl, &c[i], s, e, arg);
			s = e;
		}
}

struct plan_arg {
	struct zdelta *dz;
	struct tally *ty;
};

/* Step 2a, no zone lock (the apply and grow locks keep the counters and
 * the sections still): what each piece changes.  Reserved and deferred
 * pages change zone; every other page of an online section is counted
 * pending for its new node (the free walk takes back what it moves). */
static void plan_piece(struct numem_heap *h, struct numem__relayout *rl,
                       const struct numem_relayout_change *c, uint64_t s, uint64_t e, void *arg)
{
	struct plan_arg *pa = arg;
	const struct numem_frametable *ft = h->ft;
	uint64_t sec = s >> ft->pfn_section_shift;
	struct zdelta *a = &pa->dz[numem__zone_index(h, numem__zone_of(h, c->old_node, s))];
	struct zdelta *b = &pa->dz[numem__zone_index(h, numem__zone_of(h, c->new_node, s))];
	uint64_t res = reserved_in(h, s, e, 0, false), rest = e - s - res;
	a->reserved_out += res;
	b->reserved_in += res;
	a->present_out += res;
	b->present_in += res;
	if (numem_section_state(ft, sec) & NUMEM_SECTION_ONLINE) {
		counter_add(&rl->pending[c->new_node], rest);
		counter_add(&rl->sec_pending[sec], rest);
	} else {
		a->deferred_out += rest;
		b->deferred_in += rest;
		a->present_out += rest;
		b->present_in += rest;
		pa->ty->deferred += rest;
	}
	b->lo = b->touched ? NUMEM_MIN(b->lo, s) : s;
	b->hi = b->touched ? NUMEM_MAX(b->hi, e) : e;
	b->touched = true;
	pa->ty->reserved += res;
	pa->ty->changed += e - s;
}

/* Step 2c, every zone lock held: the descriptors of online reserved pages
 * get their new node; pieces of sections that held pending pages before
 * this commit are reclassified. */
static void fix_piece(struct numem_heap *h, struct numem__relayout *rl,
                      const struct numem_relayout_change *c, uint64_t s, uint64_t e, void *arg)
{
	uint64_t sec = s >> h->ft->pfn_section_shift;
	(void)arg;
	if (!(numem_section_state(h->ft, sec) & NUMEM_SECTION_ONLINE))
		return;
	reserved_in(h, s, e, c->new_node, true);
	if (__atomic_load_n(&rl->sec_moved[sec], __ATOMIC_RELAXED) == 2)
		reclassify(h, rl, s, e, c->old_node, c->new_node);
}

/* Step 2: plan every piece without a zone lock, then publish the topology
 * and apply the sums in one window of all zone locks, so the verifier
 * (which holds them all) sees the old topology with the old counts or the
 * new one with the new counts, and the window is short (per zone, plus the
 * pieces of reserved ranges and of dirty sections). */
static void account(struct numem_heap *h, struct numem__relayout *rl, struct numem__version *v,
                    const struct numem_relayout_change *c, uint32_t nr, struct zdelta *dz,
                    bool dirty, struct tally *ty)
{
	struct plan_arg pa = {dz, ty};
	for_each_piece(h, rl, c, nr, plan_piece, &pa);
	lock_all(h);
	__atomic_store_n(&h->topo, &v->topo, __ATOMIC_RELEASE);
	h->ft->topo = &v->topo;
	for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
		struct numem_zone *z = &h->zone[zi];
		const struct zdelta *d = &dz[zi];
		z->present_pages = z->present_pages + d->present_in - d->present_out;
		z->reserved_pages = z->reserved_pages + d->reserved_in - d->reserved_out;
		atomic_fetch_add_explicit(&z->deferred_pages, d->deferred_in, memory_order_relaxed);
		atomic_fetch_sub_explicit(&z->deferred_pages, d->deferred_out,
		                          memory_order_relaxed);
		if (!d->touched)
			continue;
		if (!z->populated || d->lo < z->start_pfn)
			z->start_pfn = d->lo;
		if (!z->populated || d->hi > z->end_pfn)
			z->end_pfn = d->hi;
		if (z->grow_cursor > d->lo >> h->ft->pfn_section_shift) /* deferred growth */
			z->grow_cursor = d->lo >> h->ft->pfn_section_shift;
		__atomic_store_n(&z->populated, true, __ATOMIC_RELAXED); /* zonelist.c: unlocked */
	}
	if (h->nr_reserved || dirty)
		for_each_piece(h, rl, c, nr, fix_piece, 0);
	unlock_all(h);
}

/* Detached blocks cut per all-zone-locks window (step 3b). */
#define CUT_BATCH 32u

enum numem_err numem__relayout_transit(struct numem_heap *h, uint64_t *transit,
                                       struct numem_diag *diag)
{
	struct numem__relayout *rl = numem__relayout_of(h);
	uint64_t n = 0;
	for (struct numem_page *pg = rl ? rl->transit : 0; pg; pg = pg->next) {
		uint32_t zi = numem__pg_zone_index(pg);
		uint64_t pfn = numem_page_to_pfn(h->ft, pg).v;
		if (++n > h->ft->max_pfn || numem__pg_state(pg) != NUMEM_PS_PCP ||
		    zi >= h->nr_zones || pfn < h->zone[zi].start_pfn ||
		    pfn + (1ull << numem__pg_order(pg)) > h->zone[zi].end_pfn)
			return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
			                   "heap_verify: relayout transit block %llu (pfn 0x%llx): "
			                   "expected a cached head inside its zone, found state %u "
			                   "zone %u",
			                   (unsigned long long)n, (unsigned long long)pfn,
			                   numem__pg_state(pg), zi);
		transit[zi] += 1ull << numem__pg_order(pg);
	}
	return NUMEM_OK;
}

/* The first run ending after pfn p (binary search). */
static uint32_t run_after(const struct numem_relayout_change *c, uint32_t nr, uint64_t p)
{
	uint32_t lo = 0, hi = nr;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (c[mid].end_pfn <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Step 3a for one source zone (every zone lock held): take off every free
 * block that meets a run of this zone's node, onto *chain (linked through
 * `next`, state PCP: in transit, never a buddy).  Only the lists as they
 * were are walked: nothing has been put back yet. */
static void detach(struct numem_heap *h, struct numem_zone *z,
                   const struct numem_relayout_change *c, uint32_t nr, struct numem_page **chain,
                   struct tally *ty)
{
	for (int o = NUMEM_MAX_ORDER; o >= 0; o--) {
		struct numem_page *next;
		for (struct numem_page *pg = z->area[o].head; pg; pg = next) {
			next = pg->next;
			if (next) /* a pointer chase through cold descriptors */
				__builtin_prefetch(next, 1);
			uint64_t p = numem_page_to_pfn(h->ft, pg).v, end = p + (1ull << o);
			bool ours = false;
			for (uint32_t k = run_after(c, nr, p);
			     k < nr && c[k].start_pfn < end && !ours; k++)
				ours = c[k].old_node == z->node;
			if (!ours)
				continue;
			numem__list_del(&z->area[o].head, pg);
			z->area[o].nr--;
			numem__zone_free_sub(z, 1ull << o);
			numem__pg_set_state(pg, NUMEM_PS_PCP);
			pg->next = *chain;
			*chain = pg;
			ty->blocks++;
		}
	}
}

/* Step 3b (every zone lock held): a detached block, cut at the run edges,
 * its pieces freed into their target zones or back into its own. */
static void cut_block(struct numem_heap *h, struct numem__relayout *rl, struct numem_page *pg,
                      const struct numem_relayout_change *c, uint32_t nr, struct tally *ty)
{
	struct numem_zone *z = &h->zone[numem__pg_zone_index(pg)];
	uint64_t p = numem_page_to_pfn(h->ft, pg).v, end = p + (1ull << numem__pg_order(pg));
	uint32_t lo = run_after(c, nr, p);
	for (uint64_t pos = p; pos < end;) {
		if (lo < nr && c[lo].start_pfn <= pos) {
			uint64_t e = NUMEM_MIN(c[lo].end_pfn, end);
			numem_nid_t to = c[lo].old_node == z->node ? c[lo].new_node : z->node;
			give(h, rl, z, to, pos, e, true);
			ty->moved += to != z->node ? e - pos : 0;
			pos = e;
			if (c[lo].end_pfn <= end)
				lo++;
		} else {
			uint64_t e = lo < nr ? NUMEM_MIN(c[lo].start_pfn, end) : end;
			numem__buddy_free_range(h, z, pos, e);
			pos = e;
		}
	}
}

/* Watermarks for the new sizes: each populated zone's share of the
 * machine's min (heap->min_free_pages, set at boot) is its share of the
 * managed pages now, as at boot (a commit moves pages, never makes or
 * drops one).  A zone that shrank gets a smaller min: kept at its old size
 * (the first version did that), a zone left with 128 of its 16384 pages
 * had a min above its free pages and refused every allocation.  Every zone
 * lock is held; CPUs that read a mark without its zone's lock use relaxed
 * loads. */
static void new_watermarks(struct numem_heap *h)
{
	uint64_t managed = 0;
	for (uint32_t zi = 0; zi < h->nr_zones; zi++)
		if (h->zone[zi].populated)
			managed += h->zone[zi].present_pages - h->zone[zi].reserved_pages;
	for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
		struct numem_zone *z = &h->zone[zi];
		uint64_t m = z->populated ? z->present_pages - z->reserved_pages : 0, all = managed;
		uint64_t min = h->min_free_pages; /* < 2^30 */
		while (m > UINT32_MAX) {
			m >>= 1;
			all >>= 1;
		}
		uint64_t wmin = all ? min * m / all : 0;
		__atomic_store_n(&z->wmark_min, wmin, __ATOMIC_RELAXED);
		__atomic_store_n(&z->wmark_low, wmin + wmin / 4, __ATOMIC_RELAXED);
		__atomic_store_n(&z->wmark_high, wmin + wmin / 2, __ATOMIC_RELAXED);
	}
}

enum numem_err numem_relayout_commit(struct numem_heap *h, struct numem_memlayout *l,
                                     struct numem_relayout_result *res, struct numem_diag *diag)
{
	struct numem_relayout_result scratch;
	if (!res)
		res = &scratch;
	memset(res, 0, sizeof(*res));
#ifdef NUMEM_NO_RELAYOUT /* the heap's hooks are compiled out: no commit */
	return numem__fail(diag, NUMEM_E_UNSUPPORTED, 0, 0,
	                   "numem_relayout_commit: this build has no relayout (NUMEM_NO_RELAYOUT)");
#endif
	if (!h || !l)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_relayout_commit: no heap or layout");
	const struct numem_platform *plat = h->plat;
	uint64_t t0 = plat->clock_ns ? plat->clock_ns(plat->ctx) : 0;
	struct numem__relayout *rl = numem__relayout_get(h);
	if (!rl)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "numem_relayout_commit: no metadata memory for the relayout "
		                   "state; the layout is unchanged");
	numem__lock(&rl->commit_lock);
	enum numem_err err = numem_memlayout_validate(h, l, diag);
	struct plan pl = {0};
	/* Scratch: per zone, what step 2 changes and whether it had pages. */
	struct zdelta *dz = 0;
	bool *was = 0;
	size_t was_bytes = (size_t)h->nr_zones * (sizeof(*dz) + sizeof(*was));
	if (!err) {
		dz = numem__meta_alloc(plat, was_bytes, NUMEM_NID_NONE);
		was = dz ? (bool *)(dz + h->nr_zones) : 0;
		if (!was)
			err = numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
			                  "numem_relayout_commit: no scratch memory; the layout is "
			                  "unchanged");
	}
	if (!err)
		err = prepare(h, l, &pl, res, diag);
	if (err) {
		numem__meta_free(plat, dz, was_bytes);
		numem__unlock(&rl->commit_lock);
		return err;
	}
	const struct numem_topo *old = numem_heap_topo(h);
	uint64_t gen = __atomic_load_n(&rl->gen, __ATOMIC_RELAXED) + 1;
	res->generation = gen;
	res->nr_changes = pl.nr_changes;
	struct numem_relayout_event ev = {NUMEM_RELAYOUT_BEFORE, pl.change, pl.nr_changes, old,
	                                  &pl.v->topo,           res};
	notify(h, rl, &ev);

	/* Apply. */
	const struct numem_frametable *ft = h->ft;
	struct tally ty = {0};
	bool dirty = false; /* a run meets a section that still holds pending pages */
	rl->win_max = 0;
	memset(dz, 0, (size_t)h->nr_zones * sizeof(*dz));
	numem__lock(&rl->apply_lock);
	numem__lock(&h->grow_lock);
	for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
		was[zi] = h->zone[zi].populated;
		rl->zone_seen[zi] |= was[zi];
	}
	for (uint32_t i = 0; i < pl.nr_changes; i++) {
		uint64_t s0 = pl.change[i].start_pfn >> ft->pfn_section_shift;
		uint64_t s1 = (pl.change[i].end_pfn - 1) >> ft->pfn_section_shift;
		for (unsigned zt = 0; zt < NUMEM_NR_ZONE_TYPES; zt++)
			__atomic_store_n(
			    &rl->zone_moved[(uint32_t)pl.change[i].old_node * NUMEM_NR_ZONE_TYPES +
			                    zt],
			    1, __ATOMIC_RELAXED);
		for (uint64_t s = s0; s <= s1; s++) {
			bool d = __atomic_load_n(&rl->sec_pending[s], __ATOMIC_RELAXED) != 0;
			dirty |= d;
			__atomic_store_n(&rl->sec_moved[s], d ? 2 : 1, __ATOMIC_RELAXED);
		}
	}
	account(h, rl, pl.v, pl.change, pl.nr_changes, dz, dirty, &ty);
	self_check(h, rl, "published and accounted");
	numem_nodemask_t from = {{0}};
	for (uint32_t i = 0; i < pl.nr_changes; i++)
		numem_nodemask_set(&from, pl.change[i].old_node);
	/* A window per source zone: a zone walked whole has no meeting block
	 * left for a free to merge with (they are in transit, state PCP), and
	 * one not walked yet will be; nothing is cut before all are taken. */
	for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
		if (!numem_nodemask_test(&from, h->zone[zi].node))
			continue;
		lock_all(h);
		if (h->zone[zi].free_pages)
			detach(h, &h->zone[zi], pl.change, pl.nr_changes, &rl->transit, &ty);
		unlock_all(h);
		self_check(h, rl, "a zone's free blocks taken off");
	}
	/* Cut them in batches, letting the other CPUs in between: the blocks
	 * still in transit are counted by the verifier. */
	while (rl->transit) {
		lock_all(h);
		for (uint32_t k = 0; k < CUT_BATCH && rl->transit; k++) {
			struct numem_page *pg = rl->transit;
			rl->transit = pg->next;
			if (rl->transit)
				__builtin_prefetch(rl->transit, 1);
			pg->next = 0;
			cut_block(h, rl, pg, pl.change, pl.nr_changes, &ty);
		}
		unlock_all(h);
		self_check(h, rl, "a batch cut");
		/* The zone locks are unfair (test-and-set): without a pause this
		 * CPU takes them straight back and the waiters starve. */
		for (int k = 0; k < 32 && rl->transit; k++)
			numem__cpu_relax();
	}
	for (uint32_t i = 0; i < pl.nr_changes; i++) { /* 2 (dirty) was for this commit */
		uint64_t s0 = pl.change[i].start_pfn >> ft->pfn_section_shift;
		uint64_t s1 = (pl.change[i].end_pfn - 1) >> ft->pfn_section_shift;
		for (uint64_t s = s0; s <= s1; s++)
			__atomic_store_n(&rl->sec_moved[s], 1, __ATOMIC_RELAXED);
	}
	/* Zones, zonelists, generation.  A zone goes out of the zonelists when
	 * its node has no memory left and it holds no page (a zone that is
	 * empty now but on a node with memory stays: pending pages may come). */
	lock_all(h);
	for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
		struct numem_zone *z = &h->zone[zi];
		if (z->populated && !z->present_pages && !pl.v->topo.node[z->node].ram_pages) {
			__atomic_store_n(&z->populated, false, __ATOMIC_RELAXED);
			z->start_pfn = z->end_pfn = 0;
		}
	}
	new_watermarks(h);
	for (uint32_t zi = 0; zi < h->nr_zones; zi++)
		rl->zone_seen[zi] |= h->zone[zi].populated;
	unlock_all(h);
	numem__build_zonelists_into(h, &pl.v->topo, pl.v->zonelist);
	numem__build_node_zones(h, &pl.v->topo, pl.v->zonelist);
	__atomic_store_n(&h->zonelist, pl.v->zonelist, __ATOMIC_RELEASE);
	if (rl->current) {
		rl->current->retire_gen = gen;
		rl->current->next = rl->retired;
		rl->retired = rl->current;
	}
	rl->current = pl.v;
	__atomic_store_n(&rl->gen, gen, __ATOMIC_RELEASE);
	numem__unlock(&h->grow_lock);
	numem__unlock(&rl->apply_lock);

	for (uint32_t n = 0; n < h->max_nodes; n++)
		res->pages_pending += __atomic_load_n(&rl->pending[n], __ATOMIC_RELAXED);
	res->pages_changed = ty.changed;
	res->pages_moved = ty.moved;
	res->blocks_moved = ty.blocks;
	res->pages_deferred = ty.deferred;
	res->pages_reserved = ty.reserved;
	res->max_lock_ns = rl->win_max;
	ev.phase = NUMEM_RELAYOUT_AFTER;
	if (plat->clock_ns)
		res->ns = plat->clock_ns(plat->ctx) - t0;
	notify(h, rl, &ev);
	reclaim(h, rl); /* after the notifiers: ev.old_topo may be the one retired */
	numem__meta_free(plat, pl.change, pl.change_bytes);
	numem__meta_free(plat, dz, was_bytes);
	numem__unlock(&rl->commit_lock);
	return NUMEM_OK;
}
