/*
 * cmd_relayout.c - `numem relayout`: live NUMA relayout on a machine under
 * a churn workload (threads allocating and freeing pages and slab objects
 * on their CPUs before, during and after the commit), then the commit's
 * figures and the topology before and after.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <numem/domain.h>
#include <numem/json.h>
#include <numem/relayout.h>
#include <numem/report.h>
#include <numem/sim.h>

#include "boot.h"
#include "cli.h"

static const char help[] =
    "usage: numem relayout [MACHINE] stripe --nodes LIST --block PAGES [--range A-B] [opts]\n"
    "       numem relayout [MACHINE] push --node N [--range A-B] [opts]\n"
    "       numem relayout [MACHINE] from-srat FILE [--slit FILE] [opts]\n"
    "\n"
    "Live NUMA relayout (no hotplug): boots the machine, starts a churn workload\n"
    "(threads allocating and freeing pages of mixed orders and slab objects on\n"
    "their CPUs), commits the new layout while it runs, lets it run on, stops it,\n"
    "frees everything and runs the verifiers.  Prints the commit's time, the free\n"
    "pages moved at once, the allocated pages left pending (they move when freed)\n"
    "and pending per node right after the commit and once the churn has freed its\n"
    "blocks, then the topology before and after (numactl --hardware layout and the\n"
    "memory ranges, as `numem topo` shows them).\n"
    "\n"
    "  stripe           the RAM in the range goes to the nodes of LIST in turn,\n"
    "                   blocks of PAGES 4 KiB pages (the block at pfn p to\n"
    "                   LIST[(p - A) / PAGES % count]; a node id beyond the\n"
    "                   machine is brought online)\n"
    "  push             the RAM in the range goes to node N (a new node id is\n"
    "                   brought online)\n"
    "  from-srat FILE   a new SRAT (binary table): each memory entry's RAM goes to\n"
    "                   the node of its proximity domain (new domains: new nodes);\n"
    "                   processor entries give the new cpu->node map\n"
    "  --nodes LIST     nodes, \"0,1,2\" or \"0-2\"\n"
    "  --block PAGES    pages per stripe block (default 256)\n"
    "  --node N         the target node of push\n"
    "  --range A-B      pfns [A, B) (decimal or 0x hex; default: all RAM)\n"
    "  --slit FILE      with from-srat: the new distances\n"
    "  --threads T      churn threads (default 2; 0: no churn)\n"
    "  --ms M           churn milliseconds before and after the commit (default 50)\n"
    "  --seed S         churn seed (default 1)\n"
    "  --guest MB       a guest domain of MB MiB (default 1024; 0: none) populated\n"
    "                   in 2 MiB extents on the lowest node with memory before the\n"
    "                   commit: its pages per node follow the layout, its frames\n"
    "                   on moved ranges stay pending until freed\n"
    "  --migrate        the guest migrates its pending frames right after the commit\n"
    "                   (numem_domain_migrate: new frames on the new node, copied),\n"
    "                   from CPU 0 while the churn runs on the other CPUs\n"
    "  --json           one JSON object: machine, mode, commit, pending, before, after\n"
    "                   (numem topo's topology objects), verify\n"
    "  --report DIR     DIR/layout.svg (the address space by node before and after)\n"
    "                   and DIR/index.html\n"
    "\n"
    "exit status: 1 an invalid layout (the core's message says which range or\n"
    "node and why; nothing changed), 2 usage, 3 a file could not be read or\n"
    "written, 4 a verifier failed after the commit.\n"
    "\n";

static const char *const cmd = "relayout";

struct opts {
	const char *mode, *file, *slit, *report;
	numem_nid_t nodes[NUMEM_MAX_NODES];
	uint32_t nr_nodes;
	uint64_t block, node, start, end, threads, ms, seed, guest_mb;
	bool have_node, migrate;
};

/* ---- churn ----------------------------------------------------------------- */

