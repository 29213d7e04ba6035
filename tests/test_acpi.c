/*
 * test_acpi.c - the SRAT, SLIT and HMAT parsers and writers.
 *
 * Tables are built with the writers and then damaged byte by byte, so each
 * test names exactly which field is wrong and which error (and offset) the
 * parser must report.  Every rejected parse must leave no allocation behind.
 */
#include "helpers.h"

DEFINE_TEST_HOST;

static uint8_t *two_node_srat(size_t *len)
{
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true), cpu_apic(1, 1, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, 2 * GIB, 1),
	                                mem_range(1, 2 * GIB, 2 * GIB, 1)};
	struct numem_srat s = {.nr_cpu = 2, .cpu = cpus, .nr_mem = 2, .mem = mems};
	return make_srat(&s, len);
}

static void expect_srat_error(const uint8_t *t, size_t len, unsigned flags, enum numem_err code,
                              uint32_t offset)
{
	struct numem_srat s;
	struct numem_diag d = {0};
	uint64_t before = numem_host_meta_bytes(test_host);
	assert_int_equal(numem_srat_parse(t, len, flags, test_plat, &s, &d), code);
	assert_int_equal(d.code, code);
	assert_string_equal(d.table, "SRAT");
	assert_int_equal(d.offset, offset);
	assert_true(strlen(d.msg) > 10);
	assert_int_equal(numem_host_meta_bytes(test_host), before); /* nothing allocated */
}

static void test_srat_roundtrip(void **state)
{
	(void)state;
	struct numem_srat_cpu cpus[] = {
	    cpu_apic(0, 0, true),
	    {.type = NUMEM_SRAT_X2APIC, .pxm = 300, .id = 4096, .enabled = true},
	    {.type = NUMEM_SRAT_GICC, .pxm = 2, .id = 0x101, .enabled = false},
	    {.type = NUMEM_SRAT_RINTC, .pxm = 3, .id = 7, .enabled = true},
	    cpu_apic(0x123456, 5, true),
	};
	struct numem_srat_mem mems[] = {mem_range(0, 0, GIB, 1),
	                                mem_range(300, 1ull << 40, 64 * GIB, 7)};
	struct numem_srat_other others[] = {
	    {.type = NUMEM_SRAT_GIC_ITS, .pxm = 1, .its_id = 9},
	    {.type = NUMEM_SRAT_GENERIC_INITIATOR,
	     .pxm = 4,
	     .device_handle_type = 1,
	     .enabled = true},
	};
	struct numem_srat in = {
	    .nr_cpu = 5, .cpu = cpus, .nr_mem = 2, .mem = mems, .nr_other = 2, .other = others};
	size_t len;
	uint8_t *t = make_srat(&in, &len);
	struct numem_srat s;
	struct numem_diag d = {0};
	assert_int_equal(numem_srat_parse(t, len, NUMEM_ACPI_STRICT, test_plat, &s, &d), NUMEM_OK);
	assert_true(s.checksum_ok);
	assert_int_equal(s.header.revision, 3);
	assert_string_equal(s.header.oem_id, "NUMEM ");
	assert_int_equal(s.nr_cpu, 5);
	assert_int_equal(s.nr_mem, 2);
	assert_int_equal(s.nr_other, 2);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(s.cpu[i].type, cpus[i].type);
		assert_int_equal(s.cpu[i].pxm, cpus[i].pxm);
		assert_int_equal(s.cpu[i].id, cpus[i].id);
		assert_int_equal(s.cpu[i].enabled, cpus[i].enabled);
	}
	assert_int_equal(s.mem[1].pxm, 300);
	assert_int_equal(s.mem[1].base, 1ull << 40);
	assert_int_equal(s.mem[1].length, 64 * GIB);
	assert_int_equal(s.mem[1].flags, 7);
	assert_int_equal(s.other[0].its_id, 9);
	assert_int_equal(s.other[1].type, NUMEM_SRAT_GENERIC_INITIATOR);
	assert_int_equal(s.other[1].pxm, 4);
	assert_true(s.other[1].enabled);
	/* Writing the parse gives the same bytes. */
	size_t len2;
	uint8_t *t2 = make_srat(&s, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(t, t2, len);
	numem_srat_release(test_plat, &s);
	free(t);
	free(t2);
}

