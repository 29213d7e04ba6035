/*
 * report.c - the simulator's report as text and as JSON.
 */
#include <jansson.h>
#include <numem/heap.h>
#include <numem/report.h>
#include <numem/sim.h>
#include <string.h>

static void mask_str(char *out, size_t cap, const numem_nodemask_t *m, uint32_t nr_nodes)
{
	uint32_t ids[NUMEM_MAX_NODES], n = 0;
	for (numem_nid_t i = 0; i < nr_nodes; i++)
		if (numem_nodemask_test(m, i))
			ids[n++] = i;
	numem_format_ranges(out, cap, ids, n);
}

static const char *placement_name(const struct sim_scenario *sc, uint32_t i)
{
	if (i >= sc->nr_domains)
		return "balanced";
	static const char *const names[] = {"auto", "confined", "pinned", "vnuma"};
	return names[sc->domain[i].placement];
}

/* A guest's distance from its balanced share, in % of its pages. */
static double imbalance_pct(const struct sim_domain_result *d)
{
	return d->pages ? 100.0 * (double)d->imbalance / (double)d->pages : 0.0;
}

static void relayout_what(char *buf, size_t cap, const struct sim_relayout *x)
{
	size_t n = (size_t)snprintf(buf, cap, "%s %s",
	                            x->stripe ? "striped over nodes" : "pushed to node", "");
	for (uint32_t k = 0; k < x->nr_nodes && n < cap; k++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%u", k ? "/" : "", x->nodes[k]);
	if (x->stripe && n < cap)
		snprintf(buf + n, cap - n, " in %llu-page blocks",
		         (unsigned long long)x->block_pages);
}

/* The pending pages of the last sample of the run. */
static uint64_t pending_at_end(const struct sim_run *r)
{
	return r->nr_samples ? r->sample[r->nr_samples - 1].pending_pages : 0;
}

static void relayout_text(FILE *out, const struct sim_result *res, const struct sim_run *r,
                          const struct sim_relayout *x)
{
	char what[128];
	relayout_what(what, sizeof(what), x);
	fprintf(out,
	        "\nrelayout: %s's memory [0x%llx-0x%llx) %s, at operation %llu\n"
	        "  %llu pages changed node; %llu free pages moved at once (%llu blocks); "
	        "%llu allocated pages pending\n",
	        x->domain, (unsigned long long)x->start_pfn, (unsigned long long)x->end_pfn, what,
	        (unsigned long long)x->op, (unsigned long long)x->pages_changed,
	        (unsigned long long)x->pages_moved, (unsigned long long)x->blocks_moved,
	        (unsigned long long)x->pages_pending);
	if (x->migrate)
		fprintf(out, "  %s migrated %llu of its pages at once\n", x->domain,
		        (unsigned long long)x->migrated);
	fprintf(out, "  pending at the end of the run: %llu pages\n",
	        (unsigned long long)pending_at_end(r));
	fprintf(out, "  %-7s %14s %14s %14s %14s\n", "", "RAM after", "free before", "free after",
	        "guest pages");
	for (uint32_t n = 0; n < res->nr_nodes; n++) {
		char dom[40];
		snprintf(dom, sizeof(dom), "%llu->%llu", (unsigned long long)x->dom_before[n],
		         (unsigned long long)x->dom_after[n]);
		fprintf(out, "  node %-2u %13llu %14llu %14llu %14s\n", n,
		        (unsigned long long)x->ram_after[n], (unsigned long long)x->free_before[n],
		        (unsigned long long)x->free_after[n], dom);
	}
}

static json_t *u64_array(const uint64_t *v, uint32_t n)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer((json_int_t)v[i]));
	return a;
}

