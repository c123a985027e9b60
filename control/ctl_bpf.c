// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_bpf.c - load, pin, configure and attach the XDP fast path.
 *
 * Decisions:
 *  - Every map named mxw_* is pinned as <pin_dir>/<name>: an existing pin
 *    is reused (ctl_map_reuse), a missing one is created and pinned by
 *    libbpf (bpf_map__set_pin_path).  A restarted daemon therefore shares the
 *    running program's maps: blocks, buckets, flows and bypass entries
 *    survive.  mxw_xsks is the exception: it holds the running daemon's
 *    AF_XDP sockets, which leave it when their owner exits, so each load
 *    gets a fresh, empty one (frames find no socket and take the fail mode
 *    until the new daemon binds its own).  A pinned
 *    map whose layout or size no longer matches stops the start (the
 *    operator removes the pins deliberately; state comes back from the
 *    state file).
 *  - Attachment is netlink XDP (bpf_xdp_attach), which outlives the
 *    process.  When a program is already attached in the configured mode
 *    it is swapped with XDP_FLAGS_REPLACE + old_prog_fd, an atomic pointer
 *    swap in the kernel: the old program filters until the instant the new
 *    one does, and both read the same pinned maps, so no blocked source gets
 *    through in between.  A program attached in the *other* mode must be
 *    detached first (the kernel refuses both at once); that one case has a
 *    window and is logged as a warning.
 *  - The configuration maps are written before attaching and, on reload,
 *    in the order ports, protected, tx ports, config: mxw_data.cfg (read
 *    first by the program) changes last.
 *  - The exact lists, the flows and the per-source slots are
 *    bpf/mxw_table.h's hash tables over ARRAY maps.  fastpath.table_sizes
 *    counts entries; max_entries counts buckets (ctl_bpf_table_buckets).
 *    The hash seed lives in mxw_data.cfg: kept from a reused pin (or
 *    taken from a pin of an earlier layout, ctl_seed_salvage), else
 *    random, and written with every table mask in every config write.
 *    mxwalld writes the lists and reads the flows through mmaps made once
 *    after the load.
 *  - mxw_data (config, hints, global buckets, port flags) is the
 *    program's data section .data.mxw, pinned as mxw_data and written in
 *    place through the skeleton's mapping.  Earlier releases kept it in
 *    four maps (mxw_config, mxw_ports, mxw_hints, mxw_global): their
 *    pins give the seed and are removed at start; the running old
 *    program keeps its own maps until the swap, so nothing passes
 *    unjudged in between.
 *  - Lists: an address whose two buckets are both full (very rare at the
 *    designed load) is stored as a /128 in the list's prefix trie, same
 *    meaning for the fast path; get, del and walk look there too.  The
 *    empty hints of the exact tables come from entry counts kept under
 *    hints_lock (recounted at start by scanning the tables); those of the
 *    tries from the counts too, and at start from the maps.
 */
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctl_bpf.h"
#include "ctl_log.h"
#include "ctl_reconcile.h"
#include "mxwall.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define CTL_STAT_TEXT(name, text) [name] = text,
const char *const ctl_stat_names[MXW_R_MAX] = {
	MXW_REASONS(CTL_STAT_TEXT)
};
#undef CTL_STAT_TEXT

__attribute__((format(printf, 2, 0)))
static int ctl_libbpf_print(enum libbpf_print_level level, const char *fmt,
			    va_list ap)
{
	enum ctl_log_level l = level == LIBBPF_WARN ? CTL_LOG_WARN :
			       level == LIBBPF_INFO ? CTL_LOG_DEBUG :
			       CTL_LOG_DEBUG;
	char buf[1024];
	size_t n;

	if (l > ctl_log_get_level())
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	ctl_log(l, "%s", buf);
	return 0;
}

/* mkdir -p for a path on bpffs, then check it really is bpffs: a pin dir
 * on tmpfs would "work" and lose everything at the next restart. */
static int ctl_pin_dir_prepare(const char *dir)
{
	char tmp[CTL_PATH_MAX];
	struct statfs sfs;

	/* Systems without systemd (a bare container, an initramfs) may not
	 * have the standard bpffs mounted: mount it, as other loaders do. */
	if (strncmp(dir, "/sys/fs/bpf/", 12) == 0 &&
	    statfs("/sys/fs/bpf", &sfs) == 0 &&
	    (unsigned long)sfs.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") < 0)
			log_warn("mount bpffs on /sys/fs/bpf: %s",
				 strerror(errno));
		else
			log_info("mounted bpffs on /sys/fs/bpf");
	}
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
			int err = -errno;

			log_error("bpf.pin_dir: mkdir %s: %s", tmp,
				  strerror(-err));
			return err;
		}
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST) {
		int err = -errno;

		log_error("bpf.pin_dir: mkdir %s: %s", tmp, strerror(-err));
		return err;
	}
	if (statfs(tmp, &sfs) < 0) {
		int err = -errno;

		log_error("bpf.pin_dir: %s: %s", tmp, strerror(-err));
		return err;
	}
	if ((unsigned long)sfs.f_type != BPF_FS_MAGIC) {
		log_error("bpf.pin_dir: %s is not on a bpf filesystem "
			  "(mount -t bpf bpf /sys/fs/bpf)", tmp);
		return -EINVAL;
	}
	return 0;
}

/*
 * Reuse a pinned map.  Done here rather than by libbpf's pin-path reuse
 * because libbpf 1.1 compares map_flags verbatim and the kernel adds
 * BPF_F_RDONLY_PROG to every DEVMAP it creates, so mxw_tx_ports would
 * never match.  The checks are libbpf's otherwise: type, key and value
 * size, max_entries, flags.
 */
static int ctl_map_reuse(struct bpf_map *m, const char *path, bool disposable)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		err = -errno;
		goto out;
	}
	if (info.type != bpf_map__type(m) ||
	    info.key_size != bpf_map__key_size(m) ||
	    info.value_size != bpf_map__value_size(m) ||
	    info.max_entries != bpf_map__max_entries(m) ||
	    (info.map_flags & ~(__u32)BPF_F_RDONLY_PROG) !=
	    (bpf_map__map_flags(m) & ~(__u32)BPF_F_RDONLY_PROG)) {
		err = -EINVAL;
		if (disposable)
			goto out;
		log_error("%s: pinned map does not match this build "
			  "(type %u/%u, key %u/%u, value %u/%u, max_entries "
			  "%u/%u); remove the pins to start afresh (the state "
			  "file restores the lists) or restore "
			  "fastpath.table_sizes", path, info.type,
			  bpf_map__type(m), info.key_size, bpf_map__key_size(m),
			  info.value_size, bpf_map__value_size(m),
			  info.max_entries, bpf_map__max_entries(m));
		goto out;
	}
	err = bpf_map__reuse_fd(m, fd);
out:
	close(fd);
	return err;
}

static int ctl_map_fd(struct ctl_bpf *b, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(b->skel->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

static uint32_t ctl_pow2ceil(uint64_t n)
{
	uint64_t p = 1;

	while (p < n)
		p <<= 1;
	return p > UINT32_MAX ? 1u << 31 : (uint32_t)p;
}

uint32_t ctl_bpf_table_buckets(enum ctl_table t, uint32_t n)
{
	uint64_t nb;

	switch (t) {
	case CTL_T_ALLOW_EXACT:
	case CTL_T_BLOCK_EXACT:
		/* twice the capacity: two choices of MXW_LIST_WAYS slots at
		 * half load, so a full bucket pair is very rare */
		nb = 2ull * n / MXW_LIST_WAYS;
		break;
	case CTL_T_SRC_BUCKET:
	case CTL_T_PFX_BUCKET:
		nb = n / MXW_SRC_WAYS;
		break;
	case CTL_T_CT:
	case CTL_T_CONN:
	case CTL_T_BYPASS:
		nb = n / MXW_FLOW_WAYS;
		break;
	default:
		return n;       /* prefix tries count entries */
	}
	return ctl_pow2ceil(nb ? nb : 1);
}

/* Map table map fd (an mmapable ARRAY) shared, read-write. */
static int ctl_map_mmap(int fd, const char *name, struct ctl_bpf_mmap *m)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	long pg = sysconf(_SC_PAGESIZE);
	size_t sz;
	void *p;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		int err = -errno;

		log_error("%s: map info: %s", name, strerror(-err));
		return err;
	}
	/* An ARRAY element is value_size rounded up to 8 bytes. */
	sz = (size_t)((info.value_size + 7u) & ~7u) * info.max_entries;
	sz = (sz + (size_t)pg - 1) & ~((size_t)pg - 1);
	p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		log_error("%s: mmap %zu bytes: %s", name, sz, strerror(-err));
		return err;
	}
	m->p = p;
	m->len = sz;
	m->n = info.max_entries;
	return 0;
}

