/*
 * fuzz_tmem.c - libFuzzer target on tmem's one entry point (numem_tmem_op)
 * with garbage op structs, callers, pool ids, indexes, flags and frames.
 *
 * The input is a stream of 12-byte records.  Byte 0 picks the caller (the
 * host, guest a, guest b, or an id from bytes 1-2); if bit 7 of byte 1 is
 * set and 96 bytes follow, they are the op struct verbatim (anything at
 * all); otherwise bytes 1-11 build an op near the valid ones (a command
 * 0..25, pool 0..17, flags with stray bits, indexes at the radix tree's
 * edges, the guests' frames and some beyond, the host's two frames and
 * some it does not own, a few UUIDs, control targets) and fill the frame
 * with a pattern (zero, compressible or not).  Every return must be a
 * defined status; numem_tmem_verify runs every 16 ops and at the end, and
 * the state is reset after each input (guest clients destroyed, the
 * host's pools destroyed).  Guest a compresses with lz4.
 */
#include <numem/domain.h>
#include <numem/host.h>
#include <numem/tmem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct numem_system sys;
static struct numem_slab slab;
static struct numem_domains doms;
static struct numem_tmem *tm;
static struct numem_domain *ga, *gb;
static uint64_t hframe[2], hfree;
static const struct numem_platform *plat;
static bool booted;

static void boot(void)
{
	const char *const args[] = {"node,nodeid=0,cpus=0-1,mem=24M",
	                            "node,nodeid=1,cpus=2-3,mem=24M"};
	struct numem_system_opts o = {.back_memory = true, .heap.poison = -1};
	fuzz_boot(&sys, args, 2, true, &o);
	struct numem_diag d;
	plat = numem_host_platform(sys.m.host);
	check(numem_slab_init(&slab, &sys.heap, &d) == NUMEM_OK);
	check(numem_domains_init(&doms, &sys.heap, &slab, &d) == NUMEM_OK);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	struct numem_domain_config c = {.max_pages = 8, .nr_vcpus = 1};
	uint64_t done;
	check(numem_domain_create(&doms, &c, cpu, &ga, &d) == NUMEM_OK);
	check(numem_domain_increase_reservation(ga, cpu, 6, 0, NULL, &done, &d) == NUMEM_OK);
	check(numem_domain_create(&doms, &c, cpu, &gb, &d) == NUMEM_OK);
	check(numem_domain_increase_reservation(gb, cpu, 6, 0, NULL, &done, &d) == NUMEM_OK);
	static struct numem_tmem_opts to;
	to.copy_page = numem_host_tmem_copy_page();
	to.codec[NUMEM_TMEM_CODEC_LZ4] =
	    numem_host_tmem_codec_create(NUMEM_TMEM_CODEC_LZ4, sys.heap.nr_cpus);
	to.codec[NUMEM_TMEM_CODEC_ZSTD] =
	    numem_host_tmem_codec_create(NUMEM_TMEM_CODEC_ZSTD, sys.heap.nr_cpus);
	check(numem_tmem_create(&sys.heap, &slab, &doms, &to, &tm, &d) == NUMEM_OK);
	numem_pfn_t p;
	for (int i = 0; i < 2; i++) {
		check(numem_alloc(cpu, 0, 0, NULL, &p, &d) == NUMEM_OK);
		hframe[i] = p.v;
	}
	check(numem_alloc(cpu, 0, 0, NULL, &p, &d) == NUMEM_OK);
	hfree = p.v;
	check(numem_free(cpu, p, 0, &d) == NUMEM_OK); /* a free page: not the host's */
	booted = true;
}

static void *frame(uint32_t caller, uint64_t gfn)
{
	uint64_t pfn = NUMEM_P2M_NONE;
	if (caller == NUMEM_TMEM_HOST)
		pfn = gfn == hframe[0] || gfn == hframe[1] ? gfn : NUMEM_P2M_NONE;
	else if (caller == ga->id)
		pfn = numem_domain_p2m(ga, gfn);
	else if (caller == gb->id)
		pfn = numem_domain_p2m(gb, gfn);
	return pfn == NUMEM_P2M_NONE
	           ? NULL
	           : plat->phys_to_virt(plat->ctx, numem_pfn_to_paddr(numem_pfn(pfn)));
}