static json_t *relayout_json(const struct sim_result *res, const struct sim_relayout *x)
{
	json_t *nodes = json_array();
	for (uint32_t k = 0; k < x->nr_nodes; k++)
		json_array_append_new(nodes, json_integer(x->nodes[k]));
	uint32_t nn = res->nr_nodes;
	return json_pack(
	    "{s:s, s:s, s:o, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, "
	    "s:o, s:o, s:o, s:o}",
	    "domain", x->domain, "mode", x->stripe ? "stripe" : "push", "nodes", nodes,
	    "block_pages", (json_int_t)x->block_pages, "migrate", x->migrate, "op",
	    (json_int_t)x->op, "start_pfn", (json_int_t)x->start_pfn, "end_pfn",
	    (json_int_t)x->end_pfn, "pages_changed", (json_int_t)x->pages_changed, "pages_moved",
	    (json_int_t)x->pages_moved, "blocks_moved", (json_int_t)x->blocks_moved,
	    "pages_pending", (json_int_t)x->pages_pending, "migrated", (json_int_t)x->migrated,
	    "ram_after", u64_array(x->ram_after, nn), "free_before", u64_array(x->free_before, nn),
	    "free_after", u64_array(x->free_after, nn), "domain_pages_before",
	    u64_array(x->dom_before, nn), "domain_pages_after", u64_array(x->dom_after, nn));
}

/* Logical bytes stored per byte of tmem pages holding them. */
static double tmem_ratio(const struct numem_tmem_stats *st)
{
	return st->bytes_used ? (double)st->bytes_stored / (double)st->bytes_used : 0.0;
}

/* Faults tmem served, in % of all faults: the "disk" reads it avoided. */
static double tmem_hit_pct(const struct sim_tmem_guest *g)
{
	return g->faults ? 100.0 * (double)g->tmem_hits / (double)g->faults : 0.0;
}

static void tmem_text(FILE *out, const struct sim_result *res, const struct sim_run *r)
{
	const struct sim_tmem_result *t = &r->tmem;
	if (!t->enabled)
		return;
	fprintf(out, "\ntmem (%s; compression %s): guest page accesses by frontend\n",
	        t->baseline ? "baseline: no tmem, every miss to disk" : "transcendent memory",
	        t->codec);
	fprintf(out, "%-12s %-10s %6s %9s %9s %8s %9s %9s %8s %8s %8s %8s %6s\n", "guest",
	        "frontend", "ws MB", "accesses", "resident", "faults", "tmem hits", "disk rds",
	        "hit %", "puts", "refused", "disk wrs", "lost");
	for (uint32_t k = 0; k < t->nr_guests; k++) {
		const struct sim_tmem_guest *g = &t->guest[k];
		fprintf(out,
		        "%-12s %-10s %6llu %9llu %9llu %8llu %9llu %9llu %7.2f%% %8llu %8llu %8llu "
		        "%6llu\n",
		        g->name, sim_tmem_frontend_name(g->frontend),
		        (unsigned long long)(g->ws_pages >> 8), (unsigned long long)g->accesses,
		        (unsigned long long)g->resident, (unsigned long long)g->faults,
		        (unsigned long long)g->tmem_hits, (unsigned long long)g->disk_reads,
		        tmem_hit_pct(g), (unsigned long long)g->puts,
		        (unsigned long long)g->puts_refused, (unsigned long long)g->disk_writes,
		        (unsigned long long)g->lost);
	}
	if (t->baseline)
		return;
	const struct numem_tmem_info *in = &t->info;
	fprintf(out,
	        "tmem now: %llu pages (%llu ephemeral, %llu persistent; %llu zero, %llu "
	        "compressed) in %llu heap pages; %.2f bytes stored per byte held; metadata %llu "
	        "bytes\n",
	        (unsigned long long)in->stats.pages, (unsigned long long)in->stats.pages_ephemeral,
	        (unsigned long long)in->stats.pages_persistent,
	        (unsigned long long)in->stats.zero_pages,
	        (unsigned long long)in->stats.compressed_pages, (unsigned long long)in->heap_pages,
	        tmem_ratio(&in->stats), (unsigned long long)in->metadata_bytes);
	fprintf(out,
	        "tmem ops: %llu puts (%llu stored), %llu gets (%llu hits), %llu flushes; %llu "
	        "evictions, %llu pages freed by %llu shrinker calls (at most %llu a request)\n",
	        (unsigned long long)in->stats.puts, (unsigned long long)in->stats.puts_stored,
	        (unsigned long long)in->stats.gets, (unsigned long long)in->stats.hits,
	        (unsigned long long)in->stats.flushes, (unsigned long long)in->stats.evictions,
	        (unsigned long long)in->shrinker_freed, (unsigned long long)in->shrinker_calls,
	        (unsigned long long)in->max_evict_batch);
	fprintf(out, "tmem by phase: %-9s %9s %9s  heap pages held per node at its end\n", "",
	        "evicted", "shrunk");
	for (uint32_t i = 0; i < res->sc.nr_phases && i < SIM_MAX_PHASES; i++) {
		const struct sim_phase *p = &res->sc.phase[i];
		fprintf(out, "  %2u %-20s %9llu %9llu  ", i + 1, sim_phase_name(p->kind),
		        (unsigned long long)t->phase_evictions[i],
		        (unsigned long long)t->phase_shrinker_freed[i]);
		for (uint32_t n = 0; n < res->nr_nodes; n++)
			fprintf(out, "%s%llu", n ? "/" : "",
			        (unsigned long long)t->phase_pages_on_node[i][n]);
		fprintf(out, "\n");
	}
}

