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

#endif
