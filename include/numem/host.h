/*
 * numem/host.h - the hosted build: a platform over mmap, and machines.
 *
 * Hosted only (tools, tests, benchmarks, the simulator); an embedder of the
 * core never needs this header.
 *
 * A machine is loaded from one source:
 *   - ACPI table files (SRAT, optional SLIT and HMAT), or a directory holding
 *     SRAT.bin / SLIT.bin / HMAT.bin;
 *   - this host: /sys/firmware/acpi/tables when readable, else
 *     /sys/devices/system/node;
 *   - a QEMU-style -numa description;
 *   - a built-in preset.
 * Descriptions and presets are first turned into the tables a firmware
 * would publish, and then parsed like any other tables, so every machine
 * goes through the same parser and topology builder.
 */
#ifndef NUMEM_HOST_H
#define NUMEM_HOST_H

#include <numem/acpi.h>
#include <numem/heap.h>
#include <numem/memmap.h>
#include <numem/platform.h>
#include <numem/tmem.h>
#include <numem/topo.h>

#include <stdio.h>

/* ---- Hosted platform --------------------------------------------------- */

struct numem_host;

/* Metadata allocations of at least this size are mmap'd (lazily backed). */
#define NUMEM_HOST_MMAP_MIN (64 * 1024)

struct numem_host *numem_host_create(void);
void numem_host_destroy(struct numem_host *h); /* frees all that remains */
const struct numem_platform *numem_host_platform(struct numem_host *h);
/* Messages at or below `level` go to `out` (NULL: none).  Default: warnings
 * to stderr. */
void numem_host_set_log(struct numem_host *h, FILE *out, enum numem_log_level level);
/* Bytes of metadata currently allocated, and of those actually resident. */
uint64_t numem_host_meta_bytes(const struct numem_host *h);
uint64_t numem_host_touched_bytes(const struct numem_host *h);
/* Back "physical memory" [0, bytes) with one lazily populated mapping, so
 * phys_to_virt works (zeroing, poisoning, page contents); a 1 TiB machine
 * costs only what is touched.  0 on success. */
int numem_host_back_physmem(struct numem_host *h, uint64_t bytes);
/* Replace the platform clock (e.g. a simulated one, for deterministic
 * traces).  NULL restores the monotonic clock. */
void numem_host_set_clock(struct numem_host *h, uint64_t (*clock)(void *ctx), void *ctx);
/* Monotonic clock in nanoseconds. */
uint64_t numem_host_now_ns(void);

/* ---- tmem codecs (liblz4, libzstd) -------------------------------------- */

/*
 * A tmem codec (numem_tmem_opts.codec[id]) over Debian's liblz4
 * (LZ4_compress_fast_extState, acceleration 1, a state per CPU) or libzstd
 * (level 1, a ZSTD_CCtx and ZSTD_DCtx per CPU, made on first use) for CPU
 * ids below nr_cpus.  NULL for NUMEM_TMEM_CODEC_NONE, an unknown id or no
 * memory.  Destroy after the tmem instance that uses it.
 */
struct numem_tmem_codec *numem_host_tmem_codec_create(enum numem_tmem_codec_id id,
                                                      uint32_t nr_cpus);
void numem_host_tmem_codec_destroy(struct numem_tmem_codec *codec);

/*
 * A page copy for numem_tmem_opts.copy_page: on an x86-64 CPU (and OS) with
 * AVX-512F, 64-byte aligned loads and stores (a cache-hot page -> store ->
 * page cycle in 44 ns against glibc's memcpy's 50 ns, docs/PERFORMANCE.md);
 * pointers not 64-byte aligned go to memcpy.  NULL (tmem then calls
 * memcpy) elsewhere, or when the environment sets NUMEM_TMEM_COPY to
 * anything but "auto" (memcpy, off, ...).
 */
void (*numem_host_tmem_copy_page(void))(void *dst, const void *src);

/* ---- Machine descriptions (presets, -numa) ------------------------------ */

enum numem_cpu_kind {
	NUMEM_CPU_APIC = 0,
	NUMEM_CPU_X2APIC = 1,
	NUMEM_CPU_GICC = 2,
};

#define NUMEM_SPEC_MAX_CPUS 4096
/* Total mem= of a description: 4 PiB, a 52-bit physical address space. */
#define NUMEM_SPEC_MAX_MEM (1ull << 52)