static void run_text(FILE *out, const struct sim_result *res, const struct sim_run *r)
{
	uint32_t nn = res->nr_nodes;
	fprintf(out, "\n== strategy %s (%llu operations) ==\n", r->strategy,
	        (unsigned long long)r->ops);
	fprintf(out, "\nplacement:\n%-12s %4s %9s %-9s %-9s %s\n", "domain", "id", "memory",
	        "affinity", "placed", "vcpus per node");
	for (uint32_t i = 0; i < r->nr_domains; i++) {
		const struct sim_domain_result *d = &r->dom[i];
		if (!d->alive) {
			fprintf(out, "%-12s %4s %9s %-9s %-9s (destroyed)\n", d->name, "-", "-",
			        "-", placement_name(&res->sc, i));
			continue;
		}
		char aff[64], vc[128];
		mask_str(aff, sizeof(aff), &d->affinity, nn);
		size_t len = 0;
		vc[0] = '\0';
		for (uint32_t n = 0; n < nn; n++)
			len += (size_t)snprintf(vc + len, sizeof(vc) - len, "%s%u", n ? "/" : "",
			                        d->vcpus_on_node[n]);
		fprintf(out, "%-12s %4u %6llu MB %-9s %-9s %s\n", d->name, d->id,
		        (unsigned long long)(d->pages >> 8), aff,
		        d->auto_placed ? "auto" : placement_name(&res->sc, i), vc);
	}
	fprintf(out, "\npages per node (the Xen 'u' key's per-domain lines):\n");
	for (uint32_t i = 0; i < r->nr_domains; i++) {
		const struct sim_domain_result *d = &r->dom[i];
		if (!d->alive)
			continue;
		fprintf(out, "Domain %u (%s, total: %llu):\n", d->id, d->name,
		        (unsigned long long)d->pages);
		for (uint32_t n = 0; n < nn; n++)
			fprintf(out, "    Node %u: %llu\n", n,
			        (unsigned long long)d->pages_on_node[n]);
	}
	fprintf(out, "\nnumastat:\n%16s", "");
	for (uint32_t n = 0; n < nn; n++) {
		char h[16];
		snprintf(h, sizeof(h), "node%u", n);
		fprintf(out, "%16s", h);
	}
	fprintf(out, "\n");
	for (unsigned s = 0; s < NUMEM_NR_NUMASTAT; s++) {
		fprintf(out, "%-16s", numem_stat_name((enum numem_stat)s));
		for (uint32_t n = 0; n < nn; n++)
			fprintf(out, "%16llu", (unsigned long long)r->stat[n][s]);
		fprintf(out, "\n");
	}
	fprintf(out, "\nlocal allocations: %.2f%% of pages\n", r->local_pct);
	fprintf(out, "\nbuddyinfo:\n");
	for (uint32_t n = 0; n < nn; n++)
		for (unsigned z = 0; z < NUMEM_NR_ZONE_TYPES; z++) {
			if (!r->zone_populated[n][z])
				continue;
			fprintf(out, "Node %u, zone %8s ", n,
			        numem_zone_name((enum numem_zone_type)z));
			for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++)
				fprintf(out, "%6llu ", (unsigned long long)r->buddy[n][z][o]);
			fprintf(out, "\n");
		}
	fprintf(out, "\nunusable free space index (per mille), orders 0..%u:\n", NUMEM_MAX_ORDER);
	for (uint32_t n = 0; n < nn; n++) {
		fprintf(out, "node %u:", n);
		for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++)
			fprintf(out, " %4u", r->unusable[n][o]);
		fprintf(out, "\n");
	}
	for (uint32_t k = 0; k < r->nr_relayouts; k++)
		relayout_text(out, res, r, &r->relayout[k]);
	fprintf(out, "\nsmall objects (domains' p2m and structures):\n");
	numem_report_slabinfo_header(out);
	for (uint32_t i = 0; i < r->nr_slabinfo; i++)
		numem_report_slabinfo_line(out, r->slabinfo[i].name, &r->slabinfo[i].info);
	tmem_text(out, res, r);
	fprintf(out, "\nchecks: %s\n",
	        r->error[0] ? r->error : "heap and slab verified; domain ownership verified");
}