struct churn {
	struct numem_heap *heap;
	struct numem_slab *slab;
	struct numem_cpu *cpu;
	uint64_t seed;
	atomic_bool *stop;
	uint64_t ops, failed;
	numem_pfn_t held[512];
	unsigned order[512];
	void *obj[256];
};

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	uint64_t x = c->seed * 0x9e3779b97f4a7c15ull + 1;
	while (!atomic_load_explicit(c->stop, memory_order_relaxed)) {
		uint64_t r = rnd(&x);
		uint32_t k = (uint32_t)(r >> 8) % 512;
		if (c->held[k].v) {
			numem_free(c->cpu, c->held[k], c->order[k], 0);
			c->held[k].v = 0;
		} else {
			unsigned order = r % 8 == 0 ? (unsigned)(r >> 40) % 4 : 0;
			if (!numem_alloc(c->cpu, order, 0, NULL, &c->held[k], 0))
				c->order[k] = order;
			else
				c->failed++;
		}
		uint32_t j = (uint32_t)(r >> 24) % 256;
		if (c->obj[j]) {
			numem_kfree(c->slab, c->cpu, c->obj[j], 0);
			c->obj[j] = 0;
		} else {
			c->obj[j] = numem_kmalloc(c->slab, c->cpu, 16 + (r >> 32) % 2000, 0);
		}
		numem_relayout_quiescent(c->cpu);
		c->ops++;
	}
	return 0;
}

