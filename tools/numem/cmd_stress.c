/*
 * cmd_stress.c - `numem stress`: random allocation and freeing on threads
 * playing CPUs, checked against a reference model, then numastat,
 * buddyinfo and the verifier's verdict.
 */
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <numem/report.h>
#include <numem/sim.h>

#include "boot.h"
#include "cli.h"
#include "progress.h"

static const char help[] =
    "usage: numem stress [MACHINE] [--threads T] [--ops N] [--seed S] [--policy P]\n"
    "                    [--strategy linux|xen] [--max-order K] [--hold H]\n"
    "                    [--verify-every N] [--zone-order] [--dump] [--trace FILE]\n"
    "                    [--cpuset NODES]\n"
    "                    [options]\n"
    "\n"
    "Random allocations (mixed orders, skewed small) and frees on T threads, each\n"
    "playing its share of the machine's CPUs, checked against a reference model of\n"
    "which pages are held; the verifier runs every N operations per thread and at\n"
    "the end, after everything is freed.  Then prints numastat, /proc/buddyinfo and\n"
    "the verdict.  Exit status 4 if any check failed.\n"
    "\n"
    "  --threads T        threads (default 2; at most the machine's CPUs)\n"
    "  --ops N            operations in all (default 1000000)\n"
    "  --seed S           random seed (default 1)\n"
    "  --policy P         local, preferred, preferred-many, bind, interleave,\n"
    "                     interleave-index, weighted-interleave, or mixed (default)\n"
    "  --strategy S       linux (split local first, default) or xen (exact size first)\n"
    "  --max-order K      largest order asked (default 10)\n"
    "  --hold H           blocks a thread may hold at once (default 20000)\n"
    "  --verify-every N   operations per thread between verifier runs (default ops/4)\n"
    "  --zone-order       zonelists in zone order instead of node order\n"
    "  --dump             print the heap dump at the end\n"
    "  --cpuset NODES     confine every CPU's allocations to these nodes (\"0-1,3\"), as\n"
    "                     a cpuset's mems do: every policy stays inside them\n"
    "  --trace FILE       write the heap's trace rings to FILE (65536 records per\n"
    "                     CPU, drained every millisecond; records overwritten\n"
    "                     before a drain are counted in the file: numem trace FILE)\n"
    "\n";

static const char *const policy_names[] = {
    "local",      "preferred",        "preferred-many",     "bind",
    "interleave", "interleave-index", "weighted-interleave"};

/* Strictly (numem_parse_uint) within [min, max]: "-1" used to wrap to
 * 2^64 - 1, and 0 or a value above the range used to exit 2 silently. */
static int parse_u64(const char *cmd, const char *opt, const char *v, uint64_t min, uint64_t max,
                     uint64_t *out)
{
	char msg[256];
	if (numem_parse_uint(opt, v, min, max, out, msg, sizeof(msg))) {
		cli_error(cmd, "%s", msg);
		return -1;
	}
	return 0;
}

static void drain_trace(void *tracer)
{
	sim_tracer_drain(tracer);
}