static void test_srat_revision1_pxm(void **state)
{
	(void)state;
	struct numem_srat_cpu cpus[] = {cpu_apic(0x0201, 0, true)};
	struct numem_srat_mem mems[] = {mem_range(0x0305, 0, GIB, 1)};
	struct numem_srat in = {
	    .header.revision = 1, .nr_cpu = 1, .cpu = cpus, .nr_mem = 1, .mem = mems};
	size_t len;
	uint8_t *t = make_srat(&in, &len);
	struct numem_srat s;
	assert_int_equal(numem_srat_parse(t, len, 0, test_plat, &s, NULL), NUMEM_OK);
	/* Revision 1: only the low 8 bits are defined. */
	assert_int_equal(s.cpu[0].pxm, 0x01);
	assert_int_equal(s.mem[0].pxm, 0x05);
	numem_srat_release(test_plat, &s);
	t[8] = 2;
	fix_checksum(t, len);
	assert_int_equal(numem_srat_parse(t, len, 0, test_plat, &s, NULL), NUMEM_OK);
	assert_int_equal(s.cpu[0].pxm, 0x0201);
	assert_int_equal(s.mem[0].pxm, 0x0305);
	numem_srat_release(test_plat, &s);
	free(t);
}

static void test_srat_unknown_subtable_kept(void **state)
{
	(void)state;
	size_t len;
	uint8_t *t = two_node_srat(&len);
	/* Append a 12-byte subtable of type 0x20. */
	t = realloc(t, len + 12);
	memset(t + len, 0, 12);
	t[len] = 0x20;
	t[len + 1] = 12;
	len += 12;
	put32(t + 4, (uint32_t)len);
	fix_checksum(t, len);
	struct numem_srat s;
	assert_int_equal(numem_srat_parse(t, len, NUMEM_ACPI_STRICT, test_plat, &s, NULL),
	                 NUMEM_OK);
	assert_int_equal(s.nr_other, 1);
	assert_int_equal(s.other[0].type, 0x20);
	assert_int_equal(s.other[0].length, 12);
	assert_int_equal(s.other[0].offset, len - 12);
	numem_srat_release(test_plat, &s);
	free(t);
}

static void test_srat_bad_checksum(void **state)
{
	(void)state;
	size_t len;
	uint8_t *t = two_node_srat(&len);
	t[9] ^= 0x5a;
	expect_srat_error(t, len, NUMEM_ACPI_STRICT, NUMEM_E_CHECKSUM, 9);
	/* Lenient: accepted, flagged. */
	struct numem_srat s;
	assert_int_equal(numem_srat_parse(t, len, 0, test_plat, &s, NULL), NUMEM_OK);
	assert_false(s.checksum_ok);
	numem_srat_release(test_plat, &s);
	free(t);
}

static void test_srat_truncated(void **state)
{
	(void)state;
	size_t len;
	uint8_t *t = two_node_srat(&len);
	/* The header says more than the bytes we have. */
	expect_srat_error(t, len - 1, 0, NUMEM_E_TRUNCATE, 4);
	/* Fewer bytes than a header. */
	expect_srat_error(t, 20, 0, NUMEM_E_TRUNCATE, 20);
	/* Header length smaller than a header. */
	put32(t + 4, 30);
	fix_checksum(t, len);
	expect_srat_error(t, len, 0, NUMEM_E_TRUNCATE, 4);
	/* Room for the header but not the 12 bytes after it. */
	put32(t + 4, 40);
	fix_checksum(t, 40);
	expect_srat_error(t, len, 0, NUMEM_E_TRUNCATE, 4);
	free(t);
}

static void test_srat_zero_length(void **state)
{
	(void)state;
	size_t len;
	uint8_t *t = two_node_srat(&len);
	t[48 + 16 + 1] = 0; /* second subtable */
	fix_checksum(t, len);
	expect_srat_error(t, len, 0, NUMEM_E_ZERO_LENGTH_ENTRY, 64);
	free(t);
}

