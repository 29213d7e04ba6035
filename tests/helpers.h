/*
 * helpers.h - shared by the unit tests: a host platform per test, table
 * builders and byte patching.
 */
#ifndef NUMEM_TEST_HELPERS_H
#define NUMEM_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <numem/acpi.h>
#include <numem/host.h>
#include <numem/memmap.h>
#include <numem/topo.h>
#include <numem/trace.h>

/* Recompute the checksum of a table in place. */
static inline void fix_checksum(uint8_t *t, size_t len)
{
	t[9] = 0;
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + t[i]);
	t[9] = (uint8_t)(0 - sum);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Write an SRAT from entries into a malloc'd buffer. */
static inline uint8_t *make_srat(struct numem_srat *s, size_t *len)
{
	assert_int_equal(numem_srat_write(s, NULL, 0, len), NUMEM_OK);
	uint8_t *b = malloc(*len);
	assert_non_null(b);
	assert_int_equal(numem_srat_write(s, b, *len, len), NUMEM_OK);
	return b;
}

static inline uint8_t *make_slit(uint32_t n, const uint8_t *matrix, size_t *len)
{
	struct numem_slit s = {.localities = n, .matrix = (uint8_t *)matrix};
	assert_int_equal(numem_slit_write(&s, NULL, 0, len), NUMEM_OK);
	uint8_t *b = malloc(*len);
	assert_non_null(b);
	assert_int_equal(numem_slit_write(&s, b, *len, len), NUMEM_OK);
	return b;
}

static inline struct numem_srat_cpu cpu_apic(uint32_t pxm, uint32_t id, bool en)
{
	return (struct numem_srat_cpu){
	    .type = NUMEM_SRAT_APIC, .pxm = pxm, .id = id, .enabled = en};
}

static inline struct numem_srat_mem mem_range(uint32_t pxm, uint64_t base, uint64_t len,
                                              uint32_t flags)
{
	return (struct numem_srat_mem){.pxm = pxm, .base = base, .length = len, .flags = flags};
}

#define GIB (1ull << 30)
#define MIB (1ull << 20)

/* Boot *sys from QEMU-style -numa arguments ("node,nodeid=0,cpus=0,mem=64M"),
 * without the PC holes; fails the test with the message on any error. */
static inline void boot_numa_args(struct numem_system *sys, const char *const *args, size_t n,
                                  const struct numem_system_opts *o, struct numem_diag *d)
{
	static struct numem_spec spec;
	memset(&spec, 0, sizeof(spec));
	char err[256];
	for (size_t i = 0; i < n; i++)
		if (numem_spec_add_numa_arg(&spec, args[i], err, sizeof(err)))
			fail_msg("%s", err);
	assert_int_equal(numem_spec_finish(&spec, err, sizeof(err)), 0);
	spec.pc_holes = false;
	struct numem_machine_src src;
	assert_int_equal(numem_machine_src_spec(&src, &spec, err, sizeof(err)), 0);
	if (numem_system_boot(sys, &src, o, d))
		fail_msg("boot: %s", d->msg);
	numem_host_set_log(sys->m.host, NULL, NUMEM_LOG_ERROR);
}

/* Per-test platform: created in setup, destroyed (freeing all) in teardown. */
extern struct numem_host *test_host;
extern const struct numem_platform *test_plat;

static inline int host_setup(void **state)
{
	(void)state;
	test_host = numem_host_create();
	numem_host_set_log(test_host, NULL, NUMEM_LOG_ERROR);
	test_plat = numem_host_platform(test_host);
	return 0;
}

static inline int host_teardown(void **state)
{
	(void)state;
	numem_host_destroy(test_host);
	test_host = NULL;
	return 0;
}

#define HOST_TEST(f) cmocka_unit_test_setup_teardown(f, host_setup, host_teardown)
#define DEFINE_TEST_HOST                                                                           \
	struct numem_host *test_host;                                                              \
	const struct numem_platform *test_plat

/* Boot a system (machine, frame table, heap) from QEMU-style -numa
 * arguments (NULL-terminated).  Fails the test on any error. */
static inline void boot_numa_system(struct numem_system *sys, const char *const *args,
                                    const struct numem_system_opts *o)
{
	struct numem_spec *spec = calloc(1, sizeof(*spec));
	char err[256];
	struct numem_diag d = {0};
	for (; *args; args++)
		if (numem_spec_add_numa_arg(spec, *args, err, sizeof(err)))
			fail_msg("-numa %s: %s", *args, err);
	if (numem_spec_finish(spec, err, sizeof(err)))
		fail_msg("spec: %s", err);
	struct numem_machine_src src;
	if (numem_machine_src_spec(&src, spec, err, sizeof(err)))
		fail_msg("src: %s", err);
	free(spec);
	if (numem_system_boot(sys, &src, o, &d))
		fail_msg("boot: %s", d.msg);
}

#ifdef ASL_DIR
/* Load a machine from tables compiled from tests/asl/ (NAME.aml in ASL_DIR);
 * slit and hmat may be NULL.  Fails the test on any error. */
static inline void load_asl_machine(struct numem_machine *m, const char *srat, const char *slit,
                                    const char *hmat, unsigned acpi_flags, unsigned topo_flags)
{
	char a[512], b[512], c[512], err[256] = "";
	snprintf(a, sizeof(a), "%s/%s.aml", ASL_DIR, srat);
	if (slit)
		snprintf(b, sizeof(b), "%s/%s.aml", ASL_DIR, slit);
	if (hmat)
		snprintf(c, sizeof(c), "%s/%s.aml", ASL_DIR, hmat);
	struct numem_machine_src src;
	if (numem_machine_src_files(&src, a, slit ? b : NULL, hmat ? c : NULL, err, sizeof(err)))
		fail_msg("%s", err);
	struct numem_machine_opts o = {.acpi_flags = acpi_flags, .topo.flags = topo_flags};
	struct numem_diag d = {0};
	if (numem_machine_load(m, &src, &o, &d) != NUMEM_OK)
		fail_msg("%s: %s", srat, d.msg);
	numem_host_set_log(m->host, NULL, NUMEM_LOG_ERROR);
}
#endif

#endif
