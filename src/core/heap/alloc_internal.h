/*
 * alloc_internal.h - the allocation plan shared by policy.c and alloc.c.
 */
#ifndef NUMEM_CORE_ALLOC_INTERNAL_H
#define NUMEM_CORE_ALLOC_INTERNAL_H

#include "heap_internal.h"

/* Which nodes, in order, and which one was intended. */
struct numem__plan {
	numem_nid_t intended;
	bool interleave;
	uint32_t nr_nodes;
	numem_nid_t node[NUMEM_MAX_NODES];
};

enum numem_err numem__policy_nodes(struct numem_cpu *cpu, struct numem_policy *p, unsigned flags,
                                   struct numem__plan *plan, struct numem_diag *diag);

#endif
