/*
 * arith.c - 64-bit division and bit scans without the compiler's runtime.
 *
 * On a 32-bit target (i686, armv7, riscv32) the compiler turns every `/` or
 * `%` on a uint64_t into a call to a libgcc/compiler-rt helper (__udivdi3,
 * __umoddi3, on ARM __aeabi_uldivmod; on ARM cores without a divide
 * instruction even 32-bit division calls __aeabi_uidivmod), and GCC on
 * riscv64 without Zbb calls __ctzdi2 for __builtin_ctzll.  An embedder that
 * links no libgcc (a hypervisor, a boot loader) would then have to supply
 * them, which breaks the core's rule of referencing nothing but
 * memcpy/memset/memmove/memcmp.
 *
 * So the core supplies them itself, here, in one file that defines nothing on
 * targets that do not need them (x86-64 and aarch64 divide and scan inline).
 * They are the libgcc names rather than numem__ calls at each division site
 * because the divisions are spread over a dozen files under active work;
 * the names are what the compiler emits, so every current and future `/`
 * on a uint64_t is covered.  They are weak: an embedder that already links
 * libgcc or has its own (Linux's lib/, Xen's common/lib.c) keeps its own
 * strong definitions and this file's copies are ignored.
 *
 * The algorithms are the plain ones: restoring shift-and-subtract division
 * (at most 64 iterations, no multiplication, no recursion into the helpers
 * themselves: only shifts, compares and subtractions, which every target
 * does inline on 64-bit values), and a branchy binary search for the bit
 * scans (no loop the compiler could turn back into a __ctzdi2 call).
 * numem__udivmod64 and numem__ctz64/numem__clz64 are always built so the
 * host tests check them against the native operators.
 */
#include "internal.h"

uint64_t numem__udivmod64(uint64_t n, uint64_t d, uint64_t *rem)
{
	uint64_t q = 0, r = 0;
	if (d == 0) { /* undefined in C; return all ones like most hardware */
		if (rem)
			*rem = n;
		return ~0ull;
	}
	if (d > n) {
		if (rem)
			*rem = n;
		return 0;
	}
	unsigned bits = 64 - numem__clz64(n);
	for (unsigned i = bits; i-- > 0;) {
		r = r << 1 | (n >> i & 1);
		if (r >= d) {
			r -= d;
			q |= 1ull << i;
		}
	}
	if (rem)
		*rem = r;
	return q;
}

int64_t numem__divmod64(int64_t n, int64_t d, int64_t *rem)
{
	uint64_t un = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
	uint64_t ud = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
	uint64_t ur;
	uint64_t uq = numem__udivmod64(un, ud, &ur);
	/* C truncates toward zero: the remainder takes the dividend's sign. */
	if (rem)
		*rem = (int64_t)(n < 0 ? 0 - ur : ur);
	return (int64_t)((n < 0) != (d < 0) ? 0 - uq : uq);
}

unsigned numem__ctz64(uint64_t v)
{
	unsigned n = 0;
	if (v == 0)
		return 64;
	if (!(v & 0xffffffffull)) {
		n += 32;
		v >>= 32;
	}
	if (!(v & 0xffff)) {
		n += 16;
		v >>= 16;
	}
	if (!(v & 0xff)) {
		n += 8;
		v >>= 8;
	}
	if (!(v & 0xf)) {
		n += 4;
		v >>= 4;
	}
	if (!(v & 0x3)) {
		n += 2;
		v >>= 2;
	}
	return n + !(v & 1);
}

unsigned numem__clz64(uint64_t v)
{
	unsigned n = 0;
	if (v == 0)
		return 64;
	if (!(v >> 32)) {
		n += 32;
		v <<= 32;
	}
	if (!(v >> 48)) {
		n += 16;
		v <<= 16;
	}
	if (!(v >> 56)) {
		n += 8;
		v <<= 8;
	}
	if (!(v >> 60)) {
		n += 4;
		v <<= 4;
	}
	if (!(v >> 62)) {
		n += 2;
		v <<= 2;
	}
	return n + !(v >> 63);
}

/* The libgcc names, only where the compiler emits calls to them.  Each is
 * declared first to satisfy -Wmissing-prototypes. */
#define NUMEM_WEAK __attribute__((weak))

#if __SIZEOF_POINTER__ == 4
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
int64_t __divdi3(int64_t n, int64_t d);
int64_t __moddi3(int64_t n, int64_t d);
uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);
int64_t __divmoddi4(int64_t n, int64_t d, int64_t *rem);

