/*
 * progress.h - a progress bar on stderr when it is a terminal, nothing on a
 * pipe.
 */
#ifndef NUMEM_CLI_PROGRESS_H
#define NUMEM_CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

struct progress {
	const char *what;
	int last; /* last percentage drawn, -1 before the first */
	int tty;
};

static inline void progress_init(struct progress *p, const char *what)
{
	p->what = what;
	p->last = -1;
	p->tty = isatty(2);
}

static inline void progress_update(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	if (!p->tty || !total)
		return;
	int pct = (int)(done * 100 / total);
	if (pct > 100)
		pct = 100;
	if (pct == p->last)
		return;
	p->last = pct;
	char bar[41];
	for (int i = 0; i < 40; i++)
		bar[i] = i < pct * 40 / 100 ? '#' : ' ';
	bar[40] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%%", p->what, bar, pct);
	if (pct == 100)
		fprintf(stderr, "\r%*s\r", 60, "");
	fflush(stderr);
}

#endif