static void ctl_map_munmap(struct ctl_bpf_mmap *m)
{
	if (m->p)
		munmap(m->p, m->len);
	memset(m, 0, sizeof(*m));
}

static void ctl_bpf_unmap(struct ctl_bpf *b)
{
	for (int l = 0; l < 2; l++) {
		ctl_map_munmap(&b->m_exact[l]);
		ctl_map_munmap(&b->m_occ[l]);
		memset(&b->tab[l], 0, sizeof(b->tab[l]));
	}
	ctl_map_munmap(&b->m_conn);
	ctl_map_munmap(&b->m_src);
	ctl_map_munmap(&b->m_bypass);
}

/* The table fields of a config (mxw_data.cfg): seed and masks. */
static void ctl_config_tables(const struct ctl_bpf *b, struct mxw_config *mc)
{
	mc->hash_seed = b->seed;
	mc->mask_allow = b->mask[CTL_T_ALLOW_EXACT];
	mc->mask_block = b->mask[CTL_T_BLOCK_EXACT];
	mc->mask_src = b->mask[CTL_T_SRC_BUCKET];
	mc->mask_pfx = b->mask[CTL_T_PFX_BUCKET];
	mc->mask_ct = b->mask[CTL_T_CT];
	mc->mask_conn = b->mask[CTL_T_CONN];
	mc->mask_bypass = b->mask[CTL_T_BYPASS];
}

static void ctl_list_heal(struct ctl_bpf *b, enum ctl_list l);
static void ctl_trie_record_plen(struct ctl_bpf *b, enum ctl_list l);

/* Pins of maps that earlier releases had where mxw_data is now. */
static const char *const ctl_legacy_pins[] = {
	"mxw_config", "mxw_ports", "mxw_hints", "mxw_global",
};

/*
 * The config at the head of a pinned ARRAY whose value opens with struct
 * mxw_config (the mxw_config map of earlier releases, or an mxw_data of
 * another layout: the seed's offset is kept, mxwall_shared.h), into *out
 * unless *out holds a seed already.  Nothing when there is no such pin.
 */
static void ctl_seed_salvage(const char *path, struct mxw_config *out)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info), key = 0;
	void *v = NULL;
	int fd;

	if (out->hash_seed || (fd = bpf_obj_get(path)) < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    info.type == BPF_MAP_TYPE_ARRAY && info.key_size == 4 &&
	    info.value_size >= sizeof(*out) && info.max_entries >= 1 &&
	    (v = calloc(1, info.value_size)) != NULL &&
	    bpf_map_lookup_elem(fd, &key, v) == 0) {
		memcpy(out, v, sizeof(*out));
		if (out->hash_seed)
			log_info("%s: table hash seed carried over", path);
	}
	free(v);
	close(fd);
}

/*
 * Write the config the program reads (mxw_data.cfg) in place, after
 * everything written before it (ports, tries, devmap, list entries).
 * XXX: a plain copy; a frame judged during it can see a mix of old and
 * new fields.  Each field stays valid on its own, so the worst case is
 * one frame judged by a half-new config.
 */
static void ctl_config_write(struct ctl_bpf *b, const struct mxw_config *mc)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(&b->data->cfg, mc, sizeof(*mc));
}

/* The seed of a reused mxw_data if it has one, else the one salvaged
 * from an older pin (old, or the mxw_config pin of an earlier release),
 * else a new random one (never 0: 0 means "not chosen yet").  Then seed
 * and masks go into mxw_data at once, so the pins record the seed the
 * tables are laid out by; the earlier release's pins go. */
