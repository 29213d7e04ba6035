/*
 * numem/types.h - quantities and error reporting shared by every module.
 *
 * Frame numbers and physical addresses are one-member structs so that a pfn
 * cannot be passed where an address is expected (or the other way round)
 * without an explicit conversion.  Node ids are small dense integers.
 *
 * Every fallible call returns an enum numem_err and, when given a
 * struct numem_diag, fills it with what went wrong and where (the table and
 * byte offset for firmware input, the function and value for API misuse).
 */
#ifndef NUMEM_TYPES_H
#define NUMEM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NUMEM_PAGE_SHIFT 12
#define NUMEM_PAGE_SIZE  (1ull << NUMEM_PAGE_SHIFT)

/* Maximum number of NUMA nodes; a build may lower or raise it (<= 1024). */
#ifndef NUMEM_MAX_NODES
#define NUMEM_MAX_NODES 64
#endif

/* A page frame number: physical address >> NUMEM_PAGE_SHIFT. */
typedef struct {
	uint64_t v;
} numem_pfn_t;

/* A physical address in bytes. */
typedef struct {
	uint64_t v;
} numem_paddr_t;

/* A dense NUMA node id, 0 .. nr_nodes-1. */
typedef uint16_t numem_nid_t;
#define NUMEM_NID_NONE ((numem_nid_t)0xffff)

static inline numem_pfn_t numem_pfn(uint64_t v)
{
	return (numem_pfn_t){v};
}

static inline numem_paddr_t numem_paddr(uint64_t v)
{
	return (numem_paddr_t){v};
}

static inline numem_pfn_t numem_paddr_to_pfn(numem_paddr_t pa)
{
	return numem_pfn(pa.v >> NUMEM_PAGE_SHIFT);
}

static inline numem_paddr_t numem_pfn_to_paddr(numem_pfn_t pfn)
{
	return numem_paddr(pfn.v << NUMEM_PAGE_SHIFT);
}

/* Error codes.  Names (numem_err_name) are stable and used in JSON output. */
enum numem_err {
	NUMEM_OK = 0,
	NUMEM_E_INVAL,             /* an argument is outside its allowed range */
	NUMEM_E_NOMEM,             /* the platform could not supply metadata memory */
	NUMEM_E_SIGNATURE,         /* table signature is not the one expected */
	NUMEM_E_CHECKSUM,          /* table bytes do not sum to zero */
	NUMEM_E_TRUNCATE,          /* header length or a count needs more bytes than exist */
	NUMEM_E_ZERO_LENGTH_ENTRY, /* a subtable declares length 0 */
	NUMEM_E_ENTRY_PAST_END,    /* a subtable runs past the end of its table */
	NUMEM_E_BAD_ENTRY,         /* a subtable is too short for its type */
	NUMEM_E_OVERLAP,           /* memory ranges of different domains overlap */
	NUMEM_E_UNCOVERED,         /* RAM that no SRAT memory range covers */
	NUMEM_E_TOO_MANY_NODES,    /* more proximity domains than NUMEM_MAX_NODES */
	NUMEM_E_NO_MEMORY,         /* no usable memory at all */
	NUMEM_E_RANGE,             /* a pfn or address outside the machine */
	NUMEM_E_NOSPACE,           /* an output buffer is too small */
	NUMEM_E_UNSUPPORTED,       /* the platform lacks a needed service */
	NUMEM_E_NO_PAGES,          /* no free block of the order where allowed */
	NUMEM_E_DOUBLE_FREE,       /* the block is already free */
	NUMEM_E_NOT_ALLOCATED,     /* not the head of an allocated block */
	NUMEM_E_BAD_ORDER,         /* freed with another order than allocated */
	NUMEM_E_MISALIGNED,        /* a pfn not aligned to its order */
	NUMEM_E_CORRUPT,           /* an invariant is broken (verifier, poison) */
	NUMEM_E_OWNER,             /* the block belongs to another owner */
	NUMEM_E_BUSY,              /* the object is in use (e.g. a referenced domain) */
	NUMEM_E_COUNT
};

/* Stable short name of an error ("checksum", "truncate", ...). */
const char *numem_err_name(enum numem_err err);

/* What went wrong, where.  table[] is empty when not about a table. */
struct numem_diag {
	enum numem_err code;
	char table[5];   /* "SRAT", "SLIT", "HMAT" or "" */
	uint32_t offset; /* byte offset into that table */
	char msg[200];   /* one line, no trailing newline */
};

/* A set of node ids. */
#define NUMEM_NODEMASK_WORDS ((NUMEM_MAX_NODES + 63) / 64)
typedef struct {
	uint64_t w[NUMEM_NODEMASK_WORDS];
} numem_nodemask_t;

static inline void numem_nodemask_set(numem_nodemask_t *m, numem_nid_t n)
{
	m->w[n / 64] |= 1ull << (n % 64);
}

static inline bool numem_nodemask_test(const numem_nodemask_t *m, numem_nid_t n)
{
	return (m->w[n / 64] >> (n % 64)) & 1;
}

#endif /* NUMEM_TYPES_H */
