/*
 * sim.c - the simulator's own speed:
 *   sim-default       the built-in scenario (both strategies), ns per
 *                     simulated operation, and operations per second
 *   boot-1t-64dom     boot a 1 TiB, 8-node machine (a --numa description:
 *                     8 x 128 GiB, 16 CPUs each) with a deferred frame
 *                     table, and create and populate 64 domains of 8 GiB
 *                     each in order-9 extents (512 GiB in all); ns per
 *                     populated page, and the wall time
 * No peer runs this workload; the figures are for tracking numem itself.
 */
#include <numem/domain.h>
#include <numem/sim.h>

#include "bench.h"

static double boot_64(double *boot_ms)
{
	static struct numem_spec spec;
	memset(&spec, 0, sizeof(spec));
	char err[256], arg[128];
	for (int n = 0; n < 8; n++) {
		snprintf(arg, sizeof(arg), "node,nodeid=%d,cpus=%d-%d,mem=128G", n, n * 16,
		         n * 16 + 15);
		if (numem_spec_add_numa_arg(&spec, arg, err, sizeof(err)))
			abort();
	}
	if (numem_spec_finish(&spec, err, sizeof(err)))
		abort();
	uint64_t t0 = bench_now();
	struct numem_machine_src src;
	if (numem_machine_src_spec(&src, &spec, err, sizeof(err)))
		abort();
	struct numem_system sys;
	struct numem_system_opts o = {.back_memory = true, .heap.deferred = true};
	struct numem_diag d = {0};
	if (numem_system_boot(&sys, &src, &o, &d)) {
		fprintf(stderr, "boot: %s\n", d.msg);
		exit(1);
	}
	static struct numem_slab slab;
	static struct numem_domains doms;
	numem_slab_init(&slab, &sys.heap, &d);
	numem_domains_init(&doms, &sys.heap, &slab, &d);
	*boot_ms = (double)(bench_now() - t0) / 1e6;
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	for (int i = 0; i < 64; i++) {
		struct numem_domain_config c = {.max_pages = 2u << 20, .nr_vcpus = 2};
		snprintf(c.name, sizeof(c.name), "d%d", i);
		struct numem_domain *dom;
		uint64_t done;
		if (numem_domain_create(&doms, &c, cpu, &dom, &d) ||
		    numem_domain_increase_reservation(dom,
		                                      numem_heap_cpu(&sys.heap, dom->vcpu[0].pcpu),
		                                      (2u << 20) >> 9, 9, NULL, &done, &d)) {
			fprintf(stderr, "domain %d: %s\n", i, d.msg);
			exit(1);
		}
	}
	double ns = (double)(bench_now() - t0);
	if (numem_heap_verify(&sys.heap, &d)) {
		fprintf(stderr, "verify: %s\n", d.msg);
		exit(1);
	}
	numem_domains_release(&doms, cpu);
	numem_slab_release(&slab);
	numem_system_shutdown(&sys);
	return ns;
}

int main(int argc, char **argv)
{
	struct bench b = {.name = "sim"};
	bench_args(&b, argc, argv, 3);
	static struct sim_scenario sc;
	static struct sim_result res;
	double t_sim[64], t_boot[64], boot_ms[64];
	uint64_t ops = 0;
	for (int rep = 0; rep < b.reps; rep++) {
		bench_progress(&b, "sim", rep);
		if (bench_want(&b, "sim-default")) {
			sim_default_scenario(&sc);
			char err[256];
			struct sim_opts o = {0};
			uint64_t t0 = bench_now();
			if (sim_run(&sc, &o, &res, err, sizeof(err))) {
				fprintf(stderr, "sim: %s\n", err);
				return 1;
			}
			t_sim[rep] = (double)(bench_now() - t0);
			ops = res.run[0].ops + res.run[1].ops;
		}
		if (bench_want(&b, "boot-1t-64dom"))
			t_boot[rep] = boot_64(&boot_ms[rep]);
	}
	bench_progress_done(&b);
	char note[96];
	if (bench_want(&b, "sim-default")) {
		double med = bench_median(t_sim, b.reps);
		snprintf(note, sizeof(note), "%.0f operations/s, %.2f s for %llu operations",
		         (double)ops / (med / 1e9), med / 1e9, (unsigned long long)ops);
		for (int i = 0; i < b.reps; i++)
			t_sim[i] /= (double)ops;
		bench_add(&b, "sim-default", "numem", t_sim, b.reps, 1, note);
	}
	if (bench_want(&b, "boot-1t-64dom")) {
		double med = bench_median(t_boot, b.reps);
		snprintf(note, sizeof(note),
		         "%.2f s in all, machine boot %.1f ms, 512 GiB populated", med / 1e9,
		         bench_median(boot_ms, b.reps));
		bench_add(&b, "boot-1t-64dom", "numem", t_boot, b.reps, (double)(64ull << 21),
		          note);
	}
	bench_print(&b, NULL);
	return 0;
}