static int ctl_seed_init(struct ctl_bpf *b, const char *pin_dir,
			 struct mxw_config *old)
{
	struct mxw_config mc = b->data->cfg;
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/mxw_config", pin_dir);
	ctl_seed_salvage(path, old);
	if (!mc.hash_seed) {
		mc.hash_seed = old->hash_seed;
		mc.generation = old->generation;
	}
	b->generation = mc.generation;  /* continue a previous instance's */
	b->seed = mc.hash_seed;
	while (!b->seed) {
		if (getrandom(&b->seed, sizeof(b->seed), 0) !=
		    (ssize_t)sizeof(b->seed)) {
			err = errno == EINTR ? 0 : -errno;
			if (!err)
				continue;
			log_error("getrandom: %s", strerror(-err));
			return err;
		}
	}
	if (mc.hash_seed != b->seed)
		log_info("new table hash seed");
	ctl_config_tables(b, &mc);
	ctl_config_write(b, &mc);
	for (size_t i = 0; i < sizeof(ctl_legacy_pins) / sizeof(ctl_legacy_pins[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, ctl_legacy_pins[i]);
		if (unlink(path) == 0)
			log_info("%s: pin of an earlier release removed "
				 "(its contents live in mxw_data now)", path);
		else if (errno != ENOENT)
			log_warn("%s: %s", path, strerror(errno));
	}
	return 0;
}

int ctl_bpf_open(struct ctl_bpf *b, const struct ctl_config *cfg)
{
	struct mxw_config old = { 0 };
	char path[PATH_MAX];
	struct bpf_map *m;
	const char *name;
	uint32_t nb;
	bool disposable, data;
	int err;

	memset(b, 0, sizeof(*b));
	for (int i = 0; i < MXW_SLOT_MAX; i++)
		b->ifindex[i] = 0;
	libbpf_set_print(ctl_libbpf_print);

	err = ctl_pin_dir_prepare(cfg->pin_dir);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/mxw_block_exact", cfg->pin_dir);
	b->pins_reused = access(path, F_OK) == 0;

	b->skel = mxwall_bpf__open();
	if (!b->skel) {
		err = -errno;
		log_error("cannot open the XDP object: %s", strerror(-err));
		return err ? err : -EINVAL;
	}
	for (int i = 0; i < CTL_T_MAX; i++) {
		m = bpf_object__find_map_by_name(b->skel->obj,
						 ctl_tables[i].map);
		if (!m) {
			log_error("XDP object has no map %s", ctl_tables[i].map);
			err = -ENOENT;
			goto fail;
		}
		nb = ctl_bpf_table_buckets((enum ctl_table)i,
					   cfg->table_size[i]);
		b->mask[i] = nb - 1;
		err = bpf_map__set_max_entries(m, nb);
		if (err) {
			log_error("%s: cannot size to %u: %s", ctl_tables[i].map,
				  nb, strerror(-err));
			goto fail;
		}
	}
	/* the exact tables' occupancy bits, one per bucket */
	err = bpf_map__set_max_entries(b->skel->maps.mxw_allow_exact_occ,
			MXW_LIST_OCC_WORDS(b->mask[CTL_T_ALLOW_EXACT] + 1ull)) ?:
	      bpf_map__set_max_entries(b->skel->maps.mxw_block_exact_occ,
			MXW_LIST_OCC_WORDS(b->mask[CTL_T_BLOCK_EXACT] + 1ull));
	if (err) {
		log_error("occupancy maps: cannot size: %s", strerror(-err));
		goto fail;
	}
	bpf_object__for_each_map(m, b->skel->obj) {
		/* The data section .data.mxw is pinned as mxw_data.  mxw_xsks
		 * holds one daemon's sockets; mxw_clock is a per-CPU cache
		 * valid for any instance: neither is pinned. */
		data = m == b->skel->maps.data_mxw;
		name = data ? "mxw_data" : bpf_map__name(m);
		if (!name || (!data && bpf_map__is_internal(m)) ||
		    strncmp(name, "mxw_", 4) != 0 ||
		    strcmp(name, "mxw_xsks") == 0 ||
		    strcmp(name, "mxw_clock") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", cfg->pin_dir, name);
		/* derived or disposable contents: the occupancy bits are
		 * rebuilt below, bypass entries only save inspection work,
		 * mxw_data is rewritten at start but for its seed */
		disposable = data || strcmp(name, "mxw_bypass") == 0 ||
			     strcmp(name, "mxw_allow_exact_occ") == 0 ||
			     strcmp(name, "mxw_block_exact_occ") == 0;
		err = access(path, F_OK) == 0 ?
		      ctl_map_reuse(m, path, disposable) : -ENOENT;
		/* Such a pin of another layout or size (mxw_bypass was an
		 * LRU hash before it moved to bpf/mxw_table.h, and follows
		 * fastpath.table_sizes.bypass; occupancy bits follow their
		 * table's size; mxw_data changes with the program) is
		 * replaced, not a reason to stop, mxw_data after its seed
		 * is read.  The old program keeps its own map until the
		 * swap; the new mask in mxw_data meanwhile makes its
		 * out-of-range sets NULL, a miss. */
		if (err == -EINVAL && disposable) {
			if (data)
				ctl_seed_salvage(path, &old);
			log_warn("%s: pinned map of another layout replaced", path);
			err = unlink(path) ? -errno : -ENOENT;
		}
		if (err == -ENOENT)
			err = bpf_map__set_pin_path(m, path);
		if (err) {
			log_error("%s: cannot reuse or pin: %s", path,
				  strerror(-err));
			goto fail;
		}
	}
	err = mxwall_bpf__load(b->skel);
	if (err) {
		log_error("cannot load the XDP program: %s", strerror(-err));
		goto fail;
	}
	b->fd_exact[CTL_LIST_ALLOW] = ctl_map_fd(b, "mxw_allow_exact");
	b->fd_exact[CTL_LIST_BLOCK] = ctl_map_fd(b, "mxw_block_exact");
	b->fd_lpm[CTL_LIST_ALLOW] = ctl_map_fd(b, "mxw_allow_lpm");
	b->fd_lpm[CTL_LIST_BLOCK] = ctl_map_fd(b, "mxw_block_lpm");
	b->fd_protected = ctl_map_fd(b, "mxw_protected");
	b->fd_tx = ctl_map_fd(b, "mxw_tx_ports");
	b->fd_stats = ctl_map_fd(b, "mxw_stats");
	b->fd_conn = ctl_map_fd(b, "mxw_conn");
	b->fd_src = ctl_map_fd(b, "mxw_src_bucket");
	b->fd_xsks = ctl_map_fd(b, "mxw_xsks");
	b->fd_insp = ctl_map_fd(b, "mxw_insp");
	b->fd_bypass = ctl_map_fd(b, "mxw_bypass");
	b->data = b->skel->data_mxw ? &b->skel->data_mxw->mxw_data : NULL;
	if (!b->data ||
	    b->fd_exact[0] < 0 || b->fd_exact[1] < 0 || b->fd_lpm[0] < 0 ||
	    b->fd_lpm[1] < 0 ||
	    b->fd_protected < 0 || b->fd_tx < 0 || b->fd_stats < 0 ||
	    b->fd_conn < 0 || b->fd_src < 0 || b->fd_xsks < 0 ||
	    b->fd_insp < 0 || b->fd_bypass < 0) {
		log_error("XDP object lacks a map of the contract");
		err = -ENOENT;
		goto fail;
	}
	b->max_exact[CTL_LIST_ALLOW] = cfg->table_size[CTL_T_ALLOW_EXACT];
	b->max_exact[CTL_LIST_BLOCK] = cfg->table_size[CTL_T_BLOCK_EXACT];
	b->max_lpm[CTL_LIST_ALLOW] = cfg->table_size[CTL_T_ALLOW_PREFIX];
	b->max_lpm[CTL_LIST_BLOCK] = cfg->table_size[CTL_T_BLOCK_PREFIX];
	/* Reused pins may hold a previous instance's promises: start from
	 * them, so the first insert clears what is set. */
	b->hints = b->data->hints.empty;
	if ((err = ctl_seed_init(b, cfg->pin_dir, &old)) ||
	    (err = ctl_map_mmap(b->fd_exact[CTL_LIST_ALLOW], "mxw_allow_exact",
				&b->m_exact[CTL_LIST_ALLOW])) ||
	    (err = ctl_map_mmap(b->fd_exact[CTL_LIST_BLOCK], "mxw_block_exact",
				&b->m_exact[CTL_LIST_BLOCK])) ||
	    (err = ctl_map_mmap(b->fd_conn, "mxw_conn", &b->m_conn)) ||
	    (err = ctl_map_mmap(b->fd_src, "mxw_src_bucket", &b->m_src)) ||
	    (err = ctl_map_mmap(b->fd_bypass, "mxw_bypass", &b->m_bypass)) ||
	    (err = ctl_map_mmap(bpf_map__fd(b->skel->maps.mxw_allow_exact_occ),
				"mxw_allow_exact_occ", &b->m_occ[CTL_LIST_ALLOW])) ||
	    (err = ctl_map_mmap(bpf_map__fd(b->skel->maps.mxw_block_exact_occ),
				"mxw_block_exact_occ", &b->m_occ[CTL_LIST_BLOCK])))
		goto fail;
	for (int l = 0; l < 2; l++) {
		b->tab[l] = (struct mxw_list_tab){
			.b = b->m_exact[l].p,
			.mask = b->m_exact[l].n - 1,
			.seed = b->seed,
			.occ = b->m_occ[l].p,
		};
	}
	pthread_mutex_init(&b->hints_lock, NULL);
	/* heal first (it may rewrite a table), then the bits from what the
	 * tables hold: new maps, or a previous instance's */
	for (int l = 0; l < 2; l++) {
		ctl_list_heal(b, (enum ctl_list)l);
		mxw_list_occ_rebuild(&b->tab[l]);
		ctl_trie_record_plen(b, (enum ctl_list)l);
	}
	log_info("XDP program loaded, maps %s under %s",
		 b->pins_reused ? "reused" : "created", cfg->pin_dir);
	return 0;
fail:
	ctl_bpf_unmap(b);
	mxwall_bpf__destroy(b->skel);
	b->skel = NULL;
	return err;
}

static uint64_t ctl_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int ctl_apply_ports(struct ctl_bpf *b, const struct ctl_config *cfg)
{
	static __u8 want[MXW_MAX_PORTS];
	__u8 *cur = b->data->ports;

	memset(want, 0, sizeof(want));
	for (uint32_t i = 0; i < cfg->n_mail_ports; i++)
		want[cfg->mail_ports[i]] = MXW_PORT_MAIL | MXW_PORT_INSPECT;
	for (uint32_t i = 0; i < cfg->n_tls_ports; i++)
		want[cfg->tls_ports[i]] = MXW_PORT_MAIL | MXW_PORT_IMPLICIT_TLS;
	/* Ports that become mail ports are opened before others close, so
	 * a port kept across a reload never flickers. */
	for (int pass = 0; pass < 2; pass++)
		for (__u32 port = 0; port < MXW_MAX_PORTS; port++) {
			if (cur[port] == want[port] || (pass == 0 && !want[port]))
				continue;
			__atomic_store_n(&cur[port], want[port], __ATOMIC_RELAXED);
		}
	return 0;
}

static void ctl_lpm_key(struct mxw_lpm_key *k, const struct ctl_prefix *p)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = p->plen;
	memcpy(k->a, p->a, 16);
}

static void ctl_lpm_prefix(struct ctl_prefix *p, const struct mxw_lpm_key *k)
{
	memset(p, 0, sizeof(*p));
	p->plen = k->prefixlen > 128 ? 128 : k->prefixlen;
	memcpy(p->a, k->a, 16);
	ctl_prefix_mask(p);
}

static int ctl_apply_protected(struct ctl_bpf *b, const struct ctl_config *cfg)
{
	struct mxw_lpm_key k, next, *stale = NULL;
	size_t n_stale = 0;
	__u8 one = 1;
	int err = 0;
	void *prev = NULL;

	for (uint32_t i = 0; i < cfg->n_protected; i++) {
		ctl_lpm_key(&k, &cfg->protected_[i]);
		if (bpf_map_update_elem(b->fd_protected, &k, &one, BPF_ANY)) {
			err = -errno;
			log_error("mxw_protected: %s", strerror(-err));
			return err;
		}
	}
	stale = calloc(MXW_PROTECTED_MAX, sizeof(*stale));
	if (!stale)
		return -ENOMEM;
	while (n_stale < MXW_PROTECTED_MAX &&
	       bpf_map_get_next_key(b->fd_protected, prev, &next) == 0) {
		bool keep = false;

		for (uint32_t i = 0; i < cfg->n_protected && !keep; i++) {
			ctl_lpm_key(&k, &cfg->protected_[i]);
			keep = memcmp(&k, &next, sizeof(k)) == 0;
		}
		if (!keep)
			stale[n_stale++] = next;
		k = next;
		prev = &k;
	}
	for (size_t i = 0; i < n_stale; i++)
		bpf_map_delete_elem(b->fd_protected, &stale[i]);
	free(stale);
	return 0;
}

static int ctl_prefix_cmp(const void *a, const void *b)
{
	const struct ctl_prefix *x = a, *y = b;
	int c = memcmp(x->a, y->a, 16);

	if (c)
		return c;
	return (x->plen > y->plen) - (x->plen < y->plen);
}

struct ctl_static_ctx {
	struct ctl_prefix *keep;
	size_t n_keep;
	struct ctl_prefix *stale;
	size_t n_stale, cap;
};

static int ctl_collect_stale(const struct ctl_prefix *p,
			     const struct mxw_list_entry *v, void *arg)
{
	struct ctl_static_ctx *c = arg;

	if (v->reason != MXW_LR_CONFIG)
		return 0;
	if (c->n_keep && bsearch(p, c->keep, c->n_keep, sizeof(*p),
				 ctl_prefix_cmp))
		return 0;
	if (c->n_stale == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct ctl_prefix *n = realloc(c->stale, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->stale = n;
		c->cap = cap;
	}
	c->stale[c->n_stale++] = *p;
	return 0;
}

/* Static entries from the config: upsert as permanent "config" entries,
 * then remove "config" entries the file no longer lists. */
static int ctl_apply_static(struct ctl_bpf *b, enum ctl_list l,
			    const struct ctl_prefix *pfx, uint32_t n)
{
	struct ctl_static_ctx c = {0};
	struct mxw_list_entry v = {
		.created_ns = ctl_mono_ns(),
		.reason = MXW_LR_CONFIG,
	};
	bool created;
	int err;

	for (uint32_t i = 0; i < n; i++) {
		struct mxw_list_entry cur;

		/* An existing permanent entry for the same prefix stays as it
		 * is (an operator's own entry keeps its reason); one with a
		 * TTL is made permanent, since the file says so. */
		if (ctl_bpf_list_get(b, l, &pfx[i], &cur) == 0 &&
		    cur.expires_ns == 0)
			continue;
		err = ctl_bpf_list_put(b, l, &pfx[i], &v, true, &created);
		if (err) {
			log_error("static %s entry %u: %s",
				  l == CTL_LIST_ALLOW ? "allow" : "block", i,
				  strerror(-err));
			return err;
		}
	}
	c.keep = malloc((n ? n : 1) * sizeof(*c.keep));
	if (!c.keep)
		return -ENOMEM;
	if (n)  /* pfx is NULL for an empty static list */
		memcpy(c.keep, pfx, n * sizeof(*pfx));
	c.n_keep = n;
	qsort(c.keep, n, sizeof(*c.keep), ctl_prefix_cmp);
	err = ctl_bpf_list_walk(b, l, ctl_collect_stale, &c);
	for (size_t i = 0; !err && i < c.n_stale; i++)
		ctl_bpf_list_del(b, l, &c.stale[i]);
	free(c.keep);
	free(c.stale);
	return err < 0 ? err : 0;
}

int ctl_bpf_apply(struct ctl_bpf *b, const struct ctl_config *cfg)
{
	struct mxw_config mc = cfg->fp;
	__u32 slot;
	int err, ifi[MXW_SLOT_MAX];

	ifi[MXW_SLOT_OUTSIDE] = (int)if_nametoindex(cfg->outside);
	if (!ifi[MXW_SLOT_OUTSIDE]) {
		log_error("interfaces.outside: %s: %s", cfg->outside,
			  strerror(errno));
		return -ENODEV;
	}
	ifi[MXW_SLOT_INSIDE] = (int)if_nametoindex(cfg->inside);
	if (!ifi[MXW_SLOT_INSIDE]) {
		log_error("interfaces.inside: %s: %s", cfg->inside,
			  strerror(errno));
		return -ENODEV;
	}
	if ((err = ctl_apply_ports(b, cfg)) ||
	    (err = ctl_apply_protected(b, cfg)))
		return err;
	for (slot = 0; slot < MXW_SLOT_MAX; slot++) {
		__u32 ifindex = (__u32)ifi[slot];

		if (bpf_map_update_elem(b->fd_tx, &slot, &ifindex, BPF_ANY)) {
			err = -errno;
			log_error("mxw_tx_ports[%u] = ifindex %u: %s", slot,
				  ifindex, strerror(-err));
			return err;
		}
		b->ifindex[slot] = ifi[slot];
	}
	if ((err = ctl_apply_static(b, CTL_LIST_ALLOW, cfg->allow,
				    cfg->n_allow)) ||
	    (err = ctl_apply_static(b, CTL_LIST_BLOCK, cfg->block,
				    cfg->n_block)))
		return err;
	/* The inspection switch lives in insp.enabled, not in the fast
	 * path's section of the config. */
	if (cfg->insp.enabled)
		mc.flags |= MXW_CF_INSPECT;
	else
		mc.flags &= ~(__u32)MXW_CF_INSPECT;
	mc.outside_ifindex = (__u32)ifi[MXW_SLOT_OUTSIDE];
	mc.inside_ifindex = (__u32)ifi[MXW_SLOT_INSIDE];
	mc.generation = ++b->generation;
	mxw_config_key_masks(&mc);
	/* The seed never changes while the pins live (ctl_seed_init). */
	ctl_config_tables(b, &mc);
	ctl_config_write(b, &mc);
	b->xdp_flags = cfg->xdp_mode == CTL_XDP_GENERIC ? XDP_FLAGS_SKB_MODE :
			XDP_FLAGS_DRV_MODE;
	return 0;
}

/* The program of the port in slot: frames from outside go in, frames
 * from inside go out (bpf/mxwall.bpf.c). */
static int ctl_port_prog_fd(const struct ctl_bpf *b, int slot)
{
	return bpf_program__fd(slot == MXW_SLOT_OUTSIDE ?
			       b->skel->progs.mxw_xdp_in :
			       b->skel->progs.mxw_xdp_out);
}

static int ctl_attach_one(struct ctl_bpf *b, int slot)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int ifindex = b->ifindex[slot];
	int prog_fd = ctl_port_prog_fd(b, slot);
	bool drv = b->xdp_flags & XDP_FLAGS_DRV_MODE;
	__u32 cur, other;
	int err, old_fd;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err) {
		log_error("ifindex %d: cannot query XDP: %s", ifindex,
			  strerror(-err));
		return err;
	}
	cur = drv ? q.drv_prog_id : q.skb_prog_id;
	other = drv ? q.skb_prog_id : q.drv_prog_id;
	if (other) {
		log_warn("ifindex %d: detaching program %u attached in %s "
			 "mode (the kernel allows one mode); the port is "
			 "unfiltered until the new attach", ifindex, other,
			 drv ? "generic" : "native");
		err = bpf_xdp_detach(ifindex, drv ? XDP_FLAGS_SKB_MODE :
				     XDP_FLAGS_DRV_MODE, NULL);
		if (err) {
			log_error("ifindex %d: detach: %s", ifindex,
				  strerror(-err));
			return err;
		}
	}
	if (!cur) {
		err = bpf_xdp_attach(ifindex, prog_fd, b->xdp_flags |
				     XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		if (err) {
			log_error("ifindex %d: cannot attach XDP in %s mode: "
				  "%s", ifindex, drv ? "native" : "generic",
				  strerror(-err));
			return err;
		}
		log_info("ifindex %d: XDP attached (%s)", ifindex,
			 drv ? "native" : "generic");
		b->attached[slot] = true;
		return 0;
	}
	old_fd = bpf_prog_get_fd_by_id(cur);
	if (old_fd < 0) {
		err = -errno;
		log_error("ifindex %d: program %u: %s", ifindex, cur,
			  strerror(-err));
		return err;
	}
	{
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = old_fd);

		err = bpf_xdp_attach(ifindex, prog_fd,
				     b->xdp_flags | XDP_FLAGS_REPLACE, &o);
	}
	close(old_fd);
	if (err) {
		log_error("ifindex %d: cannot replace program %u: %s", ifindex,
			  cur, strerror(-err));
		return err;
	}
	log_info("ifindex %d: XDP program %u replaced atomically", ifindex,
		 cur);
	b->attached[slot] = true;
	return 0;
}