static void verify(void)
{
	struct numem_diag d;
	if (numem_tmem_verify(tm, &d) != NUMEM_OK) {
		fprintf(stderr, "fuzz_tmem: %s\n", d.msg);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!booted)
		boot();
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	struct numem_diag d;
	static const uint32_t idx[8] = {0, 1, 63, 64, 4096, 0x7fffffffu, 0xffffffffu, 262144};
	size_t n = 0;
	for (size_t i = 0; i + 12 <= size; n++) {
		const uint8_t *b = data + i;
		uint32_t callers[4] = {NUMEM_TMEM_HOST, ga->id, gb->id,
		                       (uint32_t)b[1] | (uint32_t)b[2] << 8 |
		                           (uint32_t)(b[3] & 1) << 16};
		uint32_t caller = callers[b[0] % 4];
		struct numem_tmem_op op;
		memset(&op, 0, sizeof(op));
		if ((b[1] & 0x80) && i + 1 + sizeof(op) <= size) {
			memcpy(&op, b + 1, sizeof(op));
			i += 1 + sizeof(op);
		} else {
			op.cmd = b[1] % 26;
			op.pool_id = b[2] % 18;
			op.flags = (b[3] & 7) | (b[3] & 0x80 ? (uint32_t)b[4] << 8 : 0);
			op.index = b[4] & 0x80 ? (uint32_t)b[5] << 24 | b[6] : idx[b[4] % 8];
			op.oid[0] = b[6] % 4;
			op.oid[2] = b[6] & 0x80 ? ~0ull : 0;
			uint64_t hg[4] = {hframe[0], hframe[1], hfree, (uint64_t)b[7] << 20};
			op.gfn = caller == NUMEM_TMEM_HOST ? hg[b[7] % 4] : (uint64_t)(b[7] % 10);
			op.uuid[0] = b[8] % 3;
			uint32_t targets[4] = {NUMEM_TMEM_HOST, ga->id, gb->id,
			                       NUMEM_TMEM_ALL_CLIENTS};
			op.client = targets[b[9] % 4];
			op.arg = b[10] & 0x80 ? (uint64_t)b[10] << 40 : b[10] % 8;
			/* the usual fields of the usual commands: zero those a
			 * command does not use, unless the record says not to */
			if (!(b[11] & 0x80)) {
				if (op.cmd < 16)
					op.client = 0, op.arg = 0;
				else
					op.pool_id = 0, op.gfn = 0, op.flags = 0, op.index = 0,
					op.oid[0] = op.oid[2] = 0;
				if (op.cmd != NUMEM_TMEM_NEW_POOL && op.cmd != NUMEM_TMEM_CTL_AUTH)
					op.uuid[0] = 0;
				if (op.cmd != NUMEM_TMEM_NEW_POOL)
					op.flags = 0;
				if (op.cmd == NUMEM_TMEM_NEW_POOL)
					op.pool_id = 0, op.index = 0, op.gfn = 0,
					op.oid[0] = op.oid[2] = 0;
				if (op.cmd >= NUMEM_TMEM_FLUSH_PAGE && op.cmd < 16)
					op.gfn = 0;
				if (op.cmd == NUMEM_TMEM_FLUSH_OBJECT)
					op.index = 0;
				if (op.cmd == NUMEM_TMEM_DESTROY_POOL)
					op.index = 0, op.oid[0] = op.oid[2] = 0;
			}
			uint8_t *f = frame(caller, op.gfn);
			if (f) {
				if (b[11] % 4 == 0)
					memset(f, 0, 4096);
				else if (b[11] % 4 == 1)
					memset(f, b[11], 4096);
				else
					for (int k = 0; k < 4096; k++)
						f[k] = (uint8_t)(k * 131 + b[11] * (k >> 5));
			}
			i += 12;
		}
		int r = numem_tmem_op(tm, cpu, caller, &op, &d);
		check(r >= NUMEM_TMEM_EBUSY && r <= NUMEM_TMEM_HIT);
		if (n % 16 == 15)
			verify();
	}
	verify();
	numem_tmem_client_destroy(tm, cpu, ga->id, &d);
	numem_tmem_client_destroy(tm, cpu, gb->id, &d);
	for (uint32_t p = 0; p < NUMEM_TMEM_MAX_POOLS; p++)
		numem_tmem_destroy_pool(tm, cpu, NUMEM_TMEM_HOST, p, &d);
	numem_tmem_ctl(tm, cpu, NUMEM_TMEM_CTL_THAW, NUMEM_TMEM_HOST, 0, NULL, &d);
	numem_tmem_ctl(tm, cpu, NUMEM_TMEM_CTL_CAP, NUMEM_TMEM_HOST, 0, NULL, &d);
	struct numem_tmem_info info;
	numem_tmem_info(tm, &info);
	check(info.heap_pages == 0 && info.stats.pages == 0);
	return 0;
}
