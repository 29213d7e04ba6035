/*
 * pool.c - pools: private and shared, creation, joining and destruction.
 *
 * A client's pools are numbered 0..NUMEM_TMEM_MAX_POOLS-1 in its own
 * table, so a client can only ever name its own pools (another client's
 * private pool is, for it, an empty slot: NUMEM_TMEM_EEMPTY).  A shared
 * pool also sits in the instance's table of NUMEM_TMEM_MAX_SHARED, found
 * by UUID; a client may create or join one only with that UUID in its
 * authorised list (CTL_AUTH): else NUMEM_TMEM_EPERM, and no pool is made
 * (Xen's tmem fell back to a private pool there).  Shared persistent pools
 * are refused, as are dedup on anything but a shared ephemeral pool and
 * page sizes other than 4 KiB.  A shared pool is freed when its last
 * sharer destroys it (or is destroyed); a sharer that leaves earlier takes
 * the pages it put with it (ephemeral: allowed to vanish).
 */
#include "tmem_internal.h"

static int pool_fail(struct numem_diag *diag, int status, const char *what, uint64_t v)
{
	numem__fail(diag, NUMEM_E_INVAL, 0, 0, "tmem NEW_POOL: %s (0x%llx)", what,
	            (unsigned long long)v);
	return status;
}

static int check_flags(const struct numem_tmem_op *op, struct numem_diag *diag)
{
	uint32_t f = op->flags;
	if (f & ~NUMEM_TMEM_POOL_FLAGS_ALL)
		return pool_fail(diag, NUMEM_TMEM_EINVAL, "unknown flag bits", f);
	if ((f >> NUMEM_TMEM_POOL_PAGESHIFT_SHIFT) & NUMEM_TMEM_POOL_PAGESHIFT_MASK)
		return pool_fail(diag, NUMEM_TMEM_EINVAL, "only 4 KiB pages (page shift 0)", f);
	if ((f & NUMEM_TMEM_POOL_SHARED) && (f & NUMEM_TMEM_POOL_PERSISTENT))
		return pool_fail(diag, NUMEM_TMEM_EINVAL, "shared persistent pools are refused", f);
	if ((f & NUMEM_TMEM_POOL_DEDUP) && !(f & NUMEM_TMEM_POOL_SHARED))
		return pool_fail(diag, NUMEM_TMEM_EINVAL, "dedup needs a shared ephemeral pool", f);
	if (!(f & NUMEM_TMEM_POOL_SHARED) && (op->uuid[0] || op->uuid[1]))
		return pool_fail(diag, NUMEM_TMEM_EINVAL, "a private pool takes no uuid",
		                 op->uuid[0]);
	return NUMEM_TMEM_HIT;
}

static bool authorised(const struct tm_client *c, const struct numem_tmem_uuid *u)
{
	for (uint32_t i = 0; i < c->nr_auth; i++)
		if (tm_uuid_eq(&c->auth[i], u))
			return true;
	return false;
}