int ctl_bpf_attach(struct ctl_bpf *b)
{
	int err;

	for (int slot = 0; slot < MXW_SLOT_MAX; slot++)
		if ((err = ctl_attach_one(b, slot)))
			return err;
	return 0;
}

void ctl_bpf_close(struct ctl_bpf *b, bool detach)
{
	if (!b->skel)
		return;
	for (int slot = 0; detach && slot < MXW_SLOT_MAX; slot++) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, o,
			.old_prog_fd = ctl_port_prog_fd(b, slot));
		int err;

		if (!b->attached[slot])
			continue;
		/* REPLACE with our fd: only our own program is removed. */
		err = bpf_xdp_detach(b->ifindex[slot],
				     b->xdp_flags | XDP_FLAGS_REPLACE, &o);
		if (err)
			log_warn("ifindex %d: detach: %s", b->ifindex[slot],
				 strerror(-err));
		else
			log_info("ifindex %d: XDP detached", b->ifindex[slot]);
	}
	ctl_bpf_unmap(b);
	mxwall_bpf__destroy(b->skel);
	b->skel = NULL;
	pthread_mutex_destroy(&b->hints_lock);
}

int ctl_bpf_bypass_add(struct ctl_bpf *b, const struct mxw_flow_key *k,
		       uint64_t expires_ns)
{
	struct mxw_flow_key key = *k;
	uint64_t now = ctl_mono_ns();
	int err = -EBUSY;

	/* The fast path compares the key as words: padding must be 0. */
	memset(key._pad, 0, sizeof(key._pad));
	if (key.proto != IPPROTO_TCP)
		return -EINVAL;
	if (!b->m_bypass.p)
		return -ENODEV;
	/* -EBUSY: a CPU was writing the victim slot at that instant */
	for (int i = 0; i < 3 && err == -EBUSY; i++)
		err = mxw_flow_tab_put(b->m_bypass.p, b->mask[CTL_T_BYPASS], b->seed,
				       &key, expires_ns, now);
	return err;
}

