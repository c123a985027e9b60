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
 *    in the order ports, protected, tx ports, config: mxw_config (read
 *    first by the program) changes last.
 */
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
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
static int ctl_map_reuse(struct bpf_map *m, const char *path)
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
		log_error("%s: pinned map does not match this build "
			  "(type %u/%u, key %u/%u, value %u/%u, max_entries "
			  "%u/%u); remove the pins to start afresh (the state "
			  "file restores the lists) or restore "
			  "fastpath.table_sizes", path, info.type,
			  bpf_map__type(m), info.key_size, bpf_map__key_size(m),
			  info.value_size, bpf_map__value_size(m),
			  info.max_entries, bpf_map__max_entries(m));
		err = -EINVAL;
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

int ctl_bpf_open(struct ctl_bpf *b, const struct ctl_config *cfg)
{
	char path[PATH_MAX];
	struct bpf_map *m;
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
		err = bpf_map__set_max_entries(m, cfg->table_size[i]);
		if (err) {
			log_error("%s: cannot size to %u: %s", ctl_tables[i].map,
				  cfg->table_size[i], strerror(-err));
			goto fail;
		}
	}
	bpf_object__for_each_map(m, b->skel->obj) {
		if (bpf_map__is_internal(m) ||
		    strncmp(bpf_map__name(m), "mxw_", 4) != 0 ||
		    strcmp(bpf_map__name(m), "mxw_xsks") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", cfg->pin_dir,
			 bpf_map__name(m));
		if (access(path, F_OK) == 0)
			err = ctl_map_reuse(m, path);
		else
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
	b->fd_config = ctl_map_fd(b, "mxw_config");
	b->fd_ports = ctl_map_fd(b, "mxw_ports");
	b->fd_protected = ctl_map_fd(b, "mxw_protected");
	b->fd_tx = ctl_map_fd(b, "mxw_tx_ports");
	b->fd_stats = ctl_map_fd(b, "mxw_stats");
	b->fd_conn = ctl_map_fd(b, "mxw_conn");
	b->fd_conn_count = ctl_map_fd(b, "mxw_conn_count");
	b->fd_xsks = ctl_map_fd(b, "mxw_xsks");
	b->fd_insp = ctl_map_fd(b, "mxw_insp");
	b->fd_bypass = ctl_map_fd(b, "mxw_bypass");
	b->fd_hints = ctl_map_fd(b, "mxw_hints");
	if (b->fd_hints < 0 ||
	    b->fd_exact[0] < 0 || b->fd_exact[1] < 0 || b->fd_lpm[0] < 0 ||
	    b->fd_lpm[1] < 0 || b->fd_config < 0 || b->fd_ports < 0 ||
	    b->fd_protected < 0 || b->fd_tx < 0 || b->fd_stats < 0 ||
	    b->fd_conn < 0 || b->fd_conn_count < 0 || b->fd_xsks < 0 ||
	    b->fd_insp < 0 || b->fd_bypass < 0) {
		log_error("XDP object lacks a map of the contract");
		err = -ENOENT;
		goto fail;
	}
	b->max_exact[CTL_LIST_ALLOW] = cfg->table_size[CTL_T_ALLOW_EXACT];
	b->max_exact[CTL_LIST_BLOCK] = cfg->table_size[CTL_T_BLOCK_EXACT];
	b->max_lpm[CTL_LIST_ALLOW] = cfg->table_size[CTL_T_ALLOW_PREFIX];
	b->max_lpm[CTL_LIST_BLOCK] = cfg->table_size[CTL_T_BLOCK_PREFIX];
	/* Continue the generation count of a previous instance. */
	{
		__u32 key = 0;
		struct mxw_config cur;
		struct mxw_hints h;

		if (bpf_map_lookup_elem(b->fd_config, &key, &cur) == 0)
			b->generation = cur.generation;
		/* Reused pins may hold a previous instance's promises: start
		 * from them, so the first insert clears what is set. */
		if (bpf_map_lookup_elem(b->fd_hints, &key, &h) == 0)
			b->hints = h.empty;
	}
	pthread_mutex_init(&b->hints_lock, NULL);
	log_info("XDP program loaded, maps %s under %s",
		 b->pins_reused ? "reused" : "created", cfg->pin_dir);
	return 0;
fail:
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
	int err;

	memset(want, 0, sizeof(want));
	for (uint32_t i = 0; i < cfg->n_mail_ports; i++)
		want[cfg->mail_ports[i]] = MXW_PORT_MAIL | MXW_PORT_INSPECT;
	for (uint32_t i = 0; i < cfg->n_tls_ports; i++)
		want[cfg->tls_ports[i]] = MXW_PORT_MAIL | MXW_PORT_IMPLICIT_TLS;
	/* Ports that become mail ports are opened before others close, so
	 * a port kept across a reload never flickers. */
	for (int pass = 0; pass < 2; pass++)
		for (__u32 port = 0; port < MXW_MAX_PORTS; port++) {
			__u8 cur = 0;

			if (bpf_map_lookup_elem(b->fd_ports, &port, &cur) < 0)
				cur = 0;
			if (cur == want[port] || (pass == 0 && !want[port]))
				continue;
			err = bpf_map_update_elem(b->fd_ports, &port,
						  &want[port], BPF_ANY);
			if (err) {
				err = -errno;
				log_error("mxw_ports[%u]: %s", port,
					  strerror(-err));
				return err;
			}
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
	__u32 key = 0, slot;
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
	/* XXX: an ARRAY value update is a plain copy; a packet processed
	 * during it can see a mix of old and new fields.  Each field stays
	 * valid on its own, so the worst case is one packet judged by a
	 * half-new config. */
	if (bpf_map_update_elem(b->fd_config, &key, &mc, BPF_ANY)) {
		err = -errno;
		log_error("mxw_config: %s", strerror(-err));
		return err;
	}
	b->xdp_flags = cfg->xdp_mode == CTL_XDP_GENERIC ? XDP_FLAGS_SKB_MODE :
			XDP_FLAGS_DRV_MODE;
	return 0;
}

static int ctl_attach_one(struct ctl_bpf *b, int slot)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int ifindex = b->ifindex[slot];
	int prog_fd = bpf_program__fd(b->skel->progs.mxw_xdp);
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
			.old_prog_fd = bpf_program__fd(b->skel->progs.mxw_xdp));
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
	mxwall_bpf__destroy(b->skel);
	b->skel = NULL;
	pthread_mutex_destroy(&b->hints_lock);
}

