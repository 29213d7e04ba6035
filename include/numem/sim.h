/*
 * numem/sim.h - the simulator: a scenario of guests and phases run on a
 * machine, deterministically (one seed, one result), once per fallback
 * strategy, with reports in text, JSON and pictures (hosted).
 *
 * A scenario names a machine (any source numem accepts), domains (memory,
 * vcpus, and either automatic placement, confinement to a node, vcpus
 * spread over given CPUs, or a vNUMA layout) and timed phases:
 *   boot      create the domains and populate them to their memory
 *   churn     N operations: domains balloon by a few extents (mixed
 *             orders) up and down, and the host allocates and frees pages
 *             (local policy, mixed orders) on random CPUs
 *   balloon   one domain converges to a share of its memory
 *   pressure  a "hog" domain takes memory until the machine is N% full
 *   destroy   one domain (or the hog) is destroyed
 *   replay    the alloc and free events of a trace file, replayed on the
 *             CPUs and with the orders they name (frees follow the pfns
 *             the replay itself got for each recorded allocation)
 *   relayout  live NUMA relayout of one domain's memory (the physical span
 *             its frames occupy): striped over nodes in blocks, or pushed
 *             to another node, committed between two operations while
 *             the other guests and the host keep their memory; optionally
 *             the domain migrates its pending frames at once.  Its figures
 *             and the address space before and after are in the run's
 *             relayout records; samples carry the pending pages
 *   tmem      N guest page accesses of the domains that have a tmem
 *             frontend (sim/tmem.c): a cleancache-like page cache over an
 *             ephemeral pool, a frontswap-like swap over a persistent one,
 *             or both; each guest's working set exceeds its memory
 * The engine samples free memory per node, pending relayout pages, tmem's
 * pools and the local-allocation share every `sample_every` operations
 * (and right before and after a relayout commit).
 */
#ifndef NUMEM_SIM_H
#define NUMEM_SIM_H

#include <numem/domain.h>
#include <numem/host.h>
#include <stdio.h>

#define SIM_MAX_DOMAINS        16
#define SIM_MAX_PHASES         16
#define SIM_MAX_SAMPLES        512
#define SIM_MAP_BUCKETS        256  /* address-space picture: buckets per node */
#define SIM_MAP_ELSEWHERE      0xff /* map class: the bucket is another node's */
#define SIM_RELAYOUT_MAX_NODES 8    /* nodes a relayout phase stripes over */
#define SIM_MAX_RELAYOUTS      4    /* relayout phases a run records */

enum sim_placement { SIM_PLACE_AUTO, SIM_PLACE_NODE, SIM_PLACE_PINNED, SIM_PLACE_VNUMA };

/* A guest's tmem frontend (sim/tmem.c). */
enum sim_tmem_frontend {
	SIM_TMEM_NONE = 0,
	SIM_TMEM_CLEANCACHE = 1, /* file pages: clean evictions to an ephemeral pool */
	SIM_TMEM_FRONTSWAP = 2,  /* anonymous pages: swap-outs to a persistent pool */
	SIM_TMEM_MIXED = 3,      /* half file pages, half anonymous: both pools */
};
/* A tmem guest's working set and memory: 64 GiB at most (the frontend
 * keeps a few bytes per page of each). */
#define SIM_TMEM_MAX_MB (1ull << 16)
/* Stable names: "none", "cleancache", "frontswap", "mixed". */
const char *sim_tmem_frontend_name(enum sim_tmem_frontend f);

struct sim_domain_spec {
	char name[32];
	uint64_t mem_mb;
	uint32_t vcpus;
	enum sim_placement placement;
	numem_nid_t node;             /* SIM_PLACE_NODE */
	int32_t pin[NUMEM_MAX_VCPUS]; /* SIM_PLACE_PINNED */
	uint32_t nr_vnodes;           /* SIM_PLACE_VNUMA */
	struct {
		uint64_t mem_mb;
		numem_nid_t pnode;
		uint32_t vcpus;
	} vnode[NUMEM_MAX_VNODES];
	enum sim_tmem_frontend tmem; /* SIM_TMEM_NONE: no workload, no tmem client */
	uint64_t working_set_mb;     /* tmem frontends: MiB the workload touches, more
				      * than mem_mb so the guest cannot hold it all
				      * (0: 1.5 x mem_mb) */
};

