/*
 * engine.c - running a scenario, deterministically, once per strategy.
 *
 * Single-threaded: every "CPU" of the machine is driven in turn by one
 * random number generator seeded from the scenario, so one seed gives one
 * result.  Domains run their reservations on the CPU of their first vcpu;
 * host churn picks a CPU at random.  The platform clock is replaced by the
 * operation counter, so even the trace is reproducible.
 */
#include "engine_internal.h"

#include <errno.h>
#include <numem/trace.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t engine_rnd(struct engine *e)
{
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 7;
	e->rng ^= e->rng << 17;
	return e->rng;
}

static uint64_t sim_clock(void *ctx)
{
	struct engine *e = ctx;
	return e->op;
}

static unsigned pick_order(struct engine *e)
{
	if (e->weights) {
		uint64_t r = engine_rnd(e) % e->weight_sum;
		for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++) {
			if (r < e->weights[o])
				return o;
			r -= e->weights[o];
		}
	}
	uint64_t r = engine_rnd(e) % 100;
	return r < 70 ? 0 : r < 90 ? 1 + (unsigned)(r % 3) : 9;
}

static void drain_trace(struct engine *e)
{
	if (!e->tracer.buf)
		return;
	sim_tracer_drain(&e->tracer);
	e->run->trace_events = e->tracer.events;
	e->run->trace_lost = e->tracer.lost;
}

void engine_sample(struct engine *e)
{
	struct sim_run *r = e->run;
	if (r->nr_samples == SIM_MAX_SAMPLES)
		return;
	struct sim_sample *s = &r->sample[r->nr_samples++];
	s->op = e->op;
	uint64_t local = 0, other = 0;
	for (numem_nid_t n = 0; n < numem_heap_topo(&e->sys.heap)->nr_nodes; n++) {
		s->free_pages[n] = numem_heap_node_free(&e->sys.heap, n);
		s->pending_pages += numem_relayout_pending(&e->sys.heap, n);
		uint64_t st[NUMEM_NR_STATS];
		numem_heap_node_stats(&e->sys.heap, n, st);
		local += st[NUMEM_STAT_LOCAL_PAGES];
		other += st[NUMEM_STAT_OTHER_PAGES];
	}
	s->local_pct = local + other ? 100.0 * (double)local / (double)(local + other) : 100.0;
	engine_tmem_sample(e, s);
	drain_trace(e);
}

void engine_tick(struct engine *e)
{
	e->op++;
	if (e->op % e->sc->sample_every == 0)
		engine_sample(e);
	else if (e->op % 1024 == 0)
		drain_trace(e); /* a ring holds 16384 records: drain well before */
	if (e->opts->progress && isatty(2) && e->op % 4096 == 0 && e->total_ops) {
		int pct = (int)(e->op * 100 / e->total_ops);
		fprintf(stderr, "\rsim %s [%-40.*s] %3d%%", e->run->strategy, pct * 40 / 100,
		        "########################################", pct > 100 ? 100 : pct);
	}
}

struct numem_cpu *engine_dom_cpu(struct engine *e, struct numem_domain *d)
{
	return numem_heap_cpu(&e->sys.heap, d->vcpu[0].pcpu);
}

int engine_find_domain(struct engine *e, const char *name)
{
	for (uint32_t i = 0; i < e->sc->nr_domains; i++)
		if (!strcmp(e->sc->domain[i].name, name))
			return (int)i;
	return !strcmp(name, "hog") ? (int)SIM_MAX_DOMAINS : -1;
}

/* Populate a domain to `pages`: order-9 extents, then order 0. */
static int fill(struct engine *e, struct numem_domain *d, uint64_t pages,
                const struct numem_res *res, char *err, size_t errlen)
{
	struct numem_cpu *cpu = engine_dom_cpu(e, d);
	struct numem_diag diag = {0};
	uint64_t done;
	while (d->tot_pages + 512 <= pages && (d->next_gpfn & 511) == 0) {
		if (numem_domain_increase_reservation(d, cpu, 1, 9, res, &done, &diag) != NUMEM_OK)
			break;
		engine_tick(e);
	}
	while (d->tot_pages < pages) {
		if (numem_domain_increase_reservation(d, cpu, 1, 0, res, &done, &diag) !=
		    NUMEM_OK) {
			if (diag.code == NUMEM_E_NO_PAGES)
				return 1; /* out of memory: the caller decides */
			snprintf(err, errlen, "domain %s: %s", d->name, diag.msg);
			return -1;
		}
		engine_tick(e);
	}
	return 0;
}

