/*
 * fuzz_relayout.c - libFuzzer target: random layouts and commits
 * interleaved with allocations and frees (relayout.h).
 *
 * Each operation is 4 bytes: op, a, b, c.  Ops: allocate (a CPU, an order,
 * held); free a held block; commit a layout (a stripe over a random span
 * and node set in blocks of 2^k pages, a push to a node that may be new, a
 * CPU moved, a distance changed, or hand-made ranges that may be invalid: a
 * rejected layout must leave the heap as it was); a quiescent point or a
 * drain of one CPU.  The verifier runs between a commit's lock windows
 * (numem_relayout_self_check) and after every commit; at the end every
 * block is freed and drained, the verifier runs, every free block must sit
 * on its layout node and no page may stay pending.  The machine: 3 nodes
 * (one memoryless), room for a 4th.
 */
#include <numem/host.h>
#include <numem/relayout.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HELD 256

static void boot(struct numem_system *sys)
{
	const char *const args[] = {"node,nodeid=0,cpus=0-1,mem=24M", "node,nodeid=1,cpus=2",
	                            "node,nodeid=2,cpus=3,mem=16M"};
	struct numem_system_opts o = {.heap = {.max_nodes = 4}};
	fuzz_boot(sys, args, 3, false, &o);
}

/* Build a layout from three bytes (false: the builder refused). */
static bool build(struct numem_heap *h, struct numem_memlayout *l, uint8_t a, uint8_t b, uint8_t c)
{
	const struct numem_topo *t = numem_heap_topo(h);
	uint64_t max = t->max_pfn;
	uint64_t s = max * b / 256, e = s + 1 + (max - s) * c / 255;
	struct numem_diag d;
	switch (a % 6) {
	case 0:
	case 1: { /* stripe */
		numem_nid_t nodes[3];
		uint32_t nr = 1 + c % 3;
		for (uint32_t i = 0; i < nr; i++)
			nodes[i] = (numem_nid_t)((a / 6 + i * (1 + b % 3)) % 3);
		return numem_memlayout_stripe(l, h, s, e, nodes, nr, 1ull << (a / 8 % 11), &d) ==
		       NUMEM_OK;
	}
	case 2: /* push, maybe to the new node 3 */
		return numem_memlayout_push(l, h, s, e, (numem_nid_t)(a / 6 % 4), &d) == NUMEM_OK;
	case 3: /* a CPU moves (maybe to the memoryless node) */
		return numem_memlayout_set_cpu_node(l, h, c % 5, (numem_nid_t)(b % 4), &d) ==
		       NUMEM_OK;
	case 4: /* distances */
		return numem_memlayout_set_distance(l, h, b % 4, c % 4, (uint8_t)(10 + a / 6 % 40),
		                                    &d) == NUMEM_OK;
	default: /* raw ranges: holes, overlaps, unknown nodes, empty ones */
		numem_memlayout_add(l, s, e + (a & 0x40 ? max : 0), (numem_nid_t)(c % 6), &d);
		numem_memlayout_add(l, e - (a & 0x80 ? 1 : 0), e + 8, (numem_nid_t)(b % 5), &d);
		if (a & 0x20)
			numem_memlayout_declare_node(l, (numem_nid_t)(c % 5), &d);
		return true;
	}
}

/* Every free block on its layout node, nothing pending. */
static void check_free_on_layout(struct numem_system *sys)
{
	struct numem_heap *h = &sys->heap;
	const struct numem_topo *t = numem_heap_topo(h);
	for (uint64_t p = 0; p < t->max_pfn;) {
		struct numem_heap_block b;
		enum numem_page_state st = numem_heap_block_of(h, numem_pfn(p), &b);
		if (st != NUMEM_PS_FREE && st != NUMEM_PS_PCP && st != NUMEM_PS_ALLOCATED) {
			p++;
			continue;
		}
		check(st == NUMEM_PS_FREE); /* everything was freed and drained */
		numem_nid_t hn = numem_page_node(numem_frametable_lookup(&sys->ft, b.head));
		for (uint64_t q = p; q < p + (1ull << b.order); q++)
			check(numem_topo_pfn_to_node(t, numem_pfn(q)) == hn);
		p += 1ull << b.order;
	}
	for (numem_nid_t n = 0; n < h->max_nodes; n++)
		check(numem_relayout_pending(h, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct numem_system sys;
	boot(&sys);
	struct numem_heap *h = &sys.heap;
	check(numem_relayout_self_check(h, true)); /* the verifier inside every commit too */
	struct held {
		numem_pfn_t pfn;
		unsigned order;
		uint32_t cpu;
	} held[MAX_HELD];
	uint32_t nr = 0;
	struct numem_diag d;
	for (size_t i = 0; i + 4 <= size; i += 4) {
		const uint8_t *op = data + i;
		uint32_t c = op[1] % h->nr_cpus;
		struct numem_cpu *cpu = numem_heap_cpu(h, c);
		switch (op[0] % 6) {
		case 0:
		case 1: { /* alloc */
			if (nr == MAX_HELD)
				break;
			unsigned order = op[2] % 16 < 12 ? op[2] % 4 : 4 + op[2] % 7;
			numem_pfn_t pfn;
			if (numem_alloc(cpu, order, op[3] & 1 ? NUMEM_ALLOC_NOPCP : 0, NULL, &pfn,
			                &d) == NUMEM_OK)
				held[nr++] = (struct held){pfn, order, c};
			break;
		}
		case 2: /* free */
			if (nr) {
				uint32_t k = op[2] % nr;
				check(numem_free(numem_heap_cpu(h, held[k].cpu), held[k].pfn,
				                 held[k].order, &d) == NUMEM_OK);
				held[k] = held[--nr];
			}
			break;
		case 3: { /* commit */
			struct numem_memlayout l;
			numem_memlayout_init(&l, h->plat);
			build(h, &l, op[1], op[2], op[3]); /* a refused step leaves the rest */
			const struct numem_topo *before = numem_heap_topo(h);
			uint64_t gen = numem_relayout_generation(h);
			enum numem_err err = numem_relayout_commit(h, &l, NULL, &d);
			numem_memlayout_release(&l);
			if (err) { /* rejected: nothing changed */
				check(numem_heap_topo(h) == before);
				check(numem_relayout_generation(h) == gen);
			} else {
				check(numem_relayout_generation(h) == gen + 1);
			}
			check(numem_heap_verify(h, &d) == NUMEM_OK);
			break;
		}
		case 4:
			numem_relayout_quiescent(cpu);
			break;
		default:
			numem_heap_drain_cpu(cpu);
			break;
		}
	}
	while (nr) {
		nr--;
		check(numem_free(numem_heap_cpu(h, held[nr].cpu), held[nr].pfn, held[nr].order,
		                 &d) == NUMEM_OK);
	}
	numem_heap_drain_all(h);
	check(numem_heap_verify(h, &d) == NUMEM_OK);
	check_free_on_layout(&sys);
	numem_system_shutdown(&sys);
	return 0;
}