static void test_srat_entry_past_end(void **state)
{
	(void)state;
	size_t len;
	uint8_t *t = two_node_srat(&len);
	uint32_t last = (uint32_t)len - 40;
	t[last + 1] = 41;
	fix_checksum(t, len);
	expect_srat_error(t, len, 0, NUMEM_E_ENTRY_PAST_END, last);
	/* A stray byte after the last subtable. */
	uint8_t *u = malloc(len + 1);
	memcpy(u, t, len);
	t[last + 1] = 40;
	memcpy(u, t, len);
	u[len] = 0;
	put32(u + 4, (uint32_t)len + 1);
	fix_checksum(u, len + 1);
	expect_srat_error(u, len + 1, 0, NUMEM_E_ENTRY_PAST_END, (uint32_t)len);
	free(u);
	free(t);
}

static void test_srat_short_known_entry(void **state)
{
	(void)state;
	size_t len;
	uint8_t *t = two_node_srat(&len);
	/* An APIC entry claiming 8 bytes: its fields would spill into the next. */
	uint8_t *u = malloc(len);
	memcpy(u, t, 48);
	u[48] = 0;
	u[49] = 8;
	memset(u + 50, 0, 6);
	memcpy(u + 56, t + 64, len - 64);
	size_t ulen = len - 8;
	put32(u + 4, (uint32_t)ulen);
	fix_checksum(u, ulen);
	expect_srat_error(u, ulen, 0, NUMEM_E_BAD_ENTRY, 48);
	free(u);
	free(t);
}

static void test_srat_wrong_signature(void **state)
{
	(void)state;
	size_t len;
	uint8_t *t = two_node_srat(&len);
	memcpy(t, "SLIT", 4);
	expect_srat_error(t, len, 0, NUMEM_E_SIGNATURE, 0);
	struct numem_diag d = {0};
	struct numem_srat s;
	assert_int_equal(numem_srat_parse(NULL, 0, 0, test_plat, &s, &d), NUMEM_E_INVAL);
	free(t);
}

static void test_slit_parse(void **state)
{
	(void)state;
	const uint8_t m[9] = {10, 20, 0xff, 20, 10, 30, 0xff, 30, 10};
	size_t len;
	uint8_t *t = make_slit(3, m, &len);
	struct numem_slit s;
	struct numem_diag d = {0};
	assert_int_equal(numem_slit_parse(t, len, NUMEM_ACPI_STRICT, test_plat, &s, &d), NUMEM_OK);
	assert_int_equal(s.localities, 3);
	assert_int_equal(numem_slit_distance(&s, 0, 2), 0xff);
	assert_int_equal(numem_slit_distance(&s, 2, 1), 30);
	numem_slit_release(test_plat, &s);

	/* Locality count needing more bytes than the table has. */
	uint64_t before = numem_host_meta_bytes(test_host);
	t[36] = 4;
	fix_checksum(t, len);
	assert_int_equal(numem_slit_parse(t, len, 0, test_plat, &s, &d), NUMEM_E_TRUNCATE);
	assert_string_equal(d.table, "SLIT");
	assert_int_equal(d.offset, 36);
	/* A count so large that n*n overflows. */
	memset(t + 36, 0xff, 8);
	fix_checksum(t, len);
	assert_int_equal(numem_slit_parse(t, len, 0, test_plat, &s, &d), NUMEM_E_TRUNCATE);
	memset(t + 36, 0, 8);
	t[40] = 1; /* 2^32 localities */
	fix_checksum(t, len);
	assert_int_equal(numem_slit_parse(t, len, 0, test_plat, &s, &d), NUMEM_E_TRUNCATE);
	/* Too short for the count itself. */
	put32(t + 4, 40);
	fix_checksum(t, 40);
	assert_int_equal(numem_slit_parse(t, 40, 0, test_plat, &s, &d), NUMEM_E_TRUNCATE);
	assert_int_equal(numem_host_meta_bytes(test_host), before);
	free(t);
}

