/*
 * save.c - save and restore a client's persistent pages (guest migration).
 *
 * The stream (docs/FORMATS.md, "tmem save stream"), little-endian:
 *   header  32 bytes: magic "NUMEMTMS", version u32 (1), pools u32,
 *           pages u64, reserved u64 (0)
 *   per pool  16 bytes: pool id u32, flags u32, pages u64
 *     per page of it  4128 bytes: oid 3 x u64, index u32, reserved u32
 *                     (0), the page's 4096 bytes (uncompressed)
 * Only persistent pools are saved (ephemeral pages may vanish anyway).
 * Save needs the lock for the whole walk (a frozen client's pages do not
 * change, but others' ops go on); restore checks the whole stream before
 * it creates anything.
 */
#include "tmem_internal.h"

#define TM_SAVE_MAGIC 0x534d544d454d554eull /* "NUMEMTMS" */
#define TM_SAVE_HDR   32u
#define TM_SAVE_POOL  16u
#define TM_SAVE_REC   (32u + NUMEM_PAGE_SIZE)

struct save_ctx {
	struct numem_tmem *t;
	struct numem_cpu *cpu;
	uint8_t *buf;
	size_t at;
	bool write;
	bool bad;
};

static void save_page(void *ctx, uint32_t h, struct tm_page *pg)
{
	(void)h;
	struct save_ctx *s = ctx;
	if (s->write) {
		uint8_t *r = s->buf + s->at;
		const uint64_t *oid = tm_type(pg) == TM_T_LONE
		                          ? tm_oid_of(pg)
		                          : ((const struct tm_object *)tm_rec(s->t, pg->obj))->oid;
		for (int i = 0; i < 3; i++)
			numem__put64(r + 8 * i, oid[i]);
		numem__put32(r + 24, pg->index);
		numem__put32(r + 28, 0);
		struct tm_loc w = numem__tm_page_loc(pg);
		if (!numem__tm_store_read(s->t, s->cpu, &w, r + 32))
			s->bad = true;
	}
	s->at += TM_SAVE_REC;
}

static size_t save_walk(struct tm_client *c, struct save_ctx *s)
{
	uint32_t pools = 0;
	uint64_t pages = 0;
	size_t hdr = s->at;
	s->at += TM_SAVE_HDR;
	for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS; i++) {
		struct tm_pool *p = c->pool[i];
		if (!p || !(p->flags & NUMEM_TMEM_POOL_PERSISTENT))
			continue;
		pools++;
		pages += p->st.pages;
		if (s->write) {
			uint8_t *r = s->buf + s->at;
			numem__put32(r, i);
			numem__put32(r + 4, p->flags);
			numem__put64(r + 8, p->st.pages);
		}
		s->at += TM_SAVE_POOL;
		for (uint32_t b = 0; b < p->nbuckets; b++)
			for (uint32_t h = p->bucket[b]; h; h = tm_pg(s->t, h)->hnext)
				numem__tm_radix_walk(s->t, h, save_page, s);
	}
	if (s->write) {
		uint8_t *h = s->buf + hdr;
		numem__put64(h, TM_SAVE_MAGIC);
		numem__put32(h + 8, 1);
		numem__put32(h + 12, pools);
		numem__put64(h + 16, pages);
		numem__put64(h + 24, 0);
	}
	return s->at;
}

int numem_tmem_save(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client, void *buf,
                    size_t cap, size_t *len, struct numem_diag *diag)
{
	tm_lock(t);
	struct tm_client *c = numem__tm_client(t, client);
	if (!c) {
		tm_unlock(t);
		numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		            "numem_tmem_save: client %u has no tmem state", client);
		return NUMEM_TMEM_ENOCLIENT;
	}
	struct save_ctx s = {t, cpu, 0, 0, false, false};
	size_t need = save_walk(c, &s);
	*len = need;
	if (!buf) {
		tm_unlock(t);
		return NUMEM_TMEM_HIT;
	}
	if (cap < need) {
		tm_unlock(t);
		numem__fail(diag, NUMEM_E_NOSPACE, 0, 0,
		            "numem_tmem_save: client %u needs %zu bytes, the buffer has %zu",
		            client, need, cap);
		return NUMEM_TMEM_ENOSPACE;
	}
	s = (struct save_ctx){t, cpu, buf, 0, true, false};
	save_walk(c, &s);
	tm_unlock(t);
	if (s.bad) {
		numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		            "numem_tmem_save: a stored page of client %u does not decompress",
		            client);
		return NUMEM_TMEM_ECORRUPT;
	}
	return NUMEM_TMEM_HIT;
}