int ctl_bpf_bypass_add(struct ctl_bpf *b, const struct mxw_flow_key *k,
		       uint64_t expires_ns)
{
	struct mxw_flow_val v;
	struct mxw_flow_key key = *k;

	/* The fast path looks the key up as a whole: padding must be 0. */
	memset(key._pad, 0, sizeof(key._pad));
	if (key.proto != IPPROTO_TCP)
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	v.expires_ns = expires_ns;
	if (bpf_map_update_elem(b->fd_bypass, &key, &v, BPF_ANY))
		return -errno;
	return 0;
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

/* The mxw_hints bit of list l's exact or prefix map. */
static uint32_t ctl_hint_bit(enum ctl_list l, bool exact)
{
	if (l == CTL_LIST_ALLOW)
		return exact ? MXW_HE_ALLOW_EXACT : MXW_HE_ALLOW_LPM;
	return exact ? MXW_HE_BLOCK_EXACT : MXW_HE_BLOCK_LPM;
}

/* Write mxw_hints; hints_lock held.  b->hints mirrors the map (read at
 * open, changed only by a write that succeeded), so callers can skip a
 * write that would change nothing. */
static int ctl_hints_write(struct ctl_bpf *b, uint32_t empty)
{
	struct mxw_hints h = {.empty = empty};
	__u32 key = 0;

	if (bpf_map_update_elem(b->fd_hints, &key, &h, BPF_ANY))
		return -errno;
	b->hints = empty;
	return 0;
}

/* Whether map fd holds no entry at all.  Asking the map costs a scan of
 * every hash bucket when it is empty (milliseconds for 2M buckets), so
 * this is for the start only. */
static bool ctl_map_empty(int fd)
{
	struct mxw_lpm_key next;        /* the larger of the two key types */

	return bpf_map_get_next_key(fd, NULL, &next) != 0 && errno == ENOENT;
}

/*
 * After a delete (hints_lock held): promise "empty" when the map's
 * counter reached 0.  Every insert and delete counts under hints_lock, so
 * the counter is exact for a map whose start count was (b->hints_counted,
 * set by ctl_bpf_list_count); until then, or after a failed recount, no
 * bit is set here, which costs lookups, never a missed entry.
 * XXX: an entry written past mxwalld (bpftool) is not counted; such a map
 * may be promised empty after its last counted entry goes, until the next
 * restart recomputes the hints from the maps.
 */
static void ctl_hint_after_del(struct ctl_bpf *b, uint64_t *count,
			       uint32_t bit)
{
	int err;

	if ((b->hints & bit) || !(b->hints_counted & bit) ||
	    __atomic_load_n(count, __ATOMIC_RELAXED))
		return;
	err = ctl_hints_write(b, b->hints | bit);
	if (err)
		log_warn("mxw_hints: %s (the fast path keeps looking up)",
			 strerror(-err));
}

/* Where an entry for p lives: the exact map for a host, else the LPM
 * trie (LPM updates and deletes are exact on (prefixlen, bits)); with its
 * entry count and its hint bit.  key points into p or into *k. */
struct ctl_list_slot {
	const void *key;
	int fd;
	uint64_t *count;
	uint32_t bit;
};

static struct ctl_list_slot ctl_list_slot(struct ctl_bpf *b, enum ctl_list l,
					  const struct ctl_prefix *p,
					  struct mxw_lpm_key *k)
{
	bool host = ctl_prefix_is_host(p);

	if (!host)
		ctl_lpm_key(k, p);
	return (struct ctl_list_slot){
		.key = host ? (const void *)p->a : (const void *)k,
		.fd = host ? b->fd_exact[l] : b->fd_lpm[l],
		.count = host ? &b->n_exact[l] : &b->n_lpm[l],
		.bit = ctl_hint_bit(l, host),
	};
}

int ctl_bpf_list_put(struct ctl_bpf *b, enum ctl_list l,
		     const struct ctl_prefix *p,
		     const struct mxw_list_entry *v, bool replace,
		     bool *created)
{
	struct mxw_lpm_key k;
	struct ctl_list_slot sl = ctl_list_slot(b, l, p, &k);
	const void *key = sl.key;
	int fd = sl.fd, err;
	uint64_t *count = sl.count;
	uint32_t bit = sl.bit;

	*created = true;
	pthread_mutex_lock(&b->hints_lock);
	/* The promise goes before the entry arrives: a frame judged in
	 * between looks the table up and finds nothing, as before. */
	err = (b->hints & bit) ? ctl_hints_write(b, b->hints & ~bit) : 0;
	if (err) {
		log_error("mxw_hints: %s; entry not added", strerror(-err));
		goto out;
	}
	if (bpf_map_update_elem(fd, key, v, BPF_NOEXIST) == 0) {
		/* atomic: the inspection worker adds policy blocks too */
		__atomic_fetch_add(count, 1, __ATOMIC_RELAXED);
		goto out;
	}
	err = -errno;
	if (err == -EEXIST && replace) {
		*created = false;
		err = 0;
		if (bpf_map_update_elem(fd, key, v, BPF_EXIST))
			err = -errno;
	}
out:
	pthread_mutex_unlock(&b->hints_lock);
	return err;
}

int ctl_bpf_list_get(struct ctl_bpf *b, enum ctl_list l,
		     const struct ctl_prefix *p, struct mxw_list_entry *v)
{
	struct mxw_lpm_key k;

	if (ctl_prefix_is_host(p))
		return bpf_map_lookup_elem(b->fd_exact[l], p->a, v) ? -errno : 0;
	ctl_lpm_key(&k, p);
	/* An LPM lookup returns the longest match, which may be a shorter
	 * prefix: only a key equal in length and bits is "this entry", and
	 * the trie has no exact lookup, hence the walk (rare: callers use it
	 * after an EEXIST or for a single del/show). */
	{
		struct mxw_lpm_key next;
		void *prev = NULL;
		struct mxw_lpm_key cur;

		while (bpf_map_get_next_key(b->fd_lpm[l], prev, &next) == 0) {
			if (memcmp(&next, &k, sizeof(k)) == 0)
				return bpf_map_lookup_elem(b->fd_lpm[l], &k, v) ?
				       -errno : 0;
			cur = next;
			prev = &cur;
		}
	}
	return -ENOENT;
}

/* Entry counts change from the main thread and the inspection worker. */
static void ctl_count_dec(uint64_t *c)
{
	uint64_t v = __atomic_load_n(c, __ATOMIC_RELAXED);

	while (v && !__atomic_compare_exchange_n(c, &v, v - 1, false,
						 __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED))
		;
}

int ctl_bpf_list_del(struct ctl_bpf *b, enum ctl_list l,
		     const struct ctl_prefix *p)
{
	struct mxw_lpm_key k;
	struct ctl_list_slot sl = ctl_list_slot(b, l, p, &k);
	const void *key = sl.key;
	int fd = sl.fd, err = 0;
	uint64_t *count = sl.count;
	uint32_t bit = sl.bit;

	pthread_mutex_lock(&b->hints_lock);
	if (bpf_map_delete_elem(fd, key)) {
		err = -errno;
	} else {
		ctl_count_dec(count);
		ctl_hint_after_del(b, count, bit);
	}
	pthread_mutex_unlock(&b->hints_lock);
	return err;
}

#define CTL_WALK_BATCH 4096

/*
 * Any hash map, in batches where the kernel can (BPF_MAP_LOOKUP_BATCH),
 * else key by key.  cb gets each key and value; non-zero stops the walk.
 */
typedef int (*ctl_map_cb)(const void *key, const void *val, void *ctx);

static int ctl_map_walk(int fd, size_t ksz, size_t vsz, ctl_map_cb cb,
			void *ctx)
{
	__u8 in_tok[64], out_tok[64];
	void *in = NULL, *keys, *vals;
	bool first = true;
	int rc = 0;

	keys = calloc(CTL_WALK_BATCH, ksz);
	vals = calloc(CTL_WALK_BATCH, vsz);
	if (!keys || !vals) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 n = CTL_WALK_BATCH;
		int err = bpf_map_lookup_batch(fd, in, out_tok, keys, vals, &n,
					       NULL);
		bool last = false;

		if (err) {
			err = -errno;
			if (err != -ENOENT) {
				if (first)
					goto slow;
				log_warn("batched map walk stopped: %s",
					 strerror(-err));
				goto out;
			}
			last = true;
		}
		first = false;
		for (__u32 i = 0; i < n; i++)
			if ((rc = cb((__u8 *)keys + i * ksz,
				     (__u8 *)vals + i * vsz, ctx)))
				goto out;
		if (last)
			goto out;
		memcpy(in_tok, out_tok, sizeof(in_tok));
		in = in_tok;
	}
slow:
	{
		void *cur = keys, *next = (__u8 *)keys + ksz, *p = NULL;

		while (bpf_map_get_next_key(fd, p, next) == 0) {
			memcpy(cur, next, ksz);
			p = cur;
			if (bpf_map_lookup_elem(fd, cur, vals) == 0 &&
			    (rc = cb(cur, vals, ctx)))
				break;
		}
	}
out:
	free(keys);
	free(vals);
	return rc;
}

