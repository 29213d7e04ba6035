/*
 * cmd_tmem.c - `numem tmem`: guests whose working sets exceed their memory,
 * run once with tmem frontends and once without (the baseline), through
 * the simulator (sim/tmem.c); the report compares them: faults, "disk"
 * reads avoided, tmem's hit rate, memory it held, evictions, compression.
 * --stats prints the control plane's listing at the end of the run.
 */
#include <stdlib.h>
#include <string.h>

#include <numem/json.h>
#include <numem/sim.h>

#include "cli.h"

static const char help[] =
    "usage: numem tmem [MACHINE] [--guests N] [--workload cleancache|frontswap|mixed]\n"
    "                  [--compress lz4|zstd|off] [--memory MB] [--working-set MB]\n"
    "                  [--accesses N] [--pressure PCT] [--seed S] [--stats] [--json]\n"
    "\n"
    "Runs N guests whose working sets exceed their memory on MACHINE (a preset or a\n"
    "table directory; default " NUMEM_DEFAULT_PRESET "), deterministically, twice: with tmem\n"
    "frontends and without tmem (every page a guest cannot hold goes to \"disk\").\n"
    "Workloads: cleancache (a page cache: clean pages a guest evicts go to an\n"
    "ephemeral pool, a later read tries tmem before disk), frontswap (a swap:\n"
    "swapped-out pages go to a persistent pool), mixed (half of each).  Prints the\n"
    "faults of both runs, the disk reads tmem avoided, its hit rate, the memory it\n"
    "held (per node), its evictions and its compression, per guest and in all\n"
    "(the simulator's linux-strategy run; numem sim runs both strategies).\n"
    "\n"
    "  --guests N         guests (default 2, at most 16)\n"
    "  --workload W       cleancache, frontswap or mixed (default mixed)\n"
    "  --compress C       lz4 (default), zstd or off\n"
    "  --memory MB        each guest's memory (default 64)\n"
    "  --working-set MB   pages each guest's workload touches (default 1.5 x memory)\n"
    "  --accesses N       page accesses per guest (default 100000)\n"
    "  --pressure PCT     after two thirds of the accesses a hog fills the machine to\n"
    "                     PCT%, so that the heap's shrinker takes tmem's ephemeral\n"
    "                     pages (evictions), then leaves (default 0: no hog)\n"
    "  --seed S           random seed (default 1)\n"
    "  --stats            also print the control plane's listing at the end of the run:\n"
    "                     clients (weight, cap, codec, node, counts) and pools\n"
    "  --json             one JSON object on stdout\n"
    "\n"
    "Exit status 4 if tmem returned wrong data, failed an op, or a verifier failed.\n"
    "\n";

struct tmem_args {
	const char *machine;
	uint64_t guests, memory, working_set, accesses, pressure, seed;
	enum sim_tmem_frontend workload;
	enum numem_tmem_codec_id codec;
	bool stats, json;
};

static const char *const codec_names[] = {"off", "lz4", "zstd"};

