/*
 * boot.h - the boot-time frame table for the views (see boot.c).
 */
#ifndef NUMEM_CLI_BOOT_H
#define NUMEM_CLI_BOOT_H

#include <numem/host.h>

/* Build a deferred frame table and fill free_pages[node]. 0 on success. */
int boot_frametable(struct numem_machine *m, struct numem_frametable *ft, uint64_t *free_pages);

#endif