static int boot_domains(struct engine *e, char *err, size_t errlen)
{
	const struct numem_topo *t = e->sys.m.topo;
	uint64_t ram_mb = t->total_ram_pages >> (20 - NUMEM_PAGE_SHIFT);
	for (uint32_t i = 0; i < e->sc->nr_domains; i++) {
		const struct sim_domain_spec *s = &e->sc->domain[i];
		if (s->mem_mb > ram_mb) {
			snprintf(
			    err, errlen,
			    "domain %s: memory %llu MB is more than the machine's RAM (%llu MB)",
			    s->name, (unsigned long long)s->mem_mb, (unsigned long long)ram_mb);
			return -1;
		}
		struct numem_domain_config c = {.max_pages = s->mem_mb << (20 - NUMEM_PAGE_SHIFT),
		                                .nr_vcpus = s->vcpus};
		snprintf(c.name, sizeof(c.name), "%s", s->name);
		struct numem_res res = {.mode = NUMEM_RES_BALANCED};
		if (s->placement == SIM_PLACE_NODE) {
			if (s->node >= t->nr_nodes) {
				snprintf(err, errlen, "domain %s: node %u outside the machine",
				         s->name, s->node);
				return -1;
			}
			numem_nodemask_set(&c.nodes, s->node);
			res.mode = NUMEM_RES_NODE;
			res.node = s->node;
		} else if (s->placement == SIM_PLACE_PINNED) {
			c.pinned = true;
			/* vcpus <= NUMEM_MAX_VCPUS (sim_scenario_validate): both pin
			 * arrays hold that many */
			for (uint32_t v = 0; v < s->vcpus && v < NUMEM_MAX_VCPUS; v++)
				c.pin[v] = s->pin[v];
		} else if (s->placement == SIM_PLACE_VNUMA) {
			c.nr_vnodes =
			    s->nr_vnodes < NUMEM_MAX_VNODES ? s->nr_vnodes : NUMEM_MAX_VNODES;
			for (uint32_t v = 0; v < c.nr_vnodes; v++) {
				c.vnode[v].pages = s->vnode[v].mem_mb << (20 - NUMEM_PAGE_SHIFT);
				c.vnode[v].pnode = s->vnode[v].pnode;
				c.vnode[v].nr_vcpus = s->vnode[v].vcpus;
			}
		}
		struct numem_diag diag = {0};
		if (numem_domain_create(e->doms, &c, numem_heap_cpu(&e->sys.heap, 0), &e->dom[i],
		                        &diag) != NUMEM_OK) {
			snprintf(err, errlen, "domain %s: %s", s->name, diag.msg);
			return -1;
		}
		e->res[i] = res;
		int rc = fill(e, e->dom[i], c.max_pages, &res, err, errlen);
		if (rc < 0)
			return -1;
		if (rc > 0) { /* it used to run on, capped where memory ran out */
			snprintf(
			    err, errlen,
			    "domain %s: only %llu of its %llu MB fit where it may run (the "
			    "machine has %llu MB; the domains before it hold the rest)",
			    s->name,
			    (unsigned long long)(e->dom[i]->tot_pages >> (20 - NUMEM_PAGE_SHIFT)),
			    (unsigned long long)s->mem_mb, (unsigned long long)ram_mb);
			return -1;
		}
	}
	return 0;
}

static void host_op(struct engine *e)
{
	struct numem_heap *h = &e->sys.heap;
	struct numem_cpu *cpu = numem_heap_cpu(h, (uint32_t)(engine_rnd(e) % h->nr_cpus));
	bool alloc = e->nr_host == 0 || (e->nr_host < e->cap_host && engine_rnd(e) % 100 < 52);
	if (alloc) {
		unsigned order = pick_order(e);
		numem_pfn_t pfn;
		if (numem_alloc(cpu, order, NUMEM_ALLOC_NORECLAIM, NULL, &pfn, NULL) == NUMEM_OK)
			e->host[e->nr_host++] = (struct host_block){pfn.v, (uint8_t)order};
	} else {
		uint64_t k = engine_rnd(e) % e->nr_host;
		numem_free(cpu, numem_pfn(e->host[k].pfn), e->host[k].order, NULL);
		e->host[k] = e->host[--e->nr_host];
	}
}