int ctl_bpf_insp_alive(struct ctl_bpf *b, uint64_t alive_until_ns,
		       uint32_t flags)
{
	struct mxw_insp_state st;
	__u32 key = 0;

	memset(&st, 0, sizeof(st));
	st.alive_until_ns = alive_until_ns;
	st.flags = flags;
	if (bpf_map_update_elem(b->fd_insp, &key, &st, BPF_ANY))
		return -errno;
	return 0;
}

/* The mxw_data.hints bit of list l's exact or prefix map. */
static uint32_t ctl_hint_bit(enum ctl_list l, bool exact)
{
	if (l == CTL_LIST_ALLOW)
		return exact ? MXW_HE_ALLOW_EXACT : MXW_HE_ALLOW_LPM;
	return exact ? MXW_HE_BLOCK_EXACT : MXW_HE_BLOCK_LPM;
}

/* Write mxw_data.hints; hints_lock held.  b->hints mirrors the value
 * (read at open), so callers can skip a write that would change nothing.
 * Sequentially consistent: a withdrawn promise is visible before the
 * insert that follows it, the delete before a promise made after it. */
static void ctl_hints_write(struct ctl_bpf *b, uint32_t empty)
{
	__atomic_store_n(&b->data->hints.empty, empty, __ATOMIC_SEQ_CST);
	b->hints = empty;
}

/* Whether the trie fd holds no entry at all (start only: a scan). */
static bool ctl_map_empty(int fd)
{
	struct mxw_lpm_key next;

	return bpf_map_get_next_key(fd, NULL, &next) != 0 && errno == ENOENT;
}

/* Entries of list l's exact table and trie, from the counters. */
static uint64_t ctl_n_table(struct ctl_bpf *b, enum ctl_list l)
{
	return __atomic_load_n(&b->n_exact[l], __ATOMIC_RELAXED) -
	       __atomic_load_n(&b->n_spill[l], __ATOMIC_RELAXED);
}

static uint64_t ctl_n_trie(struct ctl_bpf *b, enum ctl_list l)
{
	return __atomic_load_n(&b->n_lpm[l], __ATOMIC_RELAXED) +
	       __atomic_load_n(&b->n_spill[l], __ATOMIC_RELAXED);
}

/*
 * After a delete (hints_lock held): promise "empty" for list l's maps
 * whose count reached 0.  Every insert and delete counts under
 * hints_lock, so a count is exact once the start count made it so
 * (b->hints_counted, set by ctl_bpf_list_count); until then, or after a
 * failed recount, no bit is set here, which costs lookups, never a
 * missed entry.
 * XXX: an entry written past mxwalld (bpftool) is not counted; such a map
 * may be promised empty after its last counted entry goes, until the next
 * restart recomputes the hints from the maps.
 */
static void ctl_hint_after_del(struct ctl_bpf *b, enum ctl_list l)
{
	uint32_t set = 0, bit;

	bit = ctl_hint_bit(l, true);
	if (!(b->hints & bit) && (b->hints_counted & bit) && !ctl_n_table(b, l))
		set |= bit;
	bit = ctl_hint_bit(l, false);
	if (!(b->hints & bit) && (b->hints_counted & bit) && !ctl_n_trie(b, l))
		set |= bit;
	if (set)
		ctl_hints_write(b, b->hints | set);
}

/* Before an insert into the map of hint bit (hints_lock held): withdraw
 * the promise first, so a frame judged in between looks the map up. */
static void ctl_hint_before_put(struct ctl_bpf *b, uint32_t bit)
{
	if (b->hints & bit)
		ctl_hints_write(b, b->hints & ~bit);
}

/* Entry counts change from the main thread and the inspection worker
 * (under hints_lock; readers such as status do not take it). */
static void ctl_count_add(uint64_t *c, int d)
{
	uint64_t v = __atomic_load_n(c, __ATOMIC_RELAXED);

	if (d < 0 && !v)
		return;
	__atomic_store_n(c, v + (uint64_t)(int64_t)d, __ATOMIC_RELAXED);
}

static void ctl_host_lpm_key(struct mxw_lpm_key *k, const struct mxw_addr *a)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 128;
	memcpy(k->a, a->a, 16);
}

/* The value a trie entry of key k holds: v with k's prefix length
 * recorded (MXW_LF_PLEN_*), which the fast path's walk past shadow and
 * expired prefixes reads (MXW_LPM_MATCH). */
static struct mxw_list_entry ctl_trie_value(const struct mxw_lpm_key *k,
					    const struct mxw_list_entry *v)
{
	struct mxw_list_entry t = *v;

	t.flags = mxw_list_trie_flags(v->flags, k->prefixlen);
	return t;
}

/* The entry of exactly key k in trie fd (not a shorter match).  An LPM
 * lookup returns the longest match, which may be a shorter prefix; the
 * trie has no exact lookup, hence the walk (rare: callers use it after
 * an EEXIST, for a single del/show, or for a spilled address). */
static int ctl_lpm_get_exact(int fd, const struct mxw_lpm_key *k,
			     struct mxw_list_entry *v)
{
	struct mxw_lpm_key next, cur;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (memcmp(&next, k, sizeof(*k)) == 0) {
			if (bpf_map_lookup_elem(fd, k, v))
				return -errno;
			v->flags &= ~MXW_LF_PLEN_MASK;
			return 0;
		}
		cur = next;
		prev = &cur;
	}
	return -ENOENT;
}

/* Add address a to list l's exact table, or to its trie as a /128 when
 * both of its buckets are full (hints_lock held; a is absent). */
static int ctl_exact_insert(struct ctl_bpf *b, enum ctl_list l,
			    const struct mxw_addr *a,
			    const struct mxw_list_entry *v)
{
	struct mxw_list_entry tv;
	struct mxw_lpm_key k;
	int err;

	ctl_hint_before_put(b, ctl_hint_bit(l, true));
	if (mxw_list_tab_insert(&b->tab[l], a, v) == 0)
		return 0;
	ctl_hint_before_put(b, ctl_hint_bit(l, false));
	ctl_host_lpm_key(&k, a);
	tv = ctl_trie_value(&k, v);
	if (bpf_map_update_elem(b->fd_lpm[l], &k, &tv, BPF_NOEXIST)) {
		err = -errno;
		return err == -E2BIG ? -ENOSPC : err;
	}
	ctl_count_add(&b->n_spill[l], 1);
	if (!b->spill_logged[l]) {
		char text[CTL_ADDR_TEXT_MAX];
		struct ctl_prefix p = {.plen = 128};

		memcpy(p.a, a->a, 16);
		ctl_prefix_format(&p, text, sizeof(text));
		log_warn("%s list: both buckets of %s full; stored as a /128 "
			 "prefix instead (logged once)",
			 l == CTL_LIST_ALLOW ? "allow" : "block", text);
		b->spill_logged[l] = true;
	}
	return 0;
}