enum sim_phase_kind {
	SIM_BOOT,
	SIM_CHURN,
	SIM_BALLOON,
	SIM_PRESSURE,
	SIM_DESTROY,
	SIM_REPLAY,
	SIM_RELAYOUT,
	SIM_TMEM,
};
/* Stable names, as scenarios spell them: "boot", "churn", "balloon",
 * "pressure", "destroy", "replay", "relayout", "tmem" ("?" out of range). */
const char *sim_phase_name(enum sim_phase_kind k);

struct sim_phase {
	enum sim_phase_kind kind;
	uint64_t ops;     /* churn; tmem: guest page accesses */
	char domain[32];  /* balloon, destroy ("hog" for the pressure hog) */
	uint32_t percent; /* balloon: target share; pressure: machine fullness */
	char file[256];   /* replay: a trace file's alloc and free events */
	/* churn: relative weight of each order 0..10 (all 0: the default mix,
	 * 70% order 0, 20% orders 1-3, 10% order 9) */
	uint32_t order_weight[NUMEM_NR_ORDERS];
	/* relayout: stripe over nodes[0..nr_nodes) in blocks of block_pages,
	 * or (stripe false) push to nodes[0]; migrate: the domain moves its
	 * pending frames at once */
	bool stripe, migrate;
	uint32_t nr_nodes;
	numem_nid_t nodes[SIM_RELAYOUT_MAX_NODES];
	uint64_t block_pages;
};

struct sim_scenario {
	char name[64];
	char machine[256]; /* a preset name or a table directory */
	uint64_t seed;
	uint64_t sample_every;
	uint32_t nr_domains;
	struct sim_domain_spec domain[SIM_MAX_DOMAINS];
	uint32_t nr_phases;
	struct sim_phase phase[SIM_MAX_PHASES];
	/* The built-in scenario (sim_default_scenario; the parsers clear it):
	 * written for the 4-node x445, it adapts to the machine it runs on
	 * (node numbers and pinned CPUs mapped onto the machine's nodes, memory
	 * scaled down on a machine with less than 32 GiB). */
	bool builtin;
	/* cpuset (key "cpuset", nodes as "0-1,3"): every CPU's allocations stay
	 * on these nodes, as in a cpuset's mems; empty: no confinement */
	numem_nodemask_t cpuset;
	/* tmem (key "tmem_compress": off, lz4 or zstd): the guests' codec */
	enum numem_tmem_codec_id tmem_codec;
	/* Not a key: the workloads of tmem phases run but no tmem exists, every
	 * page a guest cannot hold goes to "disk" (numem tmem's baseline). */
	bool tmem_baseline;
};

/* Limits of the numbers a scenario holds; both parsers check each number as
 * they read it, and sim_scenario_validate checks a whole scenario. */
#define SIM_MAX_MEM_MB       (1ull << 30) /* MiB per domain or virtual node (1 PiB) */
#define SIM_MAX_OPS          (1ull << 31) /* churn operations per phase (--ops scaling multiplies two) */
#define SIM_MAX_SAMPLE_EVERY SIM_MAX_OPS
#define SIM_MAX_WEIGHT       1000000u     /* a churn order's relative weight */
#define SIM_MAX_PIN          INT32_MAX    /* a pinned vcpu's physical CPU (-1: none) */
#define SIM_MAX_BLOCK_PAGES  (1ull << 30) /* a relayout's stripe block */

/* The built-in default (the README's main job). */
void sim_default_scenario(struct sim_scenario *sc);
/*
 * Whether a scenario holds only values the engine can take: counts within
 * their arrays (domains, phases, vcpus, virtual nodes), numbers within the
 * SIM_MAX_* limits, placements and phase kinds known, names terminated.
 * Both parsers call it on what they parsed, and sim_run on its input.
 * 0, or -1 with a message naming the domain or phase, the field and the
 * allowed range.
 */