static int corrupt(struct numem_diag *diag, size_t off, const char *what)
{
	numem__fail(diag, NUMEM_E_CORRUPT, 0, (uint32_t)off, "numem_tmem_restore: offset %zu: %s",
	            off, what);
	return NUMEM_TMEM_ECORRUPT;
}

/* Check the whole stream; *pool_mask = the pool ids it names. */
static int check_stream(const uint8_t *b, size_t len, uint32_t *pool_mask, struct numem_diag *diag)
{
	if (len < TM_SAVE_HDR)
		return corrupt(diag, 0, "shorter than the 32-byte header");
	if (numem__le64(b) != TM_SAVE_MAGIC)
		return corrupt(diag, 0, "not a tmem save stream (magic)");
	if (numem__le32(b + 8) != 1)
		return corrupt(diag, 8, "unknown version");
	if (numem__le64(b + 24))
		return corrupt(diag, 24, "reserved field is not 0");
	uint32_t pools = numem__le32(b + 12);
	uint64_t pages = numem__le64(b + 16), seen = 0;
	if (pools > NUMEM_TMEM_MAX_POOLS)
		return corrupt(diag, 12, "more pools than a client may have");
	size_t at = TM_SAVE_HDR;
	*pool_mask = 0;
	for (uint32_t i = 0; i < pools; i++) {
		if (len - at < TM_SAVE_POOL)
			return corrupt(diag, at, "truncated pool record");
		uint32_t id = numem__le32(b + at), flags = numem__le32(b + at + 4);
		uint64_t n = numem__le64(b + at + 8);
		if (id >= NUMEM_TMEM_MAX_POOLS || (*pool_mask >> id & 1))
			return corrupt(diag, at, "pool id out of range or named twice");
		if (flags != NUMEM_TMEM_POOL_PERSISTENT)
			return corrupt(diag, at + 4,
			               "pool flags are not a private persistent pool's");
		*pool_mask |= 1u << id;
		at += TM_SAVE_POOL;
		if (n > (len - at) / TM_SAVE_REC)
			return corrupt(diag, at, "fewer page records than the pool declares");
		for (uint64_t k = 0; k < n; k++, at += TM_SAVE_REC)
			if (numem__le32(b + at + 28))
				return corrupt(diag, at + 28,
				               "page record reserved field is not 0");
		seen += n;
	}
	if (seen != pages)
		return corrupt(diag, 16, "page count differs from the pools' records");
	if (at != len)
		return corrupt(diag, at, "bytes after the last record");
	return NUMEM_TMEM_HIT;
}

/* Store one page from memory into (client, pool) under the lock; the
 * preload is full.  At the client's cap its own ephemeral pages make way
 * (as for a put, into bag); the caller checked that the persistent pages
 * fit.  A status. */
static int restore_page(struct numem_tmem *t, struct numem_cpu *cpu, struct tm_client *c,
                        struct tm_pool *p, uint32_t slot, const uint64_t oid[3], uint32_t index,
                        const void *src, struct tm_bag *bag)
{
	uint32_t hash = tm_oid_hash(oid), oh = 0;
	void *o = numem__tm_obj_find(t, p, oid, hash, &oh);
	uint32_t h = oh;
	if (numem__tm_lookup(t, o, index, &h))
		return NUMEM_TMEM_ECORRUPT; /* the stream names a key twice */
	if (c->cap && c->st.pages >= c->cap)
		numem__tm_evict(t, c, NUMEM_NID_NONE, c->st.pages - c->cap + 1, bag);
	if (c->cap && c->st.pages >= c->cap)
		return NUMEM_TMEM_EQUOTA; /* its persistent pages grew meanwhile */
	numem_nid_t home = c->node < tm_nr_nodes(t) ? c->node : cpu->mem_node;
	struct tm_loc w = {.kind = TM_ZERO, .node = home};
	if (!numem__tm_page_zero(src)) {
		size_t clen = numem__tm_compress(t, cpu, c->codec, src);
		if (!(clen ? numem__tm_store_put(t, cpu, home, tm_scratch(t, cpu), clen, &w)
		           : numem__tm_store_put(t, cpu, home, src, NUMEM_PAGE_SIZE, &w)))
			return NUMEM_TMEM_ENOMEM;
		w.codec = clen ? c->codec : 0;
	}
	/* (an eviction above may have dropped o: an ephemeral page, and o is
	 * in this persistent pool) */
	numem__tm_page_link(t, cpu, c, p, slot, o, oh, oid, hash, index, &w);
	return NUMEM_TMEM_HIT;
}