static void domain_op(struct engine *e)
{
	int live[SIM_MAX_DOMAINS + 1], n = 0;
	for (int i = 0; i <= SIM_MAX_DOMAINS; i++)
		if (e->dom[i])
			live[n++] = i;
	if (!n)
		return;
	int idx = live[engine_rnd(e) % (uint64_t)n];
	struct numem_domain *d = e->dom[idx];
	struct numem_cpu *cpu = engine_dom_cpu(e, d);
	unsigned order = pick_order(e);
	uint64_t done;
	if (engine_rnd(e) % 2 && d->tot_pages + (1ull << order) <= d->max_pages &&
	    ((d->next_gpfn + (1ull << order) - 1) & ~((1ull << order) - 1)) + (1ull << order) <=
	        d->max_pages)
		numem_domain_increase_reservation(d, cpu, 1, order, &e->res[idx], &done, NULL);
	else if (d->tot_pages)
		numem_domain_decrease_reservation(d, cpu, 1, 0, &done, NULL);
}

static uint64_t *replay_slot(struct engine *e, uint64_t key)
{
	uint64_t i = (key * 0x9e3779b97f4a7c15ull) & (e->rcap - 1);
	while (e->rkey[i] != UINT64_MAX && e->rkey[i] != key)
		i = (i + 1) & (e->rcap - 1);
	return &e->rkey[i];
}

/* Replay a trace's alloc and free events. */
static int replay(struct engine *e, const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "rb");
	if (!f) {
		snprintf(err, errlen, "replay: cannot open %s", file);
		return -1;
	}
	char hdr[32];
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (size < 32 || fread(hdr, 32, 1, f) != 1 || memcmp(hdr, SIM_TRACE_MAGIC, 8) != 0) {
		fclose(f);
		snprintf(err, errlen, "replay: %s is not a numem trace file", file);
		return -1;
	}
	uint64_t records = (uint64_t)(size - 32) / sizeof(struct numem_trace_event);
	if (!e->rcap) {
		e->rcap = 1024;
		while (e->rcap < 2 * records + 2)
			e->rcap *= 2;
		e->rkey = malloc(e->rcap * sizeof(uint64_t));
		e->rval = calloc(e->rcap, sizeof(uint64_t));
		e->rorder = calloc(e->rcap, 1);
		if (!e->rkey || !e->rval || !e->rorder) {
			fclose(f);
			snprintf(err, errlen, "replay: out of memory");
			return -1;
		}
		memset(e->rkey, 0xff, e->rcap * sizeof(uint64_t));
	}
	struct numem_heap *h = &e->sys.heap;
	struct numem_trace_event ev;
	while (fread(&ev, sizeof(ev), 1, f) == 1) {
		uint64_t pfn = (uint64_t)ev.a_hi << 32 | ev.a;
		struct numem_cpu *cpu = numem_heap_cpu(h, ev.cpu % h->nr_cpus);
		if (ev.event == NUMEM_EV_ALLOC && ev.b <= NUMEM_MAX_ORDER) {
			numem_pfn_t got;
			uint64_t *k = replay_slot(e, pfn);
			if (*k != UINT64_MAX && e->rval[k - e->rkey] != UINT64_MAX)
				continue; /* recorded twice without a free: keep the first */
			if (numem_alloc(cpu, ev.b, NUMEM_ALLOC_NORECLAIM, NULL, &got, NULL) !=
			    NUMEM_OK)
				continue;
			*k = pfn;
			e->rval[k - e->rkey] = got.v;
			e->rorder[k - e->rkey] = (uint8_t)ev.b;
		} else if (ev.event == NUMEM_EV_FREE) {
			uint64_t *k = replay_slot(e, pfn);
			if (*k == UINT64_MAX || e->rval[k - e->rkey] == UINT64_MAX)
				continue; /* allocated before the trace began */
			numem_free(cpu, numem_pfn(e->rval[k - e->rkey]), e->rorder[k - e->rkey],
			           NULL);
			e->rval[k - e->rkey] = UINT64_MAX;
		} else {
			continue;
		}
		engine_tick(e);
	}
	fclose(f);
	return 0;
}