static void test_slit_padding_ignored(void **state)
{
	(void)state;
	const uint8_t m[1] = {10};
	size_t len;
	uint8_t *t = make_slit(1, m, &len);
	/* 108 bytes for one locality, as some firmware publishes. */
	uint8_t *u = calloc(1, 108);
	memcpy(u, t, len);
	put32(u + 4, 108);
	fix_checksum(u, 108);
	struct numem_slit s;
	assert_int_equal(numem_slit_parse(u, 108, NUMEM_ACPI_STRICT, test_plat, &s, NULL),
	                 NUMEM_OK);
	assert_int_equal(s.localities, 1);
	numem_slit_release(test_plat, &s);
	free(u);
	free(t);
}

static void test_hmat_roundtrip_and_errors(void **state)
{
	(void)state;
	uint32_t ip[2] = {0, 1}, tp[3] = {0, 1, 2};
	uint16_t e[6] = {100, 200, 300, 210, 110, 310};
	struct numem_hmat_mpda mp[1] = {{.flags = 1, .initiator_pxm = 1, .memory_pxm = 2}};
	struct numem_hmat_lbi lbi[1] = {{.data_type = NUMEM_HMAT_ACCESS_LATENCY,
	                                 .nr_initiators = 2,
	                                 .nr_targets = 3,
	                                 .base_unit = 1000,
	                                 .initiator_pxm = ip,
	                                 .target_pxm = tp,
	                                 .entry = e}};
	struct numem_hmat_cache c[1] = {{.memory_pxm = 2, .size = GIB, .attributes = 0x401111}};
	struct numem_hmat in = {
	    .nr_mpda = 1, .mpda = mp, .nr_lbi = 1, .lbi = lbi, .nr_cache = 1, .cache = c};
	size_t len;
	assert_int_equal(numem_hmat_write(&in, NULL, 0, &len), NUMEM_OK);
	uint8_t *t = malloc(len);
	assert_int_equal(numem_hmat_write(&in, t, len, &len), NUMEM_OK);
	struct numem_hmat h;
	struct numem_diag d = {0};
	assert_int_equal(numem_hmat_parse(t, len, NUMEM_ACPI_STRICT, test_plat, &h, &d), NUMEM_OK);
	assert_int_equal(h.nr_mpda, 1);
	assert_int_equal(h.mpda[0].memory_pxm, 2);
	assert_int_equal(h.nr_lbi, 1);
	assert_int_equal(h.lbi[0].nr_targets, 3);
	assert_int_equal(h.lbi[0].entry[5], 310);
	assert_int_equal(h.lbi[0].target_pxm[2], 2);
	assert_int_equal(h.nr_cache, 1);
	assert_int_equal(h.cache[0].size, GIB);
	numem_hmat_release(test_plat, &h);

	/* LBI counts larger than its length. */
	uint32_t lbi_off = 40 + 40;
	put32(t + lbi_off + 16, 1000);
	fix_checksum(t, len);
	assert_int_equal(numem_hmat_parse(t, len, 0, test_plat, &h, &d), NUMEM_E_TRUNCATE);
	assert_int_equal(d.offset, lbi_off + 12);
	put32(t + lbi_off + 16, 3);
	/* A structure of length 0. */
	put32(t + lbi_off + 4, 0);
	fix_checksum(t, len);
	assert_int_equal(numem_hmat_parse(t, len, 0, test_plat, &h, &d), NUMEM_E_ZERO_LENGTH_ENTRY);
	assert_int_equal(d.offset, lbi_off);
	/* A structure running past the end. */
	put32(t + lbi_off + 4, (uint32_t)len);
	fix_checksum(t, len);
	assert_int_equal(numem_hmat_parse(t, len, 0, test_plat, &h, &d), NUMEM_E_ENTRY_PAST_END);
	free(t);
}

/*
 * Issue 7, item 1: a 128-byte HMAT whose one latency/bandwidth structure
 * (length 88) declares 4294705158 initiators and 2147614722 targets.  The
 * naive 64-bit sum 32 + 4*ni + 4*nt + 2*ni*nt wraps to exactly 88, so the
 * old check passed and the decoder read past the table and wrote ni*nt
 * entries into a small block.  Each count must be bounded by the length
 * before it is multiplied; the rejection names the counts' offset and
 * allocates nothing.  Neighbouring counts (each alone too big, product just
 * too big, exactly fitting) pin the bound from both sides.
 */