int numem_tmem_restore(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client,
                       const void *buf, size_t len, struct numem_diag *diag)
{
	const uint8_t *b = buf;
	uint32_t mask;
	int r = b ? check_stream(b, len, &mask, diag) : corrupt(diag, 0, "no stream");
	if (r < 0)
		return r;
	if (client != NUMEM_TMEM_HOST && (r = numem__tm_client_make(t, cpu, client, diag)) < 0)
		return r;
	tm_lock(t);
	struct tm_client *c = numem__tm_client(t, client);
	for (uint32_t i = 0; c && i < NUMEM_TMEM_MAX_POOLS; i++)
		if ((mask >> i & 1) && c->pool[i]) {
			tm_unlock(t);
			numem__fail(diag, NUMEM_E_BUSY, 0, 0,
			            "numem_tmem_restore: client %u already has a pool %u", client,
			            i);
			return NUMEM_TMEM_EBUSY;
		}
	/* Persistent pages count against the cap (docs/TMEM.md, rule 7): the
	 * stream's must fit beside those the client holds (its ephemeral
	 * pages make way), checked before anything is made. */
	uint64_t spages = numem__le64(b + 16), held = c ? c->st.pages_persistent : 0;
	if (c && c->cap && (spages > c->cap || held > c->cap - spages)) {
		uint64_t cap = c->cap;
		tm_unlock(t);
		numem__fail(diag, NUMEM_E_NOSPACE, 0, 0,
		            "numem_tmem_restore: client %u holds %llu persistent pages, the "
		            "stream has %llu: above its cap of %llu",
		            client, (unsigned long long)held, (unsigned long long)spages,
		            (unsigned long long)cap);
		return NUMEM_TMEM_EQUOTA;
	}
	tm_unlock(t);
	/* Pools first, then pages.  The guest may make pools meanwhile, even
	 * in a slot the stream names (make_at then refuses): each pool this
	 * restore made is recorded by its serial, and only those are undone
	 * (or filled). */
	size_t at = TM_SAVE_HDR;
	uint32_t pools = numem__le32(b + 12);
	uint64_t made[NUMEM_TMEM_MAX_POOLS] = {0}; /* serials; 0: not made here */
	for (uint32_t i = 0; i < pools && r >= 0; i++) {
		uint32_t id = numem__le32(b + at);
		uint64_t n = numem__le64(b + at + 8);
		at += TM_SAVE_POOL;
		r = numem__tm_pool_make_at(t, cpu, client, id, &made[id], diag);
		for (uint64_t k = 0; k < n && r >= 0; k++, at += TM_SAVE_REC) {
			const uint8_t *rec = b + at;
			uint64_t oid[3] = {numem__le64(rec), numem__le64(rec + 8),
			                   numem__le64(rec + 16)};
			if (!numem__tm_preload(t, cpu, false)) {
				r = NUMEM_TMEM_ENOMEM;
				break;
			}
			struct tm_bag bag = {.pfns = ~0ull};
			tm_lock(t);
			c = numem__tm_client(t, client);
			struct tm_pool *p = numem__tm_pool_again(t, client, id, made[id]);
			r = p ? restore_page(t, cpu, c, p, id, oid, numem__le32(rec + 24), rec + 32,
			                     &bag)
			      : NUMEM_TMEM_ENOCLIENT;
			tm_unlock(t);
			numem__tm_bag_release(t, cpu, &bag);
			if (r == NUMEM_TMEM_ECORRUPT)
				corrupt(diag, at, "a key saved twice");
			if (r == NUMEM_TMEM_EQUOTA)
				numem__fail(diag, NUMEM_E_NOSPACE, 0, 0,
				            "numem_tmem_restore: client %u reached its cap during "
				            "the restore; what was restored is undone",
				            client);
		}
	}
	if (r < 0) {
		/* undo: the pools this restore made, if still there */
		for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS; i++)
			if (made[i])
				numem__tm_pool_unmake(t, cpu, client, i, made[i]);
		if (r == NUMEM_TMEM_ENOMEM)
			numem__fail(
			    diag, NUMEM_E_NOMEM, 0, 0,
			    "numem_tmem_restore: out of memory; what was restored is undone");
		return r;
	}
	return NUMEM_TMEM_HIT;
}
