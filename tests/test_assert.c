/*
 * test_assert.c - NUMEM_ASSERT: a broken invariant stops the core with one
 * line naming the function and the bad value, through the platform's log
 * and panic hook; without a panic hook the core traps.
 *
 * The invariants are broken by hand (the frame table's own memory, a
 * platform that breaks its alignment contract): nothing a caller's input
 * can do should reach an assertion.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <numem/domain.h>

#include "helpers.h"

DEFINE_TEST_HOST;

/* A platform: the host's, with log and panic captured. */
static struct numem_platform plat;
static char logged[512], panicked[512];
static int nlogged, npanics;
static jmp_buf back;
static bool misalign; /* meta_alloc returns blocks 4 bytes off */

static void cap_log(void *ctx, enum numem_log_level level, const char *line)
{
	(void)ctx;
	if (level == NUMEM_LOG_ERROR) {
		snprintf(logged, sizeof(logged), "%s", line);
		nlogged++;
	}
}

static void cap_panic(void *ctx, const char *line)
{
	(void)ctx;
	snprintf(panicked, sizeof(panicked), "%s", line);
	npanics++;
	longjmp(back, 1);
}

static void *odd_meta_alloc(void *ctx, size_t bytes, size_t align, numem_nid_t nid)
{
	uint8_t *p = test_plat->meta_alloc(ctx, bytes + 64, align, nid);
	return p && misalign ? p + 4 : p;
}

static int setup(void **state)
{
	host_setup(state);
	plat = *test_plat;
	plat.log = cap_log;
	plat.panic = cap_panic;
	logged[0] = panicked[0] = 0;
	nlogged = npanics = 0;
	misalign = false;
	return 0;
}

static struct numem_topo *two_nodes(const struct numem_platform *p)
{
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true), cpu_apic(1, 1, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, 2 * GIB, 1),
	                                mem_range(1, 2 * GIB, 2 * GIB, 1)};
	struct numem_srat in = {.nr_cpu = 2, .cpu = cpus, .nr_mem = 2, .mem = mems};
	size_t len;
	uint8_t *t = make_srat(&in, &len);
	struct numem_srat s;
	assert_int_equal(numem_srat_parse(t, len, 0, p, &s, NULL), NUMEM_OK);
	free(t);
	struct numem_topo_input ti = {.srat = &s};
	struct numem_topo *topo;
	struct numem_diag d = {0};
	assert_int_equal(numem_topo_build(p, &ti, NULL, &topo, &d), NUMEM_OK);
	numem_srat_release(p, &s);
	return topo;
}

/* A present section whose descriptor array went missing: initialising it
 * would write 1 MiB through a biased NULL.  The assertion names the
 * function, the condition and the section. */
static void test_missing_section_map(void **state)
{
	(void)state;
	struct numem_topo *topo = two_nodes(&plat);
	static struct numem_frametable ft;
	struct numem_frametable_opts o = {.layout = NUMEM_FT_SECTIONS, .deferred = true};
	struct numem_diag d = {0};
	assert_int_equal(numem_frametable_init(&plat, topo, &o, &ft, &d), NUMEM_OK);
	uint64_t sec = 19; /* 128 MiB sections: node 1's third */
	assert_true(ft.section_state[sec] & NUMEM_SECTION_PRESENT);
	assert_false(ft.section_state[sec] & NUMEM_SECTION_INIT);
	struct numem_page *saved = ft.section_map[sec];
	ft.section_map[sec] = NULL;
	if (setjmp(back) == 0) {
		numem_frametable_init_section(&ft, sec);
		fail_msg("numem_frametable_init_section went on without a descriptor array");
	}
	ft.section_map[sec] = saved;
	assert_int_equal(npanics, 1);
	assert_int_equal(nlogged, 1);
	assert_string_equal(logged, panicked);
	assert_non_null(
	    strstr(panicked, "numem: assertion failed in numem_frametable_init_section: "));
	assert_non_null(strstr(panicked, "section_map[sec] != 0"));
	assert_non_null(strstr(panicked, "section 19 (node 1, state 0x1)"));
	/* The table is intact again and the section can be initialised. */
	assert_int_equal(numem_frametable_init_section(&ft, sec), NUMEM_OK);
	numem_frametable_release(&ft);
	numem_topo_release(topo);
}

/* A platform whose meta_alloc returns blocks too misaligned for 8-byte
 * atomics is stopped at the first block, with the pointer it returned. */
static void test_misaligned_metadata(void **state)
{
	(void)state;
	plat.meta_alloc = odd_meta_alloc;
	misalign = true;
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, GIB, 1)};
	struct numem_srat in = {.nr_cpu = 1, .cpu = cpus, .nr_mem = 1, .mem = mems};
	size_t len;
	uint8_t *t = make_srat(&in, &len);
	struct numem_srat s;
	if (setjmp(back) == 0) {
		numem_srat_parse(t, len, 0, &plat, &s, NULL);
		fail_msg("numem_srat_parse went on with misaligned metadata");
	}
	free(t);
	assert_int_equal(npanics, 1);
	assert_non_null(strstr(panicked, "assertion failed in numem__meta_alloc: "));
	assert_non_null(strstr(panicked, "align 64"));
	assert_non_null(strstr(panicked, "misaligned for 8-byte atomics"));
	/* The pointer is printed: "returned 0x...4,". */
	const char *p = strstr(panicked, "returned 0x");
	assert_non_null(p);
	char *end;
	unsigned long long v = strtoull(p + strlen("returned "), &end, 16);
	assert_int_equal(v & 63, 4);
}

