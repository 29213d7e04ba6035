/*
 * test_stress.c - millions of random operations on several threads, checked
 * against the reference model (src/host/stress.c) with the verifier run
 * periodically and at the end.  NUMEM_STRESS_OPS scales the runs (the TSan
 * build runs fewer).
 */
#include "helpers.h"

static uint64_t scaled(uint64_t ops)
{
	const char *env = getenv("NUMEM_STRESS_OPS");
	return env ? strtoull(env, NULL, 10) * ops / 10000000ull : ops;
}

static void run(const char *preset, const struct numem_system_opts *so,
                const struct numem_stress_opts *o)
{
	struct numem_system sys;
	struct numem_diag d = {0};
	if (numem_system_boot_preset(&sys, preset, so, &d))
		fail_msg("boot: %s", d.msg);
	struct numem_stress_result r;
	enum numem_err err = numem_stress_run(&sys, o, &r);
	if (err)
		fail_msg("%s: %s (after %llu allocs, %llu frees)", preset, r.msg,
		         (unsigned long long)r.allocs, (unsigned long long)r.frees);
	print_message("%s: %llu allocs, %llu frees, %llu failed allocs, %llu invalid frees "
	              "rejected, %llu verifier runs\n",
	              preset, (unsigned long long)r.allocs, (unsigned long long)r.frees,
	              (unsigned long long)r.alloc_failures, (unsigned long long)r.rejected,
	              (unsigned long long)r.verifies);
	assert_true(r.verifies >= 2);
	assert_true(r.allocs + r.frees + r.alloc_failures >= o->ops * 9 / 10);
	for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++)
		assert_int_equal(numem_heap_node_allocated(&sys.heap, n), 0);
	numem_system_shutdown(&sys);
}

/* 10 million operations, 4 threads over the x445's 32 CPUs, every policy. */
static void test_stress_x445_mixed(void **state)
{
	(void)state;
	struct numem_stress_opts o = {.threads = 4,
	                              .ops = scaled(10000000),
	                              .seed = 1,
	                              .policy = -1,
	                              .max_order = NUMEM_MAX_ORDER,
	                              .hold = 4096,
	                              .verify_every = scaled(10000000) / 4 / 4 + 1,
	                              .invalid_frees = true};
	run("x445", NULL, &o);
}

/* Memory pressure: a 1 GB machine held nearly full, Xen strategy. */
static void test_stress_pressure_xen(void **state)
{
	(void)state;
	struct numem_system_opts so = {.heap.strategy = NUMEM_STRATEGY_XEN};
	struct numem_stress_opts o = {.threads = 2,
	                              .ops = scaled(2000000),
	                              .seed = 7,
	                              .policy = -1,
	                              .max_order = 6,
	                              .hold = 80000,
	                              .verify_every = scaled(2000000) / 2 / 3 + 1,
	                              .invalid_frees = true};
	struct numem_system sys;
	(void)sys;
	/* p4 has one CPU: give the heap two handles. */
	so.heap.nr_cpus = 2;
	run("p4", &so, &o);
}

/* Deferred initialisation under concurrency: sections come online while
 * threads allocate. */
static void test_stress_deferred(void **state)
{
	(void)state;
	struct numem_system_opts so = {.heap.deferred = true};
	struct numem_stress_opts o = {.threads = 2,
	                              .ops = scaled(1000000),
	                              .seed = 3,
	                              .policy = NUMEM_POLICY_LOCAL,
	                              .max_order = NUMEM_MAX_ORDER,
	                              .hold = 30000,
	                              .verify_every = scaled(1000000) / 2 / 2 + 1};
	run("epyc-2s8n", &so, &o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stress_x445_mixed),
	    cmocka_unit_test(test_stress_pressure_xen),
	    cmocka_unit_test(test_stress_deferred),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