/* A host: the table, then the trie (spilled).  hints_lock held. */
static int ctl_exact_put(struct ctl_bpf *b, enum ctl_list l,
			 const struct mxw_addr *a,
			 const struct mxw_list_entry *v, bool replace,
			 bool *created)
{
	struct mxw_list_entry *cur = mxw_list_tab_get(&b->tab[l], a), old, tv;
	struct mxw_lpm_key k;
	int err;

	*created = false;
	if (cur) {
		if (!replace)
			return -EEXIST;
		mxw_list_entry_store(cur, v);
		return 0;
	}
	ctl_host_lpm_key(&k, a);
	if (b->n_spill[l] && ctl_lpm_get_exact(b->fd_lpm[l], &k, &old) == 0) {
		if (!replace)
			return -EEXIST;
		tv = ctl_trie_value(&k, v);
		return bpf_map_update_elem(b->fd_lpm[l], &k, &tv, BPF_EXIST) ?
		       -errno : 0;
	}
	/* The table never refuses before its capacity: a hash map used to
	 * say E2BIG (table_full) at max_entries, and so do we. */
	if (b->n_exact[l] >= b->max_exact[l])
		return -E2BIG;
	if ((err = ctl_exact_insert(b, l, a, v)))
		return err;
	ctl_count_add(&b->n_exact[l], 1);
	*created = true;
	return 0;
}

/* A prefix: LPM updates and deletes are exact on (prefixlen, bits). */
static int ctl_lpm_put(struct ctl_bpf *b, enum ctl_list l,
		       const struct ctl_prefix *p,
		       const struct mxw_list_entry *v, bool replace,
		       bool *created)
{
	struct mxw_list_entry tv;
	struct mxw_lpm_key k;
	int err;

	ctl_lpm_key(&k, p);
	tv = ctl_trie_value(&k, v);
	*created = true;
	ctl_hint_before_put(b, ctl_hint_bit(l, false));
	if (bpf_map_update_elem(b->fd_lpm[l], &k, &tv, BPF_NOEXIST) == 0) {
		ctl_count_add(&b->n_lpm[l], 1);
		return 0;
	}
	err = -errno;
	if (err == -EEXIST) {
		*created = false;
		if (!replace)
			return err;
		err = bpf_map_update_elem(b->fd_lpm[l], &k, &tv, BPF_EXIST) ?
		      -errno : 0;
	}
	return err;
}

int ctl_bpf_list_put(struct ctl_bpf *b, enum ctl_list l,
		     const struct ctl_prefix *p,
		     const struct mxw_list_entry *v, bool replace,
		     bool *created)
{
	struct mxw_list_entry e = *v;
	struct mxw_addr a;
	int err;

	/* the recorded length is the writer's to set (a state file of
	 * another version may carry one) */
	e.flags &= ~MXW_LF_PLEN_MASK;
	pthread_mutex_lock(&b->hints_lock);
	if (ctl_prefix_is_host(p)) {
		memcpy(a.a, p->a, 16);
		err = ctl_exact_put(b, l, &a, &e, replace, created);
	} else {
		err = ctl_lpm_put(b, l, p, &e, replace, created);
	}
	pthread_mutex_unlock(&b->hints_lock);
	return err;
}

int ctl_bpf_list_get(struct ctl_bpf *b, enum ctl_list l,
		     const struct ctl_prefix *p, struct mxw_list_entry *v)
{
	const struct mxw_list_entry *cur;
	struct mxw_lpm_key k;
	struct mxw_addr a;
	int err = -ENOENT;

	if (!ctl_prefix_is_host(p)) {
		ctl_lpm_key(&k, p);
		return ctl_lpm_get_exact(b->fd_lpm[l], &k, v);
	}
	memcpy(a.a, p->a, 16);
	pthread_mutex_lock(&b->hints_lock);
	cur = mxw_list_tab_get(&b->tab[l], &a);
	if (cur) {
		*v = *cur;
		err = 0;
	} else if (b->n_spill[l]) {
		ctl_host_lpm_key(&k, &a);
		err = ctl_lpm_get_exact(b->fd_lpm[l], &k, v);
	}
	pthread_mutex_unlock(&b->hints_lock);
	return err;
}

int ctl_bpf_list_del(struct ctl_bpf *b, enum ctl_list l,
		     const struct ctl_prefix *p)
{
	bool host = ctl_prefix_is_host(p);
	struct mxw_lpm_key k;
	struct mxw_addr a;
	int err = 0;

	pthread_mutex_lock(&b->hints_lock);
	if (host) {
		memcpy(a.a, p->a, 16);
		if (mxw_list_tab_delete(&b->tab[l], &a) == 0) {
			ctl_count_add(&b->n_exact[l], -1);
			goto deleted;
		}
		ctl_host_lpm_key(&k, &a);
	} else {
		ctl_lpm_key(&k, p);
	}
	if (bpf_map_delete_elem(b->fd_lpm[l], &k)) {
		err = -errno;
		goto out;
	}
	if (host) {
		ctl_count_add(&b->n_exact[l], -1);
		ctl_count_add(&b->n_spill[l], -1);
	} else {
		ctl_count_add(&b->n_lpm[l], -1);
	}
deleted:
	ctl_hint_after_del(b, l);
out:
	pthread_mutex_unlock(&b->hints_lock);
	return err;
}

/* Read slot i of bucket bk into *p, *e if it holds a live entry, as the
 * fast path reads: tag, copy, tag again, so a slot rewritten meanwhile is
 * skipped.  Lock-free. */
static bool ctl_slot_read(const struct mxw_list_bucket *bk, int i,
			  struct ctl_prefix *p, struct mxw_list_entry *e)
{
	__u32 t = __atomic_load_n(&bk->tag[i], __ATOMIC_ACQUIRE);

	if (t <= MXW_TAG_BUSY)
		return false;
	p->plen = 128;
	memcpy(p->a, bk->slot[i].key.a, 16);
	*e = bk->slot[i].e;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&bk->tag[i], __ATOMIC_RELAXED) == t;
}

/* A list entry that applies and is not shadow. */
static bool ctl_entry_enforced(const struct mxw_list_entry *v, uint64_t now_ns)
{
	return !(v->flags & MXW_LF_SHADOW) &&
	       (!v->expires_ns || v->expires_ns > now_ns);
}

/* The fast path's judgement (MXW_LIST_MATCH), from userspace: its own
 * search of the two buckets (mxw_list_find), then, unless that found a
 * live enforced entry, the trie as MXW_LPM_MATCH walks it: the longest
 * prefix, and behind a shadow or expired one the next shorter. */
bool ctl_bpf_list_match(struct ctl_bpf *b, enum ctl_list l,
			const struct mxw_addr *a, uint64_t now_ns)
{
	const struct mxw_list_tab *t = &b->tab[l];
	__u64 h = mxw_hash_addr(a, t->seed);
	__u32 idx[2] = {mxw_hash_idx1(h, t->mask), mxw_hash_idx2(h, t->mask)};
	struct mxw_lpm_key k;
	struct mxw_list_entry v;

	for (int c = 0; c < 2; c++) {
		const struct mxw_list_bucket *bk = &t->b[idx[c]];
		int i = mxw_list_find(bk, mxw_hash_tag(h), a);

		if (i >= 0) {
			v = bk->slot[i].e;
			if (ctl_entry_enforced(&v, now_ns))
				return true;
			break;  /* expired or shadow: a prefix may cover it */
		}
	}
	/* the longest prefix, a spilled /128 included */
	ctl_host_lpm_key(&k, a);
	for (int n = 0; n < MXW_LPM_WALK; n++) {
		int pl;

		if (bpf_map_lookup_elem(b->fd_lpm[l], &k, &v))
			return false;
		if (ctl_entry_enforced(&v, now_ns))
			return true;
		if ((pl = mxw_lpm_shorter(v.flags, k.prefixlen)) < 0)
			return false;
		k.prefixlen = (__u32)pl;
	}
	return false;
}

/*
 * Every live slot of list l's exact table, read as the fast path reads
 * (tag, copy, tag again: a slot rewritten meanwhile is skipped), without
 * the writer lock, so a long walk never stalls the policy worker.  cb
 * gets the address as a /128; non-zero stops the walk.
 */
static int ctl_exact_walk(struct ctl_bpf *b, enum ctl_list l, ctl_list_cb cb,
			  void *ctx)
{
	const struct mxw_list_tab *t = &b->tab[l];
	int rc;

	for (uint64_t bi = 0; bi <= t->mask; bi++) {
		const struct mxw_list_bucket *bk = &t->b[bi];

		for (int i = 0; i < MXW_LIST_WAYS; i++) {
			struct ctl_prefix p;
			struct mxw_list_entry e;

			if (ctl_slot_read(bk, i, &p, &e) &&
			    (rc = cb(&p, &e, ctx)))
				return rc;
		}
	}
	return 0;
}

