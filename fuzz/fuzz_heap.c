/*
 * fuzz_heap.c - libFuzzer target driving the page allocator with an
 * operation stream, invalid frees included, checking a reference model and
 * numem_heap_verify() as it goes.
 *
 * Each operation is 4 bytes: op, cpu, order/flags, argument.  Ops: alloc
 * with one of the policies; free of a held block; free of a held block with
 * a wrong order or a tail pfn or a pfn outside RAM (must be rejected with
 * its error, nothing changed); double free of a block just freed (must be
 * rejected); drain a CPU.  The reference model is checked after every step,
 * numem_heap_verify() after every 8th and at the end.  The machine is a small 3-node one with a
 * memoryless node, so fallbacks and exhaustion happen often.
 */
#include <numem/host.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HELD 512

static struct numem_system sys;
static bool booted;

static void boot(void)
{
	const char *const args[] = {"node,nodeid=0,cpus=0-1,mem=24M", "node,nodeid=1,cpus=2",
	                            "node,nodeid=2,cpus=3,mem=16M", "dist,src=0,dst=2,val=30",
	                            "dist,src=1,dst=2,val=15"};
	struct numem_system_opts o = {.back_memory = true,
	                              .heap = {.poison = 1, .trace_entries = 64}};
	fuzz_boot(&sys, args, 5, false, &o);
	booted = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!booted)
		boot();
	struct numem_heap *h = &sys.heap;
	struct {
		numem_pfn_t pfn;
		unsigned order;
	} held[MAX_HELD];
	uint32_t nr = 0;
	struct numem_policy pol[NUMEM_POLICY_COUNT];
	for (int m = 0; m < NUMEM_POLICY_COUNT; m++) {
		numem_policy_init(&pol[m], (enum numem_policy_mode)m);
		numem_nodemask_set(&pol[m].nodes, (numem_nid_t)(m % 3));
		numem_nodemask_set(&pol[m].nodes, 2);
		pol[m].node = (numem_nid_t)(m % 3);
	}
	struct numem_diag d;
	for (size_t i = 0; i + 4 <= size; i += 4) {
		const uint8_t *op = data + i;
		struct numem_cpu *cpu = numem_heap_cpu(h, op[1] % h->nr_cpus);
		unsigned order = op[2] % (NUMEM_MAX_ORDER + 1);
		switch (op[0] % 6) {
		case 0:
		case 1: { /* alloc */
			if (nr == MAX_HELD)
				break;
			unsigned flags =
			    (op[2] >> 4) & (NUMEM_ALLOC_EXACT_NODE | NUMEM_ALLOC_NORECLAIM |
			                    NUMEM_ALLOC_NOPCP | NUMEM_ALLOC_DMA);
			struct numem_policy *p =
			    op[3] % 8 == 7 ? NULL : &pol[op[3] % NUMEM_POLICY_COUNT];
			if (p)
				p->index = op[3];
			numem_pfn_t pfn;
			enum numem_err e = numem_alloc(cpu, order, flags, p, &pfn, &d);
			check(e == NUMEM_OK || e == NUMEM_E_NO_PAGES);
			if (e == NUMEM_OK) {
				for (uint32_t k = 0; k < nr; k++) /* disjoint from all held */
					check(pfn.v + (1ull << order) <= held[k].pfn.v ||
					      held[k].pfn.v + (1ull << held[k].order) <= pfn.v);
				if (p && p->mode == NUMEM_POLICY_BIND)
					check(numem_nodemask_test(
					    &p->nodes, numem_topo_pfn_to_node(sys.m.topo, pfn)));
				held[nr].pfn = pfn;
				held[nr++].order = order;
			}
			break;
		}
		case 2: /* free */
			if (nr) {
				uint32_t k = op[3] % nr;
				check(numem_free(cpu, held[k].pfn, held[k].order, &d) == NUMEM_OK);
				numem_pfn_t gone = held[k].pfn;
				unsigned go = held[k].order;
				held[k] = held[--nr];
				if (op[2] & 1) { /* double free */
					enum numem_err e = numem_free(cpu, gone, go, &d);
					check(e == NUMEM_E_DOUBLE_FREE);
				}
			}
			break;
		case 3: /* invalid frees of a held block */
			if (nr) {
				uint32_t k = op[3] % nr;
				uint64_t free_before = numem_heap_node_free(h, 0);
				if (held[k].order) {
					check(numem_free(cpu, held[k].pfn, held[k].order - 1, &d) ==
					      NUMEM_E_BAD_ORDER);
					check(numem_free(cpu, numem_pfn(held[k].pfn.v + 1), 0,
					                 &d) == NUMEM_E_NOT_ALLOCATED);
				}
				check(numem_free(cpu, numem_pfn(sys.ft.max_pfn + op[2]), 0, &d) ==
				      NUMEM_E_RANGE);
				check(numem_free(cpu, held[k].pfn, NUMEM_MAX_ORDER + 1 + op[2],
				                 &d) == NUMEM_E_INVAL);
				check(numem_heap_node_free(h, 0) == free_before);
			}
			break;
		case 4:
			numem_heap_drain_cpu(cpu);
			break;
		default: /* toggle tracing */
			atomic_store(&h->tracing, op[3] & 1);
			break;
		}
		/* The verifier walks every page (a nested block is a frame with
		 * two owners): every 8th step, and at the end, keeps the run at
		 * tens of inputs a second instead of a handful. */
		if ((i / 4) % 8 == 7 && numem_heap_verify(h, &d) != NUMEM_OK) {
			fprintf(stderr, "verify: %s\n", d.msg);
			abort();
		}
	}
	while (nr) {
		nr--;
		check(numem_free(numem_heap_cpu(h, 0), held[nr].pfn, held[nr].order, &d) ==
		      NUMEM_OK);
	}
	numem_heap_drain_all(h);
	check(numem_heap_verify(h, &d) == NUMEM_OK);
	for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++)
		check(numem_heap_node_allocated(h, n) == 0);
	return 0;
}