static uint8_t *hmat_one_lbi(uint32_t slen, uint32_t ni, uint32_t nt, size_t *len)
{
	*len = 40 + slen;
	uint8_t *t = calloc(1, *len);
	memcpy(t, "HMAT", 4);
	put32(t + 4, (uint32_t)*len);
	t[8] = 2; /* revision */
	memcpy(t + 10, "NUMEMT", 6);
	t[40] = NUMEM_HMAT_LBI;
	put32(t + 44, slen);
	put32(t + 52, ni);
	put32(t + 56, nt);
	fix_checksum(t, *len);
	return t;
}

static void expect_hmat_lbi(uint32_t slen, uint32_t ni, uint32_t nt, enum numem_err want)
{
	size_t len;
	uint8_t *t = hmat_one_lbi(slen, ni, nt, &len);
	struct numem_hmat h;
	struct numem_diag d = {0};
	uint64_t before = numem_host_meta_bytes(test_host);
	assert_int_equal(numem_hmat_parse(t, len, NUMEM_ACPI_STRICT, test_plat, &h, &d), want);
	if (want == NUMEM_OK) {
		assert_int_equal(h.nr_lbi, 1);
		assert_int_equal(h.lbi[0].nr_initiators, ni);
		assert_int_equal(h.lbi[0].nr_targets, nt);
		numem_hmat_release(test_plat, &h);
	} else {
		assert_int_equal(d.code, want);
		assert_string_equal(d.table, "HMAT");
		assert_int_equal(d.offset, 40 + 12);
		assert_non_null(strstr(d.msg, "initiators"));
		assert_int_equal(numem_host_meta_bytes(test_host), before);
	}
	free(t);
}

static void test_hmat_lbi_count_overflow(void **state)
{
	(void)state;
	/* the crafted table of the review: wraps to 88 in 64 bits */
	assert_int_equal(
	    32 + 4ull * 4294705158u + 4ull * 2147614722u + 2ull * 4294705158u * 2147614722u, 88);
	expect_hmat_lbi(88, 4294705158u, 2147614722u, NUMEM_E_TRUNCATE);
	expect_hmat_lbi(88, 0xffffffffu, 0xffffffffu, NUMEM_E_TRUNCATE);
	expect_hmat_lbi(88, 0xffffffffu, 0, NUMEM_E_TRUNCATE);
	expect_hmat_lbi(88, 0, 0x40000000u, NUMEM_E_TRUNCATE);
	/* 32 + 4*4 + 4*3 + 2*12 = 84 fits in 88; 4 x 4 (96) does not */
	expect_hmat_lbi(88, 4, 3, NUMEM_OK);
	expect_hmat_lbi(88, 4, 4, NUMEM_E_TRUNCATE);
	expect_hmat_lbi(88, 0, 14, NUMEM_OK);
	expect_hmat_lbi(88, 0, 15, NUMEM_E_TRUNCATE);
	/* The writer sized the same structure with the same wrapping sum: it
	 * reported 128 bytes for the review's counts.  Now it refuses them. */
	uint32_t ip[1] = {0}, tp[1] = {0};
	uint16_t e[1] = {0};
	struct numem_hmat_lbi l = {.nr_initiators = 4294705158u,
	                           .nr_targets = 2147614722u,
	                           .initiator_pxm = ip,
	                           .target_pxm = tp,
	                           .entry = e};
	struct numem_hmat in = {.nr_lbi = 1, .lbi = &l};
	size_t len = 0;
	assert_int_equal(numem_hmat_write(&in, NULL, 0, &len), NUMEM_E_RANGE);
	l.nr_initiators = 1u << 30;
	l.nr_targets = 0;
	assert_int_equal(numem_hmat_write(&in, NULL, 0, &len), NUMEM_E_RANGE);
	l.nr_initiators = l.nr_targets = 1;
	assert_int_equal(numem_hmat_write(&in, NULL, 0, &len), NUMEM_OK);
	assert_int_equal(len, 40 + 32 + 4 + 4 + 2);
}

static void test_writer_nospace(void **state)
{
	(void)state;
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true)};
	struct numem_srat s = {.nr_cpu = 1, .cpu = cpus};
	uint8_t small[10];
	size_t len;
	assert_int_equal(numem_srat_write(&s, small, sizeof(small), &len), NUMEM_E_NOSPACE);
	assert_int_equal(len, 48 + 16);
}