int ctl_bpf_list_walk(struct ctl_bpf *b, enum ctl_list l, ctl_list_cb cb,
		      void *ctx)
{
	struct mxw_lpm_key k, nk;
	struct mxw_list_entry v;
	struct ctl_prefix p;
	void *prev = NULL;
	int rc;

	rc = ctl_exact_walk(b, l, cb, ctx);
	if (rc)
		return rc;
	/* A /128 in the trie is a spilled address: it comes out as the
	 * host it is (plen 128). */
	while (bpf_map_get_next_key(b->fd_lpm[l], prev, &nk) == 0) {
		k = nk;
		prev = &k;
		if (bpf_map_lookup_elem(b->fd_lpm[l], &k, &v))
			continue;
		if (k.prefixlen > 128)
			continue;
		v.flags &= ~MXW_LF_PLEN_MASK;
		ctl_lpm_prefix(&p, &k);
		if ((rc = cb(&p, &v, ctx)))
			return rc;
	}
	return 0;
}

/*
 * At open, before anyone else writes: record each trie entry's prefix
 * length in it (MXW_LF_PLEN_*) where a pinned trie comes from an mxwalld
 * that did not, so that the fast path's walk past shadow and expired
 * prefixes covers them too.  The entry is rewritten whole, in place.
 */
static void ctl_trie_record_plen(struct ctl_bpf *b, enum ctl_list l)
{
	struct mxw_lpm_key k, nk;
	struct mxw_list_entry v, tv;
	void *prev = NULL;
	unsigned n = 0;

	while (bpf_map_get_next_key(b->fd_lpm[l], prev, &nk) == 0) {
		k = nk;
		prev = &k;
		if (k.prefixlen > 128 ||
		    bpf_map_lookup_elem(b->fd_lpm[l], &k, &v))
			continue;
		tv = ctl_trie_value(&k, &v);
		if (tv.flags == v.flags)
			continue;
		if (bpf_map_update_elem(b->fd_lpm[l], &k, &tv, BPF_EXIST))
			log_warn("%s list: cannot record a prefix length: %s",
				 l == CTL_LIST_ALLOW ? "allow" : "block",
				 strerror(errno));
		else
			n++;
	}
	if (n)
		log_info("%s list: prefix lengths recorded in %u trie entries",
			 l == CTL_LIST_ALLOW ? "allow" : "block", n);
}

/*
 * Seed-mismatch self-heal (at open, before anyone else writes): a list
 * table reused with a seed other than the one it was laid out by (only
 * if someone removed the mxw_data pin) would hide its entries from the
 * fast path.  If any used slot is not in one of its two buckets with its
 * tag for the current seed, collect every entry, clear the table and
 * insert them again.
 */
static void ctl_list_heal(struct ctl_bpf *b, enum ctl_list l)
{
	const struct mxw_list_tab *t = &b->tab[l];
	const char *name = l == CTL_LIST_ALLOW ? "allow" : "block";
	struct mxw_list_slot *all = NULL;
	size_t n = 0, cap = 0, lost = 0;
	__u32 *second = calloc((size_t)t->mask + 1, sizeof(*second));
	uint64_t recounted = 0;
	bool bad = false;

	if (!second) {
		log_error("%s list: out of memory for the seed check", name);
		return;
	}
	for (uint64_t bi = 0; bi <= t->mask; bi++) {
		const struct mxw_list_bucket *bk = &t->b[bi];

		for (int i = 0; i < MXW_LIST_WAYS; i++) {
			__u32 first;
			__u64 h;

			if (bk->tag[i] <= MXW_TAG_BUSY)
				continue;
			h = mxw_hash_addr(&bk->slot[i].key, t->seed);
			first = mxw_hash_idx1(h, t->mask);
			if (bk->tag[i] != mxw_hash_tag(h) ||
			    (bi != first && bi != mxw_hash_idx2(h, t->mask)))
				bad = true;
			else if (bi != first)
				second[first]++;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				struct mxw_list_slot *g = realloc(all,
							nc * sizeof(*g));

				if (!g) {
					log_error("%s list: out of memory for "
						  "the seed check", name);
					free(all);
					free(second);
					return;
				}
				all = g;
				cap = nc;
			}
			all[n++] = bk->slot[i];
		}
	}
	if (!bad) {
		/* A daemon killed between a count and its tag leaves the
		 * count too high (a second bucket read per miss there, never
		 * a hidden entry): the counts are rewritten from the walk. */
		for (uint64_t bi = 0; bi <= t->mask; bi++)
			if (t->b[bi].n_second != second[bi]) {
				__atomic_store_n(&t->b[bi].n_second, second[bi],
						 __ATOMIC_RELEASE);
				recounted++;
			}
		if (recounted)
			log_warn("%s list: n_second recounted in %llu buckets",
				 name, (unsigned long long)recounted);
		free(second);
		free(all);
		return;
	}
	free(second);
	log_warn("%s list: table laid out by another hash seed (the "
		 "mxw_data pin was removed?); rebuilding %zu entries",
		 name, n);
	pthread_mutex_lock(&b->hints_lock);
	for (uint64_t bi = 0; bi <= t->mask; bi++) {
		for (int i = 0; i < MXW_LIST_WAYS; i++)
			__atomic_store_n(&t->b[bi].tag[i], MXW_TAG_EMPTY,
					 __ATOMIC_RELEASE);
		__atomic_store_n(&t->b[bi].n_second, 0, __ATOMIC_RELEASE);
	}
	for (size_t i = 0; i < n; i++)
		if (ctl_exact_insert(b, l, &all[i].key, &all[i].e))
			lost++;
	pthread_mutex_unlock(&b->hints_lock);
	if (lost)
		log_error("%s list: %zu entries lost in the rebuild (the state "
			  "file still has them)", name, lost);
	free(all);
}

struct ctl_expire_ctx {
	uint64_t now;
	uint64_t next;          /* earliest expiry still ahead, 0 = none */
	struct ctl_expired {
		struct ctl_prefix p;
		struct mxw_list_entry v;        /* for the unblock event */
	} *dead;
	size_t n, cap;
};

static int ctl_collect_expired(const struct ctl_prefix *p,
			       const struct mxw_list_entry *v, void *arg)
{
	struct ctl_expire_ctx *c = arg;

	if (!v->expires_ns)
		return 0;
	if (v->expires_ns > c->now) {
		if (!c->next || v->expires_ns < c->next)
			c->next = v->expires_ns;
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct ctl_expired *n = realloc(c->dead, cap * sizeof(*n));

		if (!n)
			return 1;       /* delete what we have; rest next time */
		c->dead = n;
		c->cap = cap;
	}
	c->dead[c->n].p = *p;
	c->dead[c->n++].v = *v;
	return 0;
}

long ctl_bpf_list_expire_cb(struct ctl_bpf *b, enum ctl_list l,
			    uint64_t now_ns, uint64_t *next_ns,
			    ctl_list_cb on_removed, void *ctx)
{
	struct ctl_expire_ctx c = {.now = now_ns};
	long n = 0;

	ctl_bpf_list_walk(b, l, ctl_collect_expired, &c);
	if (c.next && (!*next_ns || c.next < *next_ns))
		*next_ns = c.next;
	for (size_t i = 0; i < c.n; i++) {
		if (ctl_bpf_list_del(b, l, &c.dead[i].p) != 0)
			continue;
		n++;
		if (on_removed)
			on_removed(&c.dead[i].p, &c.dead[i].v, ctx);
	}
	free(c.dead);
	return n;
}

long ctl_bpf_list_expire(struct ctl_bpf *b, enum ctl_list l, uint64_t now_ns,
			 uint64_t *next_ns)
{
	return ctl_bpf_list_expire_cb(b, l, now_ns, next_ns, NULL, NULL);
}

/* Used slots of list l's exact table, by a scan. */
static uint64_t ctl_exact_scan(struct ctl_bpf *b, enum ctl_list l)
{
	const struct mxw_list_tab *t = &b->tab[l];
	uint64_t n = 0;

	for (uint64_t bi = 0; bi <= t->mask; bi++)
		n += mxw_list_used(&t->b[bi]);
	return n;
}