static void churn_release(struct churn *c)
{
	for (uint32_t k = 0; k < 512; k++)
		if (c->held[k].v)
			numem_free(c->cpu, c->held[k], c->order[k], 0);
	for (uint32_t j = 0; j < 256; j++)
		numem_kfree(c->slab, c->cpu, c->obj[j], 0);
	memset(c->held, 0, sizeof(c->held));
	memset(c->obj, 0, sizeof(c->obj));
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- arguments ------------------------------------------------------------- */

static int parse_range(const char *v, struct opts *o)
{
	char a[64], msg[256];
	const char *dash = strchr(v, '-');
	if (!dash || (size_t)(dash - v) >= sizeof(a)) {
		cli_error(cmd, "--range %s: expected A-B (pfns)", v);
		return -1;
	}
	memcpy(a, v, (size_t)(dash - v));
	a[dash - v] = '\0';
	if (numem_parse_uint("--range start", a, 0, UINT64_MAX - 1, &o->start, msg, sizeof(msg)) ||
	    numem_parse_uint("--range end", dash + 1, o->start + 1, UINT64_MAX, &o->end, msg,
	                     sizeof(msg))) {
		cli_error(cmd, "%s", msg);
		return -1;
	}
	return 0;
}

static int parse_nodes(const char *v, struct opts *o)
{
	uint32_t ids[NUMEM_MAX_NODES + 1];
	char list[256];
	snprintf(list, sizeof(list), "%s", v);
	for (char *p = list; *p; p++) /* "0,1,2" or "0-2" */
		if (*p == ' ')
			*p = ',';
	int n = numem_parse_ranges(list, ids, NUMEM_MAX_NODES + 1);
	if (n <= 0 || n > NUMEM_MAX_NODES) {
		cli_error(cmd, "--nodes %s: expected 1..%d node ids such as 0,1,2 or 0-2", v,
		          NUMEM_MAX_NODES);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (ids[i] >= NUMEM_MAX_NODES) {
			cli_error(cmd, "--nodes %s: node %u is not below %d", v, ids[i],
			          NUMEM_MAX_NODES);
			return -1;
		}
		o->nodes[i] = (numem_nid_t)ids[i];
	}
	o->nr_nodes = (uint32_t)n;
	return 0;
}

/* -1 to go on, else an exit code. */
static int parse(int argc, char **argv, struct machine_args *ma, struct opts *o)
{
	char msg[256];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : 0;
		bool has_value = !strcmp(a, "--nodes") || !strcmp(a, "--block") ||
		                 !strcmp(a, "--node") || !strcmp(a, "--range") ||
		                 !strcmp(a, "--slit") || !strcmp(a, "--threads") ||
		                 !strcmp(a, "--ms") || !strcmp(a, "--seed") ||
		                 !strcmp(a, "--report") || !strcmp(a, "--guest");
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(help, stdout);
			fputs(machine_args_help, stdout);
			return EXIT_OK;
		}
		if (has_value && !v) {
			cli_error(cmd, "%s needs a value", a);
			return EXIT_USAGE;
		}
		int bad = 0;
		if (!o->mode &&
		    (!strcmp(a, "stripe") || !strcmp(a, "push") || !strcmp(a, "from-srat"))) {
			o->mode = a;
			continue;
		} else if (o->mode && !strcmp(o->mode, "from-srat") && !o->file && a[0] != '-') {
			o->file = a;
			continue;
		} else if (!strcmp(a, "--json")) {
			ma->json = true;
			continue;
		} else if (!strcmp(a, "--migrate")) {
			o->migrate = true;
			continue;
		} else if (!strcmp(a, "--guest")) {
			bad = numem_parse_uint("--guest", v, 0, 1u << 20, &o->guest_mb, msg,
			                       sizeof(msg));
		} else if (!strcmp(a, "--nodes")) {
			bad = parse_nodes(v, o);
		} else if (!strcmp(a, "--block")) {
			bad = numem_parse_uint("--block", v, 1, 1ull << 40, &o->block, msg,
			                       sizeof(msg));
		} else if (!strcmp(a, "--node")) {
			bad = numem_parse_uint("--node", v, 0, NUMEM_MAX_NODES - 1, &o->node, msg,
			                       sizeof(msg));
			o->have_node = true;
		} else if (!strcmp(a, "--range")) {
			bad = parse_range(v, o);
			if (bad)
				return EXIT_USAGE;
		} else if (!strcmp(a, "--slit")) {
			o->slit = v;
		} else if (!strcmp(a, "--threads")) {
			bad =
			    numem_parse_uint("--threads", v, 0, 64, &o->threads, msg, sizeof(msg));
		} else if (!strcmp(a, "--ms")) {
			bad = numem_parse_uint("--ms", v, 0, 60000, &o->ms, msg, sizeof(msg));
		} else if (!strcmp(a, "--seed")) {
			bad = numem_parse_uint("--seed", v, 0, UINT64_MAX, &o->seed, msg,
			                       sizeof(msg));
		} else if (!strcmp(a, "--report")) {
			o->report = v;
		} else {
			int r = machine_args_take(ma, argc, argv, &i);
			if (r == MACHINE_ARGS_INVALID)
				return EXIT_INVALID;
			if (r < 0)
				return EXIT_USAGE;
			if (r == 0) {
				cli_error(cmd, "unknown argument '%s' (numem relayout --help)", a);
				return EXIT_USAGE;
			}
			continue;
		}
		if (bad) {
			if (strcmp(a, "--nodes"))
				cli_error(cmd, "%s", msg);
			return EXIT_USAGE;
		}
		i++;
	}
	if (!o->mode) {
		cli_error(cmd, "which relayout: stripe, push or from-srat (numem relayout --help)");
		return EXIT_USAGE;
	}
	if (!strcmp(o->mode, "stripe") && !o->nr_nodes) {
		cli_error(cmd, "stripe needs --nodes");
		return EXIT_USAGE;
	}
	if (!strcmp(o->mode, "push") && !o->have_node) {
		cli_error(cmd, "push needs --node");
		return EXIT_USAGE;
	}
	if (!strcmp(o->mode, "from-srat") && !o->file) {
		cli_error(cmd, "from-srat needs a FILE (a binary SRAT)");
		return EXIT_USAGE;
	}
	if (strcmp(o->mode, "from-srat") && o->slit) {
		cli_error(cmd, "--slit goes with from-srat");
		return EXIT_USAGE;
	}
	return -1;
}

