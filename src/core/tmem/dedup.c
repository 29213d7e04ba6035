/*
 * dedup.c - identical pages stored once, in pools created with
 * NUMEM_TMEM_POOL_DEDUP (shared ephemeral pools only; off by default).
 *
 * A put hashes the page (64-bit, over its 512 words), looks the hash up
 * in the pool's table of TM_DEDUP_BUCKETS chains and compares the bytes of
 * every candidate (a stored candidate is read back, decompressed if need
 * be, into the CPU's second scratch page): only identical bytes share.  A
 * shared copy counts its references; the last page to go frees it.
 *
 * Side channel (docs/TMEM.md): a put that finds an identical page takes a
 * different time (no store) than one that does not, and the pool's
 * counters change differently, so a guest that can time its puts learns
 * whether another guest of the same shared pool holds a page with given
 * contents.  That is why it is opt-in per pool and never across pools, and
 * why Xen removed its tmem dedup in 2016.
 *
 * All functions run with t->lock held.
 */
#include "tmem_internal.h"

uint64_t numem__tm_hash(const void *page)
{
	const uint64_t *w = page;
	uint64_t a = 0x243f6a8885a308d3ull, b = 0x13198a2e03707344ull;
	for (size_t i = 0; i < NUMEM_PAGE_SIZE / 8; i += 2) {
		a = (a ^ w[i]) * 0x9e3779b97f4a7c15ull;
		b = (b ^ w[i + 1]) * 0xc2b2ae3d27d4eb4full;
		a ^= a >> 31;
		b ^= b >> 29;
	}
	return a ^ (b * 0x165667b19e3779f9ull);
}

struct tm_dedup *numem__tm_dedup_find(struct numem_tmem *t, struct numem_cpu *cpu,
                                      struct tm_pool *p, uint64_t hash, const void *page)
{
	uint8_t *tmp = tm_scratch(t, cpu) + NUMEM_PAGE_SIZE;
	for (struct tm_dedup *d = p->dedup[tm_reduce(hash, TM_DEDUP_BUCKETS)]; d; d = d->next) {
		if (d->hash != hash)
			continue;
		const void *bytes;
		if (d->where.kind == TM_RAW) {
			bytes = tm_virt(t, d->where.loc);
		} else {
			if (!numem__tm_store_read(t, cpu, &d->where, tmp))
				continue;
			bytes = tmp;
		}
		if (!memcmp(bytes, page, NUMEM_PAGE_SIZE)) {
			d->refs++;
			return d;
		}
	}
	return 0;
}

struct tm_dedup *numem__tm_dedup_add(struct tm_pool *p, uint64_t hash, const struct tm_loc *where,
                                     struct tm_preload *pl)
{
	struct tm_dedup *d = pl->dd;
	pl->dd = 0;
	d->hash = hash;
	d->where = *where;
	d->refs = 1;
	uint32_t b = tm_reduce(hash, TM_DEDUP_BUCKETS);
	p->dedups++;
	d->next = p->dedup[b];
	p->dedup[b] = d;
	p->st.bytes_used += numem__tm_store_bytes(where);
	return d;
}

void numem__tm_dedup_put(struct numem_tmem *t, struct tm_pool *p, struct tm_dedup *d,
                         struct tm_bag *bag)
{
	if (--d->refs)
		return;
	struct tm_dedup **pp = &p->dedup[tm_reduce(d->hash, TM_DEDUP_BUCKETS)];
	p->dedups--;
	while (*pp != d)
		pp = &(*pp)->next;
	*pp = d->next;
	p->st.bytes_used -= numem__tm_store_bytes(&d->where);
	numem__tm_store_free(t, &d->where, bag);
	d->next = bag->dds;
	bag->dds = d;
	bag->used = true;
}