struct numem_spec_node {
	uint32_t pxm;
	uint32_t nr_cpus; /* with explicit_cpus: the count of bits in cpumask */
	uint64_t cpumask[NUMEM_SPEC_MAX_CPUS / 64]; /* explicit_cpus: CPU indices */
	uint64_t mem_bytes;                         /* RAM */
	uint64_t hotplug_bytes;                     /* hot-pluggable space, placed above all RAM */
	bool generic_initiator;                     /* an SRAT generic initiator entry names it */
	bool defined;                               /* -numa parsing: a node= argument defined it */
	/* -numa node options beyond mem= (see numa_spec.c) */
	char memdev[32];        /* memdev=ID: the size of --object ID */
	bool has_initiator;     /* initiator=N given (an HMAT then describes it) */
	uint32_t initiator_pxm; /* with has_initiator */
};

/* QEMU -numa cpu: the CPUs whose topology ids match go to node_pxm. */
struct numem_spec_cpu_arg {
	uint32_t node_pxm;
	int32_t socket, die, core, thread; /* -1: any */
};

/* QEMU -numa hmat-lb: one latency (ns) or bandwidth (bytes/s) entry. */
struct numem_spec_hmat_lb {
	uint8_t hierarchy; /* 0 memory, 1..3 cache level */
	uint8_t data_type; /* enum numem_hmat_data_type */
	uint32_t initiator_pxm, target_pxm;
	uint64_t value;
};

/* QEMU -numa hmat-cache: a memory-side cache of a node. */
struct numem_spec_hmat_cache {
	uint32_t node_pxm;
	uint64_t size;
	uint8_t level, associativity, policy; /* ACPI encodings */
	uint16_t line;
};

#define NUMEM_SPEC_MAX_OBJECTS    64
#define NUMEM_SPEC_MAX_CPU_ARGS   256
#define NUMEM_SPEC_MAX_HMAT_LB    1024
#define NUMEM_SPEC_MAX_HMAT_CACHE (3 * NUMEM_MAX_NODES)
/* QEMU's default -m: 128 MiB. */
#define NUMEM_SPEC_QEMU_DEFAULT_RAM (128ull << 20)

/* What QEMU's -m, -smp, -object and -machine say about a -numa machine. */
struct numem_spec_qemu {
	bool ram_given;  /* -m / --mem */
	uint64_t ram;    /* bytes */
	uint64_t maxmem; /* bytes; 0: none (no hot-plug window) */
	uint32_t slots;  /* memory hot-plug slots */
	bool smp_given;  /* -smp / --smp */
	uint32_t cpus, sockets, dies, cores, threads, maxcpus; /* 0: not given */
	bool q35;            /* q35's low-memory split (else pc, i440fx) */
	uint32_t nr_objects; /* -object memory-backend-*,id=,size= */
	struct {
		char id[32];
		uint64_t size;
	} object[NUMEM_SPEC_MAX_OBJECTS];
	uint32_t nr_cpu_args;
	struct numem_spec_cpu_arg cpu_arg[NUMEM_SPEC_MAX_CPU_ARGS];
	uint32_t nr_lb;
	struct numem_spec_hmat_lb lb[NUMEM_SPEC_MAX_HMAT_LB];
	uint32_t nr_cache;
	struct numem_spec_hmat_cache cache[NUMEM_SPEC_MAX_HMAT_CACHE];
};

struct numem_spec {
	char name[48];
	char description[160];
	uint32_t nr_nodes;
	struct numem_spec_node node[NUMEM_MAX_NODES];
	bool has_slit;
	uint8_t distance[NUMEM_MAX_NODES][NUMEM_MAX_NODES];
	bool no_srat;  /* a non-NUMA machine: RAM map and CPU count only */
	bool pc_holes; /* x86 holes: 640 KiB - 1 MiB and 3.5 - 4 GiB */
	bool hmat;     /* publish an HMAT derived from the distances */
	enum numem_cpu_kind cpu_kind;
	uint32_t first_cpu_id;    /* hardware id of the first CPU */
	uint32_t cpus_per_socket; /* 0: one socket per node */
	bool explicit_cpus;       /* CPU indices per node given (-numa cpus=) */
	/* -numa parsing state */
	bool dist_given[NUMEM_MAX_NODES][NUMEM_MAX_NODES];
	bool mem_given[NUMEM_MAX_NODES];
	/* QEMU machines (set by numem_spec_finish for -numa descriptions) */
	bool qemu_layout;   /* RAM, fillers and the hot-plug window as QEMU's SRAT */
	bool qemu_hmat;     /* an HMAT from -numa hmat-lb/hmat-cache/initiator= */
	bool cpu_ids_given; /* cpu_id[] holds each CPU index's APIC id */
	uint32_t cpu_id[NUMEM_SPEC_MAX_CPUS];
	struct numem_spec_qemu qemu;
};