static void test_err_names(void **state)
{
	(void)state;
	assert_string_equal(numem_err_name(NUMEM_E_CHECKSUM), "checksum");
	assert_string_equal(numem_err_name(NUMEM_E_TRUNCATE), "truncate");
	assert_string_equal(numem_err_name(NUMEM_E_ZERO_LENGTH_ENTRY), "zero-length-entry");
	assert_string_equal(numem_err_name(NUMEM_E_ENTRY_PAST_END), "entry-past-end");
	assert_string_equal(numem_err_name((enum numem_err)999), "unknown-error");
	for (int e = 0; e < NUMEM_E_COUNT; e++)
		assert_non_null(numem_err_name((enum numem_err)e));
}

/* A table header for hand-built tables. */
static size_t put_header(uint8_t *t, const char *sig, size_t len)
{
	memset(t, 0, 36);
	memcpy(t, sig, 4);
	put32(t + 4, (uint32_t)len);
	t[8] = 1;
	return 36;
}

/* MADT: each processor type decoded, the ACPI 5.1 GICC size accepted, other
 * structures counted, Online Capable read from the right bit per type. */
static void test_madt_decode(void **state)
{
	(void)state;
	uint8_t t[256] = {0};
	size_t off = put_header(t, "APIC", 0);
	put32(t + off, 0xfee00000);
	off += 8;
	/* local APIC: uid 3, APIC id 7, disabled + online capable */
	t[off] = 0, t[off + 1] = 8, t[off + 2] = 3, t[off + 3] = 7, put32(t + off + 4, 2);
	off += 8;
	/* I/O APIC (type 1, 12 bytes) */
	t[off] = 1, t[off + 1] = 12;
	off += 12;
	/* x2APIC: id 0x1234, enabled, uid 9 */
	t[off] = 9, t[off + 1] = 16, put32(t + off + 4, 0x1234), put32(t + off + 8, 1),
	put32(t + off + 12, 9);
	off += 16;
	/* GICC, 76 bytes (ACPI 5.1): uid 5, flags bit 1 (not online capable for
	 * GICC: that is bit 3), MPIDR 0x10203 */
	t[off] = 0xb, t[off + 1] = 76, put32(t + off + 8, 5), put32(t + off + 12, 2);
	put32(t + off + 68, 0x10203);
	off += 76;
	put32(t + 4, (uint32_t)off);
	fix_checksum(t, off);
	struct numem_madt m;
	struct numem_diag d = {0};
	assert_int_equal(numem_madt_parse(t, off, NUMEM_ACPI_STRICT, test_plat, &m, &d), NUMEM_OK);
	assert_int_equal(m.local_apic_address, 0xfee00000);
	assert_int_equal(m.nr_cpu, 3);
	assert_int_equal(m.nr_other, 1);
	assert_int_equal(m.cpu[0].id, 7);
	assert_int_equal(m.cpu[0].uid, 3);
	assert_false(m.cpu[0].enabled);
	assert_true(m.cpu[0].online_capable);
	assert_int_equal(m.cpu[0].offset, 44);
	assert_int_equal(m.cpu[1].id, 0x1234);
	assert_int_equal(m.cpu[1].uid, 9);
	assert_true(m.cpu[1].enabled);
	assert_int_equal(m.cpu[2].id, 5);
	assert_int_equal(m.cpu[2].mpidr, 0x10203);
	assert_false(m.cpu[2].enabled);
	assert_false(m.cpu[2].online_capable);
	numem_madt_release(test_plat, &m);
	/* A GICC of 72 bytes has no MPIDR: bad-entry at its offset. */
	uint64_t before = numem_host_meta_bytes(test_host);
	t[off - 76 + 1] = 72;
	put32(t + 4, (uint32_t)off - 4);
	fix_checksum(t, off - 4);
	assert_int_equal(numem_madt_parse(t, off - 4, 0, test_plat, &m, &d), NUMEM_E_BAD_ENTRY);
	assert_int_equal(d.offset, off - 76);
	assert_string_equal(d.table, "APIC");
	assert_int_equal(numem_host_meta_bytes(test_host), before);
}