/* Debug builds of the core: a buddy-list function called without the zone
 * lock its contract requires is stopped (numem__lock_assert_held). */
struct numem_page *numem__buddy_take(struct numem_heap *h, struct numem_zone *z, unsigned order,
                                     bool exact);

static void test_lock_not_held(void **state)
{
	(void)state;
#if !NUMEM_CORE_DEBUG
	skip(); /* a release core has no lock-held checks */
#else
	static struct numem_system sys;
	struct numem_diag d = {0};
	if (numem_system_boot_preset(&sys, "x445", NULL, &d))
		fail_msg("boot: %s", d.msg);
	numem_host_set_log(sys.m.host, NULL, NUMEM_LOG_ERROR);
	const struct numem_platform *saved = sys.heap.plat;
	plat = *saved;
	plat.log = cap_log;
	plat.panic = cap_panic;
	sys.heap.plat = &plat;
	struct numem_zone *z = numem_heap_zone(&sys.heap, 1, NUMEM_ZONE_NORMAL);
	if (setjmp(back) == 0) {
		numem__buddy_take(&sys.heap, z, 0, false);
		fail_msg("numem__buddy_take ran without the zone lock");
	}
	sys.heap.plat = saved;
	assert_int_equal(npanics, 1);
	assert_non_null(strstr(panicked, "assertion failed in numem__buddy_take: "));
	assert_non_null(strstr(panicked, "lock &z->lock (0x"));
	assert_non_null(strstr(panicked, ") not held"));
	assert_int_equal(numem_heap_verify(&sys.heap, &d), NUMEM_OK);
	numem_system_shutdown(&sys);
#endif
}

/* numem_domain_put without a reference (a second put) is caught: the
 * count must never go below what is really held. */
static void test_domain_put_twice(void **state)
{
	(void)state;
	static struct numem_system sys;
	struct numem_diag d = {0};
	struct numem_system_opts so = {.back_memory = true, .heap.poison = -1};
	if (numem_system_boot_preset(&sys, "opteron-2n", &so, &d))
		fail_msg("boot: %s", d.msg);
	numem_host_set_log(sys.m.host, NULL, NUMEM_LOG_ERROR);
	const struct numem_platform *saved = sys.heap.plat;
	plat = *saved;
	plat.log = cap_log;
	plat.panic = cap_panic;
	sys.heap.plat = &plat;
	struct numem_slab *slab = calloc(1, sizeof(*slab));
	struct numem_domains *doms = calloc(1, sizeof(*doms));
	assert_int_equal(numem_slab_init(slab, &sys.heap, &d), NUMEM_OK);
	assert_int_equal(numem_domains_init(doms, &sys.heap, slab, &d), NUMEM_OK);
	struct numem_cpu *cpu0 = numem_heap_cpu(&sys.heap, 0);
	struct numem_domain_config c = {.max_pages = 16, .nr_vcpus = 1};
	struct numem_domain *dom;
	assert_int_equal(numem_domain_create(doms, &c, cpu0, &dom, &d), NUMEM_OK);
	struct numem_domain *a = numem_domain_find(doms, dom->id);
	struct numem_domain *b = numem_domain_find(doms, dom->id);
	assert_non_null(a);
	numem_domain_put(a);
	numem_domain_put(b);
	assert_int_equal(npanics, 0);
	if (setjmp(back) == 0) {
		numem_domain_put(b);
		fail_msg("a put with no reference held went unnoticed");
	}
	assert_int_equal(npanics, 1);
	assert_non_null(strstr(panicked, "numem_domain_put without a reference"));
	assert_int_equal(numem_domain_destroy(doms, cpu0, dom->id, &d), NUMEM_OK);
	numem_domains_release(doms, cpu0);
	numem_slab_release(slab);
	free(slab);
	free(doms);
	sys.heap.plat = saved;
	numem_system_shutdown(&sys);
}

/* Without a panic hook the core traps (SIGILL or SIGTRAP), after logging. */
static void test_trap_without_panic_hook(void **state)
{
	(void)state;
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fd[0]);
		dup2(fd[1], 2);
		signal(SIGILL, SIG_DFL); /* cmocka catches them to report a crash */
		signal(SIGTRAP, SIG_DFL);
		numem_host_set_log(test_host, stderr, NUMEM_LOG_ERROR);
		struct numem_platform p = *test_plat;
		p.meta_alloc = odd_meta_alloc;
		misalign = true;
		numem_topo_build(&p, &(struct numem_topo_input){.nr_cpus = 1}, NULL,
		                 &(struct numem_topo *){0}, NULL);
		_exit(0); /* not reached if the assertion fired */
	}
	close(fd[1]);
	char out[1024] = {0};
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(out) - 1 && (r = read(fd[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_true(WTERMSIG(status) == SIGILL || WTERMSIG(status) == SIGTRAP);
	assert_non_null(strstr(out, "assertion failed in numem__meta_alloc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_missing_section_map, setup, host_teardown),
	    cmocka_unit_test_setup_teardown(test_misaligned_metadata, setup, host_teardown),
	    cmocka_unit_test_setup_teardown(test_lock_not_held, setup, host_teardown),
	    cmocka_unit_test_setup_teardown(test_domain_put_twice, setup, host_teardown),
	    cmocka_unit_test_setup_teardown(test_trap_without_panic_hook, setup, host_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