/* Parse one QEMU -numa argument ("node,nodeid=0,cpus=0-3,mem=4G",
 * "dist,src=0,dst=1,val=21", "cpu,node-id=0,socket-id=1",
 * "hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,
 * latency=10", "hmat-cache,node-id=0,size=10K,level=1,...") into spec.
 * Errors name the argument. */
int numem_spec_add_numa_arg(struct numem_spec *spec, const char *arg, char *err, size_t errlen);
/* QEMU's -m "[size=]SIZE[,slots=N][,maxmem=SIZE]" (a number alone: MiB),
 * -smp "[cpus=]N[,maxcpus=][,sockets=][,dies=][,cores=][,threads=]" and
 * -object "memory-backend-ram,id=ID,size=SIZE" (also -file, -memfd). */
int numem_spec_set_mem(struct numem_spec *spec, const char *arg, char *err, size_t errlen);
int numem_spec_set_smp(struct numem_spec *spec, const char *arg, char *err, size_t errlen);
int numem_spec_add_object(struct numem_spec *spec, const char *arg, char *err, size_t errlen);
/* A QEMU size: digits (or 0x and hex digits) and an optional suffix B, K,
 * M, G, T, P, E (any case, powers of 1024); without one, units of
 * 1 << default_shift (QEMU: MiB for -m and mem=, bytes elsewhere). */
int numem_spec_parse_qemu_size(const char *field, const char *s, unsigned default_shift,
                               uint64_t *out, char *err, size_t errlen);
/* Check a spec built from -numa arguments (every node has memory or CPUs,
 * distances symmetric or not, ...) and fill defaults. */
int numem_spec_finish(struct numem_spec *spec, char *err, size_t errlen);

/* Built-in presets. */
struct numem_preset_info {
	const char *name;
	const char *description;
};
const struct numem_preset_info *numem_presets(size_t *count);
int numem_spec_preset(struct numem_spec *spec, const char *name);
#define NUMEM_DEFAULT_PRESET "x445"

/* ---- Machines ----------------------------------------------------------- */

/* One CPU's place as this host's sysfs tells it
 * (/sys/devices/system/cpu/cpuN/topology). */
struct numem_host_cpu_topo {
	uint32_t cpu;     /* N: the hardware id the host source gives the CPU */
	uint32_t socket;  /* physical_package_id */
	uint32_t cluster; /* cluster_id, or NUMEM_CPU_UNKNOWN */
	uint32_t core;    /* core_id */
	uint32_t thread;  /* position of N in thread_siblings_list */
};

/* Raw inputs: table bytes (owned, malloc'd) and, without an SRAT, a RAM
 * map and CPU count. */
struct numem_machine_src {
	char name[160];
	uint8_t *srat, *slit, *hmat;
	size_t srat_len, slit_len, hmat_len;
	uint8_t *madt, *pptt; /* "APIC" and "PPTT" tables, optional */
	size_t madt_len, pptt_len;
	struct numem_host_cpu_topo *cpu_topo; /* --host: sysfs cpu topology, or NULL */
	uint32_t nr_cpu_topo;
	struct numem_ram_range *ram; /* malloc'd, or NULL */
	uint32_t nr_ram;
	uint32_t nr_cpus;         /* without an SRAT */
	uint32_t cpus_per_socket; /* 0: unknown */
	char origin[32];          /* "files", "preset", "numa", "host-acpi", "host-sysfs" */
};

void numem_machine_src_free(struct numem_machine_src *src);
int numem_machine_src_files(struct numem_machine_src *src, const char *srat, const char *slit,
                            const char *hmat, char *err, size_t errlen);