int ctl_bpf_list_count(struct ctl_bpf *b)
{
	uint32_t empty = 0;

	pthread_mutex_lock(&b->hints_lock);
	b->hints_counted = 0;
	for (int l = 0; l < 2; l++) {
		uint64_t n_tab = ctl_exact_scan(b, (enum ctl_list)l);
		uint64_t n_host = 0, n_pfx = 0;
		struct mxw_lpm_key k, nk;
		void *prev = NULL;

		/* The trie key by key: a /128 there is a spilled address. */
		while (bpf_map_get_next_key(b->fd_lpm[l], prev, &nk) == 0) {
			k = nk;
			prev = &k;
			if (k.prefixlen == 128)
				n_host++;
			else
				n_pfx++;
		}
		if (errno == ENOENT)
			b->hints_counted |= ctl_hint_bit((enum ctl_list)l, true) |
					    ctl_hint_bit((enum ctl_list)l, false);
		else
			log_warn("%s list: recount failed (%s); its empty hints "
				 "stay off until a restart",
				 l == CTL_LIST_ALLOW ? "allow" : "block",
				 strerror(errno));
		b->n_exact[l] = n_tab + n_host;
		b->n_spill[l] = n_host;
		b->n_lpm[l] = n_pfx;
		/* The table's count is a scan under the writer lock: exact.
		 * The trie's from the map itself, not the walk: a walk that
		 * failed half-way must not promise emptiness. */
		if (!n_tab)
			empty |= ctl_hint_bit((enum ctl_list)l, true);
		if (ctl_map_empty(b->fd_lpm[l]))
			empty |= ctl_hint_bit((enum ctl_list)l, false);
	}
	ctl_hints_write(b, empty);
	pthread_mutex_unlock(&b->hints_lock);
	return 0;
}

int ctl_bpf_stats(struct ctl_bpf *b, struct mxw_counter out[MXW_R_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	struct mxw_counter *per;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	for (__u32 r = 0; r < MXW_R_MAX; r++) {
		out[r].packets = out[r].bytes = 0;
		if (bpf_map_lookup_elem(b->fd_stats, &r, per))
			continue;
		for (int c = 0; c < ncpu; c++) {
			out[r].packets += per[c].packets;
			out[r].bytes += per[c].bytes;
		}
	}
	free(per);
	return 0;
}

/* A repair found by a pass: the source, the count seen, the right one. */
struct ctl_rc_fix {
	struct mxw_addr sk;
	__u32 seen, val;
};

/* The slot of source key sk in mxw_src_bucket as the fast path finds
 * it (a slot stranded by another seed is not), or NULL. */
static struct mxw_src_slot *ctl_src_slot(struct ctl_bpf *b,
					 const struct mxw_addr *sk)
{
	__u64 h = mxw_hash_addr(sk, b->seed);
	struct mxw_src_set *set =
		&((struct mxw_src_set *)b->m_src.p)[mxw_hash_idx1(h, b->mask[CTL_T_SRC_BUCKET])];

	return MXW_SLOT(set, mxw_src_find(set, mxw_hash_tag(h), sk), MXW_SRC_WAYS);
}

/* A counted flow k, removed here, leaves its source slot's memory
 * (mxw_src_slot.syn_fp) as the fast path's release does: otherwise a SYN
 * on the same 4-tuple would pass as a retransmission, uncounted.  sk is
 * the flow's source key. */
static void ctl_rc_forget_fp(struct ctl_bpf *b, const struct mxw_flow_key *k,
			     const struct mxw_addr *sk)
{
	struct mxw_src_slot *ss = ctl_src_slot(b, sk);

	if (ss)
		__sync_val_compare_and_swap(&ss->syn_fp, mxw_flow_fp(k, b->seed), 0);
}

/*
 * mxw_conn: free expired slots (a second of grace: the flow ended without
 * a FIN seen) by the fast path's own protocol, a compare-and-swap of the
 * tag to 0 (mxw_flow_remove), so a slot another CPU just reclaimed for a
 * new flow is left alone; count the live counted flows per source key.
 */
static int ctl_rc_flows(struct ctl_bpf *b, struct ctl_rc *rc,
			unsigned src6_len, uint64_t now,
			struct ctl_rc_totals *tot)
{
	struct mxw_flow_set *sets = b->m_conn.p;

	for (uint32_t si = 0; si < b->m_conn.n; si++) {
		struct mxw_flow_set *set = &sets[si];

		for (int i = 0; i < MXW_FLOW_WAYS; i++) {
			const struct mxw_flow_slot *fs = &set->slot[i];
			__u32 tag = __atomic_load_n(&set->tag[i], __ATOMIC_ACQUIRE);
			struct mxw_flow_key k;
			struct mxw_addr sk;
			__u64 exp;
			__u32 flags;

			if (tag <= MXW_TAG_BUSY)
				continue;
			exp = __atomic_load_n(&fs->expires_ns, __ATOMIC_RELAXED);
			flags = __atomic_load_n(&fs->flags, __ATOMIC_RELAXED);
			mxw_flow_copy(&k, &fs->key);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&set->tag[i], __ATOMIC_RELAXED) != tag)
				continue;       /* rewritten meanwhile */
			/* Inbound flow keys carry the client as src
			 * (mxw_flow_key_fwd). */
			ctl_rc_source_key(&sk, &k.src, src6_len);
			if (exp && exp + 1000000000ull <= now) {
				if (__sync_val_compare_and_swap(&set->tag[i], tag,
								MXW_TAG_EMPTY) != tag)
					continue;
				tot->flows_expired++;
				if (flags & MXW_FF_COUNTED)
					ctl_rc_forget_fp(b, &k, &sk);
				continue;
			}
			if (!(flags & MXW_FF_COUNTED))
				continue;
			if (ctl_rc_flow(rc, &sk) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* mxw_src_bucket: every slot's count against the flows; the stable
 * differences go to *fix. */
static int ctl_rc_counts(struct ctl_bpf *b, struct ctl_rc *rc,
			 struct ctl_rc_fix **fix, size_t *n_fix)
{
	struct mxw_src_set *sets = b->m_src.p;
	size_t cap = 0;

	for (uint32_t si = 0; si < b->m_src.n; si++) {
		struct mxw_src_set *set = &sets[si];

		for (int i = 0; i < MXW_SRC_WAYS; i++) {
			const struct mxw_src_slot *ss = &set->slot[i];
			__u32 tag = __atomic_load_n(&set->tag[i], __ATOMIC_ACQUIRE);
			struct mxw_addr sk;
			__u32 conns;
			uint32_t v;

			if (tag <= MXW_TAG_BUSY)
				continue;
			conns = __atomic_load_n(&ss->conns, __ATOMIC_RELAXED);
			sk = ss->key;
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&set->tag[i], __ATOMIC_RELAXED) != tag)
				continue;
			if (!ctl_rc_count(rc, &sk, conns, &v))
				continue;
			if (*n_fix == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct ctl_rc_fix *g = realloc(*fix,
							       nc * sizeof(*g));

				if (!g)
					return -ENOMEM;
				*fix = g;
				cap = nc;
			}
			(*fix)[*n_fix].sk = sk;
			(*fix)[*n_fix].seen = conns;
			(*fix)[(*n_fix)++].val = v;
		}
	}
	return 0;
}

int ctl_bpf_reconcile(struct ctl_bpf *b, struct ctl_rc *rc,
		      unsigned src6_len, uint64_t now_ns,
		      struct ctl_rc_totals *tot)
{
	struct ctl_rc_fix *fix = NULL;
	size_t n_fix = 0;
	uint64_t fixed = 0;
	int err;

	ctl_rc_begin(rc);
	err = ctl_rc_flows(b, rc, src6_len, now_ns, tot);
	if (!err)
		err = ctl_rc_counts(b, rc, &fix, &n_fix);
	if (err) {
		free(fix);
		return err;
	}
	for (size_t i = 0; i < n_fix; i++) {
		char text[CTL_ADDR_TEXT_MAX];
		struct ctl_prefix p = {.plen = 128};
		struct mxw_src_slot *ss = ctl_src_slot(b, &fix[i].sk);

		/* The source's own slot (none: skipped).  The count moves
		 * only from the value judged, so a SYN or FIN since then
		 * wins and the next passes look again. */
		if (!ss ||
		    __sync_val_compare_and_swap(&ss->conns, fix[i].seen,
						fix[i].val) != fix[i].seen)
			continue;
		tot->counts_fixed++;
		fixed++;
		memcpy(p.a, fix[i].sk.a, 16);
		ctl_prefix_format(&p, text, sizeof(text));
		/* Per source only at debug: after a spoofed SYN flood there is
		 * one such line per forged address. */
		log_debug("CONNCOUNT FIXED for [%s]: %u open connections",
			  text, fix[i].val);
	}
	if (fixed)
		log_info("CONNCOUNT FIXED for %llu sources (flows ended unseen)",
			 (unsigned long long)fixed);
	free(fix);
	ctl_rc_end(rc);
	tot->passes++;
	return 0;
}