/* ---- the layout ------------------------------------------------------------ */

/* Build the request.  An exit code: EXIT_OK, EXIT_IO (a file), EXIT_INVALID
 * (the core refused it; message printed). */
static int build(const struct opts *o, struct numem_heap *heap, struct numem_memlayout *l,
                 const struct machine_args *ma)
{
	struct numem_diag d = {0};
	enum numem_err e = NUMEM_OK;
	if (!strcmp(o->mode, "stripe")) {
		e = numem_memlayout_stripe(l, heap, o->start, o->end, o->nodes, o->nr_nodes,
		                           o->block, &d);
	} else if (!strcmp(o->mode, "push")) {
		e = numem_memlayout_push(l, heap, o->start, o->end, (numem_nid_t)o->node, &d);
	} else {
		uint8_t *srat_buf = 0, *slit_buf = 0;
		size_t srat_len = 0, slit_len = 0;
		int err = numem_read_file(o->file, &srat_buf, &srat_len);
		if (err || (o->slit && (err = numem_read_file(o->slit, &slit_buf, &slit_len)))) {
			cli_error(cmd, "%s: %s", srat_buf ? o->slit : o->file, strerror(err));
			free(srat_buf);
			return EXIT_IO;
		}
		struct numem_srat srat = {0};
		struct numem_slit slit = {0};
		bool have_srat = false, have_slit = false;
		e = numem_srat_parse(srat_buf, srat_len, 0, heap->plat, &srat, &d);
		have_srat = !e;
		if (!e && slit_buf) {
			e = numem_slit_parse(slit_buf, slit_len, 0, heap->plat, &slit, &d);
			have_slit = !e;
		}
		if (!e)
			e = numem_memlayout_from_srat(l, heap, &srat, have_slit ? &slit : NULL, &d);
		if (have_srat)
			numem_srat_release(heap->plat, &srat);
		if (have_slit)
			numem_slit_release(heap->plat, &slit);
		free(srat_buf);
		free(slit_buf);
	}
	if (!e)
		e = numem_memlayout_validate(heap, l, &d);
	if (e) {
		cli_error(cmd, "%s (%s)", d.msg, numem_err_name(e));
		machine_args_json_error(ma, "relayout", &d);
		return EXIT_INVALID;
	}
	return EXIT_OK;
}

/* ---- output ---------------------------------------------------------------- */

struct figures {
	struct numem_relayout_result res;
	uint64_t pending_commit[NUMEM_MAX_NODES], pending_end[NUMEM_MAX_NODES];
	uint64_t churn_ops, churn_failed;
	uint32_t nr_ranges;
	uint64_t slabs_relaid;
	/* the guest: its pages per node before and after, pending, migrated */
	uint64_t guest_pages, guest_before[NUMEM_MAX_NODES], guest_after[NUMEM_MAX_NODES];
	uint64_t guest_pending, guest_migrated;
	char verify[320];
};

/* numem topo's layout, or for a striped layout of many ranges one line per
 * node (its ranges, RAM and span) and the fallback orders. */
static void print_layout(const struct numem_topo *t)
{
	if (t->nr_ranges <= 64) {
		numem_report_layout(stdout, t);
		return;
	}
	printf("\nmemory ranges (%u, summarised per node):\n", t->nr_ranges);
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		uint32_t k = 0;
		for (uint32_t i = 0; i < t->nr_ranges; i++)
			k += t->range[i].node == n;
		printf("node %u (pxm %u): %u ranges, %llu MiB of RAM in [0x%llx-0x%llx)\n", n,
		       t->node[n].pxm, k,
		       (unsigned long long)(t->node[n].ram_pages >> (20 - NUMEM_PAGE_SHIFT)),
		       (unsigned long long)(t->node[n].start_pfn << NUMEM_PAGE_SHIFT),
		       (unsigned long long)(t->node[n].end_pfn << NUMEM_PAGE_SHIFT));
	}
	printf("\nfallback order:\n");
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		printf("node %u:", n);
		for (uint32_t i = 0; i < t->node[n].nr_fallback; i++)
			printf(" %u", t->node[n].fallback[i]);
		printf("\n");
	}
}