NUMEM_WEAK uint64_t __udivdi3(uint64_t n, uint64_t d)
{
	return numem__udivmod64(n, d, 0);
}

NUMEM_WEAK uint64_t __umoddi3(uint64_t n, uint64_t d)
{
	uint64_t r;
	numem__udivmod64(n, d, &r);
	return r;
}

NUMEM_WEAK int64_t __divdi3(int64_t n, int64_t d)
{
	return numem__divmod64(n, d, 0);
}

NUMEM_WEAK int64_t __moddi3(int64_t n, int64_t d)
{
	int64_t r;
	numem__divmod64(n, d, &r);
	return r;
}

NUMEM_WEAK uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
	return numem__udivmod64(n, d, rem);
}

NUMEM_WEAK int64_t __divmoddi4(int64_t n, int64_t d, int64_t *rem)
{
	return numem__divmod64(n, d, rem);
}
#endif

#if defined(__arm__)
/*
 * ARM EABI run-time helpers.  __aeabi_uldivmod/__aeabi_ldivmod return the
 * quotient in r0:r1 and the remainder in r2:r3, which C cannot express, so
 * they are a few instructions of assembly around __udivmoddi4/__divmoddi4
 * (the remainder goes through a stack slot).  The 32-bit ones return
 * {quotient, remainder} in r0, r1: a uint64_t return in C.
 */
__asm__(".syntax unified\n"
        ".text\n"
        ".p2align 2\n"
        ".weak __aeabi_uldivmod\n"
        ".type __aeabi_uldivmod, %function\n"
        "__aeabi_uldivmod:\n"
        "	push {r6, lr}\n"
        "	sub sp, sp, #16\n"
        "	add r6, sp, #8\n"
        "	str r6, [sp]\n"
        "	bl __udivmoddi4\n"
        "	ldr r2, [sp, #8]\n"
        "	ldr r3, [sp, #12]\n"
        "	add sp, sp, #16\n"
        "	pop {r6, pc}\n"
        ".size __aeabi_uldivmod, . - __aeabi_uldivmod\n"
        ".p2align 2\n"
        ".weak __aeabi_ldivmod\n"
        ".type __aeabi_ldivmod, %function\n"
        "__aeabi_ldivmod:\n"
        "	push {r6, lr}\n"
        "	sub sp, sp, #16\n"
        "	add r6, sp, #8\n"
        "	str r6, [sp]\n"
        "	bl __divmoddi4\n"
        "	ldr r2, [sp, #8]\n"
        "	ldr r3, [sp, #12]\n"
        "	add sp, sp, #16\n"
        "	pop {r6, pc}\n"
        ".size __aeabi_ldivmod, . - __aeabi_ldivmod\n");

#if !defined(__ARM_FEATURE_IDIV)
uint32_t __aeabi_uidiv(uint32_t n, uint32_t d);
uint64_t __aeabi_uidivmod(uint32_t n, uint32_t d);
int32_t __aeabi_idiv(int32_t n, int32_t d);
uint64_t __aeabi_idivmod(int32_t n, int32_t d);

NUMEM_WEAK uint32_t __aeabi_uidiv(uint32_t n, uint32_t d)
{
	return (uint32_t)numem__udivmod64(n, d, 0);
}

NUMEM_WEAK uint64_t __aeabi_uidivmod(uint32_t n, uint32_t d)
{
	uint64_t r;
	uint64_t q = numem__udivmod64(n, d, &r);
	return (uint64_t)(uint32_t)r << 32 | (uint32_t)q;
}

NUMEM_WEAK int32_t __aeabi_idiv(int32_t n, int32_t d)
{
	return (int32_t)numem__divmod64(n, d, 0);
}

NUMEM_WEAK uint64_t __aeabi_idivmod(int32_t n, int32_t d)
{
	int64_t r;
	int64_t q = numem__divmod64(n, d, &r);
	return (uint64_t)(uint32_t)r << 32 | (uint32_t)q;
}
#endif
#endif

#if defined(__riscv) && !defined(__riscv_zbb)
int __ctzdi2(uint64_t v);
int __clzdi2(uint64_t v);

NUMEM_WEAK int __ctzdi2(uint64_t v)
{
	return (int)numem__ctz64(v);
}

NUMEM_WEAK int __clzdi2(uint64_t v)
{
	return (int)numem__clz64(v);
}
#endif