/* Add a MADT and/or a PPTT file (NULL: none) to a source.  0 on success;
 * on failure src is freed and err says which file. */
int numem_machine_src_cpu_tables(struct numem_machine_src *src, const char *madt, const char *pptt,
                                 char *err, size_t errlen);
/* A directory with SRAT.bin (optional SLIT.bin, HMAT.bin, APIC.bin, PPTT.bin). */
int numem_machine_src_dir(struct numem_machine_src *src, const char *dir, char *err, size_t errlen);
int numem_machine_src_spec(struct numem_machine_src *src, const struct numem_spec *spec, char *err,
                           size_t errlen);
int numem_machine_src_host(struct numem_machine_src *src, const char *sysfs_root, char *err,
                           size_t errlen);

/* This host's node N MemTotal and MemFree (kB) from
 * <root>/devices/system/node/nodeN/meminfo (root NULL: /sys); 0 or -1. */
int numem_host_node_meminfo(const char *root, uint32_t node, uint64_t *total_kb, uint64_t *free_kb);
/* numactl --hardware of this host from sysfs (sizes from meminfo, as
 * numactl); the node count, or -1 without node directories. */
int numem_host_report_numactl(FILE *out, const char *root);

struct numem_machine_opts {
	unsigned acpi_flags; /* NUMEM_ACPI_STRICT */
	struct numem_topo_opts topo;
};

/* A loaded machine: parsed tables and topology. */
struct numem_machine {
	struct numem_machine_src src;
	struct numem_host *host;
	bool has_srat, has_slit, has_hmat, has_madt, has_pptt;
	struct numem_srat srat;
	struct numem_slit slit;
	struct numem_hmat hmat;
	struct numem_madt madt;
	struct numem_pptt pptt;
	struct numem_topo *topo;
};

/* Parse the source's tables and build the topology.  Takes ownership of
 * src (also on failure).  On failure diag says which table and offset.  A
 * table whose checksum is wrong (accepted unless NUMEM_ACPI_STRICT) is
 * reported as a warning through the host's log, as Linux warns. */
enum numem_err numem_machine_load(struct numem_machine *m, struct numem_machine_src *src,
                                  const struct numem_machine_opts *opts, struct numem_diag *diag);
void numem_machine_unload(struct numem_machine *m);

/* Write the machine's tables as a firmware would: SRAT (and SLIT, HMAT
 * when known) regenerated from the topology.  Buffers are malloc'd.  The
 * SLIT is written only when the machine's distances came from one
 * (*slit NULL otherwise). */
int numem_machine_export_tables(const struct numem_machine *m, uint8_t **srat, size_t *srat_len,
                                uint8_t **slit, size_t *slit_len, uint8_t **hmat, size_t *hmat_len);

/* The machine's CPUs as a MADT (APIC.bin): one processor entry per logical
 * CPU in CPU order (local APIC below id 255, x2APIC from 255 on, GICC for
 * Arm), UIDs from the firmware's MADT when known, else the CPU number; plus
 * the firmware MADT's disabled online-capable entries.  Read back with the
 * SRAT it gives the same CPUs in the same order.  Malloc'd; 0 on success. */
int numem_machine_export_madt(const struct numem_machine *m, uint8_t **madt, size_t *madt_len);
/* The machine's CPU topology as a PPTT (PPTT.bin): a package per socket,
 * a cluster node where clusters are known, a core per core, and thread
 * leaves when some core has more than one thread; leaves carry the UIDs
 * numem_machine_export_madt writes.  *pptt stays NULL (and 0 is returned)
 * when some CPU's socket or core is unknown: numem writes no guess. */
int numem_machine_export_pptt(const struct numem_machine *m, uint8_t **pptt, size_t *pptt_len);

/* ---- A booted system: machine, frame table, heap ------------------------- */

struct numem_system {
	struct numem_machine m;
	struct numem_frametable ft;
	struct numem_heap heap;
	bool has_ft, has_heap;
};

struct numem_system_opts {
	struct numem_machine_opts machine;
	struct numem_frametable_opts ft;
	struct numem_heap_opts heap;
	bool back_memory;      /* simulated physical memory behind phys_to_virt */
	bool reserve_metadata; /* keep each node's frame-table bytes out of its
				* RAM, as a boot allocator would: at the top of
				* the node's highest RAM range that holds them
				* (top-down, like Linux's memblock) */
};