int numem__tm_new_pool(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                       struct numem_tmem_op *op, struct numem_diag *diag)
{
	int r = check_flags(op, diag);
	if (r < 0)
		return r;
	bool shared = op->flags & NUMEM_TMEM_POOL_SHARED;
	bool dedup = op->flags & NUMEM_TMEM_POOL_DEDUP;
	struct numem_tmem_uuid u = {op->uuid[0], op->uuid[1]};
	struct tm_pool *np = numem_kmalloc(t->slab, cpu, sizeof(*np), diag);
	uint32_t *b = np ? numem_kmalloc(t->slab, cpu, TM_OBJ_BUCKETS * sizeof(*b), diag) : 0;
	struct tm_dedup **dd =
	    b && dedup ? numem_kmalloc(t->slab, cpu, TM_DEDUP_BUCKETS * sizeof(*dd), diag) : 0;
	if (!np || !b || (dedup && !dd)) {
		r = NUMEM_TMEM_ENOMEM;
		goto out;
	}
	memset(np, 0, sizeof(*np));
	memset(b, 0, TM_OBJ_BUCKETS * sizeof(*b));
	if (dd)
		memset(dd, 0, TM_DEDUP_BUCKETS * sizeof(*dd));
	np->flags = op->flags;
	np->creator = (uint16_t)caller;
	np->sharers = 1;
	np->shared_slot = -1;
	np->uuid = u;
	np->bucket = b;
	np->nbuckets = TM_OBJ_BUCKETS;
	np->dedup = dd;

	tm_lock(t);
	struct tm_client *c = numem__tm_client(t, caller);
	uint32_t slot = 0;
	if (!c) {
		r = NUMEM_TMEM_ENOCLIENT;
	} else if (c->frozen) {
		numem__fail(diag, NUMEM_E_INVAL, 0, 0, "tmem NEW_POOL: client %u is frozen",
		            caller);
		r = NUMEM_TMEM_EFROZEN;
	} else if (shared && !authorised(c, &u)) {
		numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		            "tmem NEW_POOL: client %u is not authorised for shared pool uuid "
		            "%016llx%016llx (CTL_AUTH first); no private pool was made",
		            caller, (unsigned long long)u.hi, (unsigned long long)u.lo);
		r = NUMEM_TMEM_EPERM;
	} else {
		r = NUMEM_TMEM_HIT;
		struct tm_pool *join = 0;
		int32_t free_shared = -1;
		for (uint32_t i = 0; shared && i < NUMEM_TMEM_MAX_SHARED; i++) {
			if (t->shared[i] && tm_uuid_eq(&t->shared[i]->uuid, &u))
				join = t->shared[i];
			else if (!t->shared[i] && free_shared < 0)
				free_shared = (int32_t)i;
		}
		/* already joined: the same id again */
		for (uint32_t i = 0; join && i < NUMEM_TMEM_MAX_POOLS; i++)
			if (c->pool[i] == join) {
				op->pool_id = i;
				goto unlock;
			}
		while (slot < NUMEM_TMEM_MAX_POOLS && c->pool[slot])
			slot++;
		if (slot == NUMEM_TMEM_MAX_POOLS) {
			numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			            "tmem NEW_POOL: client %u already has %u pools (the limit)",
			            caller, NUMEM_TMEM_MAX_POOLS);
			r = NUMEM_TMEM_ELIMIT;
		} else if (join && join->flags != op->flags) {
			numem__fail(
			    diag, NUMEM_E_INVAL, 0, 0,
			    "tmem NEW_POOL: shared pool %016llx%016llx has flags 0x%x, not 0x%x",
			    (unsigned long long)u.hi, (unsigned long long)u.lo, join->flags,
			    op->flags);
			r = NUMEM_TMEM_EINVAL;
		} else if (join) {
			join->sharers++;
			c->pool[slot] = join;
			op->pool_id = slot;
		} else if (shared && free_shared < 0) {
			numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			            "tmem NEW_POOL: %u shared pools exist (the limit)",
			            NUMEM_TMEM_MAX_SHARED);
			r = NUMEM_TMEM_ELIMIT;
		} else {
			if (shared) {
				np->shared_slot = free_shared;
				t->shared[free_shared] = np;
				t->nr_shared++;
			}
			np->serial = ++t->pool_serial;
			c->pool[slot] = np;
			op->pool_id = slot;
			np = 0; /* installed */
		}
	}
unlock:
	tm_unlock(t);
out:
	if (np) { /* not installed: nothing of it is referenced */
		numem_kfree(t->slab, cpu, np, 0);
		if (b)
			numem_kfree(t->slab, cpu, b, 0);
		if (dd)
			numem_kfree(t->slab, cpu, dd, 0);
	}
	return r;
}

void numem__tm_pool_leave_locked(struct numem_tmem *t, struct tm_client *c, uint32_t slot,
                                 struct tm_bag *bag)
{
	/* (the slot is cleared last: c's lone pages name their pool by it) */
	struct tm_pool *p = c->pool[slot];
	if (p->shared_slot >= 0 && p->sharers > 1) {
		p->sharers--;
		for (uint32_t n = 0; n < NUMEM_MAX_NODES; n++) {
			for (uint32_t h = c->lru[n].head, next; h; h = next) {
				struct tm_page *pg = tm_pg(t, h);
				next = pg->lru_next;
				if (tm_page_pool(t, pg) == p)
					numem__tm_page_drop(t, h, pg, bag);
			}
		}
		c->pool[slot] = 0;
		return;
	}
	for (uint32_t i = 0; i < p->nbuckets; i++)
		while (p->bucket[i])
			numem__tm_obj_drop(t, p, p->bucket[i], tm_rec(t, p->bucket[i]), bag);
	c->pool[slot] = 0;
	if (p->shared_slot >= 0) {
		t->shared[p->shared_slot] = 0;
		t->nr_shared--;
	}
	*(void **)p->bucket = bag->misc;
	bag->misc = p->bucket;
	if (p->dedup) {
		*(void **)p->dedup = bag->misc;
		bag->misc = p->dedup;
	}
	*(void **)p = bag->misc;
	bag->misc = p;
	bag->used = true;
}