static int run_phase(struct engine *e, const struct sim_phase *p, char *err, size_t errlen)
{
	struct numem_diag diag = {0};
	switch (p->kind) {
	case SIM_BOOT:
		return boot_domains(e, err, errlen);
	case SIM_CHURN:
		e->weights = NULL;
		e->weight_sum = 0;
		for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++)
			e->weight_sum += p->order_weight[o];
		if (e->weight_sum)
			e->weights = p->order_weight;
		for (uint64_t i = 0; i < p->ops; i++) {
			if (engine_rnd(e) % 100 < 40)
				domain_op(e);
			else
				host_op(e);
			engine_tick(e);
		}
		e->weights = NULL;
		return 0;
	case SIM_BALLOON: {
		int i = engine_find_domain(e, p->domain);
		if (i < 0 || !e->dom[i]) {
			snprintf(err, errlen, "balloon: no live domain '%s'", p->domain);
			return -1;
		}
		struct numem_domain *d = e->dom[i];
		uint64_t target = d->max_pages * p->percent / 100;
		if (numem_domain_set_target(d, engine_dom_cpu(e, d), target, &diag) != NUMEM_OK &&
		    diag.code != NUMEM_E_NO_PAGES) {
			snprintf(err, errlen, "balloon %s: %s", d->name, diag.msg);
			return -1;
		}
		engine_tick(e);
		return 0;
	}
	case SIM_PRESSURE: {
		const struct numem_topo *t = numem_heap_topo(&e->sys.heap);
		if (e->dom[SIM_MAX_DOMAINS]) {
			snprintf(err, errlen, "pressure: the hog already exists");
			return -1;
		}
		/* One guest holds at most what a p2m root maps (512 GiB): on a
		 * bigger machine the hog stops there. */
		uint64_t hog_max = t->total_ram_pages < NUMEM_DOMAIN_MAX_PAGES
		                       ? t->total_ram_pages
		                       : NUMEM_DOMAIN_MAX_PAGES;
		struct numem_domain_config c = {.max_pages = hog_max,
		                                .nr_vcpus = 1,
		                                .pinned = true,
		                                .pin = {(int32_t)(t->nr_cpus - 1)}};
		snprintf(c.name, sizeof(c.name), "hog");
		if (numem_domain_create(e->doms, &c, numem_heap_cpu(&e->sys.heap, 0),
		                        &e->dom[SIM_MAX_DOMAINS], &diag) != NUMEM_OK) {
			snprintf(err, errlen, "pressure: %s", diag.msg);
			return -1;
		}
		uint64_t free = 0;
		for (numem_nid_t n = 0; n < t->nr_nodes; n++)
			free += numem_heap_node_free(&e->sys.heap, n);
		uint64_t used = t->total_ram_pages - free;
		uint64_t want = t->total_ram_pages * p->percent / 100;
		if (want > used)
			fill(e, e->dom[SIM_MAX_DOMAINS],
			     want - used < hog_max ? want - used : hog_max, NULL, err, errlen);
		return 0;
	}
	case SIM_REPLAY:
		return replay(e, p->file, err, errlen);
	case SIM_RELAYOUT:
		return engine_relayout(e, p, err, errlen);
	case SIM_TMEM:
		return engine_tmem_phase(e, p, err, errlen);
	case SIM_DESTROY: {
		int i = engine_find_domain(e, p->domain);
		if (i < 0 || !e->dom[i]) {
			snprintf(err, errlen, "destroy: no live domain '%s'", p->domain);
			return -1;
		}
		numem_domain_destroy(e->doms, numem_heap_cpu(&e->sys.heap, 0), e->dom[i]->id,
		                     &diag);
		e->dom[i] = NULL;
		engine_tick(e);
		return 0;
	}
	}
	return 0;
}

