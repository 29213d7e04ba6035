/*
 * test_arith.c - the core's 64-bit division and bit scans (lib/arith.c),
 * which stand in for libgcc's __udivdi3, __umoddi3, __divdi3, __moddi3,
 * __aeabi_uldivmod, __ctzdi2 and __clzdi2 on 32-bit and RISC-V targets,
 * against the host's native operators: edge values and random ones.
 */
#include "helpers.h"

uint64_t numem__udivmod64(uint64_t n, uint64_t d, uint64_t *rem);
int64_t numem__divmod64(int64_t n, int64_t d, int64_t *rem);
unsigned numem__ctz64(uint64_t v);
unsigned numem__clz64(uint64_t v);

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A random value of random width, so small and large operands both occur. */
static uint64_t val(void)
{
	unsigned bits = (unsigned)(next() % 65);
	return bits == 64 ? next() : next() & ((1ull << bits) - 1);
}

static void check_u(uint64_t n, uint64_t d)
{
	uint64_t r;
	uint64_t q = numem__udivmod64(n, d, &r);
	if (q != n / d || r != n % d)
		fail_msg("%llu / %llu: got %llu rem %llu", (unsigned long long)n,
		         (unsigned long long)d, (unsigned long long)q, (unsigned long long)r);
}

static void check_s(int64_t n, int64_t d)
{
	if (n == INT64_MIN && d == -1)
		return; /* overflows in C too */
	int64_t r;
	int64_t q = numem__divmod64(n, d, &r);
	if (q != n / d || r != n % d)
		fail_msg("%lld / %lld: got %lld rem %lld", (long long)n, (long long)d, (long long)q,
		         (long long)r);
}

static void test_division(void **state)
{
	(void)state;
	static const uint64_t edge[] = {
	    0, 1, 2, 3, 7, 10, 0xffffffff, 0x100000000, 1ull << 63, UINT64_MAX, UINT64_MAX - 1};
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		for (size_t j = 0; j < sizeof(edge) / sizeof(edge[0]); j++)
			if (edge[j]) {
				check_u(edge[i], edge[j]);
				check_s((int64_t)edge[i], (int64_t)edge[j]);
			}
	for (int i = 0; i < 200000; i++) {
		uint64_t n = val(), d = val();
		if (!d)
			continue;
		check_u(n, d);
		check_s((int64_t)n, (int64_t)d);
		check_s(-(int64_t)(n >> 1), (int64_t)d);
	}
	uint64_t r;
	assert_int_equal(numem__udivmod64(5, 0, &r), UINT64_MAX); /* documented, not C */
	assert_int_equal(r, 5);
}

static void test_bit_scans(void **state)
{
	(void)state;
	assert_int_equal(numem__ctz64(0), 64);
	assert_int_equal(numem__clz64(0), 64);
	for (unsigned b = 0; b < 64; b++) {
		assert_int_equal(numem__ctz64(1ull << b), b);
		assert_int_equal(numem__clz64(1ull << b), 63 - b);
	}
	for (int i = 0; i < 100000; i++) {
		uint64_t v = val();
		if (!v)
			continue;
		assert_int_equal(numem__ctz64(v), (unsigned)__builtin_ctzll(v));
		assert_int_equal(numem__clz64(v), (unsigned)__builtin_clzll(v));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_division),
	    cmocka_unit_test(test_bit_scans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