int sim_scenario_validate(const struct sim_scenario *sc, char *err, size_t errlen);
/* A scenario from JSON text (schema in docs/FORMATS.md).  0 or -1 with err;
 * on failure *sc is left unchanged. */
int sim_scenario_from_json(struct sim_scenario *sc, const char *text, char *err, size_t errlen);
/* From xl.cfg-like `key = value` text: one domain per `[name]` section. */
int sim_scenario_from_xlcfg(struct sim_scenario *sc, const char *text, char *err, size_t errlen);

/* tmem pools of the simulated guests: two per domain (ephemeral, persistent). */
#define SIM_TMEM_POOLS (2 * SIM_MAX_DOMAINS)

struct sim_sample {
	uint64_t op;
	uint64_t free_pages[NUMEM_MAX_NODES];
	double local_pct;       /* cumulative local_node / (local_node + other_node) */
	uint64_t pending_pages; /* relayout: allocated pages waiting to move */
	/* tmem, by pool (domain index * 2 + 1 for the persistent one): pages
	 * stored now, and gets and hits so far (tmem's own pool statistics) */
	uint64_t tmem_pages[SIM_TMEM_POOLS];
	uint64_t tmem_gets[SIM_TMEM_POOLS], tmem_hits[SIM_TMEM_POOLS];
	uint64_t tmem_heap_pages; /* TMEM pages the heap gave tmem, held now */
};

/* What a relayout phase did (the engine's record of the commit). */
struct sim_relayout {
	char domain[32];
	bool stripe, migrate;
	uint32_t nr_nodes;
	numem_nid_t nodes[SIM_RELAYOUT_MAX_NODES]; /* the phase's targets (as run) */
	uint64_t block_pages;
	uint64_t op;                 /* the operation count at the commit */
	uint64_t start_pfn, end_pfn; /* the span relaid: the domain's frames */
	uint64_t pages_changed;      /* pages whose node changed */
	uint64_t pages_moved;        /* free pages moved at once */
	uint64_t blocks_moved;       /* free blocks moved */
	uint64_t pages_pending;      /* allocated pages left to move when freed */
	uint64_t migrated;           /* the domain's frames migrated at once */
	uint64_t dom_before[NUMEM_MAX_NODES], dom_after[NUMEM_MAX_NODES]; /* its pages */
	uint64_t free_before[NUMEM_MAX_NODES], free_after[NUMEM_MAX_NODES];
	uint64_t ram_after[NUMEM_MAX_NODES]; /* each node's RAM after the commit */
	/* the address space by node, before and after (sim_layout_bar) */
	numem_nid_t bar_before[SIM_MAP_BUCKETS], bar_after[SIM_MAP_BUCKETS];
	uint64_t bar_end; /* the span the bars show: [0, bar_end) */
	/* owner per bucket of each node's span, before and after (as map) */
	uint8_t map_before[NUMEM_MAX_NODES][SIM_MAP_BUCKETS];
	uint8_t map_after[NUMEM_MAX_NODES][SIM_MAP_BUCKETS];
	uint64_t map_start[2][NUMEM_MAX_NODES], map_end[2][NUMEM_MAX_NODES];
};

/* One guest's tmem workload (sim/tmem.c), counted by the frontend. */
struct sim_tmem_guest {
	char name[32];
	enum sim_tmem_frontend frontend;
	uint64_t ws_pages;    /* working set */
	uint64_t accesses;    /* page accesses */
	uint64_t resident;    /* found in the guest's memory */
	uint64_t faults;      /* not resident, touched before: tmem, then disk */
	uint64_t gets;        /* get ops (cleancache: every file fault; swap: pages in tmem) */
	uint64_t first_touch; /* first touches: cold file reads, anonymous zero fills */
	uint64_t tmem_hits;   /* faults tmem served: "disk" reads avoided */
	uint64_t disk_reads;  /* faults tmem did not serve */
	uint64_t puts, puts_refused; /* pages offered to tmem; refused (disk write for swap) */
	uint64_t disk_writes;        /* swapped pages tmem did not take */
	uint64_t lost;               /* resident pages whose frame the guest gave back */
	uint64_t wrong;              /* gets whose bytes were not the last put's (must be 0) */
	uint64_t errors;             /* tmem ops that failed with a negative status (must be 0) */
	uint32_t pool[2];            /* ephemeral, persistent pool ids (~0u: none) */
};