void engine_address_map(struct engine *e, uint8_t map[][SIM_MAP_BUCKETS], uint64_t *start,
                        uint64_t *stop)
{
	const struct numem_topo *t = numem_heap_topo(&e->sys.heap);
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		uint64_t s = t->node[n].start_pfn, end = t->node[n].end_pfn;
		start[n] = s;
		stop[n] = end;
		if (end <= s)
			continue;
		for (uint32_t b = 0; b < SIM_MAP_BUCKETS; b++) {
			uint64_t lo = s + (end - s) * b / SIM_MAP_BUCKETS;
			uint64_t hi = s + (end - s) * (b + 1) / SIM_MAP_BUCKETS;
			uint32_t votes[3 + SIM_MAX_DOMAINS + 1] = {0}, mine = 0;
			for (int k = 0; k < 16 && hi > lo; k++) {
				uint64_t pfn = lo + (hi - lo) * (uint64_t)k / 16;
				if (numem_topo_pfn_to_node(t, numem_pfn(pfn)) != n)
					continue;
				mine++;
				uint16_t owner;
				enum numem_page_state st =
				    numem_heap_pfn_owner(&e->sys.heap, numem_pfn(pfn), &owner);
				uint32_t cls = 0;
				if (st == NUMEM_PS_RESERVED)
					cls = 2;
				else if (st == NUMEM_PS_ALLOCATED) {
					cls = 1;
					for (int i = 0; i <= SIM_MAX_DOMAINS; i++)
						if (e->dom[i] && e->dom[i]->id == owner)
							cls = 3 + (uint32_t)(i == SIM_MAX_DOMAINS
							                         ? e->sc->nr_domains
							                         : (uint32_t)i);
				} else if (st == NUMEM_PS_HOLE)
					continue;
				votes[cls]++;
			}
			uint32_t best = 0;
			for (uint32_t c = 1; c < 3 + SIM_MAX_DOMAINS + 1; c++)
				if (votes[c] > votes[best])
					best = c;
			/* a stripe of another node inside this one's span */
			map[n][b] = mine ? (uint8_t)best : SIM_MAP_ELSEWHERE;
		}
	}
}

static void collect(struct engine *e)
{
	struct sim_run *r = e->run;
	struct numem_heap *h = &e->sys.heap;
	const struct numem_topo *t = numem_heap_topo(h); /* a relayout may have changed it */
	uint64_t local = 0, other = 0;
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		numem_heap_node_stats(h, n, r->stat[n]);
		local += r->stat[n][NUMEM_STAT_LOCAL_PAGES];
		other += r->stat[n][NUMEM_STAT_OTHER_PAGES];
		r->free_pages[n] = numem_heap_node_free(h, n);
		r->present_pages[n] = t->node[n].ram_pages;
		uint64_t area[NUMEM_NR_ORDERS] = {0};
		for (unsigned z = 0; z < NUMEM_NR_ZONE_TYPES; z++) {
			const struct numem_zone *zone =
			    numem_heap_zone(h, n, (enum numem_zone_type)z);
			r->zone_populated[n][z] = zone->populated;
			for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++) {
				r->buddy[n][z][o] = zone->area[o].nr;
				area[o] += zone->area[o].nr;
			}
		}
		uint64_t free = 0, usable = 0;
		for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++)
			free += area[o] << o;
		for (unsigned ord = 0; ord <= NUMEM_MAX_ORDER; ord++) {
			usable = 0;
			for (unsigned o = ord; o <= NUMEM_MAX_ORDER; o++)
				usable += area[o] << o;
			r->unusable[n][ord] = free ? (uint32_t)((free - usable) * 1000 / free) : 0;
		}
	}
	r->local_pct = local + other ? 100.0 * (double)local / (double)(local + other) : 100.0;
	r->nr_domains = e->sc->nr_domains + 1;
	for (uint32_t i = 0; i < r->nr_domains; i++) {
		struct sim_domain_result *dr = &r->dom[i];
		struct numem_domain *d = e->dom[i == e->sc->nr_domains ? SIM_MAX_DOMAINS : i];
		snprintf(dr->name, sizeof(dr->name), "%s",
		         i == e->sc->nr_domains ? "hog" : e->sc->domain[i].name);
		if (!d)
			continue;
		dr->alive = true;
		dr->id = d->id;
		dr->auto_placed = d->auto_placed;
		dr->affinity = d->node_affinity;
		dr->pages = d->tot_pages;
		memcpy(dr->pages_on_node, d->pages_on_node, sizeof(dr->pages_on_node));
		for (uint32_t v = 0; v < d->nr_vcpus; v++)
			dr->vcpus_on_node[d->vcpu[v].node]++;
		dr->imbalance = numem_domain_imbalance(d, &dr->imbalance_node);
	}
	engine_address_map(e, r->map, r->map_start, r->map_end);
	r->ops = e->op;
	r->nr_slabinfo = 0;
	for (uint32_t c = 0; c < e->slab->nr_caches; c++) {
		struct numem_slab_info info;
		numem_slab_cache_info(e->slab, &e->slab->cache[c], &info);
		if (!info.num_slabs)
			continue;
		snprintf(r->slabinfo[r->nr_slabinfo].name, sizeof(r->slabinfo[0].name), "%s",
		         e->slab->cache[c].name);
		r->slabinfo[r->nr_slabinfo++].info = info;
	}
}

