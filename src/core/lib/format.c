/*
 * format.c - a small vsnprintf for diagnostics, and the error-name table.
 *
 * The core cannot call libc's printf family, yet every error must say what
 * and where in a sentence.  This formatter covers the conversions the core
 * uses (%s %c %d %u %x %p %%, modifiers l ll z, width, 0 flag) and nothing
 * more; an unknown conversion is copied through verbatim.
 */
#include "internal.h"

static const char *const err_names[NUMEM_E_COUNT] = {
    [NUMEM_OK] = "ok",
    [NUMEM_E_INVAL] = "invalid-argument",
    [NUMEM_E_NOMEM] = "no-memory",
    [NUMEM_E_SIGNATURE] = "signature",
    [NUMEM_E_CHECKSUM] = "checksum",
    [NUMEM_E_TRUNCATE] = "truncate",
    [NUMEM_E_ZERO_LENGTH_ENTRY] = "zero-length-entry",
    [NUMEM_E_ENTRY_PAST_END] = "entry-past-end",
    [NUMEM_E_BAD_ENTRY] = "bad-entry",
    [NUMEM_E_OVERLAP] = "overlap",
    [NUMEM_E_UNCOVERED] = "ram-not-covered",
    [NUMEM_E_TOO_MANY_NODES] = "too-many-nodes",
    [NUMEM_E_NO_MEMORY] = "no-memory-ranges",
    [NUMEM_E_RANGE] = "out-of-range",
    [NUMEM_E_NOSPACE] = "no-space",
    [NUMEM_E_UNSUPPORTED] = "unsupported",
    [NUMEM_E_NO_PAGES] = "no-pages",
    [NUMEM_E_DOUBLE_FREE] = "double-free",
    [NUMEM_E_NOT_ALLOCATED] = "not-allocated",
    [NUMEM_E_BAD_ORDER] = "bad-order",
    [NUMEM_E_MISALIGNED] = "misaligned",
    [NUMEM_E_CORRUPT] = "corrupt",
    [NUMEM_E_OWNER] = "wrong-owner",
    [NUMEM_E_BUSY] = "busy",
};

const char *numem_err_name(enum numem_err err)
{
	if ((unsigned)err >= NUMEM_E_COUNT)
		return "unknown-error";
	return err_names[err];
}

struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, uint64_t v, bool neg, unsigned base, unsigned width, char pad)
{
	char tmp[24];
	unsigned n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	while (width > n) {
		put(o, pad);
		width--;
	}
	while (n)
		put(o, tmp[--n]);
}

size_t numem__vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = {buf, cap, 0};
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		const char *start = p++;
		char pad = ' ';
		unsigned width = 0, longs = 0;
		bool size = false;
		if (*p == '0') {
			pad = '0';
			p++;
		}
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (unsigned)(*p++ - '0');
		while (*p == 'l') {
			longs++;
			p++;
		}
		if (*p == 'z') {
			size = true;
			p++;
		}
		switch (*p) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			size_t n = 0;
			while (s[n])
				n++;
			for (; width > n; width--)
				put(&o, ' ');
			while (*s)
				put(&o, *s++);
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = longs >= 2   ? va_arg(ap, long long)
			            : longs == 1 ? va_arg(ap, long)
			            : size       ? (int64_t)va_arg(ap, size_t)
			                         : va_arg(ap, int);
			put_num(&o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, 10, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = longs >= 2   ? va_arg(ap, unsigned long long)
			             : longs == 1 ? va_arg(ap, unsigned long)
			             : size       ? va_arg(ap, size_t)
			                          : va_arg(ap, unsigned);
			put_num(&o, v, false, *p == 'x' ? 16 : 10, width, pad);
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			put(&o, '0');
			put(&o, 'x');
			put_num(&o, v, false, 16, 0, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default: /* unknown: copy through */
			for (const char *q = start; q <= p && *q; q++)
				put(&o, *q);
			if (!*p)
				p--;
			break;
		}
	}
	if (cap)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len;
}

size_t numem__fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = numem__vfmt(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

enum numem_err numem__fail(struct numem_diag *diag, enum numem_err code, const char *table,
                           uint32_t offset, const char *fmt, ...)
{
	if (!diag)
		return code;
	diag->code = code;
	diag->offset = offset;
	memset(diag->table, 0, sizeof(diag->table));
	if (table)
		for (int i = 0; i < 4 && table[i]; i++)
			diag->table[i] = table[i];
	va_list ap;
	va_start(ap, fmt);
	numem__vfmt(diag->msg, sizeof(diag->msg), fmt, ap);
	va_end(ap);
	return code;
}

void numem__log(const struct numem_platform *plat, enum numem_log_level level, const char *fmt, ...)
{
	if (!plat || !plat->log)
		return;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	numem__vfmt(line, sizeof(line), fmt, ap);
	va_end(ap);
	plat->log(plat->ctx, level, line);
}