/* PPTT of ACPI 6.2 (no Leaf flag): leaves are the nodes nobody names as
 * parent; a package of 2 cores with 2 threads each, found through the MADT. */
static void test_pptt_without_leaf_flag(void **state)
{
	(void)state;
	uint8_t t[512] = {0};
	size_t off = put_header(t, "PPTT", 0);
	uint32_t pkg = (uint32_t)off;
	t[off] = 0, t[off + 1] = 20, put32(t + off + 4, NUMEM_PPTT_PHYSICAL_PACKAGE);
	off += 20;
	uint32_t uid = 0;
	for (int c = 0; c < 2; c++) {
		uint32_t core = (uint32_t)off;
		t[off] = 0, t[off + 1] = 20, put32(t + off + 8, pkg);
		off += 20;
		for (int th = 0; th < 2; th++) {
			t[off] = 0, t[off + 1] = 20;
			put32(t + off + 4, NUMEM_PPTT_THREAD | NUMEM_PPTT_ID_VALID);
			put32(t + off + 8, core), put32(t + off + 12, uid++);
			off += 20;
		}
	}
	put32(t + 4, (uint32_t)off);
	fix_checksum(t, off);
	struct numem_pptt p;
	struct numem_diag d = {0};
	assert_int_equal(numem_pptt_parse(t, off, NUMEM_ACPI_STRICT, test_plat, &p, &d), NUMEM_OK);
	assert_int_equal(p.nr_node, 7);
	assert_int_equal(p.node[1].parent, 0);
	assert_true(p.node[1].is_parent);
	assert_false(p.node[2].is_parent);
	/* Threads 0 and 2 of the MADT order are the first threads. */
	struct numem_madt_cpu mc[4];
	for (uint32_t i = 0; i < 4; i++)
		mc[i] = (struct numem_madt_cpu){.type = NUMEM_MADT_LOCAL_APIC,
		                                .enabled = true,
		                                .id = i,
		                                .uid = (i % 2) * 2 + i / 2};
	struct numem_madt madt = {.nr_cpu = 4, .cpu = mc};
	struct numem_ram_range ram = {0, GIB};
	struct numem_topo_input in = {.ram = &ram, .nr_ram = 1, .madt = &madt, .pptt = &p};
	struct numem_topo *topo;
	assert_int_equal(numem_topo_build(test_plat, &in, NULL, &topo, &d), NUMEM_OK);
	assert_int_equal(topo->nr_cpus, 4);
	assert_int_equal(topo->cpu_topo_source, NUMEM_CPU_TOPO_PPTT);
	assert_int_equal(topo->cpu[1].uid, 2); /* core 1, thread 0 */
	assert_int_equal(topo->cpu[1].core, 1);
	assert_int_equal(topo->cpu[1].thread, 0);
	assert_int_equal(topo->cpu[2].core, 0);
	assert_int_equal(topo->cpu[2].thread, 1);
	assert_int_equal(topo->cpu[3].socket, 0);
	assert_int_equal(topo->cpu[3].cluster, NUMEM_CPU_UNKNOWN); /* core under the package */
	numem_topo_release(topo);
	numem_pptt_release(test_plat, &p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    HOST_TEST(test_srat_roundtrip),
	    HOST_TEST(test_madt_decode),
	    HOST_TEST(test_pptt_without_leaf_flag),
	    HOST_TEST(test_srat_revision1_pxm),
	    HOST_TEST(test_srat_unknown_subtable_kept),
	    HOST_TEST(test_srat_bad_checksum),
	    HOST_TEST(test_srat_truncated),
	    HOST_TEST(test_srat_zero_length),
	    HOST_TEST(test_srat_entry_past_end),
	    HOST_TEST(test_srat_short_known_entry),
	    HOST_TEST(test_srat_wrong_signature),
	    HOST_TEST(test_slit_parse),
	    HOST_TEST(test_slit_padding_ignored),
	    HOST_TEST(test_hmat_roundtrip_and_errors),
	    HOST_TEST(test_hmat_lbi_count_overflow),
	    HOST_TEST(test_writer_nospace),
	    HOST_TEST(test_err_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
