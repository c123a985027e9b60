/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl_config.h - mxwalld's configuration: the parsed form of the JSON file
 * described in docs/config.md.  Parsing is a pure function (buffer in,
 * struct or error text out) so it is unit-tested and fuzzed alone.
 */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_addr.h"
#include "ctl_log.h"
#include "ctl_policy.h"
#include "insp.h"
#include "mxwall_shared.h"

#define CTL_CONFIG_FILE_MAX     (1u << 20)  /* bytes read from a config file */
#define CTL_PORTS_MAX           256         /* entries in a port list */
#define CTL_STATIC_MAX          65536       /* static allow / block entries */
#define CTL_PATH_MAX            200         /* pin_dir, state_dir */
#define CTL_SOCK_PATH_MAX       107         /* sun_path minus the NUL */
#define CTL_GROUP_MAX           32
#define CTL_ERR_MAX             256         /* error message buffer */
#define CTL_DOMAIN_MAX          253         /* one local domain, bytes */

enum ctl_xdp_mode {
	CTL_XDP_NATIVE = 0,
	CTL_XDP_GENERIC = 1,
};

/* Table sizes in entries (ctl_bpf.c turns them into the maps'
 * max_entries), in the order of ctl_tables[]. */
enum ctl_table {
	CTL_T_ALLOW_EXACT,
	CTL_T_BLOCK_EXACT,
	CTL_T_ALLOW_PREFIX,
	CTL_T_BLOCK_PREFIX,
	CTL_T_SRC_BUCKET,
	CTL_T_PFX_BUCKET,
	CTL_T_CT,
	CTL_T_CONN,
	CTL_T_BYPASS,
	CTL_T_MAX,
};

struct ctl_table_info {
	const char *key;        /* key under fastpath.table_sizes */
	const char *map;        /* map name in mxwall.bpf.c */
	uint32_t def, min, max;
};
extern const struct ctl_table_info ctl_tables[CTL_T_MAX];

struct ctl_config {
	char outside[IF_NAMESIZE];
	char inside[IF_NAMESIZE];
	enum ctl_xdp_mode xdp_mode;

	char pin_dir[CTL_PATH_MAX];
	bool detach_on_exit;

	char sock_path[CTL_SOCK_PATH_MAX + 1];
	char group[CTL_GROUP_MAX + 1];
	uint32_t max_request_bytes;
	uint32_t max_clients;
	uint32_t stall_timeout;         /* seconds */

	char state_dir[CTL_PATH_MAX];
	enum ctl_log_level log_level;

	/* fastpath */
	uint16_t mail_ports[CTL_PORTS_MAX];
	uint32_t n_mail_ports;
	uint16_t tls_ports[CTL_PORTS_MAX];
	uint32_t n_tls_ports;
	struct ctl_prefix protected_[MXW_PROTECTED_MAX];
	uint32_t n_protected;
	/* The fast path's config value minus ifindexes and generation, which
	 * the loader fills in. */
	struct mxw_config fp;
	uint32_t table_size[CTL_T_MAX];
	uint32_t reconcile_interval;    /* seconds, connection-count repair */

	/* inspection (DESIGN.md 2.2): the AF_XDP path and the engine */
	struct {
		bool enabled;
		uint32_t queues;        /* rx queues per port; 0 = all */
		uint32_t ring_size;     /* AF_XDP ring entries */
		bool zerocopy;
		uint32_t rt_priority;   /* SCHED_FIFO priority of the
					 * worker, 0 = normal scheduling */
		uint32_t busy_poll_us;  /* worker spins this long after a
					 * frame before sleeping in poll() */
		uint32_t heartbeat_ms;  /* fast path fails open after this
					 * long without a sign of life */
		bool ndpi;              /* nDPI classification */
		/* Engine settings: ports, limits, memory, per-check actions
		 * and local domains.  engine.smtp.local_domains[] point into
		 * domains below; engine.emit is set by mxwalld. */
		struct mxi_config engine;
		char domains[SMTP_LOCAL_DOMAINS_MAX][CTL_DOMAIN_MAX + 1];
	} insp;

	/* policy (DESIGN.md 2.3); allowed / allowed_ctx set by mxwalld */
	struct ctl_policy_cfg policy;

	/* static entries; owned, freed by ctl_config_free() */
	struct ctl_prefix *allow;
	uint32_t n_allow;
	struct ctl_prefix *block;
	uint32_t n_block;
};

/* Parse a config held in memory.  Returns a new config, or NULL with a
 * message "key.path: what is wrong" in err (CTL_ERR_MAX bytes). */
struct ctl_config *ctl_config_parse(const char *buf, size_t len,
				    char *err, size_t errlen);

/* Read (bounded by CTL_CONFIG_FILE_MAX) and parse a file. */
struct ctl_config *ctl_config_load(const char *path, char *err,
				   size_t errlen);

void ctl_config_free(struct ctl_config *cfg);

/* The effective configuration, defaults included, in the file's shape. */
json_t *ctl_config_to_json(const struct ctl_config *cfg);

/* Keys that cannot change without a restart: returns the first differing
 * key path, or NULL when cfg_new can be applied to a running daemon. */
const char *ctl_config_restart_key(const struct ctl_config *cur,
				   const struct ctl_config *cfg_new);

#endif /* CTL_CONFIG_H */
