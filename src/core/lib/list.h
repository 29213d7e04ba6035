/*
 * list.h - intrusive doubly linked lists (core-internal).
 *
 * A list is a pointer to its first element; an element is any struct with
 * `next` and `prev` pointers to its own type (a page descriptor on a buddy
 * list, a slab header on a node cache's list).  The first element's `prev`
 * is NULL, as is the last one's `next`.  O(1) add at the head and delete;
 * the caller holds whatever lock guards the list.  Macros, so one
 * definition serves every element type.
 */
#ifndef NUMEM_CORE_LIST_H
#define NUMEM_CORE_LIST_H

/* Put `elem` first on the list whose head pointer is *headp. */
#define numem__list_add(headp, elem)                                                               \
	do {                                                                                       \
		__typeof__(elem) numem__e = (elem);                                                \
		numem__e->prev = 0;                                                                \
		numem__e->next = *(headp);                                                         \
		if (*(headp))                                                                      \
			(*(headp))->prev = numem__e;                                               \
		*(headp) = numem__e;                                                               \
	} while (0)

/* Take `elem` off the list whose head pointer is *headp; its links are
 * cleared. */
#define numem__list_del(headp, elem)                                                               \
	do {                                                                                       \
		__typeof__(elem) numem__e = (elem);                                                \
		if (numem__e->prev)                                                                \
			numem__e->prev->next = numem__e->next;                                     \
		else                                                                               \
			*(headp) = numem__e->next;                                                 \
		if (numem__e->next)                                                                \
			numem__e->next->prev = numem__e->prev;                                     \
		numem__e->next = numem__e->prev = 0;                                               \
	} while (0)

#endif /* NUMEM_CORE_LIST_H */