/* The scenario's cpuset on every CPU (its nodes must exist and hold memory). */
static int apply_cpuset(struct engine *e, char *err, size_t errlen)
{
	const numem_nodemask_t *m = &e->sc->cpuset;
	bool any = false;
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++) {
		if (!numem_nodemask_test(m, n))
			continue;
		any = true;
		if (n >= e->sys.m.topo->nr_nodes) {
			snprintf(err, errlen, "cpuset: node %u is not one of the machine's %u", n,
			         e->sys.m.topo->nr_nodes);
			return -1;
		}
	}
	for (uint32_t c = 0; any && c < e->sys.heap.nr_cpus; c++) {
		struct numem_diag d = {0};
		if (numem_cpu_set_allowed(&e->sys.heap.cpu[c], m, &d) != NUMEM_OK) {
			snprintf(err, errlen, "cpuset: %s", d.msg);
			return -1;
		}
	}
	return 0;
}

/* DIR/NAME/SRAT.bin and SLIT.bin of every live vNUMA domain. */
static int write_guest_tables(struct engine *e, const char *dir, char *err, size_t errlen)
{
	static uint8_t srat[1 << 16], slit[1 << 16];
	for (uint32_t i = 0; i < e->sc->nr_domains; i++) {
		const struct sim_domain_spec *s = &e->sc->domain[i];
		if (s->placement != SIM_PLACE_VNUMA || !e->dom[i])
			continue;
		size_t sl = 0, ll = 0;
		enum numem_err rc = numem_domain_vnuma_tables(e->dom[i], srat, sizeof(srat), &sl,
		                                              slit, sizeof(slit), &ll);
		if (rc != NUMEM_OK) {
			snprintf(err, errlen, "guest tables of %s: %s", s->name,
			         numem_err_name(rc));
			return -1;
		}
		char path[1200];
		snprintf(path, sizeof(path), "%s/%s", dir, s->name);
		int me = numem_mkdir_p(path);
		if (me) {
			snprintf(err, errlen, "%s: %s", path, strerror(me));
			return -1;
		}
		snprintf(path, sizeof(path), "%s/%s/SRAT.bin", dir, s->name);
		int we = numem_write_file(path, srat, sl);
		if (!we) {
			snprintf(path, sizeof(path), "%s/%s/SLIT.bin", dir, s->name);
			we = numem_write_file(path, slit, ll);
		}
		if (we) {
			snprintf(err, errlen, "%s: %s", path, strerror(we));
			return -1;
		}
		e->run->guest_tables++;
	}
	return 0;
}

/* The j-th CPU of node n (wrapping), or 0 when it has none. */
static int32_t nth_cpu(const struct numem_topo *t, numem_nid_t n, uint32_t j)
{
	uint32_t cnt = t->node[n].nr_cpus;
	if (!cnt)
		return 0;
	j %= cnt;
	for (uint32_t c = 0; c < t->nr_cpus; c++)
		if (t->cpu[c].node == n && j-- == 0)
			return (int32_t)c;
	return 0;
}

/*
 * The built-in scenario was written for the 4-node, 32-CPU, 32 GiB x445:
 * node k becomes the (k mod count)-th node with memory, the web tier's
 * pins (two vcpus on each of four nodes) the first CPUs of the (k mod
 * count)-th node with CPUs, a relayout's node k the (k mod count)-th node
 * with memory, and memory shrinks in proportion on a machine with less
 * than 31 GiB of RAM.  On the x445 nothing changes.
 */
