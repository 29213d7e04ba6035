/*
 * strategy.c - the two fallback strategies side by side on the x445 preset
 * under one churn workload: locality (share of pages allocated on the
 * allocating CPU's node) and fragmentation (Linux's unusable free space
 * index per order, averaged over the nodes' Normal zones), and the time per
 * operation.
 *
 * Workload (deterministic, seed 1): 32 CPUs take turns; each step allocates
 * (local policy, order 0 with 70%, 1-3 with 20%, 4-9 with 10%) while the
 * machine holds less than the target share of its RAM, else frees a random
 * held block.  The target rises from 50% to 97% over the run, so nodes run
 * short one after another and the strategies' fallback choices matter.
 *
 * Contract: --json prints {"bench": "strategy", "results": [...]} with
 * case "churn-x445" and impls "linux" and "xen" (ns per operation).
 */
#include <numem/host.h>

#include "bench.h"

struct held {
	uint64_t pfn;
	uint8_t order;
};

struct outcome {
	double ns_per_op;
	double local_pct, miss_pct;
	double unusable[NUMEM_NR_ORDERS];
	uint64_t ops, fails;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void churn(enum numem_strategy strat, uint64_t ops, struct outcome *out)
{
	struct numem_system sys;
	struct numem_diag d = {0};
	struct numem_system_opts o = {.heap.strategy = strat};
	if (numem_system_boot_preset(&sys, "x445", &o, &d)) {
		fprintf(stderr, "boot: %s\n", d.msg);
		exit(1);
	}
	struct numem_heap *h = &sys.heap;
	const uint64_t total = sys.m.topo->total_ram_pages;
	struct held *held = malloc(sizeof(*held) * total);
	uint64_t nr = 0, pages = 0, seed = 1, fails = 0;
	uint64_t t0 = bench_now();
	for (uint64_t i = 0; i < ops; i++) {
		struct numem_cpu *cpu = numem_heap_cpu(h, (uint32_t)(i % h->nr_cpus));
		double target = 0.50 + 0.47 * (double)i / (double)ops;
		if (pages < target * (double)total || !nr) {
			uint64_t r = rnd(&seed) % 100;
			unsigned order = r < 70   ? 0
			                 : r < 90 ? 1 + (unsigned)(r % 3)
			                          : 4 + (unsigned)(r % 6);
			numem_pfn_t pfn;
			if (numem_alloc(cpu, order, 0, NULL, &pfn, NULL) == NUMEM_OK) {
				held[nr++] = (struct held){pfn.v, (uint8_t)order};
				pages += 1ull << order;
			} else {
				fails++;
			}
		} else {
			uint64_t k = rnd(&seed) % nr;
			if (numem_free(cpu, numem_pfn(held[k].pfn), held[k].order, NULL))
				abort();
			pages -= 1ull << held[k].order;
			held[k] = held[--nr];
		}
	}
	out->ns_per_op = (double)(bench_now() - t0) / (double)ops;
	numem_heap_drain_all(h);
	uint64_t local = 0, other = 0, miss = 0, hit = 0;
	for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++) {
		uint64_t st[NUMEM_NR_STATS];
		numem_heap_node_stats(h, n, st);
		local += st[NUMEM_STAT_LOCAL_PAGES];
		other += st[NUMEM_STAT_OTHER_PAGES];
		hit += st[NUMEM_STAT_NUMA_HIT];
		miss += st[NUMEM_STAT_NUMA_MISS];
	}
	out->local_pct = 100.0 * (double)local / (double)(local + other);
	out->miss_pct = 100.0 * (double)miss / (double)(hit + miss);
	for (unsigned ord = 0; ord <= NUMEM_MAX_ORDER; ord++) {
		double sum = 0;
		for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++)
			sum += numem_zone_unusable_index(numem_heap_zone(h, n, NUMEM_ZONE_NORMAL),
			                                 ord);
		out->unusable[ord] = sum / sys.m.topo->nr_nodes / 1000.0;
	}
	out->ops = ops;
	out->fails = fails;
	if (numem_heap_verify(h, &d)) {
		fprintf(stderr, "verify: %s\n", d.msg);
		exit(1);
	}
	free(held);
	numem_system_shutdown(&sys);
}

int main(int argc, char **argv)
{
	struct bench b = {.name = "strategy"};
	bench_args(&b, argc, argv, 3);
	const uint64_t ops = b.small ? 200000 : 4000000;
	static const char *const name[2] = {"linux", "xen"};
	double t[2][64];
	struct outcome o[2];
	for (int rep = 0; rep < b.reps; rep++) {
		bench_progress(&b, "churn", rep);
		for (int k = 0; k < 2; k++) {
			int s = (k + rep) % 2;
			churn((enum numem_strategy)s, ops, &o[s]);
			t[s][rep] = o[s].ns_per_op;
		}
	}
	bench_progress_done(&b);
	for (int s = 0; s < 2; s++) {
		char note[96];
		snprintf(note, sizeof(note), "local %.2f%%, miss %.2f%%, %llu failed",
		         o[s].local_pct, o[s].miss_pct, (unsigned long long)o[s].fails);
		bench_add(&b, "churn-x445", name[s], t[s], b.reps, 1, note);
	}
	bench_print(&b, "linux");
	if (b.json)
		return 0;
	printf("\nunusable free space index (Normal zones, mean of nodes) after %llu ops:\n",
	       (unsigned long long)ops);
	printf("%-6s", "order");
	for (unsigned ord = 0; ord <= NUMEM_MAX_ORDER; ord++)
		printf(" %6u", ord);
	printf("\n");
	for (int s = 0; s < 2; s++) {
		printf("%-6s", name[s]);
		for (unsigned ord = 0; ord <= NUMEM_MAX_ORDER; ord++)
			printf(" %6.3f", o[s].unusable[ord]);
		printf("\n");
	}
	return 0;
}