/* The options into *a; -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct tmem_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		static const struct {
			const char *name;
			uint64_t lo, hi;
			size_t off;
		} nums[] = {
		    {"--guests", 1, SIM_MAX_DOMAINS, offsetof(struct tmem_args, guests)},
		    {"--memory", 4, SIM_TMEM_MAX_MB, offsetof(struct tmem_args, memory)},
		    {"--working-set", 1, SIM_TMEM_MAX_MB, offsetof(struct tmem_args, working_set)},
		    {"--accesses", 1, SIM_MAX_OPS / SIM_MAX_DOMAINS,
		     offsetof(struct tmem_args, accesses)},
		    {"--pressure", 0, 100, offsetof(struct tmem_args, pressure)},
		    {"--seed", 0, UINT64_MAX, offsetof(struct tmem_args, seed)},
		};
		bool done = false;
		for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]) && !done; k++) {
			if (strcmp(o, nums[k].name))
				continue;
			char msg[256];
			if (!v) {
				cli_error("tmem", "%s needs a value", o);
				return EXIT_USAGE;
			}
			if (numem_parse_uint(o, v, nums[k].lo, nums[k].hi,
			                     (uint64_t *)((char *)a + nums[k].off), msg,
			                     sizeof(msg))) {
				cli_error("tmem", "%s", msg);
				return EXIT_USAGE;
			}
			i++;
			done = true;
		}
		if (done)
			continue;
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			fputs(help, stdout);
			return EXIT_OK;
		} else if (!strcmp(o, "--json")) {
			a->json = true;
		} else if (!strcmp(o, "--stats")) {
			a->stats = true;
		} else if (!strcmp(o, "--workload") || !strcmp(o, "--compress")) {
			bool wl = o[2] == 'w';
			int found = -1;
			for (int k = 0; v && k < (wl ? 4 : NUMEM_TMEM_NR_CODECS); k++)
				if (!strcmp(v,
				            wl ? sim_tmem_frontend_name((enum sim_tmem_frontend)k)
				               : codec_names[k]))
					found = k;
			if (found < 0 || (wl && found == SIM_TMEM_NONE)) {
				cli_error("tmem", "%s wants %s, not '%s'", o,
				          wl ? "cleancache, frontswap or mixed"
				             : "lz4, zstd or off",
				          v ? v : "nothing");
				return EXIT_USAGE;
			}
			if (wl)
				a->workload = (enum sim_tmem_frontend)found;
			else
				a->codec = (enum numem_tmem_codec_id)found;
			i++;
		} else if (o[0] != '-' && !a->machine) {
			a->machine = o;
		} else {
			cli_error("tmem", "unknown option '%s' (see --help)", o);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* The scenario: N guests, boot, the accesses (a hog in between with
 * --pressure). */
static int build(const struct tmem_args *a, struct sim_scenario *sc, char *err, size_t errlen)
{
	memset(sc, 0, sizeof(*sc));
	snprintf(sc->name, sizeof(sc->name), "tmem-%s", sim_tmem_frontend_name(a->workload));
	if (strlen(a->machine) >= sizeof(sc->machine)) {
		snprintf(err, errlen, "machine name longer than %zu characters",
		         sizeof(sc->machine) - 1);
		return -1;
	}
	snprintf(sc->machine, sizeof(sc->machine), "%s", a->machine);
	sc->seed = a->seed;
	sc->sample_every = 5000;
	sc->tmem_codec = a->codec;
	sc->nr_domains = (uint32_t)a->guests;
	for (uint32_t i = 0; i < sc->nr_domains; i++) {
		struct sim_domain_spec *d = &sc->domain[i];
		snprintf(d->name, sizeof(d->name), "guest%u", i + 1);
		d->mem_mb = a->memory;
		d->vcpus = 1;
		d->placement = SIM_PLACE_AUTO;
		d->tmem = a->workload;
		d->working_set_mb = a->working_set;
	}
	uint64_t total = a->accesses * a->guests;
	struct sim_phase *p = sc->phase;
	p[sc->nr_phases++] = (struct sim_phase){.kind = SIM_BOOT};
	if (a->pressure) {
		p[sc->nr_phases++] = (struct sim_phase){.kind = SIM_TMEM, .ops = total * 2 / 3};
		p[sc->nr_phases++] =
		    (struct sim_phase){.kind = SIM_PRESSURE, .percent = (uint32_t)a->pressure};
		p[sc->nr_phases++] =
		    (struct sim_phase){.kind = SIM_TMEM, .ops = total - total * 2 / 3};
		p[sc->nr_phases++] = (struct sim_phase){.kind = SIM_DESTROY, .domain = "hog"};
	} else {
		p[sc->nr_phases++] = (struct sim_phase){.kind = SIM_TMEM, .ops = total};
	}
	return sim_scenario_validate(sc, err, errlen);
}

struct totals {
	uint64_t accesses, faults, first_touch, tmem_hits, disk_reads, puts, refused, disk_writes;
};