static void adapt_builtin(struct sim_scenario *sc, const struct numem_topo *t)
{
	numem_nid_t memn[NUMEM_MAX_NODES], cpun[NUMEM_MAX_NODES];
	uint32_t nm = 0, nc = 0;
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		if (t->node[n].ram_pages)
			memn[nm++] = n;
		if (t->node[n].nr_cpus)
			cpun[nc++] = n;
	}
	if (!nm || !nc)
		return;
	uint64_t ram_mb = t->total_ram_pages >> (20 - NUMEM_PAGE_SHIFT);
	for (uint32_t i = 0; i < sc->nr_domains; i++) {
		struct sim_domain_spec *d = &sc->domain[i];
		if (ram_mb < 31 * 1024) { /* the x445's 32 GiB less its PC holes is not "less" */
			d->mem_mb = d->mem_mb * ram_mb / 32768 / 4 * 4;
			d->mem_mb = d->mem_mb < 4 ? 4 : d->mem_mb;
			d->working_set_mb = d->working_set_mb * ram_mb / 32768 / 4 * 4;
			d->working_set_mb =
			    d->working_set_mb && d->working_set_mb < 6 ? 6 : d->working_set_mb;
		}
		if (d->placement == SIM_PLACE_NODE)
			d->node = memn[d->node % nm];
		if (d->placement == SIM_PLACE_PINNED)
			for (uint32_t v = 0; v < d->vcpus && v < NUMEM_MAX_VCPUS; v++) {
				uint32_t k = v / 2;
				d->pin[v] = nth_cpu(t, cpun[k % nc], v % 2 + 2 * (k / nc));
			}
		if (d->placement == SIM_PLACE_VNUMA) {
			uint64_t left = d->mem_mb;
			for (uint32_t v = 0; v < d->nr_vnodes; v++) {
				d->vnode[v].pnode = memn[d->vnode[v].pnode % nm];
				d->vnode[v].mem_mb =
				    v + 1 == d->nr_vnodes ? left : d->mem_mb / d->nr_vnodes;
				left -= d->vnode[v].mem_mb;
			}
		}
	}
	for (uint32_t i = 0; i < sc->nr_phases; i++) /* relayout targets, as placements */
		for (uint32_t k = 0; k < sc->phase[i].nr_nodes; k++)
			sc->phase[i].nodes[k] = memn[sc->phase[i].nodes[k] % nm];
}

