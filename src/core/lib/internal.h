/*
 * internal.h - helpers shared by the core's files; never installed.
 *
 * Only freestanding headers and numem's own are included here.  The helpers
 * cover what libc would otherwise give: little-endian field reads, a small
 * formatter for diagnostics, sorting, and logging through the platform.
 */
#ifndef NUMEM_CORE_INTERNAL_H
#define NUMEM_CORE_INTERNAL_H

#include <numem/platform.h>
#include <numem/types.h>
#include <stdarg.h>

#include "assert.h"

/* Racing frees (heap/free.c, slab/slab.c): with NUMEM_FREE_CAS a free
 * claims what it frees with one atomic read-modify-write before writing
 * anything else, so of two CPUs freeing one block or object exactly one
 * wins.  On in debug builds; a build option otherwise (its cost:
 * docs/PERFORMANCE.md). */
#if defined(NUMEM_DEBUG) && !defined(NUMEM_FREE_CAS)
#define NUMEM_FREE_CAS 1
#endif

/* The four libc functions the core may use (provided by the embedder). */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#define NUMEM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NUMEM_MIN(a, b)     ((a) < (b) ? (a) : (b))
#define NUMEM_MAX(a, b)     ((a) > (b) ? (a) : (b))

static inline uint16_t numem__le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t numem__le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t numem__le64(const uint8_t *p)
{
	return (uint64_t)numem__le32(p) | (uint64_t)numem__le32(p + 4) << 32;
}

static inline void numem__put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void numem__put32(uint8_t *p, uint32_t v)
{
	numem__put16(p, (uint16_t)v);
	numem__put16(p + 2, (uint16_t)(v >> 16));
}

static inline void numem__put64(uint8_t *p, uint64_t v)
{
	numem__put32(p, (uint32_t)v);
	numem__put32(p + 4, (uint32_t)(v >> 32));
}

/*
 * vsnprintf for diagnostics.  Supports %s %c %d %u %x %p %% with the length
 * modifiers l, ll and z, a width and the 0 flag.  Always terminates buf
 * (when cap > 0).  Returns the length written.
 */
size_t numem__vfmt(char *buf, size_t cap, const char *fmt, va_list ap);
size_t numem__fmt(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fill diag (if non-NULL) and return code. */
enum numem_err numem__fail(struct numem_diag *diag, enum numem_err code, const char *table,
                           uint32_t offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Log one formatted line through plat->log, if there is one. */
void numem__log(const struct numem_platform *plat, enum numem_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Heap sort (in place, not stable) of n elements of `size` bytes. */
void numem__sort(void *base, size_t n, size_t size,
                 int (*cmp)(const void *a, const void *b, void *arg), void *arg);

/* Metadata through the platform (0 bytes or no meta_alloc: NULL).  A size
 * computed from a caller's counts must come from the checked helpers below
 * (numem__mul_ok, numem__add_ok): these functions cannot see an overflow. */
void *numem__meta_alloc(const struct numem_platform *plat, size_t bytes, numem_nid_t nid);
void numem__meta_free(const struct numem_platform *plat, void *ptr, size_t bytes);

/* a * b, or false on overflow. */
static inline bool numem__mul_ok(size_t a, size_t b, size_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

static inline bool numem__add_ok(size_t a, size_t b, size_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}

/*
 * 64-bit division and bit scans by shifts and subtractions (lib/arith.c).
 * The compiler's own helpers for `/` and `%` on 64-bit values on 32-bit
 * targets are defined there in terms of these.  rem may be NULL; a zero
 * divisor gives ~0 (quotient) and n (remainder).  ctz/clz of 0 are 64.
 */
uint64_t numem__udivmod64(uint64_t n, uint64_t d, uint64_t *rem);
int64_t numem__divmod64(int64_t n, int64_t d, int64_t *rem);
unsigned numem__ctz64(uint64_t v);
unsigned numem__clz64(uint64_t v);

/* Round up to a multiple of a power of two. */
static inline size_t numem__align_up(size_t v, size_t a)
{
	NUMEM_DEBUG_ASSERT(0, a && !(a & (a - 1)), "alignment %zu is not a power of two", a);
	return (v + a - 1) & ~(a - 1);
}

#endif /* NUMEM_CORE_INTERNAL_H */
