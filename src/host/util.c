/*
 * util.c - small hosted helpers: whole-file I/O, cpu-list ranges, sizes.
 */
#include <numem/host.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int numem_mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);
	if (!n || n >= sizeof(buf))
		return n ? ENAMETOOLONG : ENOENT;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = '\0';
		struct stat st;
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return errno;
		if (stat(buf, &st) != 0)
			return errno;
		if (!S_ISDIR(st.st_mode))
			return ENOTDIR;
		if (!c)
			return 0;
		*p = c;
	}
}

int numem_read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno;
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return EISDIR;
	}
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);
	if (!b) {
		fclose(f);
		return ENOMEM;
	}
	for (;;) {
		if (n > NUMEM_READ_FILE_MAX) { /* /dev/zero would never end */
			free(b);
			fclose(f);
			return EFBIG;
		}
		if (n == cap) {
			uint8_t *nb = cap > (SIZE_MAX / 2) ? NULL : realloc(b, cap * 2);
			if (!nb) {
				free(b);
				fclose(f);
				return ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		size_t got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	int err = ferror(f) ? EIO : 0;
	fclose(f);
	if (err) {
		free(b);
		return err;
	}
	*buf = b;
	*len = n;
	return 0;
}

int numem_write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return errno;
	size_t put = fwrite(buf, 1, len, f);
	int err = put != len ? EIO : 0;
	if (fclose(f) != 0 && !err)
		err = errno;
	return err;
}

void numem_format_ranges(char *out, size_t cap, const uint32_t *ids, size_t n)
{
	size_t len = 0;
	if (cap)
		out[0] = '\0';
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && ids[j + 1] == ids[j] + 1)
			j++;
		int w = j == i ? snprintf(out + len, cap > len ? cap - len : 0, "%s%u",
		                          len ? "," : "", ids[i])
		               : snprintf(out + len, cap > len ? cap - len : 0, "%s%u-%u",
		                          len ? "," : "", ids[i], ids[j]);
		if (w > 0)
			len += (size_t)w;
		i = j + 1;
	}
}

int numem_parse_ranges(const char *s, uint32_t *ids, size_t cap)
{
	size_t n = 0;
	const char *p = s;
	while (*p) {
		char *end;
		if (!isdigit((unsigned char)*p))
			return -1;
		unsigned long a = strtoul(p, &end, 10), b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			b = strtoul(p, &end, 10);
			p = end;
		}
		if (b < a || b > 0xffffffffu)
			return -1;
		for (unsigned long v = a; v <= b; v++) {
			if (n >= cap)
				return -1;
			ids[n++] = (uint32_t)v;
		}
		if (*p == ',' || *p == ':')
			p++;
		else if (*p)
			return -1;
	}
	return (int)n;
}

int numem_parse_uint(const char *field, const char *s, uint64_t min, uint64_t max, uint64_t *out,
                     char *err, size_t errlen)
{
	unsigned base = 10;
	const char *p = s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	uint64_t v = 0;
	bool overflow = false;
	if (!*p)
		goto bad;
	for (; *p; p++) {
		unsigned d;
		if (isdigit((unsigned char)*p))
			d = (unsigned)(*p - '0');
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		else
			goto bad;
		if (v > (UINT64_MAX - d) / base)
			overflow = true;
		else
			v = v * base + d;
	}
	if (overflow || v < min || v > max) {
		snprintf(err, errlen, "%s: %s is out of range (want %llu..%llu)", field, s,
		         (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
bad:
	snprintf(err, errlen, "%s: \"%s\" is not an unsigned number (want %llu..%llu)", field, s,
	         (unsigned long long)min, (unsigned long long)max);
	return -1;
}

int numem_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	case 'P':
		shift = 50;
		break;
	default:
		return -1;
	}
	if (*end) {
		end++;
		if (toupper((unsigned char)*end) == 'B' || toupper((unsigned char)*end) == 'I')
			end++;
		if (toupper((unsigned char)*end) == 'B')
			end++;
		if (*end)
			return -1;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}