/* Load src (ownership taken), build the frame table and the heap. */
enum numem_err numem_system_boot(struct numem_system *s, struct numem_machine_src *src,
                                 const struct numem_system_opts *opts, struct numem_diag *diag);
/* Build the frame table and heap for an already loaded s->m. */
enum numem_err numem_system_start(struct numem_system *s, const struct numem_system_opts *opts,
                                  struct numem_diag *diag);
/*
 * For views of an already loaded s->m that show no allocator: fill s->ft
 * with numem_frametable_plan's figures (no tables: has_ft stays false) and
 * free_pages[node] with the free pages numem_system_start would report
 * (RAM less the frame-table reserve with opts->reserve_metadata).  Costs
 * time and memory proportional to the topology, not to the RAM it declares.
 */
enum numem_err numem_system_plan(struct numem_system *s, const struct numem_system_opts *opts,
                                 uint64_t *free_pages, struct numem_diag *diag);
/* The same from a preset name. */
enum numem_err numem_system_boot_preset(struct numem_system *s, const char *preset,
                                        const struct numem_system_opts *opts,
                                        struct numem_diag *diag);
void numem_system_shutdown(struct numem_system *s);

/* ---- Stress: random operations checked against a reference model -------- */

struct numem_stress_opts {
	uint32_t threads; /* each owns the CPUs t, t + threads, ... */
	uint64_t ops;     /* in all */
	uint64_t seed;
	int policy;            /* -1: a random policy per operation; else a mode */
	unsigned max_order;    /* largest order asked (orders skew small) */
	uint32_t hold;         /* most blocks a thread holds at once */
	uint64_t verify_every; /* ops per thread between verifier runs (0: end only) */
	bool invalid_frees;    /* mix in frees the heap must reject */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	/* Called on the calling thread about every millisecond while the
	 * workers run, and once after they finish (e.g. to drain trace rings
	 * into a file); NULL: none. */
	void (*poll)(void *ctx);
	void *poll_ctx;
};

struct numem_stress_result {
	uint64_t allocs, frees, alloc_failures, rejected, verifies;
	enum numem_err err; /* NUMEM_OK, or the first violation */
	char msg[256];
};

/* Run the stress on a booted system.  Returns err (NUMEM_OK when every
 * allocation was disjoint from every held block, every invalid free was
 * rejected with its error, and every verifier run and the model's
 * per-node page counts agreed with the heap).  All blocks are freed and
 * the heap verified at the end. */
enum numem_err numem_stress_run(struct numem_system *s, const struct numem_stress_opts *opts,
                                struct numem_stress_result *res);

/* ---- Small helpers ------------------------------------------------------ */

/* Whole file into a malloc'd buffer.  0 on success, else errno: EISDIR for
 * a directory, EFBIG for more than NUMEM_READ_FILE_MAX bytes (a table, a
 * scenario: a device such as /dev/zero would otherwise be read forever). */
#define NUMEM_READ_FILE_MAX (16u << 20)
int numem_read_file(const char *path, uint8_t **buf, size_t *len);
int numem_write_file(const char *path, const void *buf, size_t len);
/* Create a directory and any missing parents (mkdir -p).  0 or errno
 * (ENOTDIR when a component exists and is not a directory). */
int numem_mkdir_p(const char *path);
/* "0-3,8,10-11" from a sorted list of ids. */
void numem_format_ranges(char *out, size_t cap, const uint32_t *ids, size_t n);
/* Parse "0-3,8"; returns count or -1. */
int numem_parse_ranges(const char *s, uint32_t *ids, size_t cap);
/* Parse a size: "4G", "512M", "1T", "4096" (bytes). */
int numem_parse_size(const char *s, uint64_t *out);
/*
 * Parse an unsigned number strictly: decimal digits, or "0x" and hex digits,
 * and nothing else (no sign, no blanks, no trailing characters), in
 * [min, max].  0 with *out set, or -1 with a message in err naming `field`,
 * the text and the allowed range; *out is unchanged on failure.
 */
int numem_parse_uint(const char *field, const char *s, uint64_t min, uint64_t max, uint64_t *out,
                     char *err, size_t errlen);

#endif /* NUMEM_HOST_H */