static void print_text(const struct opts *o, const struct numem_system *sys,
                       const struct numem_topo *before, const uint64_t *free_before,
                       const struct numem_topo *after, const uint64_t *free_after,
                       const struct figures *f)
{
	const struct numem_relayout_result *r = &f->res;
	printf("relayout %s on %s: %u ranges requested, %u change runs, %llu pages changed "
	       "node\n",
	       o->mode, sys->m.src.name, f->nr_ranges, r->nr_changes,
	       (unsigned long long)r->pages_changed);
	printf("commit: %.3f ms, generation %llu\n", (double)r->ns / 1e6,
	       (unsigned long long)r->generation);
	printf("  moved at once : %llu free pages in %llu blocks\n",
	       (unsigned long long)r->pages_moved, (unsigned long long)r->blocks_moved);
	printf("  pending       : %llu pages (allocated or cached; they move when freed)\n",
	       (unsigned long long)r->pages_pending);
	printf("  reserved      : %llu pages recounted, deferred %llu\n",
	       (unsigned long long)r->pages_reserved, (unsigned long long)r->pages_deferred);
	printf("  cpu map %s, distances %s; %llu slabs moved to their new node's lists\n",
	       r->cpu_nodes_changed ? "changed" : "kept", r->distances_changed ? "changed" : "kept",
	       (unsigned long long)f->slabs_relaid);
	printf("churn: %llu threads, %llu operations (%llu allocations refused)\n",
	       (unsigned long long)o->threads, (unsigned long long)f->churn_ops,
	       (unsigned long long)f->churn_failed);
	printf("pending per node   :");
	for (numem_nid_t n = 0; n < after->nr_nodes; n++)
		printf(" %u:%llu", n, (unsigned long long)f->pending_commit[n]);
	printf("  (right after the commit)\n                     ");
	for (numem_nid_t n = 0; n < after->nr_nodes; n++)
		printf(" %u:%llu", n, (unsigned long long)f->pending_end[n]);
	printf("  (after the churn freed its blocks)\n");
	if (f->guest_pages) {
		printf("guest (%llu pages) per node:", (unsigned long long)f->guest_pages);
		for (numem_nid_t n = 0; n < after->nr_nodes; n++)
			printf(" %u:%llu->%llu", n, (unsigned long long)f->guest_before[n],
			       (unsigned long long)f->guest_after[n]);
		printf("\n  pending %llu pages, migrated %llu%s\n",
		       (unsigned long long)f->guest_pending, (unsigned long long)f->guest_migrated,
		       o->migrate ? "" : " (no --migrate: they move when freed)");
	}
	printf("verify: %s\n", f->verify[0] ? f->verify : "heap, slab and domains: ok");
	printf("\nbefore:\n");
	numem_report_numactl(stdout, before, free_before);
	print_layout(before);
	printf("\nafter:\n");
	numem_report_numactl(stdout, after, free_after);
	print_layout(after);
}

static json_t *pending_json(const uint64_t *p, uint32_t nr)
{
	json_t *a = json_array();
	for (uint32_t n = 0; n < nr; n++)
		json_array_append_new(a, json_integer((json_int_t)p[n]));
	return a;
}