void sim_report_text(FILE *out, const struct sim_result *res)
{
	fprintf(out, "numem sim: scenario \"%s\" on %s (%u nodes, %u cpus), seed %llu\n",
	        res->sc.name, res->machine_name, res->nr_nodes, res->nr_cpus,
	        (unsigned long long)res->sc.seed);
	for (int s = 0; s < 2; s++)
		run_text(out, res, &res->run[s]);
	fprintf(out, "\n== strategies side by side ==\n%-8s %10s", "", "local %");
	for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o += 3)
		fprintf(out, "  unusable@%-2u", o);
	fprintf(out, "\n");
	for (int s = 0; s < 2; s++) {
		const struct sim_run *r = &res->run[s];
		fprintf(out, "%-8s %9.2f%%", r->strategy, r->local_pct);
		for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o += 3) {
			uint32_t sum = 0;
			for (uint32_t n = 0; n < res->nr_nodes; n++)
				sum += r->unusable[n][o];
			fprintf(out, "  %11.3f", (double)sum / res->nr_nodes / 1000.0);
		}
		fprintf(out, "\n");
	}
	fprintf(out,
	        "\nbalance: each guest's largest distance from its share of pages (the "
	        "vcpus'\nnodes, or its vnodes), in pages and %% of the guest\n%-12s",
	        "domain");
	for (int s = 0; s < 2; s++)
		fprintf(out, " %22s", res->run[s].strategy);
	fprintf(out, "\n");
	for (uint32_t i = 0; i < res->run[0].nr_domains; i++) {
		fprintf(out, "%-12s", res->run[0].dom[i].name);
		for (int s = 0; s < 2; s++) {
			const struct sim_domain_result *d = &res->run[s].dom[i];
			char cell[48];
			if (d->alive)
				snprintf(cell, sizeof(cell), "%llu (%.2f%%)",
				         (unsigned long long)d->imbalance, imbalance_pct(d));
			else
				snprintf(cell, sizeof(cell), "(destroyed)");
			fprintf(out, " %22s", cell);
		}
		fprintf(out, "\n");
	}
}

static json_t *tmem_stats_json(const struct numem_tmem_stats *st)
{
	char ratio[32];
	snprintf(ratio, sizeof(ratio), "%.4f", tmem_ratio(st));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	                 "s:I, s:I, s:s}",
	                 "puts", (json_int_t)st->puts, "puts_stored", (json_int_t)st->puts_stored,
	                 "puts_failed", (json_int_t)st->puts_failed, "gets", (json_int_t)st->gets,
	                 "hits", (json_int_t)st->hits, "misses", (json_int_t)st->misses, "flushes",
	                 (json_int_t)st->flushes, "flush_objects", (json_int_t)st->flush_objects,
	                 "evictions", (json_int_t)st->evictions, "pages", (json_int_t)st->pages,
	                 "pages_ephemeral", (json_int_t)st->pages_ephemeral, "pages_persistent",
	                 (json_int_t)st->pages_persistent, "zero_pages", (json_int_t)st->zero_pages,
	                 "compressed_pages", (json_int_t)st->compressed_pages, "bytes_stored",
	                 (json_int_t)st->bytes_stored, "bytes_used", (json_int_t)st->bytes_used,
	                 "compression_ratio", ratio);
}