int numem__tm_destroy_pool(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                           struct numem_tmem_op *op, struct numem_diag *diag)
{
	struct tm_bag bag = {.pfns = ~0ull};
	int r = NUMEM_TMEM_HIT;
	tm_lock(t);
	struct tm_client *c = numem__tm_client(t, caller);
	struct tm_pool *p = c ? c->pool[op->pool_id] : 0;
	if (!c) {
		r = NUMEM_TMEM_ENOCLIENT;
	} else if (!p) {
		numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		            "tmem DESTROY_POOL: client %u has no pool %u", caller, op->pool_id);
		r = NUMEM_TMEM_EEMPTY;
	} else {
		numem__tm_pool_leave_locked(t, c, op->pool_id, &bag);
	}
	tm_unlock(t);
	numem__tm_bag_release(t, cpu, &bag);
	return r;
}

int numem__tm_pool_make_at(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client,
                           uint32_t id, uint64_t *serial, struct numem_diag *diag)
{
	struct tm_pool *np = numem_kmalloc(t->slab, cpu, sizeof(*np), diag);
	uint32_t *b = np ? numem_kmalloc(t->slab, cpu, TM_OBJ_BUCKETS * sizeof(*b), diag) : 0;
	if (!b) {
		if (np)
			numem_kfree(t->slab, cpu, np, 0);
		return NUMEM_TMEM_ENOMEM;
	}
	memset(np, 0, sizeof(*np));
	memset(b, 0, TM_OBJ_BUCKETS * sizeof(*b));
	np->flags = NUMEM_TMEM_POOL_PERSISTENT;
	np->creator = (uint16_t)client;
	np->sharers = 1;
	np->shared_slot = -1;
	np->bucket = b;
	np->nbuckets = TM_OBJ_BUCKETS;
	int r = NUMEM_TMEM_HIT;
	tm_lock(t);
	struct tm_client *c = numem__tm_client(t, client);
	if (!c)
		r = NUMEM_TMEM_ENOCLIENT;
	else if (c->pool[id])
		r = NUMEM_TMEM_EBUSY;
	else
		np->serial = *serial = ++t->pool_serial, c->pool[id] = np;
	tm_unlock(t);
	if (r < 0) {
		numem__fail(diag, NUMEM_E_BUSY, 0, 0, "tmem restore: client %u: pool %u is taken",
		            client, id);
		numem_kfree(t->slab, cpu, b, 0);
		numem_kfree(t->slab, cpu, np, 0);
	}
	return r;
}

struct tm_pool *numem__tm_pool_again(struct numem_tmem *t, uint32_t client, uint32_t id,
                                     uint64_t serial)
{
	struct tm_client *c = numem__tm_client(t, client);
	struct tm_pool *p = c && id < NUMEM_TMEM_MAX_POOLS ? c->pool[id] : 0;
	return p && p->serial == serial ? p : 0;
}

void numem__tm_pool_unmake(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client,
                           uint32_t id, uint64_t serial)
{
	struct tm_bag bag = {.pfns = ~0ull};
	tm_lock(t);
	struct tm_pool *p = numem__tm_pool_again(t, client, id, serial);
	if (p) {
		numem__tm_pool_leave_locked(t, numem__tm_client(t, client), id, &bag);
	}
	tm_unlock(t);
	numem__tm_bag_release(t, cpu, &bag);
}

void numem__tm_pool_grow(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client, uint32_t id,
                         uint64_t serial)
{
	tm_lock(t);
	struct tm_pool *p = numem__tm_pool_again(t, client, id, serial);
	uint32_t n = p ? p->nbuckets : 0;
	tm_unlock(t);
	if (!p || n >= TM_OBJ_BUCKETS_MAX)
		return;
	uint32_t want = n > TM_OBJ_BUCKETS_MAX / 4 ? TM_OBJ_BUCKETS_MAX : n * 4;
	uint32_t *nb = numem_kmalloc(t->slab, cpu, (size_t)want * sizeof(*nb), 0);
	if (!nb)
		return; /* longer chains, nothing worse */
	memset(nb, 0, (size_t)want * sizeof(*nb));
	tm_lock(t);
	p = numem__tm_pool_again(t, client, id, serial);
	uint32_t *old = nb;
	if (p && p->nbuckets == n) {
		old = p->bucket;
		numem__tm_obj_rehash(t, p, nb, want);
	}
	tm_unlock(t);
	numem_kfree(t->slab, cpu, old, 0);
}