/* ctl_map_walk's callback for the exact lists: keys become /128 prefixes. */
struct ctl_exact_walk {
	ctl_list_cb cb;
	void *ctx;
};

static int ctl_exact_cb(const void *key, const void *val, void *arg)
{
	const struct ctl_exact_walk *w = arg;
	struct ctl_prefix p = {.plen = 128};

	memcpy(p.a, key, 16);
	return w->cb(&p, val, w->ctx);
}

int ctl_bpf_list_walk(struct ctl_bpf *b, enum ctl_list l, ctl_list_cb cb,
		      void *ctx)
{
	struct ctl_exact_walk ew = {.cb = cb, .ctx = ctx};
	struct mxw_lpm_key k, nk;
	struct mxw_list_entry v;
	struct ctl_prefix p;
	void *prev = NULL;
	int rc;

	rc = ctl_map_walk(b->fd_exact[l], sizeof(struct mxw_addr),
			  sizeof(struct mxw_list_entry), ctl_exact_cb, &ew);
	if (rc)
		return rc;
	while (bpf_map_get_next_key(b->fd_lpm[l], prev, &nk) == 0) {
		k = nk;
		prev = &k;
		if (bpf_map_lookup_elem(b->fd_lpm[l], &k, &v))
			continue;
		if (k.prefixlen > 128)
			continue;
		ctl_lpm_prefix(&p, &k);
		if ((rc = cb(&p, &v, ctx)))
			return rc;
	}
	return 0;
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

static int ctl_count_cb(const struct ctl_prefix *p,
			const struct mxw_list_entry *v, void *arg)
{
	uint64_t *n = arg;

	n[ctl_prefix_is_host(p) ? 0 : 1]++;
	return 0;
}

int ctl_bpf_list_count(struct ctl_bpf *b)
{
	uint32_t empty = 0;
	int err;

	pthread_mutex_lock(&b->hints_lock);
	b->hints_counted = 0;
	for (int l = 0; l < 2; l++) {
		uint64_t n[2] = {0, 0};
		uint32_t both = ctl_hint_bit((enum ctl_list)l, true) |
				ctl_hint_bit((enum ctl_list)l, false);

		if (ctl_bpf_list_walk(b, (enum ctl_list)l, ctl_count_cb, n) == 0)
			b->hints_counted |= both;
		else
			log_warn("%s list: recount failed; its empty hints "
				 "stay off until a restart",
				 l == CTL_LIST_ALLOW ? "allow" : "block");
		b->n_exact[l] = n[0];
		b->n_lpm[l] = n[1];
		/* From the maps, not the walk: a walk that failed half-way
		 * must not promise emptiness. */
		if (ctl_map_empty(b->fd_exact[l]))
			empty |= ctl_hint_bit((enum ctl_list)l, true);
		if (ctl_map_empty(b->fd_lpm[l]))
			empty |= ctl_hint_bit((enum ctl_list)l, false);
	}
	err = ctl_hints_write(b, empty);
	pthread_mutex_unlock(&b->hints_lock);
	if (err)
		log_warn("mxw_hints: %s (the fast path keeps looking up)",
			 strerror(-err));
	return err;
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

struct ctl_rc_walk {
	struct ctl_rc *rc;
	unsigned src6_len;
	uint64_t now;
	struct mxw_flow_key *stale;
	size_t n_stale, cap;
	int err;
};

static int ctl_rc_flow_cb(const void *key, const void *val, void *arg)
{
	const struct mxw_flow_key *fk = key;
	const struct mxw_flow_val *fv = val;
	struct ctl_rc_walk *w = arg;
	struct mxw_addr sk;

	/* Expired (a second of grace): the flow ended without a FIN seen. */
	if (fv->expires_ns && fv->expires_ns + 1000000000ull <= w->now) {
		if (w->n_stale == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 256;
			struct mxw_flow_key *n = realloc(w->stale,
							 cap * sizeof(*n));

			if (!n)
				return 0;       /* next pass */
			w->stale = n;
			w->cap = cap;
		}
		w->stale[w->n_stale++] = *fk;
		return 0;
	}
	if (!(fv->flags & MXW_FF_COUNTED))
		return 0;
	/* Inbound flow keys carry the client as src (mxw_flow_key_fwd). */
	ctl_rc_source_key(&sk, &fk->src, w->src6_len);
	if (ctl_rc_flow(w->rc, &sk) < 0) {
		w->err = -ENOMEM;
		return 1;
	}
	return 0;
}

struct ctl_rc_fix {
	struct mxw_addr sk;
	__u32 val;
};

struct ctl_rc_count_walk {
	struct ctl_rc *rc;
	struct ctl_rc_fix *fix;
	size_t n, cap;
};

static int ctl_rc_count_cb(const void *key, const void *val, void *arg)
{
	struct ctl_rc_count_walk *w = arg;
	uint32_t v;

	if (!ctl_rc_count(w->rc, key, *(const __u32 *)val, &v))
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct ctl_rc_fix *n = realloc(w->fix, cap * sizeof(*n));

		if (!n)
			return 1;
		w->fix = n;
		w->cap = cap;
	}
	memcpy(&w->fix[w->n].sk, key, sizeof(struct mxw_addr));
	w->fix[w->n++].val = v;
	return 0;
}

int ctl_bpf_reconcile(struct ctl_bpf *b, struct ctl_rc *rc,
		      unsigned src6_len, uint64_t now_ns,
		      struct ctl_rc_totals *tot)
{
	struct ctl_rc_walk w = {.rc = rc, .src6_len = src6_len, .now = now_ns};
	struct ctl_rc_count_walk cw = {.rc = rc};

	ctl_rc_begin(rc);
	ctl_map_walk(b->fd_conn, sizeof(struct mxw_flow_key),
		     sizeof(struct mxw_flow_val), ctl_rc_flow_cb, &w);
	if (w.err) {
		free(w.stale);
		return w.err;
	}
	for (size_t i = 0; i < w.n_stale; i++)
		if (bpf_map_delete_elem(b->fd_conn, &w.stale[i]) == 0)
			tot->flows_expired++;
	free(w.stale);
	ctl_map_walk(b->fd_conn_count, sizeof(struct mxw_addr), sizeof(__u32),
		     ctl_rc_count_cb, &cw);
	uint64_t fixed = 0;

	for (size_t i = 0; i < cw.n; i++) {
		char text[CTL_ADDR_TEXT_MAX];
		struct ctl_prefix p = {.plen = 128};

		/* BPF_EXIST: a count the fast path removed meanwhile stays
		 * removed. */
		if (bpf_map_update_elem(b->fd_conn_count, &cw.fix[i].sk,
					&cw.fix[i].val, BPF_EXIST) != 0)
			continue;
		tot->counts_fixed++;
		fixed++;
		memcpy(p.a, cw.fix[i].sk.a, 16);
		ctl_prefix_format(&p, text, sizeof(text));
		/* Per source only at debug: after a spoofed SYN flood there is
		 * one such line per forged address. */
		log_debug("CONNCOUNT FIXED for [%s]: %u open connections",
			  text, cw.fix[i].val);
	}
	if (fixed)
		log_info("CONNCOUNT FIXED for %llu sources (flows ended unseen)",
			 (unsigned long long)fixed);
	free(cw.fix);
	ctl_rc_end(rc);
	tot->passes++;
	return 0;
}