/* The pools a run's samples follow: (scenario domain index, kind) of each
 * guest's pools, in that order. */
uint32_t sim_tmem_sampled_pools(const struct sim_tmem_result *t, uint32_t *slot)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < t->nr_guests; k++)
		for (uint32_t kind = 0; kind < 2; kind++)
			if (t->guest[k].pool[kind] != ~0u)
				slot[n++] = (uint32_t)t->guest_dom[k] * 2 + kind;
	return n;
}

static json_t *tmem_json(const struct sim_result *res, const struct sim_run *r)
{
	const struct sim_tmem_result *t = &r->tmem;
	json_t *guests = json_array();
	for (uint32_t k = 0; k < t->nr_guests; k++) {
		const struct sim_tmem_guest *g = &t->guest[k];
		char pct[32];
		snprintf(pct, sizeof(pct), "%.4f", tmem_hit_pct(g));
		json_t *o = json_pack(
		    "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I, "
		    "s:I, s:I}",
		    "name", g->name, "frontend", sim_tmem_frontend_name(g->frontend),
		    "working_set_pages", (json_int_t)g->ws_pages, "accesses",
		    (json_int_t)g->accesses, "resident", (json_int_t)g->resident, "first_touch",
		    (json_int_t)g->first_touch, "faults", (json_int_t)g->faults, "gets",
		    (json_int_t)g->gets, "tmem_hits", (json_int_t)g->tmem_hits, "disk_reads",
		    (json_int_t)g->disk_reads, "hit_pct", pct, "puts", (json_int_t)g->puts,
		    "puts_refused", (json_int_t)g->puts_refused, "disk_writes",
		    (json_int_t)g->disk_writes, "lost", (json_int_t)g->lost, "wrong",
		    (json_int_t)g->wrong, "errors", (json_int_t)g->errors);
		json_array_append_new(guests, o);
	}
	json_t *o = json_pack("{s:s, s:b, s:o}", "compression", t->codec, "baseline", t->baseline,
	                      "guests", guests);
	if (t->baseline)
		return o;
	const struct numem_tmem_info *in = &t->info;
	json_object_set_new(o, "stats", tmem_stats_json(&in->stats));
	json_object_set_new(o, "heap_pages", json_integer((json_int_t)in->heap_pages));
	json_object_set_new(o, "pages_on_node", u64_array(in->pages_on_node, res->nr_nodes));
	json_object_set_new(o, "metadata_bytes", json_integer((json_int_t)in->metadata_bytes));
	json_object_set_new(o, "shrinker_calls", json_integer((json_int_t)in->shrinker_calls));
	json_object_set_new(o, "shrinker_freed", json_integer((json_int_t)in->shrinker_freed));
	json_object_set_new(o, "max_evict_batch", json_integer((json_int_t)in->max_evict_batch));
	json_t *phases = json_array();
	for (uint32_t i = 0; i < res->sc.nr_phases && i < SIM_MAX_PHASES; i++)
		json_array_append_new(
		    phases, json_pack("{s:i, s:s, s:I, s:I, s:I, s:o}", "phase", i + 1, "kind",
		                      sim_phase_name(res->sc.phase[i].kind), "evictions",
		                      (json_int_t)t->phase_evictions[i], "shrinker_calls",
		                      (json_int_t)t->phase_shrinker_calls[i], "shrinker_freed",
		                      (json_int_t)t->phase_shrinker_freed[i], "pages_on_node",
		                      u64_array(t->phase_pages_on_node[i], res->nr_nodes)));
	json_object_set_new(o, "phases", phases);
	json_t *clients = json_array(), *pools = json_array();
	for (uint32_t c = 0; c < t->nr_clients; c++) {
		const struct numem_tmem_client_info *ci = &t->client[c];
		json_array_append_new(
		    clients,
		    json_pack("{s:i, s:i, s:I, s:i, s:b, s:i, s:i, s:o}", "client", ci->client,
		              "weight", ci->weight, "cap", (json_int_t)ci->cap, "codec",
		              (int)ci->codec, "frozen", ci->frozen, "node", (int)ci->node, "pools",
		              ci->nr_pools, "stats", tmem_stats_json(&ci->stats)));
	}
	for (uint32_t i = 0; i < t->nr_pools; i++) {
		const struct numem_tmem_pool_info *pi = &t->pool[i];
		json_array_append_new(
		    pools,
		    json_pack("{s:i, s:i, s:s, s:b, s:i, s:I, s:o}", "client", pi->client, "pool",
		              pi->pool_id, "kind",
		              pi->flags & NUMEM_TMEM_POOL_PERSISTENT ? "persistent" : "ephemeral",
		              "shared", (pi->flags & NUMEM_TMEM_POOL_SHARED) != 0, "sharers",
		              pi->sharers, "objects", (json_int_t)pi->objects, "stats",
		              tmem_stats_json(&pi->stats)));
	}
	json_object_set_new(o, "clients", clients);
	json_object_set_new(o, "pools", pools);
	uint32_t slot[SIM_TMEM_POOLS], ns = sim_tmem_sampled_pools(t, slot);
	json_t *sp = json_array();
	for (uint32_t i = 0; i < ns; i++)
		json_array_append_new(sp, json_pack("{s:s, s:s}", "domain",
		                                    res->sc.domain[slot[i] / 2].name, "kind",
		                                    slot[i] % 2 ? "persistent" : "ephemeral"));
	json_object_set_new(o, "sampled_pools", sp);
	json_object_set_new(o, "verify", json_string(t->verify[0] ? t->verify : "ok"));
	return o;
}