static struct totals sum(const struct sim_tmem_result *t)
{
	struct totals s = {0};
	for (uint32_t k = 0; k < t->nr_guests; k++) {
		const struct sim_tmem_guest *g = &t->guest[k];
		s.accesses += g->accesses;
		s.faults += g->faults;
		s.first_touch += g->first_touch;
		s.tmem_hits += g->tmem_hits;
		s.disk_reads += g->disk_reads;
		s.puts += g->puts;
		s.refused += g->puts_refused;
		s.disk_writes += g->disk_writes;
	}
	return s;
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static double ratio(const struct numem_tmem_stats *st)
{
	return st->bytes_used ? (double)st->bytes_stored / (double)st->bytes_used : 0.0;
}

static void stats_text(const struct sim_tmem_result *t)
{
	static const char *const codec[] = {"off", "lz4", "zstd"};
	printf("\ntmem clients (the control plane's listing at the end of the run):\n");
	printf("%6s %6s %8s %5s %6s %4s %5s %8s %8s %8s %8s %8s %9s\n", "client", "weight", "cap",
	       "codec", "frozen", "node", "pools", "pages", "persist", "puts", "gets", "hits",
	       "evictions");
	for (uint32_t c = 0; c < t->nr_clients; c++) {
		const struct numem_tmem_client_info *ci = &t->client[c];
		char node[16] = "-"; /* the host's: the putting CPU's node */
		if (ci->node != NUMEM_NID_NONE)
			snprintf(node, sizeof(node), "%u", (unsigned)ci->node);
		printf("%6u %6u %8llu %5s %6s %4s %5u %8llu %8llu %8llu %8llu %8llu %9llu\n",
		       ci->client, ci->weight, (unsigned long long)ci->cap,
		       (unsigned)ci->codec < 3 ? codec[ci->codec] : "?", ci->frozen ? "yes" : "no",
		       node, ci->nr_pools, (unsigned long long)ci->stats.pages,
		       (unsigned long long)ci->stats.pages_persistent,
		       (unsigned long long)ci->stats.puts, (unsigned long long)ci->stats.gets,
		       (unsigned long long)ci->stats.hits, (unsigned long long)ci->stats.evictions);
	}
	printf("\ntmem pools:\n%6s %4s %-10s %6s %8s %8s %8s %8s %8s %8s %9s %6s %10s\n", "client",
	       "pool", "kind", "shared", "objects", "pages", "zero", "compr", "puts", "hits",
	       "evictions", "ratio", "bytes used");
	for (uint32_t i = 0; i < t->nr_pools; i++) {
		const struct numem_tmem_pool_info *pi = &t->pool[i];
		printf("%6u %4u %-10s %6s %8llu %8llu %8llu %8llu %8llu %8llu %9llu %6.2f %10llu\n",
		       pi->client, pi->pool_id,
		       pi->flags & NUMEM_TMEM_POOL_PERSISTENT ? "persistent" : "ephemeral",
		       pi->flags & NUMEM_TMEM_POOL_SHARED ? "yes" : "no",
		       (unsigned long long)pi->objects, (unsigned long long)pi->stats.pages,
		       (unsigned long long)pi->stats.zero_pages,
		       (unsigned long long)pi->stats.compressed_pages,
		       (unsigned long long)pi->stats.puts, (unsigned long long)pi->stats.hits,
		       (unsigned long long)pi->stats.evictions, ratio(&pi->stats),
		       (unsigned long long)pi->stats.bytes_used);
	}
}

static void report_text(const struct tmem_args *a, const struct sim_result *with,
                        const struct sim_result *without)
{
	const struct sim_tmem_result *t = &with->run[0].tmem, *b = &without->run[0].tmem;
	struct totals w = sum(t), o = sum(b);
	const struct numem_tmem_info *in = &t->info;
	printf("numem tmem: %llu guests (%s, %llu MB each, working set %llu MB) on %s, seed %llu, "
	       "compression %s\n",
	       (unsigned long long)a->guests, sim_tmem_frontend_name(a->workload),
	       (unsigned long long)a->memory,
	       (unsigned long long)(t->guest[0].ws_pages >> (20 - NUMEM_PAGE_SHIFT)),
	       with->machine_name, (unsigned long long)a->seed, t->codec);
	printf("\n%-28s %14s %14s\n", "", "without tmem", "with tmem");
	printf("%-28s %14llu %14llu\n", "page accesses", (unsigned long long)o.accesses,
	       (unsigned long long)w.accesses);
	printf("%-28s %14llu %14llu\n", "first touches", (unsigned long long)o.first_touch,
	       (unsigned long long)w.first_touch);
	printf("%-28s %14llu %14llu\n", "faults (pages touched again)",
	       (unsigned long long)o.faults, (unsigned long long)w.faults);
	printf("%-28s %14llu %14llu\n", "disk reads", (unsigned long long)o.disk_reads,
	       (unsigned long long)w.disk_reads);
	printf("%-28s %14llu %14llu\n", "disk writes (swap)", (unsigned long long)o.disk_writes,
	       (unsigned long long)w.disk_writes);
	printf("%-28s %14s %14llu (%.2f%%)\n", "disk reads avoided", "-",
	       (unsigned long long)(o.disk_reads - w.disk_reads),
	       pct(o.disk_reads - w.disk_reads, o.disk_reads));
	printf("%-28s %14s %13.2f%%\n", "tmem hit rate (of faults)", "-",
	       pct(w.tmem_hits, w.faults));
	printf("%-28s %14s %14llu (%llu refused)\n", "pages put to tmem", "-",
	       (unsigned long long)w.puts, (unsigned long long)w.refused);
	printf(
	    "\nmemory tmem holds: %llu pages (%llu ephemeral, %llu persistent) in %llu heap pages "
	    "(%.1f MiB); per node:",
	    (unsigned long long)in->stats.pages, (unsigned long long)in->stats.pages_ephemeral,
	    (unsigned long long)in->stats.pages_persistent, (unsigned long long)in->heap_pages,
	    (double)in->heap_pages / 256.0);
	for (uint32_t n = 0; n < with->nr_nodes; n++)
		printf(" %llu", (unsigned long long)in->pages_on_node[n]);
	printf("\nevictions: %llu (the heap's shrinker: %llu calls, %llu pages; at most %llu a "
	       "request)\n",
	       (unsigned long long)in->stats.evictions, (unsigned long long)in->shrinker_calls,
	       (unsigned long long)in->shrinker_freed, (unsigned long long)in->max_evict_batch);
	printf("compression: %.2f bytes stored per byte held (%llu zero pages, %llu compressed, "
	       "%llu of %llu bytes)\n",
	       ratio(&in->stats), (unsigned long long)in->stats.zero_pages,
	       (unsigned long long)in->stats.compressed_pages,
	       (unsigned long long)in->stats.bytes_used,
	       (unsigned long long)in->stats.bytes_stored);
	printf("\n%-10s %-10s %9s %8s %9s %9s %9s %8s\n", "guest", "frontend", "accesses", "faults",
	       "tmem hits", "disk rds", "baseline", "hit %");
	for (uint32_t k = 0; k < t->nr_guests; k++) {
		const struct sim_tmem_guest *g = &t->guest[k];
		printf("%-10s %-10s %9llu %8llu %9llu %9llu %9llu %7.2f%%\n", g->name,
		       sim_tmem_frontend_name(g->frontend), (unsigned long long)g->accesses,
		       (unsigned long long)g->faults, (unsigned long long)g->tmem_hits,
		       (unsigned long long)g->disk_reads,
		       (unsigned long long)b->guest[k].disk_reads, pct(g->tmem_hits, g->faults));
	}
	if (a->stats)
		stats_text(t);
	printf("\nchecks: %s\n", with->run[0].error[0] ? with->run[0].error
	                                               : "tmem verified, no wrong data; heap, slab "
	                                                 "and domains verified");
}

static json_t *totals_json(const struct totals *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "accesses",
	                 (json_int_t)s->accesses, "first_touch", (json_int_t)s->first_touch,
	                 "faults", (json_int_t)s->faults, "tmem_hits", (json_int_t)s->tmem_hits,
	                 "disk_reads", (json_int_t)s->disk_reads, "disk_writes",
	                 (json_int_t)s->disk_writes, "puts", (json_int_t)s->puts, "puts_refused",
	                 (json_int_t)s->refused);
}