/* Control-plane listing at the end of a run (numem_tmem_list_*). */
#define SIM_TMEM_LIST_POOLS 64
struct sim_tmem_result {
	bool enabled;      /* the scenario has a tmem frontend */
	bool baseline;     /* sc->tmem_baseline: workloads without tmem */
	const char *codec; /* "off", "lz4", "zstd" */
	uint32_t nr_guests;
	struct sim_tmem_guest guest[SIM_MAX_DOMAINS];
	int32_t guest_dom[SIM_MAX_DOMAINS]; /* scenario index of each guest */
	struct numem_tmem_info info;        /* at the end of the run */
	/* per phase: tmem's evictions, shrinker calls and pages it freed during
	 * the phase, and the heap pages tmem held per node at its end */
	uint64_t phase_evictions[SIM_MAX_PHASES], phase_shrinker_calls[SIM_MAX_PHASES];
	uint64_t phase_shrinker_freed[SIM_MAX_PHASES];
	uint64_t phase_pages_on_node[SIM_MAX_PHASES][NUMEM_MAX_NODES];
	uint32_t nr_clients, nr_pools;
	struct numem_tmem_client_info client[SIM_MAX_DOMAINS + 1];
	struct numem_tmem_pool_info pool[SIM_TMEM_LIST_POOLS];
	char verify[200]; /* numem_tmem_verify's verdict ("" when it passed) */
};

/* The pools a run's samples follow (a sample's tmem_* slots, the report's
 * "sampled_pools"): scenario domain index * 2 + kind (1: persistent) of
 * each guest's pools, in guest order; returns how many (at most
 * SIM_TMEM_POOLS). */
uint32_t sim_tmem_sampled_pools(const struct sim_tmem_result *t, uint32_t *slot);

struct sim_domain_result {
	char name[32];
	uint16_t id;
	bool alive;
	bool auto_placed;
	numem_nodemask_t affinity;
	uint64_t pages;
	uint64_t pages_on_node[NUMEM_MAX_NODES];
	uint32_t vcpus_on_node[NUMEM_MAX_NODES];
	uint64_t imbalance;         /* numem_domain_imbalance: pages from its share */
	numem_nid_t imbalance_node; /* the node furthest from its share */
};

struct sim_run {
	const char *strategy;
	uint64_t ops;
	uint32_t nr_domains;
	struct sim_domain_result dom[SIM_MAX_DOMAINS + 1];
	uint64_t stat[NUMEM_MAX_NODES][NUMEM_NR_STATS];
	double local_pct;
	uint64_t buddy[NUMEM_MAX_NODES][NUMEM_NR_ZONE_TYPES][NUMEM_NR_ORDERS];
	bool zone_populated[NUMEM_MAX_NODES][NUMEM_NR_ZONE_TYPES];
	uint32_t unusable[NUMEM_MAX_NODES][NUMEM_NR_ORDERS]; /* per mille, all zones */
	uint64_t free_pages[NUMEM_MAX_NODES], present_pages[NUMEM_MAX_NODES];
	uint32_t nr_samples;
	struct sim_sample sample[SIM_MAX_SAMPLES];
	/* owner per bucket of each node's span: 0 free, 1 heap/host,
	 * 2 reserved, 3 + domain index, SIM_MAP_ELSEWHERE another node's
	 * memory (a relayout's stripes inside the span) */
	uint8_t map[NUMEM_MAX_NODES][SIM_MAP_BUCKETS];
	uint64_t map_start[NUMEM_MAX_NODES], map_end[NUMEM_MAX_NODES];
	uint64_t trace_events;
	uint64_t trace_lost;   /* records the rings overwrote before they were drained */
	uint32_t guest_tables; /* vNUMA domains whose tables were written (linux run) */
	uint32_t nr_slabinfo;  /* caches with slabs at the end of the run */
	struct {
		char name[24];
		struct numem_slab_info info;
	} slabinfo[NUMEM_SLAB_CACHES];
	uint32_t nr_relayouts;
	struct sim_relayout relayout[SIM_MAX_RELAYOUTS];
	struct sim_tmem_result tmem;
	char error[256]; /* empty when the run and its checks passed */
};