int cmd_stress(int argc, char **argv)
{
	struct machine_args ma = {0};
	struct numem_stress_opts o = {.threads = 2,
	                              .ops = 1000000,
	                              .seed = 1,
	                              .policy = -1,
	                              .max_order = NUMEM_MAX_ORDER,
	                              .hold = 20000,
	                              .invalid_frees = true};
	struct numem_system_opts so = {0};
	bool dump = false;
	const char *trace = NULL, *cpuset = NULL;
	uint64_t verify_every = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("%s%s", help, machine_args_help);
			return EXIT_OK;
		}
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t v;
		int used = 1;
		if (!strcmp(a, "--dump")) {
			dump = true;
			used = 0;
		} else if (!strcmp(a, "--zone-order")) {
			so.heap.zone_order = true;
			used = 0;
		} else if (!val && (!strcmp(a, "--threads") || !strcmp(a, "--ops") ||
		                    !strcmp(a, "--seed") || !strcmp(a, "--policy") ||
		                    !strcmp(a, "--strategy") || !strcmp(a, "--max-order") ||
		                    !strcmp(a, "--hold") || !strcmp(a, "--verify-every") ||
		                    !strcmp(a, "--trace") || !strcmp(a, "--cpuset"))) {
			cli_error("stress", "%s needs a value", a);
			goto usage;
		} else if (!strcmp(a, "--trace")) {
			trace = val;
		} else if (!strcmp(a, "--cpuset")) {
			cpuset = val;
		} else if (!strcmp(a, "--threads")) {
			if (parse_u64("stress", a, val, 1, 1024, &v))
				goto usage;
			o.threads = (uint32_t)v;
		} else if (!strcmp(a, "--ops")) {
			if (parse_u64("stress", a, val, 0, UINT64_MAX, &o.ops))
				goto usage;
		} else if (!strcmp(a, "--seed")) {
			if (parse_u64("stress", a, val, 0, UINT64_MAX, &o.seed))
				goto usage;
		} else if (!strcmp(a, "--max-order")) {
			if (parse_u64("stress", a, val, 0, NUMEM_MAX_ORDER, &v))
				goto usage;
			o.max_order = (unsigned)v;
		} else if (!strcmp(a, "--hold")) {
			if (parse_u64("stress", a, val, 1, 100000000, &v))
				goto usage;
			o.hold = (uint32_t)v;
		} else if (!strcmp(a, "--verify-every")) {
			if (parse_u64("stress", a, val, 0, UINT64_MAX, &verify_every))
				goto usage;
		} else if (!strcmp(a, "--policy")) {
			o.policy = -2;
			if (!strcmp(val, "mixed"))
				o.policy = -1;
			for (int m = 0; m < NUMEM_POLICY_COUNT; m++)
				if (!strcmp(val, policy_names[m]))
					o.policy = m;
			if (o.policy == -2) {
				cli_error("stress", "unknown policy '%s'", val);
				goto usage;
			}
		} else if (!strcmp(a, "--strategy")) {
			if (!strcmp(val, "linux"))
				so.heap.strategy = NUMEM_STRATEGY_LINUX;
			else if (!strcmp(val, "xen"))
				so.heap.strategy = NUMEM_STRATEGY_XEN;
			else {
				cli_error("stress", "--strategy wants linux or xen, not '%s'", val);
				goto usage;
			}
		} else {
			int r = machine_args_take(&ma, argc, argv, &i);
			if (r == MACHINE_ARGS_INVALID) {
				machine_args_free(&ma);
				return EXIT_INVALID;
			}
			if (r <= 0 || ma.json) {
				if (r == 0)
					cli_error("stress", "unknown option '%s' (see --help)", a);
				goto usage;
			}
			used = 0;
		}
		i += used;
	}
	o.verify_every = verify_every ? verify_every : o.ops / o.threads / 4 + 1;
	FILE *tf = NULL;
	if (trace) {
		if (!(tf = fopen(trace, "wb"))) {
			cli_error("stress", "%s: %s", trace, strerror(errno));
			machine_args_free(&ma);
			return EXIT_IO;
		}
		so.heap.trace_entries = 65536;
	}
	struct numem_system sys;
	int rc = boot_system(&ma, &sys, &so);
	machine_args_free(&ma);
	if (rc) {
		if (tf)
			fclose(tf);
		return rc;
	}
	if (cpuset) {
		static uint32_t ids[NUMEM_MAX_NODES + 1];
		int n = numem_parse_ranges(cpuset, ids, NUMEM_MAX_NODES + 1);
		numem_nodemask_t mask = {0};
		for (int k = 0; k >= 0 && k < n; k++) {
			if (ids[k] >= sys.m.topo->nr_nodes) {
				n = -1;
				break;
			}
			numem_nodemask_set(&mask, (numem_nid_t)ids[k]);
		}
		if (n <= 0) {
			cli_error("stress", "--cpuset '%s': want node ids 0..%u as \"A-B,C\"",
			          cpuset, sys.m.topo->nr_nodes - 1);
			if (tf)
				fclose(tf);
			numem_system_shutdown(&sys);
			return EXIT_USAGE;
		}
		for (uint32_t c = 0; c < sys.heap.nr_cpus; c++) {
			struct numem_diag d = {0};
			if (numem_cpu_set_allowed(&sys.heap.cpu[c], &mask, &d) != NUMEM_OK) {
				cli_error("stress", "--cpuset '%s': %s", cpuset, d.msg);
				if (tf)
					fclose(tf);
				numem_system_shutdown(&sys);
				return EXIT_INVALID;
			}
		}
	}
	struct sim_tracer tracer = {0};
	if (tf) {
		if (sim_tracer_open(&tracer, tf, &sys.heap, sys.m.topo->nr_nodes, "stress")) {
			cli_error("stress", "out of memory for the trace buffer");
			fclose(tf);
			numem_system_shutdown(&sys);
			return EXIT_IO;
		}
		o.poll = drain_trace;
		o.poll_ctx = &tracer;
	}
	if (o.threads > sys.heap.nr_cpus) {
		cli_error("stress", "--threads %u: the machine has %u CPUs", o.threads,
		          sys.heap.nr_cpus);
		if (tf) {
			sim_tracer_close(&tracer);
			fclose(tf);
		}
		numem_system_shutdown(&sys);
		return EXIT_USAGE;
	}
	printf("stress: %s, %u threads over %u cpus, %llu ops, seed %llu, policy %s, strategy "
	       "%s%s%s\n",
	       sys.m.src.name, o.threads, sys.heap.nr_cpus, (unsigned long long)o.ops,
	       (unsigned long long)o.seed, o.policy < 0 ? "mixed" : policy_names[o.policy],
	       so.heap.strategy == NUMEM_STRATEGY_XEN ? "xen" : "linux", cpuset ? ", cpuset " : "",
	       cpuset ? cpuset : "");
	struct progress prog;
	progress_init(&prog, "stress");
	o.progress = progress_update;
	o.progress_ctx = &prog;
	struct numem_stress_result r;
	uint64_t t0 = numem_host_now_ns();
	numem_stress_run(&sys, &o, &r);
	double secs = (double)(numem_host_now_ns() - t0) / 1e9;
	printf("%llu allocations (%llu refused: no memory), %llu frees, %llu invalid frees "
	       "rejected, in %.2f s (%.0f ops/s)\n\n",
	       (unsigned long long)r.allocs, (unsigned long long)r.alloc_failures,
	       (unsigned long long)r.frees, (unsigned long long)r.rejected, secs,
	       (double)(r.allocs + r.frees + r.alloc_failures) / (secs > 0 ? secs : 1));
	if (tf) {
		sim_tracer_close(&tracer);
		bool bad = tracer.io_error;
		bad |= fclose(tf) != 0;
		if (bad) {
			cli_error("stress", "%s: writing the trace failed", trace);
			numem_system_shutdown(&sys);
			return EXIT_IO;
		}
		printf("trace: %s (%llu events, %llu lost; numem trace %s)\n\n", trace,
		       (unsigned long long)tracer.events, (unsigned long long)tracer.lost, trace);
	}
	numem_report_numastat(stdout, &sys.heap);
	printf("\n");
	numem_report_buddyinfo(stdout, &sys.heap);
	if (dump) {
		printf("\n");
		numem_report_heap_dump(stdout, &sys.heap);
	}
	printf("\nverifier: %s", r.err ? "FAILED: " : "ok");
	if (r.err)
		printf("%s (%s)", r.msg, numem_err_name(r.err));
	printf(" (%llu runs, model and heap agree%s)\n", (unsigned long long)r.verifies,
	       r.err ? " until then" : "");
	numem_system_shutdown(&sys);
	return r.err ? EXIT_VERIFY : EXIT_OK;
usage:
	machine_args_free(&ma);
	return EXIT_USAGE;
}