static void report_json(const struct tmem_args *a, const struct sim_result *with,
                        const struct sim_result *without)
{
	/* The simulator's JSON has all of it: take its tmem object (listing
	 * included with --stats) and put the comparison around it. */
	char *text = sim_report_json(with);
	json_t *full = json_loads(text, 0, NULL);
	free(text);
	json_t *tm =
	    json_incref(json_object_get(json_array_get(json_object_get(full, "runs"), 0), "tmem"));
	json_decref(full);
	if (!a->stats) {
		json_object_del(tm, "clients");
		json_object_del(tm, "pools");
	}
	struct totals w = sum(&with->run[0].tmem), o = sum(&without->run[0].tmem);
	char hit[32], avoided[32];
	snprintf(hit, sizeof(hit), "%.4f", pct(w.tmem_hits, w.faults));
	snprintf(avoided, sizeof(avoided), "%.4f", pct(o.disk_reads - w.disk_reads, o.disk_reads));
	json_t *out = json_pack(
	    "{s:s, s:I, s:s, s:I, s:I, s:s, s:I, s:s, s:o, s:o, s:I, s:s, s:s, s:o, s:s}",
	    "machine", with->machine_name, "guests", (json_int_t)a->guests, "workload",
	    sim_tmem_frontend_name(a->workload), "memory_mb", (json_int_t)a->memory,
	    "working_set_mb",
	    (json_int_t)(with->run[0].tmem.guest[0].ws_pages >> (20 - NUMEM_PAGE_SHIFT)),
	    "compression", codec_names[a->codec], "seed", (json_int_t)a->seed, "strategy",
	    with->run[0].strategy, "without_tmem", totals_json(&o), "with_tmem", totals_json(&w),
	    "disk_reads_avoided", (json_int_t)(o.disk_reads - w.disk_reads),
	    "disk_reads_avoided_pct", avoided, "hit_pct", hit, "tmem", tm ? tm : json_null(),
	    "checks", with->run[0].error[0] ? with->run[0].error : "ok");
	json_dumpf(out, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(out);
}

static int tmem_fail(bool json, int code, const char *msg)
{
	return cli_fail("tmem", json, code, msg);
}

int cmd_tmem(int argc, char **argv)
{
	static struct sim_scenario sc;
	static struct sim_result with, without;
	struct tmem_args a = {.machine = NUMEM_DEFAULT_PRESET,
	                      .guests = 2,
	                      .memory = 64,
	                      .accesses = 100000,
	                      .seed = 1,
	                      .workload = SIM_TMEM_MIXED,
	                      .codec = NUMEM_TMEM_CODEC_LZ4};
	const char *machine = a.machine;
	a.machine = NULL;
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (!a.machine)
		a.machine = machine;
	char err[600];
	if (build(&a, &sc, err, sizeof(err)))
		return tmem_fail(a.json, EXIT_INVALID, err);
	struct sim_opts o = {.progress = false};
	if (sim_run(&sc, &o, &with, err, sizeof(err)))
		return tmem_fail(a.json, EXIT_INVALID, err);
	sc.tmem_baseline = true;
	if (sim_run(&sc, &o, &without, err, sizeof(err)))
		return tmem_fail(a.json, EXIT_INVALID, err);
	if (a.json)
		report_json(&a, &with, &without);
	else
		report_text(&a, &with, &without);
	bool bad = false;
	for (int s = 0; s < 2; s++)
		bad |= with.run[s].error[0] || without.run[s].error[0];
	return bad ? EXIT_VERIFY : EXIT_OK;
}