struct sim_result {
	struct sim_scenario sc;
	uint32_t nr_nodes;
	uint32_t nr_cpus;
	char machine_name[160];
	uint64_t node_pages[NUMEM_MAX_NODES];
	uint32_t node_cpus[NUMEM_MAX_NODES];
	struct sim_run run[2]; /* linux, xen */
};

struct sim_opts {
	FILE *trace;     /* binary trace of the linux run, or NULL */
	FILE *trace_xen; /* binary trace of the xen run, or NULL */
	bool progress;   /* a progress bar on stderr */
	const struct numem_machine_opts *machine;
	/* a directory: each vNUMA domain alive at the end of the linux run gets
	 * DIR/NAME/SRAT.bin and SLIT.bin, its guest's tables
	 * (numem_domain_vnuma_tables); NULL: none */
	const char *guest_tables;
};

/* Run the scenario with both strategies.  0 on success; -1 with err (a
 * machine that does not load, a scenario that names unknown things). */
int sim_run(const struct sim_scenario *sc, const struct sim_opts *opts, struct sim_result *res,
            char *err, size_t errlen);

void sim_report_text(FILE *out, const struct sim_result *res);
/* The whole result as one JSON object (deterministic: no times). */
char *sim_report_json(const struct sim_result *res);
/* DIR/index.html with inline SVG figures (and the SVGs as files). */
int sim_report_html(const struct sim_result *res, const char *dir, char *err, size_t errlen);

/*
 * The physical address space [0, end_pfn) by owning node, one bar per
 * layout (relayout's before/after pictures, sim and `numem relayout
 * --report`).  A bucket shows the node owning most of its pfns (16
 * samples); NUMEM_NID_NONE for a hole.
 */
struct sim_layout_bar {
	char label[32];
	numem_nid_t node[SIM_MAP_BUCKETS];
};
void sim_layout_bar_fill(struct sim_layout_bar *b, const char *label, const struct numem_topo *t,
                         uint64_t end_pfn);
/* An SVG figure of the bars (and a legend of the nodes they show). */
void sim_svg_layout(FILE *f, const char *title, const struct sim_layout_bar *bars, uint32_t nr,
                    uint64_t end_pfn);
/* XML-escaped text. */
void sim_svg_esc(FILE *f, const char *s);

/* Trace files: a header then fixed 32-byte records (docs/FORMATS.md).  The
 * header's last 8 bytes tag the run ("linux", "xen", "stress"; NUL padded). */
#define SIM_TRACE_MAGIC "NUMEMTRC"
int sim_trace_write_header(FILE *f, uint32_t nr_cpus, uint32_t nr_nodes, const char *tag);

/*
 * A tracer: the heap's per-CPU rings drained into a trace file.  Open
 * writes the header and turns tracing on (the heap must have been booted
 * with trace_entries); drain may run on any one thread while the CPUs
 * allocate (the rings are single-producer, single-consumer) and writes,
 * after a CPU's records, one NUMEM_EV_LOST record with what its ring
 * overwrote since the last drain; close drains a last time, turns tracing
 * off and frees the buffer (the FILE stays the caller's).
 */
struct sim_tracer {
	FILE *f;
	struct numem_heap *heap;
	struct numem_trace_event *buf;
	uint64_t *lost_seen; /* per CPU: ring->lost already written */
	uint64_t events, lost;
	bool io_error;
};
int sim_tracer_open(struct sim_tracer *t, FILE *f, struct numem_heap *heap, uint32_t nr_nodes,
                    const char *tag);
void sim_tracer_drain(struct sim_tracer *t);
void sim_tracer_close(struct sim_tracer *t);
/* Decode (or with summary, count) a trace file.  0; -1 with err for a file
 * that is not a trace; -2 with err for a read error.  A partial record at
 * the end is ignored with a warning on stderr. */
int sim_trace_decode(FILE *in, FILE *out, bool summary, char *err, size_t errlen);

#endif