static json_t *run_json(const struct sim_result *res, const struct sim_run *r)
{
	uint32_t nn = res->nr_nodes;
	json_t *doms = json_array();
	for (uint32_t i = 0; i < r->nr_domains; i++) {
		const struct sim_domain_result *d = &r->dom[i];
		json_t *pn = json_array(), *vn = json_array(), *aff = json_array();
		for (uint32_t n = 0; n < nn; n++) {
			json_array_append_new(pn, json_integer((json_int_t)d->pages_on_node[n]));
			json_array_append_new(vn, json_integer(d->vcpus_on_node[n]));
			if (numem_nodemask_test(&d->affinity, (numem_nid_t)n))
				json_array_append_new(aff, json_integer(n));
		}
		char pct[32];
		snprintf(pct, sizeof(pct), "%.4f", imbalance_pct(d));
		json_array_append_new(
		    doms, json_pack("{s:s, s:b, s:i, s:s, s:b, s:o, s:I, s:o, s:o, s:I, s:s}",
		                    "name", d->name, "alive", d->alive, "id", d->id, "placement",
		                    placement_name(&res->sc, i), "auto_placed", d->auto_placed,
		                    "affinity", aff, "pages", (json_int_t)d->pages, "pages_on_node",
		                    pn, "vcpus_on_node", vn, "imbalance_pages",
		                    (json_int_t)d->imbalance, "imbalance_pct", pct));
	}
	json_t *nodes = json_array();
	for (uint32_t n = 0; n < nn; n++) {
		json_t *st = json_object(), *bi = json_object(), *un = json_array();
		for (unsigned s = 0; s < NUMEM_NR_STATS; s++)
			json_object_set_new(st, numem_stat_name((enum numem_stat)s),
			                    json_integer((json_int_t)r->stat[n][s]));
		for (unsigned z = 0; z < NUMEM_NR_ZONE_TYPES; z++) {
			if (!r->zone_populated[n][z])
				continue;
			json_t *a = json_array();
			for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++)
				json_array_append_new(a,
				                      json_integer((json_int_t)r->buddy[n][z][o]));
			json_object_set_new(bi, numem_zone_name((enum numem_zone_type)z), a);
		}
		for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++)
			json_array_append_new(un, json_integer(r->unusable[n][o]));
		json_array_append_new(
		    nodes, json_pack("{s:i, s:I, s:I, s:o, s:o, s:o}", "node", n, "present_pages",
		                     (json_int_t)r->present_pages[n], "free_pages",
		                     (json_int_t)r->free_pages[n], "numastat", st, "buddyinfo", bi,
		                     "unusable_per_mille", un));
	}
	json_t *samples = json_array();
	for (uint32_t i = 0; i < r->nr_samples; i++) {
		const struct sim_sample *s = &r->sample[i];
		json_t *fr = json_array();
		for (uint32_t n = 0; n < nn; n++)
			json_array_append_new(fr, json_integer((json_int_t)s->free_pages[n]));
		char pct[32];
		snprintf(pct, sizeof(pct), "%.4f", s->local_pct);
		json_t *so = json_pack("{s:I, s:o, s:s}", "op", (json_int_t)s->op, "free_pages", fr,
		                       "local_pct", pct);
		if (r->nr_relayouts) /* other runs' JSON stays as it was */
			json_object_set_new(so, "pending_pages",
			                    json_integer((json_int_t)s->pending_pages));
		if (r->tmem.enabled && !r->tmem.baseline) { /* by "sampled_pools" */
			uint32_t slot[SIM_TMEM_POOLS], ns = sim_tmem_sampled_pools(&r->tmem, slot);
			json_t *pg = json_array(), *gt = json_array(), *ht = json_array();
			for (uint32_t k = 0; k < ns; k++) {
				json_array_append_new(
				    pg, json_integer((json_int_t)s->tmem_pages[slot[k]]));
				json_array_append_new(
				    gt, json_integer((json_int_t)s->tmem_gets[slot[k]]));
				json_array_append_new(
				    ht, json_integer((json_int_t)s->tmem_hits[slot[k]]));
			}
			json_object_set_new(so, "tmem",
			                    json_pack("{s:I, s:o, s:o, s:o}", "heap_pages",
			                              (json_int_t)s->tmem_heap_pages, "pages", pg,
			                              "gets", gt, "hits", ht));
		}
		json_array_append_new(samples, so);
	}
	json_t *slabs = json_array();
	for (uint32_t i = 0; i < r->nr_slabinfo; i++) {
		const struct numem_slab_info *in = &r->slabinfo[i].info;
		json_array_append_new(slabs, json_pack("{s:s, s:I, s:I, s:i, s:i, s:i, s:I, s:I}",
		                                       "name", r->slabinfo[i].name, "active_objs",
		                                       (json_int_t)in->active_objs, "num_objs",
		                                       (json_int_t)in->num_objs, "objsize",
		                                       in->objsize, "objperslab", in->objperslab,
		                                       "pagesperslab", in->pagesperslab,
		                                       "active_slabs", (json_int_t)in->active_slabs,
		                                       "num_slabs", (json_int_t)in->num_slabs));
	}
	char local[32];
	snprintf(local, sizeof(local), "%.4f", r->local_pct);
	json_t *o = json_pack("{s:s, s:I, s:s, s:o, s:o, s:o, s:o, s:s}", "strategy", r->strategy,
	                      "ops", (json_int_t)r->ops, "local_pct", local, "domains", doms,
	                      "nodes", nodes, "slabinfo", slabs, "samples", samples, "checks",
	                      r->error[0] ? r->error : "ok");
	if (r->nr_relayouts) {
		json_t *rl = json_array();
		for (uint32_t k = 0; k < r->nr_relayouts; k++)
			json_array_append_new(rl, relayout_json(res, &r->relayout[k]));
		json_object_set_new(o, "relayouts", rl);
	}
	if (r->tmem.enabled)
		json_object_set_new(o, "tmem", tmem_json(res, r));
	if (r->trace_events || r->trace_lost) /* a traced run: what its file holds */
		json_object_set_new(o, "trace",
		                    json_pack("{s:I, s:I}", "events", (json_int_t)r->trace_events,
		                              "lost", (json_int_t)r->trace_lost));
	return o;
}

char *sim_report_json(const struct sim_result *res)
{
	json_t *runs = json_array();
	for (int s = 0; s < 2; s++)
		json_array_append_new(runs, run_json(res, &res->run[s]));
	json_t *o = json_pack("{s:s, s:s, s:I, s:i, s:i, s:o}", "scenario", res->sc.name, "machine",
	                      res->machine_name, "seed", (json_int_t)res->sc.seed, "nr_nodes",
	                      res->nr_nodes, "nr_cpus", res->nr_cpus, "runs", runs);
	char *text = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}