static int run_one(const struct sim_scenario *sc, const struct sim_opts *opts, int strategy,
                   struct sim_run *r, struct sim_result *res, char *err, size_t errlen)
{
	struct engine e = {.sc = sc, .opts = opts, .run = r};
	r->strategy = strategy ? "xen" : "linux";
	e.rng = sc->seed * 0x9e3779b97f4a7c15ull + 12345;
	for (uint32_t i = 0; i < sc->nr_phases; i++)
		e.total_ops += sc->phase[i].kind == SIM_CHURN || sc->phase[i].kind == SIM_TMEM
		                   ? sc->phase[i].ops
		                   : 0;
	struct numem_machine_src src;
	struct stat st;
	int rc;
	if (stat(sc->machine, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = numem_machine_src_dir(&src, sc->machine, err, errlen);
	} else {
		struct numem_spec *spec = calloc(1, sizeof(*spec));
		rc = !spec || numem_spec_preset(spec, sc->machine) != 0;
		if (rc)
			snprintf(err, errlen, "machine '%s' is neither a preset nor a directory",
			         sc->machine);
		else
			rc = numem_machine_src_spec(&src, spec, err, errlen);
		free(spec);
	}
	if (rc)
		return -1;
	snprintf(res->machine_name, sizeof(res->machine_name), "%s", src.name);
	struct numem_system_opts so = {.back_memory = true, .reserve_metadata = true};
	if (opts->machine)
		so.machine = *opts->machine;
	so.heap.strategy = (enum numem_strategy)strategy;
	so.heap.poison = -1; /* a simulation has no use for page contents */

	/* Each run its own file (tagged with its strategy in the header). */
	FILE *trace_file = strategy == 0 ? opts->trace : opts->trace_xen;
	so.heap.trace_entries = trace_file ? 16384 : 0;
	struct numem_diag diag = {0};
	if (numem_system_boot(&e.sys, &src, &so, &diag) != NUMEM_OK) {
		snprintf(err, errlen, "%s", diag.msg);
		return -1;
	}
	numem_host_set_log(e.sys.m.host, NULL, NUMEM_LOG_ERROR);
	numem_host_set_clock(e.sys.m.host, sim_clock, &e);
	const struct numem_topo *t = e.sys.m.topo;
	struct sim_scenario *adapted = NULL;
	if (sc->builtin) {
		adapted = malloc(sizeof(*adapted));
		if (!adapted) {
			snprintf(err, errlen, "sim: out of memory");
			numem_system_shutdown(&e.sys);
			return -1;
		}
		*adapted = *sc;
		adapt_builtin(adapted, t);
		e.sc = adapted;
		res->sc = *adapted;
	}
	res->nr_nodes = t->nr_nodes;
	res->nr_cpus = t->nr_cpus;
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		res->node_pages[n] = t->node[n].ram_pages;
		res->node_cpus[n] = t->node[n].nr_cpus;
	}
	if (trace_file &&
	    sim_tracer_open(&e.tracer, trace_file, &e.sys.heap, t->nr_nodes, r->strategy)) {
		snprintf(err, errlen, "sim: out of memory for the trace buffer");
		free(adapted);
		numem_system_shutdown(&e.sys);
		return -1;
	}
	e.slab = calloc(1, sizeof(*e.slab));
	e.doms = calloc(1, sizeof(*e.doms));
	e.cap_host = t->total_ram_pages / 20 / 2; /* blocks: about 5% of RAM */
	e.host = calloc(e.cap_host + 1, sizeof(*e.host));
	rc = -1;
	if (!e.slab || !e.doms || !e.host || numem_slab_init(e.slab, &e.sys.heap, &diag) ||
	    numem_domains_init(e.doms, &e.sys.heap, e.slab, &diag)) {
		snprintf(err, errlen, "sim: %s", diag.msg[0] ? diag.msg : "out of memory");
		goto out;
	}
	if (apply_cpuset(&e, err, errlen) || engine_tmem_start(&e, err, errlen))
		goto out;
	engine_sample(&e);
	for (uint32_t i = 0; i < sc->nr_phases; i++) {
		if (run_phase(&e, &e.sc->phase[i], err, errlen) < 0) /* adapted: relayout nodes */
			goto out;
		engine_tmem_phase_done(&e, i);
	}
	if (opts->guest_tables && strategy == 0 &&
	    write_guest_tables(&e, opts->guest_tables, err, errlen))
		goto out;
	engine_sample(&e);
	collect(&e);
	engine_tmem_collect(&e);
	/* Checks: the heap and the slab agree with themselves, and every
	 * allocated block has a live owner that holds what its p2m maps. */
	numem_heap_drain_all(&e.sys.heap);
	if (numem_heap_verify(&e.sys.heap, &diag) != NUMEM_OK ||
	    numem_slab_verify(e.slab, &diag) != NUMEM_OK ||
	    numem_domain_verify(e.doms, &diag) != NUMEM_OK)
		snprintf(r->error, sizeof(r->error), "%s", diag.msg);
	rc = 0;
out:
	if (opts->progress && isatty(2))
		fprintf(stderr, "\r%60s\r", "");
	drain_trace(&e);
	struct numem_cpu *c0 = numem_heap_cpu(&e.sys.heap, 0);
	for (uint64_t k = 0; k < e.nr_host; k++)
		numem_free(c0, numem_pfn(e.host[k].pfn), e.host[k].order, NULL);
	for (uint64_t k = 0; k < e.rcap; k++)
		if (e.rkey[k] != UINT64_MAX && e.rval[k] != UINT64_MAX)
			numem_free(c0, numem_pfn(e.rval[k]), e.rorder[k], NULL);
	free(e.rkey);
	free(e.rval);
	free(e.rorder);
	engine_tmem_stop(&e);
	if (e.doms && e.doms->heap)
		numem_domains_release(e.doms, c0);
	if (e.slab && e.slab->heap)
		numem_slab_release(e.slab);
	free(e.slab);
	free(e.doms);
	free(e.host);
	if (e.tracer.buf) {
		sim_tracer_close(&e.tracer);
		r->trace_events = e.tracer.events;
		r->trace_lost = e.tracer.lost;
		if (e.tracer.io_error && !rc) {
			snprintf(err, errlen, "sim: writing the %s run's trace failed",
			         r->strategy);
			rc = -1;
		}
	}
	free(adapted);
	numem_system_shutdown(&e.sys);
	return rc;
}

int sim_run(const struct sim_scenario *sc, const struct sim_opts *opts, struct sim_result *res,
            char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	/* A scenario built in code (not parsed) gets the parsers' checks too:
	 * the engine indexes pin[], vnode[], dom[] and phase[] by its counts. */
	if (sim_scenario_validate(sc, err, errlen))
		return -1;
	res->sc = *sc;
	for (int s = 0; s < 2; s++)
		if (run_one(sc, opts, s, &res->run[s], res, err, errlen) < 0)
			return -1;
	return 0;
}