static void print_json(const struct opts *o, const struct numem_system *sys,
                       const struct numem_topo *before, const uint64_t *free_before,
                       const struct numem_topo *after, const uint64_t *free_after,
                       const struct figures *f)
{
	const struct numem_relayout_result *r = &f->res;
	json_t *c = json_pack(
	    "{s:I, s:f, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b}", "generation",
	    (json_int_t)r->generation, "ms", (double)r->ns / 1e6, "change_runs", (int)r->nr_changes,
	    "pages_changed", (json_int_t)r->pages_changed, "pages_moved",
	    (json_int_t)r->pages_moved, "blocks_moved", (json_int_t)r->blocks_moved,
	    "pages_pending", (json_int_t)r->pages_pending, "pages_reserved",
	    (json_int_t)r->pages_reserved, "pages_deferred", (json_int_t)r->pages_deferred,
	    "cpu_nodes_changed", r->cpu_nodes_changed, "distances_changed", r->distances_changed);
	json_t *obj = json_pack(
	    "{s:s, s:s, s:i, s:o, s:{s:o, s:o}, s:{s:I, s:I, s:I}, s:I, s:o, s:o, s:s}", "machine",
	    sys->m.src.name, "mode", o->mode, "ranges", (int)f->nr_ranges, "commit", c, "pending",
	    "after_commit", pending_json(f->pending_commit, after->nr_nodes), "after_churn",
	    pending_json(f->pending_end, after->nr_nodes), "churn", "threads",
	    (json_int_t)o->threads, "ops", (json_int_t)f->churn_ops, "refused",
	    (json_int_t)f->churn_failed, "slabs_moved", (json_int_t)f->slabs_relaid, "before",
	    numem_json_topology(before, free_before), "after",
	    numem_json_topology(after, free_after), "verify", f->verify[0] ? f->verify : "ok");
	if (f->guest_pages)
		json_object_set_new(obj, "guest",
		                    json_pack("{s:I, s:o, s:o, s:I, s:I}", "pages",
		                              (json_int_t)f->guest_pages, "pages_on_node_before",
		                              pending_json(f->guest_before, after->nr_nodes),
		                              "pages_on_node_after",
		                              pending_json(f->guest_after, after->nr_nodes),
		                              "pending", (json_int_t)f->guest_pending, "migrated",
		                              (json_int_t)f->guest_migrated));
	json_dumpf(obj, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(obj);
}

static int write_report(const char *dir, const struct opts *o, const struct numem_topo *before,
                        const struct numem_topo *after, const struct figures *f)
{
	int me = numem_mkdir_p(dir);
	if (me) {
		cli_error(cmd, "%s: %s", dir, strerror(me));
		return EXIT_IO;
	}
	uint64_t end = before->max_pfn > after->max_pfn ? before->max_pfn : after->max_pfn;
	struct sim_layout_bar bars[2];
	sim_layout_bar_fill(&bars[0], "before", before, end);
	sim_layout_bar_fill(&bars[1], "after", after, end);
	char path[4096], title[128];
	snprintf(title, sizeof(title), "numem relayout %s: the address space by node", o->mode);
	for (int html = 0; html < 2; html++) {
		snprintf(path, sizeof(path), "%s/%s", dir, html ? "index.html" : "layout.svg");
		FILE *fp = fopen(path, "w");
		if (!fp) {
			cli_error(cmd, "%s: %s", path, strerror(errno));
			return EXIT_IO;
		}
		if (html)
			fprintf(
			    fp,
			    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			    "<title>numem relayout</title></head><body style=\"font-family:"
			    "sans-serif\">\n<h1>numem relayout %s</h1>\n<p>commit %.3f ms: %llu "
			    "pages changed node, %llu free pages moved at once, %llu pending "
			    "(they move when freed).</p>\n",
			    o->mode, (double)f->res.ns / 1e6,
			    (unsigned long long)f->res.pages_changed,
			    (unsigned long long)f->res.pages_moved,
			    (unsigned long long)f->res.pages_pending);
		else
			fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", fp);
		sim_svg_layout(fp, title, bars, 2, end);
		if (html)
			fputs("</body></html>\n", fp);
		if (fclose(fp)) {
			cli_error(cmd, "%s: write failed", path);
			return EXIT_IO;
		}
	}
	return EXIT_OK;
}

/* ---- the command ------------------------------------------------------------ */

/* The guest: --guest MB in order-9 extents on the lowest node with memory. */
static int make_guest(const struct opts *o, struct numem_heap *heap, struct numem_domains *doms,
                      struct numem_domain **out, struct figures *f)
{
	const struct numem_topo *t = numem_heap_topo(heap);
	numem_nid_t node = 0;
	while (node + 1u < t->nr_nodes && !t->node[node].ram_pages)
		node++;
	struct numem_domain_config cfg = {.max_pages = o->guest_mb << (20 - NUMEM_PAGE_SHIFT),
	                                  .nr_vcpus = 1};
	snprintf(cfg.name, sizeof(cfg.name), "guest");
	numem_nodemask_set(&cfg.nodes, node);
	struct numem_diag d = {0};
	struct numem_res res = {.mode = NUMEM_RES_NODE, .node = node};
	uint64_t done;
	struct numem_cpu *cpu = numem_heap_cpu(heap, 0);
	if (numem_domain_create(doms, &cfg, cpu, out, &d) ||
	    numem_domain_increase_reservation(*out, cpu, cfg.max_pages >> 9, 9, &res, &done, &d)) {
		cli_error(cmd, "guest of %llu MiB on node %u: %s", (unsigned long long)o->guest_mb,
		          node, d.msg);
		return EXIT_INVALID;
	}
	f->guest_pages = (*out)->tot_pages;
	memcpy(f->guest_before, (*out)->pages_on_node, sizeof(f->guest_before));
	return EXIT_OK;
}

/* The current topology, copied for printing after the heap moved on (the
 * arrays the printers read are the heap's, valid while it runs). */
static int run(const struct opts *o, struct machine_args *ma, struct numem_system *sys)
{
	struct numem_heap *heap = &sys->heap;
	struct numem_slab *slab = calloc(1, sizeof(*slab));
	struct numem_domains *doms = calloc(1, sizeof(*doms));
	struct numem_diag d = {0};
	if (!slab || !doms || numem_slab_init(slab, heap, &d) ||
	    numem_domains_init(doms, heap, slab, &d)) {
		cli_error(cmd, "slab or domains: %s", d.msg);
		free(slab);
		free(doms);
		return EXIT_INVALID;
	}
	struct numem_memlayout l;
	numem_memlayout_init(&l, heap->plat);
	int rc = build(o, heap, &l, ma);
	struct figures f = {0};
	struct numem_domain *guest = NULL;
	uint64_t free_before[NUMEM_MAX_NODES] = {0}, free_after[NUMEM_MAX_NODES] = {0};
	const struct numem_topo *before = numem_heap_topo(heap);
	struct numem_topo before_copy;
	/* Churn threads on CPUs spread over the machine.  A CPU handle serves
	 * one thread at a time (its caches are unlocked): with --migrate this
	 * thread migrates the guest through CPU 0 while the churn runs, so the
	 * churn keeps off CPU 0 (two threads on one handle corrupted its cache,
	 * which the verifier then reported, in about 1 run of 40). */
	uint32_t first = o->guest_mb && o->migrate ? 1 : 0;
	uint32_t avail = heap->nr_cpus - first;
	uint32_t nt = (uint32_t)(o->threads < avail ? o->threads : avail);
	struct churn *ch = calloc(nt ? nt : 1, sizeof(*ch));
	pthread_t *th = calloc(nt ? nt : 1, sizeof(*th));
	atomic_bool stop = false;
	if (!rc && (!ch || !th)) {
		cli_error(cmd, "out of memory");
		rc = EXIT_INVALID;
	}
	if (!rc) {
		numem_report_free_pages(heap, free_before);
		before_copy = *before; /* ranges and cpus stay valid: the old version is
		                        * retired only at the next commit */
		f.nr_ranges = l.nr;
		if (o->guest_mb && make_guest(o, heap, doms, &guest, &f) != EXIT_OK)
			rc = EXIT_INVALID;
	}
	if (!rc) {
		for (uint32_t i = 0; i < nt; i++) {
			ch[i] =
			    (struct churn){.heap = heap,
			                   .slab = slab,
			                   .cpu = numem_heap_cpu(heap, first + i * (avail / nt)),
			                   .seed = o->seed + i,
			                   .stop = &stop};
			pthread_create(&th[i], NULL, churn_thread, &ch[i]);
		}
		sleep_ms(o->ms);
		enum numem_err e = numem_relayout_commit(heap, &l, &f.res, &d);
		if (e) {
			cli_error(cmd, "%s (%s)", d.msg, numem_err_name(e));
			machine_args_json_error(ma, "relayout", &d);
			rc = EXIT_INVALID;
		}
		if (!e && guest && o->migrate &&
		    numem_domain_migrate(guest, numem_heap_cpu(heap, 0), 0, &f.guest_migrated, NULL,
		                         &d) &&
		    d.code != NUMEM_E_NO_PAGES) {
			cli_error(cmd, "migrate: %s", d.msg);
			rc = EXIT_VERIFY;
		}
		if (guest) {
			memcpy(f.guest_after, guest->pages_on_node, sizeof(f.guest_after));
			f.guest_pending = numem_domain_pending(guest);
		}
		for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
			f.pending_commit[n] = numem_relayout_pending(heap, n);
		sleep_ms(o->ms);
		atomic_store(&stop, true);
		for (uint32_t i = 0; i < nt; i++) {
			pthread_join(th[i], NULL);
			f.churn_ops += ch[i].ops;
			f.churn_failed += ch[i].failed;
			churn_release(&ch[i]);
		}
		for (uint32_t c = 0; c < heap->nr_cpus; c++) {
			numem_slab_drain_cpu(slab, numem_heap_cpu(heap, c));
			numem_relayout_quiescent(numem_heap_cpu(heap, c));
		}
		numem_slab_shrink(slab, numem_heap_cpu(heap, 0));
		numem_heap_drain_all(heap);
		for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
			f.pending_end[n] = numem_relayout_pending(heap, n);
		f.slabs_relaid = atomic_load(&slab->slabs_relaid);
		if (numem_heap_verify(heap, &d) || numem_slab_verify(slab, &d) ||
		    numem_domain_verify(doms, &d))
			snprintf(f.verify, sizeof(f.verify), "FAILED: %s", d.msg);
	}
	if (!rc) {
		const struct numem_topo *after = numem_heap_topo(heap);
		numem_report_free_pages(heap, free_after);
		if (ma->json)
			print_json(o, sys, &before_copy, free_before, after, free_after, &f);
		else
			print_text(o, sys, &before_copy, free_before, after, free_after, &f);
		if (o->report)
			rc = write_report(o->report, o, &before_copy, after, &f);
		if (!rc && f.verify[0])
			rc = EXIT_VERIFY;
	}
	free(ch);
	free(th);
	numem_memlayout_release(&l);
	numem_domains_release(doms, numem_heap_cpu(heap, 0));
	numem_slab_release(slab);
	free(slab);
	free(doms);
	return rc;
}

int cmd_relayout(int argc, char **argv)
{
	struct machine_args ma = {0};
	struct opts o = {
	    .block = 256, .end = UINT64_MAX, .threads = 2, .ms = 50, .seed = 1, .guest_mb = 1024};
	int rc = parse(argc, argv, &ma, &o);
	if (rc >= 0) {
		machine_args_free(&ma);
		return rc;
	}
	/* Room for a node the request may bring online. */
	struct numem_system_opts so = {0};
	so.heap.max_nodes = NUMEM_MAX_NODES;
	so.back_memory = true; /* the slab reaches page contents */
	struct numem_system sys;
	rc = boot_system(&ma, &sys, &so);
	machine_args_free(&ma);
	if (rc)
		return rc;
	rc = run(&o, &ma, &sys);
	numem_system_shutdown(&sys);
	return rc;
}
