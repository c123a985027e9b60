// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctl_config.c - parse and validate mxwalld's JSON configuration.
 *
 * Decisions:
 *  - Strict: every object lists its keys; an unknown key, a wrong type or an
 *    out-of-range number is an error naming the full key path, e.g.
 *    "fastpath.syn.per_source.rate: must be an integer 0..10000000".
 *  - Keys beginning with "//" are comments at any level (JSON has no
 *    comments; this keeps the example config both annotated and checkable).
 *  - Duplicate keys are errors (JSON_REJECT_DUPLICATES): a file where the
 *    second "rate" silently wins is a trap.
 *  - Numbers must be JSON integers (no 1.5, no "20", no true).
 *  - Only "interfaces" is required; defaults are listed in docs/config.md
 *    and filled in here in ctl_config_defaults().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_config.h"

#define NS_PER_SEC 1000000000ull
#define RATE_MAX 10000000

const struct ctl_table_info ctl_tables[CTL_T_MAX] = {
	[CTL_T_ALLOW_EXACT]  = {"allow_exact", "mxw_allow_exact",
				MXW_ALLOW_EXACT_MAX, 1024, 1u << 24},
	[CTL_T_BLOCK_EXACT]  = {"block_exact", "mxw_block_exact",
				MXW_BLOCK_EXACT_MAX, 1024, 1u << 24},
	[CTL_T_ALLOW_PREFIX] = {"allow_prefix", "mxw_allow_lpm",
				MXW_LIST_PREFIX_MAX, 16, 1u << 22},
	[CTL_T_BLOCK_PREFIX] = {"block_prefix", "mxw_block_lpm",
				MXW_LIST_PREFIX_MAX, 16, 1u << 22},
	[CTL_T_SRC_BUCKET]   = {"src_bucket", "mxw_src_bucket",
				MXW_BUCKET_MAX, 1024, 1u << 24},
	[CTL_T_PFX_BUCKET]   = {"pfx_bucket", "mxw_pfx_bucket",
				MXW_PFX_BUCKET_MAX, 1024, 1u << 24},
	[CTL_T_CT]           = {"conntrack", "mxw_ct",
				MXW_CT_MAX, 1024, 1u << 24},
	[CTL_T_CONN]         = {"conn", "mxw_conn",
				MXW_CONN_MAX, 1024, 1u << 24},
	[CTL_T_BYPASS]       = {"bypass", "mxw_bypass",
				MXW_BYPASS_MAX, 1024, 1u << 24},
};

static const uint16_t ctl_default_mail_ports[] = {25, 465, 587, 110, 995,
						  143, 993};
static const uint16_t ctl_default_tls_ports[] = {465, 995, 993};

static const char *const ctl_log_level_names[] = {
	"error", "warn", "info", "debug", NULL
};

/* Parser context: where errors go. */
struct cfgp {
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int cfg_fail(struct cfgp *p, const char *path, const char *fmt, ...)
{
	char msg[CTL_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s: %s", path, msg);
	return -EINVAL;
}

/* path + "." + key; an over-long path is cut (it only labels an error). */
static void cfg_join(char *out, size_t len, const char *path, const char *key)
{
	int n;

	if (path[0])
		n = snprintf(out, len, "%s.%s", path, key);
	else
		n = snprintf(out, len, "%s", key);
	if (n < 0 || (size_t)n >= len)
		out[len - 1] = '\0';
}

/* Every key of obj must be in keys[] (NULL-terminated) or a "//" comment. */
static int cfg_keys(struct cfgp *p, json_t *obj, const char *path,
		    const char *const *keys)
{
	const char *k;
	json_t *v;
	char kp[256];

	json_object_foreach(obj, k, v) {
		bool known = false;

		if (strncmp(k, "//", 2) == 0) {
			/* A comment: a string or an array of strings. */
			if (json_is_string(v))
				continue;
			if (json_is_array(v)) {
				size_t i;
				json_t *e;

				json_array_foreach(v, i, e)
					if (!json_is_string(e))
						break;
				if (i == json_array_size(v))
					continue;
			}
			cfg_join(kp, sizeof(kp), path, k);
			return cfg_fail(p, kp, "a comment must be a string or "
					"an array of strings");
		}
		for (size_t i = 0; keys[i]; i++)
			if (strcmp(k, keys[i]) == 0)
				known = true;
		if (!known) {
			cfg_join(kp, sizeof(kp), path, k);
			return cfg_fail(p, kp, "unknown key");
		}
	}
	return 0;
}

/* Fetch an optional object member; an absent key leaves *out NULL. */
static int cfg_obj(struct cfgp *p, json_t *parent, const char *path,
		   const char *key, json_t **out)
{
	char kp[256];
	json_t *v = json_object_get(parent, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_object(v)) {
		cfg_join(kp, sizeof(kp), path, key);
		return cfg_fail(p, kp, "must be an object");
	}
	*out = v;
	return 0;
}

static int cfg_u32(struct cfgp *p, json_t *obj, const char *path,
		   const char *key, uint32_t min, uint32_t max, uint32_t *out)
{
	char kp[256];
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	json_int_t n;

	if (!v)
		return 0;
	cfg_join(kp, sizeof(kp), path, key);
	if (!json_is_integer(v))
		return cfg_fail(p, kp, "must be an integer %u..%u", min, max);
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max)
		return cfg_fail(p, kp, "must be an integer %u..%u", min, max);
	*out = (uint32_t)n;
	return 0;
}

static int cfg_bool(struct cfgp *p, json_t *obj, const char *path,
		    const char *key, bool *out)
{
	char kp[256];
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		cfg_join(kp, sizeof(kp), path, key);
		return cfg_fail(p, kp, "must be true or false");
	}
	*out = json_is_true(v);
	return 0;
}

/* A string of 1..max bytes without NUL or control characters. */
static int cfg_str(struct cfgp *p, json_t *obj, const char *path,
		   const char *key, char *out, size_t max, bool absolute)
{
	char kp[256];
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	const char *s;
	size_t n;

	if (!v)
		return 0;
	cfg_join(kp, sizeof(kp), path, key);
	if (!json_is_string(v))
		return cfg_fail(p, kp, "must be a string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > max)
		return cfg_fail(p, kp, "must be 1..%zu characters", max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return cfg_fail(p, kp, "control character in string");
	if (absolute && s[0] != '/')
		return cfg_fail(p, kp, "must be an absolute path");
	memcpy(out, s, n + 1);
	return 0;
}

/* One of names[] (NULL-terminated); *out is its index. */
static int cfg_enum(struct cfgp *p, json_t *obj, const char *path,
		    const char *key, const char *const *names, int *out)
{
	char kp[256], choices[128] = "";
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	if (!v)
		return 0;
	if (json_is_string(v))
		for (int i = 0; names[i]; i++)
			if (strcmp(json_string_value(v), names[i]) == 0) {
				*out = i;
				return 0;
			}
	for (int i = 0; names[i]; i++) {
		size_t used = strlen(choices);

		snprintf(choices + used, sizeof(choices) - used, "%s\"%s\"",
			 i ? ", " : "", names[i]);
	}
	cfg_join(kp, sizeof(kp), path, key);
	return cfg_fail(p, kp, "must be one of %s", choices);
}

static int cfg_ports(struct cfgp *p, json_t *obj, const char *path,
		     const char *key, uint16_t *out, uint32_t *n_out,
		     bool *given)
{
	char kp[256];
	json_t *v = json_object_get(obj, key), *e;
	uint8_t seen[65536 / 8] = {0};
	size_t i;

	*given = v != NULL;
	if (!v)
		return 0;
	cfg_join(kp, sizeof(kp), path, key);
	if (!json_is_array(v))
		return cfg_fail(p, kp, "must be an array of ports");
	if (json_array_size(v) > CTL_PORTS_MAX)
		return cfg_fail(p, kp, "at most %d ports", CTL_PORTS_MAX);
	json_array_foreach(v, i, e) {
		json_int_t port;

		if (!json_is_integer(e) || (port = json_integer_value(e)) < 1 ||
		    port > 65535)
			return cfg_fail(p, kp, "[%zu] must be an integer "
					"1..65535", i);
		if (seen[port / 8] & (1u << (port % 8)))
			return cfg_fail(p, kp, "[%zu] duplicate port %d", i,
					(int)port);
		seen[port / 8] |= (uint8_t)(1u << (port % 8));
		out[i] = (uint16_t)port;
	}
	*n_out = (uint32_t)json_array_size(v);
	return 0;
}

/* An array of CIDR strings; *out is malloc'd (or a fixed array if fixed). */
static int cfg_prefixes(struct cfgp *p, json_t *obj, const char *path,
			const char *key, uint32_t max,
			struct ctl_prefix **out, uint32_t *n_out)
{
	char kp[256], why[128];
	json_t *v = json_object_get(obj, key), *e;
	size_t i;
	struct ctl_prefix *arr;

	if (!v)
		return 0;
	cfg_join(kp, sizeof(kp), path, key);
	if (!json_is_array(v))
		return cfg_fail(p, kp, "must be an array of addresses or "
				"CIDR prefixes");
	if (json_array_size(v) > max)
		return cfg_fail(p, kp, "at most %u entries", max);
	arr = calloc(json_array_size(v) + 1, sizeof(*arr));
	if (!arr)
		return cfg_fail(p, kp, "out of memory");
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			free(arr);
			return cfg_fail(p, kp, "[%zu] must be a string", i);
		}
		if (ctl_prefix_parse(json_string_value(e), &arr[i], why,
				     sizeof(why)) < 0) {
			free(arr);
			return cfg_fail(p, kp, "[%zu] \"%.64s\": %s", i,
					json_string_value(e), why);
		}
	}
	*out = arr;
	*n_out = (uint32_t)i;
	return 0;
}

/* A {"rate", "burst"} pair. */
static int cfg_bucket(struct cfgp *p, json_t *parent, const char *path,
		      const char *key, const char *const *extra_keys,
		      json_t **obj_out, __u32 *rate, __u32 *burst)
{
	const char *keys[8] = {"rate", "burst"};
	char kp[256], bp[256];
	json_t *o;
	int err;

	for (int i = 0; extra_keys && extra_keys[i] && i < 5; i++)
		keys[2 + i] = extra_keys[i];
	cfg_join(kp, sizeof(kp), path, key);
	err = cfg_obj(p, parent, path, key, &o);
	if (err || !o)
		return err;
	*obj_out = o;
	if ((err = cfg_keys(p, o, kp, keys)) ||
	    (err = cfg_u32(p, o, kp, "rate", 0, RATE_MAX, rate)) ||
	    (err = cfg_u32(p, o, kp, "burst", 0, RATE_MAX, burst)))
		return err;
	if (*rate > 0 && *burst == 0) {
		cfg_join(bp, sizeof(bp), kp, "burst");
		return cfg_fail(p, bp, "must be >= 1 when rate > 0");
	}
	return 0;
}

static void ctl_config_defaults(struct ctl_config *c)
{
	c->xdp_mode = CTL_XDP_NATIVE;
	snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", MXW_PIN_DIR_DEFAULT);
	c->detach_on_exit = false;
	snprintf(c->sock_path, sizeof(c->sock_path), "/run/mxwall/control.sock");
	snprintf(c->group, sizeof(c->group), "mxwall");
	c->max_request_bytes = 65536;
	c->max_clients = 64;
	c->stall_timeout = 10;
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/mxwall");
	c->log_level = CTL_LOG_INFO;

	memcpy(c->mail_ports, ctl_default_mail_ports,
	       sizeof(ctl_default_mail_ports));
	c->n_mail_ports = sizeof(ctl_default_mail_ports) /
			  sizeof(ctl_default_mail_ports[0]);
	c->fp.src_rate = 20;
	c->fp.src_burst = 40;
	c->fp.pfx_rate = 200;
	c->fp.pfx_burst = 400;
	c->fp.global_rate = 0;
	c->fp.global_burst = 0;
	c->fp.max_conns_per_src = 50;
	c->fp.icmp_rate = 100;
	c->fp.icmp_burst = 200;
	c->fp.src6_len = 64;
	c->fp.pfx4_len = 24;
	c->fp.pfx6_len = 48;
	c->fp.ct_tcp_timeout_ns = 7200 * NS_PER_SEC;
	c->fp.ct_udp_timeout_ns = 60 * NS_PER_SEC;
	for (int i = 0; i < CTL_T_MAX; i++)
		c->table_size[i] = ctl_tables[i].def;
	c->reconcile_interval = 10;

	c->insp.enabled = false;
	c->insp.queues = 0;
	c->insp.ring_size = 2048;
	c->insp.zerocopy = false;
	c->insp.heartbeat_ms = 500;
	c->insp.busy_poll_us = 200;
	c->insp.rt_priority = 10;
	c->insp.ndpi = true;
	mxi_config_default(&c->insp.engine);
	ctl_policy_cfg_default(&c->policy);
}

static int cfg_interfaces(struct cfgp *p, json_t *root, struct ctl_config *c)
{
	static const char *const keys[] = {"outside", "inside", "xdp_mode",
					   NULL};
	static const char *const modes[] = {"native", "generic", NULL};
	json_t *o;
	int err, mode = CTL_XDP_NATIVE;

	if ((err = cfg_obj(p, root, "", "interfaces", &o)))
		return err;
	if (!o)
		return cfg_fail(p, "interfaces", "required key is missing");
	if ((err = cfg_keys(p, o, "interfaces", keys)))
		return err;
	if (!json_object_get(o, "outside"))
		return cfg_fail(p, "interfaces.outside",
				"required key is missing");
	if (!json_object_get(o, "inside"))
		return cfg_fail(p, "interfaces.inside",
				"required key is missing");
	if ((err = cfg_str(p, o, "interfaces", "outside", c->outside,
			   IF_NAMESIZE - 1, false)) ||
	    (err = cfg_str(p, o, "interfaces", "inside", c->inside,
			   IF_NAMESIZE - 1, false)) ||
	    (err = cfg_enum(p, o, "interfaces", "xdp_mode", modes, &mode)))
		return err;
	for (const char *s = c->outside; *s; s++)
		if (*s == '/' || *s == ' ' || *s == ':')
			return cfg_fail(p, "interfaces.outside",
					"not a valid interface name");
	for (const char *s = c->inside; *s; s++)
		if (*s == '/' || *s == ' ' || *s == ':')
			return cfg_fail(p, "interfaces.inside",
					"not a valid interface name");
	if (strcmp(c->outside, c->inside) == 0)
		return cfg_fail(p, "interfaces.inside",
				"must differ from interfaces.outside");
	c->xdp_mode = (enum ctl_xdp_mode)mode;
	return 0;
}

static int cfg_control(struct cfgp *p, json_t *root, struct ctl_config *c)
{
	static const char *const keys[] = {"socket", "group",
		"max_request_bytes", "max_clients", "stall_timeout", NULL};
	const char *path = "control";
	json_t *o;
	int err;

	if ((err = cfg_obj(p, root, "", path, &o)) || !o)
		return err;
	if ((err = cfg_keys(p, o, path, keys)) ||
	    (err = cfg_str(p, o, path, "socket", c->sock_path,
			   CTL_SOCK_PATH_MAX, true)) ||
	    (err = cfg_str(p, o, path, "group", c->group, CTL_GROUP_MAX,
			   false)) ||
	    (err = cfg_u32(p, o, path, "max_request_bytes", 256, 16u << 20,
			   &c->max_request_bytes)) ||
	    (err = cfg_u32(p, o, path, "max_clients", 1, 4096,
			   &c->max_clients)) ||
	    (err = cfg_u32(p, o, path, "stall_timeout", 1, 3600,
			   &c->stall_timeout)))
		return err;
	for (const char *s = c->group; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      *s == '.'))
			return cfg_fail(p, "control.group",
					"not a valid group name");
	return 0;
}

static int cfg_syn(struct cfgp *p, json_t *fp, struct ctl_config *c)
{
	static const char *const keys[] = {"per_source", "per_prefix",
		"global", "ipv6_source_len", NULL};
	static const char *const pfx_extra[] = {"ipv4_len", "ipv6_len", NULL};
	const char *path = "fastpath.syn";
	json_t *o, *pp = NULL, *dummy = NULL;
	uint32_t v4 = c->fp.pfx4_len, v6 = c->fp.pfx6_len;
	uint32_t s6 = c->fp.src6_len;
	int err;

	if ((err = cfg_obj(p, fp, "fastpath", "syn", &o)) || !o)
		return err;
	if ((err = cfg_keys(p, o, path, keys)) ||
	    (err = cfg_bucket(p, o, path, "per_source", NULL, &dummy,
			      &c->fp.src_rate, &c->fp.src_burst)) ||
	    (err = cfg_bucket(p, o, path, "per_prefix", pfx_extra, &pp,
			      &c->fp.pfx_rate, &c->fp.pfx_burst)) ||
	    (err = cfg_bucket(p, o, path, "global", NULL, &dummy,
			      &c->fp.global_rate, &c->fp.global_burst)) ||
	    (err = cfg_u32(p, o, path, "ipv6_source_len", 16, 128, &s6)) ||
	    (err = cfg_u32(p, pp, "fastpath.syn.per_prefix", "ipv4_len", 8, 32,
			   &v4)) ||
	    (err = cfg_u32(p, pp, "fastpath.syn.per_prefix", "ipv6_len", 16,
			   128, &v6)))
		return err;
	if (v6 > s6)
		return cfg_fail(p, "fastpath.syn.per_prefix.ipv6_len",
				"must be <= fastpath.syn.ipv6_source_len (%u)",
				s6);
	c->fp.pfx4_len = (__u8)v4;
	c->fp.pfx6_len = (__u8)v6;
	c->fp.src6_len = (__u8)s6;
	return 0;
}

static int cfg_fastpath(struct cfgp *p, json_t *root, struct ctl_config *c)
{
	static const char *const keys[] = {"mail_ports", "implicit_tls_ports",
		"protected", "other_ethertypes", "fragments",
		"ipv6_ext_overflow", "fail_mode", "syn",
		"max_conns_per_source", "icmp", "conntrack", "table_sizes",
		NULL};
	static const char *const dp[] = {"drop", "pass", NULL};
	static const char *const oc[] = {"open", "closed", NULL};
	static const char *const ct_keys[] = {"tcp_timeout", "udp_timeout",
					      "reconcile_interval", NULL};
	const char *path = "fastpath";
	json_t *o, *sub, *dummy = NULL;
	int err, eth = 0, frag = 0, v6x = 0, fail = 0;
	bool tls_given = false, mail_given = false;
	uint32_t tcp_to = 7200, udp_to = 60;
	struct ctl_prefix *prot = NULL;
	uint32_t n_prot = 0;

	if ((err = cfg_obj(p, root, "", path, &o)))
		return err;
	if (o) {
		if ((err = cfg_keys(p, o, path, keys)) ||
		    (err = cfg_ports(p, o, path, "mail_ports", c->mail_ports,
				     &c->n_mail_ports, &mail_given)) ||
		    (err = cfg_ports(p, o, path, "implicit_tls_ports",
				     c->tls_ports, &c->n_tls_ports,
				     &tls_given)) ||
		    (err = cfg_prefixes(p, o, path, "protected",
					MXW_PROTECTED_MAX, &prot, &n_prot)))
			return err;
		if (prot) {
			memcpy(c->protected_, prot, n_prot * sizeof(*prot));
			c->n_protected = n_prot;
			free(prot);
		}
		if ((err = cfg_enum(p, o, path, "other_ethertypes", dp, &eth)) ||
		    (err = cfg_enum(p, o, path, "fragments", dp, &frag)) ||
		    (err = cfg_enum(p, o, path, "ipv6_ext_overflow", dp,
				    &v6x)) ||
		    (err = cfg_enum(p, o, path, "fail_mode", oc, &fail)) ||
		    (err = cfg_syn(p, o, c)) ||
		    (err = cfg_u32(p, o, path, "max_conns_per_source", 0,
				   1000000, &c->fp.max_conns_per_src)) ||
		    (err = cfg_bucket(p, o, path, "icmp", NULL, &dummy,
				      &c->fp.icmp_rate, &c->fp.icmp_burst)) ||
		    (err = cfg_obj(p, o, path, "conntrack", &sub)))
			return err;
		if (sub && ((err = cfg_keys(p, sub, "fastpath.conntrack",
					    ct_keys)) ||
			    (err = cfg_u32(p, sub, "fastpath.conntrack",
					   "tcp_timeout", 1, 604800, &tcp_to)) ||
			    (err = cfg_u32(p, sub, "fastpath.conntrack",
					   "udp_timeout", 1, 86400, &udp_to)) ||
			    (err = cfg_u32(p, sub, "fastpath.conntrack",
					   "reconcile_interval", 1, 3600,
					   &c->reconcile_interval))))
			return err;
		if ((err = cfg_obj(p, o, path, "table_sizes", &sub)))
			return err;
		if (sub) {
			const char *tk[CTL_T_MAX + 1];

			for (int i = 0; i < CTL_T_MAX; i++)
				tk[i] = ctl_tables[i].key;
			tk[CTL_T_MAX] = NULL;
			/* Gone with mxw_conn_count: the counts live in the
			 * src_bucket slots.  An error rather than a silent
			 * skip: the size the operator chose no longer buys
			 * anything, and src_bucket is what to size now. */
			if (json_object_get(sub, "conn_count"))
				return cfg_fail(p, "fastpath.table_sizes.conn_count",
						"removed: per-source connection "
						"counts live in the src_bucket "
						"table now; size src_bucket and "
						"delete this key");
			if ((err = cfg_keys(p, sub, "fastpath.table_sizes", tk)))
				return err;
			for (int i = 0; i < CTL_T_MAX; i++)
				if ((err = cfg_u32(p, sub,
						   "fastpath.table_sizes",
						   ctl_tables[i].key,
						   ctl_tables[i].min,
						   ctl_tables[i].max,
						   &c->table_size[i])))
					return err;
		}
	}
	if (mail_given && c->n_mail_ports == 0)
		return cfg_fail(p, "fastpath.mail_ports",
				"must list at least one port");
	if (!tls_given) {
		/* Default: the well-known implicit-TLS ports that are mail
		 * ports in this config. */
		c->n_tls_ports = 0;
		for (size_t i = 0; i < sizeof(ctl_default_tls_ports) /
				       sizeof(ctl_default_tls_ports[0]); i++)
			for (uint32_t j = 0; j < c->n_mail_ports; j++)
				if (c->mail_ports[j] == ctl_default_tls_ports[i])
					c->tls_ports[c->n_tls_ports++] =
						ctl_default_tls_ports[i];
	}
	for (uint32_t i = 0; i < c->n_tls_ports; i++) {
		bool found = false;

		for (uint32_t j = 0; j < c->n_mail_ports; j++)
			found |= c->mail_ports[j] == c->tls_ports[i];
		if (!found)
			return cfg_fail(p, "fastpath.implicit_tls_ports",
					"[%u] port %u is not in "
					"fastpath.mail_ports", i,
					c->tls_ports[i]);
	}
	c->fp.flags = 0;
	if (eth)
		c->fp.flags |= MXW_CF_PASS_OTHER_ETHERTYPES;
	if (frag)
		c->fp.flags |= MXW_CF_FRAG_PASS;
	if (v6x)
		c->fp.flags |= MXW_CF_V6EXT_PASS;
	if (fail)
		c->fp.flags |= MXW_CF_FAIL_CLOSED;
	if (c->n_protected)
		c->fp.flags |= MXW_CF_PROTECTED_ONLY;
	c->fp.ct_tcp_timeout_ns = (__u64)tcp_to * NS_PER_SEC;
	c->fp.ct_udp_timeout_ns = (__u64)udp_to * NS_PER_SEC;
	return 0;
}

/* ---- inspection -------------------------------------------------------- */

static const char *const ctl_action_names[] = {
	[SMTP_A_ALLOW] = "allow", [SMTP_A_SCORE] = "score",
	[SMTP_A_DENY] = "deny", [SMTP_A_KILL] = "kill", NULL
};

/* The check named key, or -1. */
static int cfg_reason(const char *key)
{
	for (int r = 0; r < SMTP_R__COUNT; r++)
		if (strcmp(key, smtp_reason_name((enum smtp_reason)r)) == 0)
			return r;
	return -1;
}

/* An object keyed by check names (and comments). */
static int cfg_reason_keys(struct cfgp *p, json_t *obj, const char *path)
{
	const char *names[SMTP_R__COUNT + 1];

	for (int r = 0; r < SMTP_R__COUNT; r++)
		names[r] = smtp_reason_name((enum smtp_reason)r);
	names[SMTP_R__COUNT] = NULL;
	return cfg_keys(p, obj, path, names);
}

/*
 * A local domain: "example.org" (exactly) or ".example.org" (any
 * subdomain); LDH labels of 1..63 bytes, not starting or ending with '-',
 * at least two labels, at most CTL_DOMAIN_MAX bytes.  Stored lower-case.
 */
static int cfg_domain(struct cfgp *p, const char *kp, size_t idx,
		      json_t *v, char *out)
{
	const char *s;
	size_t n, label = 0, labels = 0;

	if (!json_is_string(v))
		return cfg_fail(p, kp, "[%zu] must be a string", idx);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > CTL_DOMAIN_MAX)
		return cfg_fail(p, kp, "[%zu] must be 1..%d characters", idx,
				CTL_DOMAIN_MAX);
	for (size_t i = s[0] == '.' ? 1 : 0; i <= n; i++) {
		char c = i < n ? s[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				goto bad;
			labels++;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || (c == '-' && label > 0)))
			goto bad;
		label++;
	}
	if (labels < 2)
		goto bad;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' :
				s[i]);
	return 0;
bad:
	return cfg_fail(p, kp, "[%zu] \"%.64s\" is not a domain name "
			"(\"example.org\" or \".example.org\")", idx, s);
}

static bool cfg_port_in(const uint16_t *list, uint32_t n, uint16_t port)
{
	for (uint32_t i = 0; i < n; i++)
		if (list[i] == port)
			return true;
	return false;
}

/* An inspection port list: a subset of fastpath.mail_ports, no
 * implicit-TLS port, no port in two lists.  Absent: the defaults that
 * are plain mail ports in this config. */
static int cfg_insp_ports(struct cfgp *p, json_t *o, const char *key,
			  const uint16_t *defaults, size_t n_def,
			  const struct ctl_config *c, uint16_t *out,
			  uint8_t *taken)
{
	char kp[256];
	uint16_t ports[CTL_PORTS_MAX];
	uint32_t n = 0;
	bool given = false;
	int err;

	cfg_join(kp, sizeof(kp), "inspection", key);
	if (o && (err = cfg_ports(p, o, "inspection", key, ports, &n, &given)))
		return err;
	if (!given)
		for (size_t i = 0; i < n_def; i++)
			if (cfg_port_in(c->mail_ports, c->n_mail_ports,
					defaults[i]) &&
			    !cfg_port_in(c->tls_ports, c->n_tls_ports,
					 defaults[i]))
				ports[n++] = defaults[i];
	if (n > MXI_PORTS_MAX)
		return cfg_fail(p, kp, "at most %d ports", MXI_PORTS_MAX);
	for (uint32_t i = 0; i < n; i++) {
		if (!cfg_port_in(c->mail_ports, c->n_mail_ports, ports[i]))
			return cfg_fail(p, kp, "[%u] port %u is not in "
					"fastpath.mail_ports", i, ports[i]);
		if (cfg_port_in(c->tls_ports, c->n_tls_ports, ports[i]))
			return cfg_fail(p, kp, "[%u] port %u is in "
					"fastpath.implicit_tls_ports",
					i, ports[i]);
		if (taken[ports[i] / 8] & (1u << (ports[i] % 8)))
			return cfg_fail(p, kp, "[%u] port %u is in another "
					"inspection port list", i, ports[i]);
		taken[ports[i] / 8] |= (uint8_t)(1u << (ports[i] % 8));
	}
	memset(out, 0, MXI_PORTS_MAX * sizeof(*out));
	memcpy(out, ports, n * sizeof(*out));
	return 0;
}

static int cfg_insp_limits(struct cfgp *p, json_t *o, struct smtp_config *sc)
{
	static const char *const keys[] = {"command_line", "data_line",
		"errors", "junk", "recipients", NULL};
	const char *path = "inspection.limits";
	json_t *l;
	int err;

	/* Never below the RFC 5321 4.5.3.1 minimums: a legitimate client
	 * may use all of them.  Commands above 1024 would pass MAIL/RCPT's
	 * extended limit (mail_line_max). */
	if ((err = cfg_obj(p, o, "inspection", "limits", &l)) || !l)
		return err;
	if ((err = cfg_keys(p, l, path, keys)) ||
	    (err = cfg_u32(p, l, path, "command_line", 512, sc->mail_line_max,
			   &sc->cmd_line_max)) ||
	    (err = cfg_u32(p, l, path, "data_line", 1000, 1u << 20,
			   &sc->data_line_max)) ||
	    (err = cfg_u32(p, l, path, "errors", 0, 1000, &sc->error_limit)) ||
	    (err = cfg_u32(p, l, path, "junk", 0, 100000, &sc->junk_limit)) ||
	    (err = cfg_u32(p, l, path, "recipients", 0, 100000,
			   &sc->rcpt_limit)))
		return err;
	return 0;
}

static int cfg_insp_actions(struct cfgp *p, json_t *o, struct smtp_config *sc)
{
	const char *path = "inspection.actions", *k;
	json_t *a, *v;
	int err;

	if ((err = cfg_obj(p, o, "inspection", "actions", &a)) || !a)
		return err;
	if ((err = cfg_reason_keys(p, a, path)))
		return err;
	json_object_foreach(a, k, v) {
		int r = cfg_reason(k), act = 0;

		if (r < 0)
			continue;       /* a comment */
		if ((err = cfg_enum(p, a, path, k, ctl_action_names, &act)))
			return err;
		sc->action[r] = (uint8_t)act;
	}
	return 0;
}

static int cfg_inspection(struct cfgp *p, json_t *root, struct ctl_config *c)
{
	static const char *const keys[] = {"enabled", "queues", "ring_size",
		"zerocopy", "heartbeat_ms", "busy_poll_us", "rt_priority",
		"ndpi",
		"max_flows", "memory_mb",
		"idle_timeout", "smtp_ports", "pop3_ports", "imap_ports",
		"local_domains", "limits", "actions", NULL};
	static const uint16_t def_smtp[] = {25, 587}, def_pop3[] = {110},
			      def_imap[] = {143};
	const char *path = "inspection";
	struct mxi_config *e = &c->insp.engine;
	uint32_t mem_mb = 256, idle = 600;
	uint8_t taken[65536 / 8] = {0};
	json_t *o, *d, *v;
	size_t i;
	int err;

	if ((err = cfg_obj(p, root, "", path, &o)))
		return err;
	if (o && ((err = cfg_keys(p, o, path, keys)) ||
		  (err = cfg_bool(p, o, path, "enabled", &c->insp.enabled)) ||
		  (err = cfg_u32(p, o, path, "queues", 0, 256,
				 &c->insp.queues)) ||
		  (err = cfg_u32(p, o, path, "ring_size", 64, 32768,
				 &c->insp.ring_size)) ||
		  (err = cfg_bool(p, o, path, "zerocopy",
				  &c->insp.zerocopy)) ||
		  (err = cfg_u32(p, o, path, "heartbeat_ms", 50, 60000,
				 &c->insp.heartbeat_ms)) ||
		  (err = cfg_u32(p, o, path, "busy_poll_us", 0, 100000,
				 &c->insp.busy_poll_us)) ||
		  (err = cfg_u32(p, o, path, "rt_priority", 0, 99,
				 &c->insp.rt_priority)) ||
		  (err = cfg_bool(p, o, path, "ndpi", &c->insp.ndpi)) ||
		  (err = cfg_u32(p, o, path, "max_flows", 1, 1u << 24,
				 &e->max_flows)) ||
		  (err = cfg_u32(p, o, path, "memory_mb", 1, 65536, &mem_mb)) ||
		  (err = cfg_u32(p, o, path, "idle_timeout", 10, 86400,
				 &idle))))
		return err;
	/* AF_XDP rings are powers of two. */
	if (c->insp.ring_size & (c->insp.ring_size - 1))
		return cfg_fail(p, "inspection.ring_size",
				"must be a power of two 64..32768");
	e->mem_limit = (uint64_t)mem_mb << 20;
	e->idle_timeout_ns = (uint64_t)idle * NS_PER_SEC;
	/* One bucket per flow, as mxi_config_default() has it. */
	e->buckets = 16;
	while (e->buckets < e->max_flows)
		e->buckets <<= 1;
	if ((err = cfg_insp_ports(p, o, "smtp_ports", def_smtp, 2, c,
				  e->smtp_ports, taken)) ||
	    (err = cfg_insp_ports(p, o, "pop3_ports", def_pop3, 1, c,
				  e->pop3_ports, taken)) ||
	    (err = cfg_insp_ports(p, o, "imap_ports", def_imap, 1, c,
				  e->imap_ports, taken)))
		return err;
	/* The engine treats implicit-TLS ports as opaque; it has room for
	 * MXI_PORTS_MAX of them. */
	if (c->n_tls_ports > MXI_PORTS_MAX && c->insp.enabled)
		return cfg_fail(p, "fastpath.implicit_tls_ports",
				"at most %d ports with inspection enabled",
				MXI_PORTS_MAX);
	memset(e->tls_ports, 0, sizeof(e->tls_ports));
	for (i = 0; i < c->n_tls_ports && i < MXI_PORTS_MAX; i++)
		e->tls_ports[i] = c->tls_ports[i];
	if (!o)
		return 0;
	if ((err = cfg_insp_limits(p, o, &e->smtp)) ||
	    (err = cfg_insp_actions(p, o, &e->smtp)))
		return err;
	d = json_object_get(o, "local_domains");
	if (!d)
		return 0;
	if (!json_is_array(d))
		return cfg_fail(p, "inspection.local_domains",
				"must be an array of domain names");
	if (json_array_size(d) > SMTP_LOCAL_DOMAINS_MAX)
		return cfg_fail(p, "inspection.local_domains",
				"at most %d domains", SMTP_LOCAL_DOMAINS_MAX);
	json_array_foreach(d, i, v) {
		if ((err = cfg_domain(p, "inspection.local_domains", i, v,
				      c->insp.domains[i])))
			return err;
		e->smtp.local_domains[i] = c->insp.domains[i];
	}
	e->smtp.n_local_domains = (uint32_t)json_array_size(d);
	return 0;
}

/* ---- policy ------------------------------------------------------------ */

#define TTL_MAX (366u * 86400)  /* a year: longer belongs in "block" */

static int cfg_weights(struct cfgp *p, json_t *o, struct ctl_policy_cfg *pc)
{
	const char *path = "policy.weights", *k;
	char kp[256];
	json_t *w, *v;
	int err;

	if ((err = cfg_obj(p, o, "policy", "weights", &w)) || !w)
		return err;
	if ((err = cfg_reason_keys(p, w, path)))
		return err;
	json_object_foreach(w, k, v) {
		enum smtp_kind kind;
		uint32_t n = 0;
		int r = cfg_reason(k);

		if (r < 0)
			continue;       /* a comment */
		cfg_join(kp, sizeof(kp), path, k);
		if ((err = cfg_u32(p, w, path, k, 0, 1000000, &n)))
			return err;
		kind = smtp_reason_kind((enum smtp_reason)r);
		if (n && (kind == SMTP_K_AUDIT || kind == SMTP_K_INFO))
			return cfg_fail(p, kp, "must be 0: audit and info "
					"findings are not the client's doing");
		pc->weight[r] = n;
	}
	return 0;
}

static int cfg_counters(struct cfgp *p, json_t *o, struct ctl_policy_cfg *pc)
{
	static const char *const keys[] = {"auth_failed",
		"invalid_recipient", "killed_sessions", NULL};
	static const char *const ckeys[] = {"limit", "window", NULL};
	json_t *cs, *one;
	char kp[256];
	int err;

	if ((err = cfg_obj(p, o, "policy", "counters", &cs)) || !cs)
		return err;
	if ((err = cfg_keys(p, cs, "policy.counters", keys)))
		return err;
	for (int i = 0; i < CTL_PC_MAX; i++) {
		const char *name = ctl_policy_counter_name(i);

		cfg_join(kp, sizeof(kp), "policy.counters", name);
		if ((err = cfg_obj(p, cs, "policy.counters", name, &one)))
			return err;
		if (one && ((err = cfg_keys(p, one, kp, ckeys)) ||
			    (err = cfg_u32(p, one, kp, "limit", 0,
					   CTL_PC_LIMIT_MAX,
					   &pc->counter[i].limit)) ||
			    (err = cfg_u32(p, one, kp, "window", 1, TTL_MAX,
					   &pc->counter[i].window))))
			return err;
	}
	return 0;
}

static int cfg_policy(struct cfgp *p, json_t *root, struct ctl_config *c)
{
	static const char *const keys[] = {"shadow", "threshold",
		"score_half_life", "weights", "counters", "block",
		"escalation", "max_sources", NULL};
	static const char *const bkeys[] = {"ttl", "factor", "max_ttl",
					    "repeat_window", NULL};
	static const char *const ekeys[] = {"count", "window", "ttl",
					    "ipv4_len", "ipv6_len", NULL};
	struct ctl_policy_cfg *pc = &c->policy;
	const char *path = "policy";
	uint32_t v4 = pc->prefix4_len, v6 = pc->prefix6_len;
	json_t *o, *b = NULL, *e = NULL;
	int err;

	pc->source6_len = c->fp.src6_len;
	if ((err = cfg_obj(p, root, "", path, &o)))
		return err;
	if (o && ((err = cfg_keys(p, o, path, keys)) ||
		  (err = cfg_bool(p, o, path, "shadow", &pc->shadow)) ||
		  (err = cfg_u32(p, o, path, "threshold", 1, 1000000,
				 &pc->threshold)) ||
		  (err = cfg_u32(p, o, path, "score_half_life", 1, TTL_MAX,
				 &pc->score_half_life)) ||
		  (err = cfg_weights(p, o, pc)) ||
		  (err = cfg_counters(p, o, pc)) ||
		  (err = cfg_obj(p, o, path, "block", &b)) ||
		  (err = cfg_obj(p, o, path, "escalation", &e)) ||
		  (err = cfg_u32(p, o, path, "max_sources", 1024,
				 CTL_POLICY_SOURCES_MAX, &pc->max_sources))))
		return err;
	if (b && ((err = cfg_keys(p, b, "policy.block", bkeys)) ||
		  (err = cfg_u32(p, b, "policy.block", "ttl", 1, TTL_MAX,
				 &pc->block_ttl)) ||
		  (err = cfg_u32(p, b, "policy.block", "factor", 1, 100,
				 &pc->ttl_factor)) ||
		  (err = cfg_u32(p, b, "policy.block", "max_ttl", 1, TTL_MAX,
				 &pc->ttl_max)) ||
		  (err = cfg_u32(p, b, "policy.block", "repeat_window", 0,
				 TTL_MAX, &pc->repeat_window))))
		return err;
	if (e && ((err = cfg_keys(p, e, "policy.escalation", ekeys)) ||
		  (err = cfg_u32(p, e, "policy.escalation", "count", 2,
				 CTL_ESC_COUNT_MAX, &pc->escalate_count)) ||
		  (err = cfg_u32(p, e, "policy.escalation", "window", 0,
				 TTL_MAX, &pc->escalate_window)) ||
		  (err = cfg_u32(p, e, "policy.escalation", "ttl", 1, TTL_MAX,
				 &pc->escalate_ttl)) ||
		  (err = cfg_u32(p, e, "policy.escalation", "ipv4_len", 8, 31,
				 &v4)) ||
		  (err = cfg_u32(p, e, "policy.escalation", "ipv6_len", 16, 127,
				 &v6))))
		return err;
	if (pc->ttl_max < pc->block_ttl)
		return cfg_fail(p, "policy.block.max_ttl",
				"must be >= policy.block.ttl (%u)",
				pc->block_ttl);
	if (pc->ttl_max < pc->escalate_ttl)
		return cfg_fail(p, "policy.block.max_ttl",
				"must be >= policy.escalation.ttl (%u)",
				pc->escalate_ttl);
	/* A prefix must hold more than one source. */
	if (v6 >= pc->source6_len)
		return cfg_fail(p, "policy.escalation.ipv6_len",
				"must be < fastpath.syn.ipv6_source_len (%u)",
				pc->source6_len);
	pc->prefix4_len = (uint8_t)v4;
	pc->prefix6_len = (uint8_t)v6;
	return 0;
}

static int cfg_root(struct cfgp *p, json_t *root, struct ctl_config *c)
{
	static const char *const keys[] = {"interfaces", "bpf", "control",
		"state_dir", "log", "fastpath", "inspection", "policy", "allow",
		"block", NULL};
	static const char *const bpf_keys[] = {"pin_dir", "detach_on_exit",
					       NULL};
	static const char *const log_keys[] = {"level", NULL};
	json_t *o;
	int err, level = CTL_LOG_INFO;

	if (!json_is_object(root))
		return cfg_fail(p, "(top level)", "must be a JSON object");
	if ((err = cfg_keys(p, root, "", keys)) ||
	    (err = cfg_interfaces(p, root, c)))
		return err;

	if ((err = cfg_obj(p, root, "", "bpf", &o)))
		return err;
	if (o && ((err = cfg_keys(p, o, "bpf", bpf_keys)) ||
		  (err = cfg_str(p, o, "bpf", "pin_dir", c->pin_dir,
				 CTL_PATH_MAX - 32, true)) ||
		  (err = cfg_bool(p, o, "bpf", "detach_on_exit",
				  &c->detach_on_exit))))
		return err;
	if ((err = cfg_control(p, root, c)) ||
	    (err = cfg_str(p, root, "", "state_dir", c->state_dir,
			   CTL_PATH_MAX - 32, true)) ||
	    (err = cfg_obj(p, root, "", "log", &o)))
		return err;
	if (o && ((err = cfg_keys(p, o, "log", log_keys)) ||
		  (err = cfg_enum(p, o, "log", "level", ctl_log_level_names,
				  &level))))
		return err;
	c->log_level = (enum ctl_log_level)level;
	if ((err = cfg_fastpath(p, root, c)) ||
	    (err = cfg_inspection(p, root, c)) ||
	    (err = cfg_policy(p, root, c)) ||
	    (err = cfg_prefixes(p, root, "", "allow", CTL_STATIC_MAX,
				&c->allow, &c->n_allow)) ||
	    (err = cfg_prefixes(p, root, "", "block", CTL_STATIC_MAX,
				&c->block, &c->n_block)))
		return err;
	return 0;
}

struct ctl_config *ctl_config_parse(const char *buf, size_t len,
				    char *err, size_t errlen)
{
	struct cfgp p = {.err = err, .errlen = errlen};
	struct ctl_config *c;
	json_error_t jerr;
	json_t *root;

	if (len > CTL_CONFIG_FILE_MAX) {
		snprintf(err, errlen, "config larger than %u bytes",
			 CTL_CONFIG_FILE_MAX);
		return NULL;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "invalid JSON at line %d column %d: %s",
			 jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		json_decref(root);
		return NULL;
	}
	ctl_config_defaults(c);
	if (cfg_root(&p, root, c) < 0) {
		ctl_config_free(c);
		c = NULL;
	}
	json_decref(root);
	return c;
}

struct ctl_config *ctl_config_load(const char *path, char *err,
				   size_t errlen)
{
	struct ctl_config *c;
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CTL_CONFIG_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Read one byte past the limit to tell "exactly at" from "over". */
	while (len <= CTL_CONFIG_FILE_MAX &&
	       (n = read(fd, buf + len, CTL_CONFIG_FILE_MAX + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		len += (size_t)n;
	}
	close(fd);
	c = ctl_config_parse(buf, len, err, errlen);
	free(buf);
	return c;
}

void ctl_config_free(struct ctl_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->allow);
	free(cfg->block);
	free(cfg);
}

static json_t *ctl_ports_json(const uint16_t *ports, uint32_t n)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ports[i]));
	return a;
}

static json_t *ctl_prefixes_json(const struct ctl_prefix *pfx, uint32_t n)
{
	char text[CTL_ADDR_TEXT_MAX];
	json_t *a = json_array();

	for (uint32_t i = 0; i < n; i++) {
		ctl_prefix_format(&pfx[i], text, sizeof(text));
		json_array_append_new(a, json_string(text));
	}
	return a;
}

/* An engine port list (0 ends it). */
static json_t *ctl_insp_ports_json(const uint16_t *ports)
{
	uint32_t n = 0;

	while (n < MXI_PORTS_MAX && ports[n])
		n++;
	return ctl_ports_json(ports, n);
}

static json_t *ctl_insp_json(const struct ctl_config *c)
{
	const struct mxi_config *e = &c->insp.engine;
	json_t *actions = json_object(), *domains = json_array();

	for (int r = 0; r < SMTP_R__COUNT; r++)
		json_object_set_new(actions,
				    smtp_reason_name((enum smtp_reason)r),
				    json_string(ctl_action_names[
					    e->smtp.action[r] & 3]));
	for (uint32_t i = 0; i < e->smtp.n_local_domains; i++)
		json_array_append_new(domains,
				      json_string(c->insp.domains[i]));
	return json_pack(
		"{s:b,s:I,s:I,s:b,s:I,s:I,s:I,s:b,s:I,s:I,s:I,s:o,s:o,s:o,s:o,"
		"s:{s:I,s:I,s:I,s:I,s:I},s:o}",
		"enabled", c->insp.enabled,
		"queues", (json_int_t)c->insp.queues,
		"ring_size", (json_int_t)c->insp.ring_size,
		"zerocopy", c->insp.zerocopy,
		"heartbeat_ms", (json_int_t)c->insp.heartbeat_ms,
		"busy_poll_us", (json_int_t)c->insp.busy_poll_us,
		"rt_priority", (json_int_t)c->insp.rt_priority,
		"ndpi", c->insp.ndpi,
		"max_flows", (json_int_t)e->max_flows,
		"memory_mb", (json_int_t)(e->mem_limit >> 20),
		"idle_timeout", (json_int_t)(e->idle_timeout_ns / NS_PER_SEC),
		"smtp_ports", ctl_insp_ports_json(e->smtp_ports),
		"pop3_ports", ctl_insp_ports_json(e->pop3_ports),
		"imap_ports", ctl_insp_ports_json(e->imap_ports),
		"local_domains", domains,
		"limits",
		"command_line", (json_int_t)e->smtp.cmd_line_max,
		"data_line", (json_int_t)e->smtp.data_line_max,
		"errors", (json_int_t)e->smtp.error_limit,
		"junk", (json_int_t)e->smtp.junk_limit,
		"recipients", (json_int_t)e->smtp.rcpt_limit,
		"actions", actions);
}

static json_t *ctl_policy_json(const struct ctl_policy_cfg *pc)
{
	json_t *weights = json_object(), *counters = json_object();

	for (int r = 0; r < SMTP_R__COUNT; r++) {
		enum smtp_kind k = smtp_reason_kind((enum smtp_reason)r);

		if (k == SMTP_K_AUDIT || k == SMTP_K_INFO)
			continue;       /* never scored (cfg_weights) */
		json_object_set_new(weights,
				    smtp_reason_name((enum smtp_reason)r),
				    json_integer(pc->weight[r]));
	}
	for (int i = 0; i < CTL_PC_MAX; i++)
		json_object_set_new(counters, ctl_policy_counter_name(i),
			json_pack("{s:I,s:I}",
				  "limit", (json_int_t)pc->counter[i].limit,
				  "window",
				  (json_int_t)pc->counter[i].window));
	return json_pack(
		"{s:b,s:I,s:I,s:o,s:o,s:{s:I,s:I,s:I,s:I},"
		"s:{s:I,s:I,s:I,s:I,s:I},s:I}",
		"shadow", pc->shadow,
		"threshold", (json_int_t)pc->threshold,
		"score_half_life", (json_int_t)pc->score_half_life,
		"weights", weights,
		"counters", counters,
		"block", "ttl", (json_int_t)pc->block_ttl,
		"factor", (json_int_t)pc->ttl_factor,
		"max_ttl", (json_int_t)pc->ttl_max,
		"repeat_window", (json_int_t)pc->repeat_window,
		"escalation", "count", (json_int_t)pc->escalate_count,
		"window", (json_int_t)pc->escalate_window,
		"ttl", (json_int_t)pc->escalate_ttl,
		"ipv4_len", (json_int_t)pc->prefix4_len,
		"ipv6_len", (json_int_t)pc->prefix6_len,
		"max_sources", (json_int_t)pc->max_sources);
}

json_t *ctl_config_to_json(const struct ctl_config *c)
{
	const struct mxw_config *f = &c->fp;
	json_t *sizes = json_object(), *root;

	for (int i = 0; i < CTL_T_MAX; i++)
		json_object_set_new(sizes, ctl_tables[i].key,
				    json_integer(c->table_size[i]));
	root = json_pack(
		"{s:{s:s,s:s,s:s},s:{s:s,s:b},"
		"s:{s:s,s:s,s:I,s:I,s:I},s:s,s:{s:s},"
		"s:{s:o,s:o,s:o,s:s,s:s,s:s,s:s,"
		"s:{s:{s:I,s:I},s:{s:I,s:I,s:I,s:I},s:{s:I,s:I},s:I},"
		"s:I,s:{s:I,s:I},s:{s:I,s:I,s:I},s:o},"
		"s:o,s:o}",
		"interfaces", "outside", c->outside, "inside", c->inside,
		"xdp_mode", c->xdp_mode == CTL_XDP_GENERIC ? "generic" : "native",
		"bpf", "pin_dir", c->pin_dir, "detach_on_exit",
		c->detach_on_exit,
		"control", "socket", c->sock_path, "group", c->group,
		"max_request_bytes", (json_int_t)c->max_request_bytes,
		"max_clients", (json_int_t)c->max_clients,
		"stall_timeout", (json_int_t)c->stall_timeout,
		"state_dir", c->state_dir,
		"log", "level", ctl_log_level_names[c->log_level],
		"fastpath",
		"mail_ports", ctl_ports_json(c->mail_ports, c->n_mail_ports),
		"implicit_tls_ports", ctl_ports_json(c->tls_ports,
						     c->n_tls_ports),
		"protected", ctl_prefixes_json(c->protected_, c->n_protected),
		"other_ethertypes",
		f->flags & MXW_CF_PASS_OTHER_ETHERTYPES ? "pass" : "drop",
		"fragments", f->flags & MXW_CF_FRAG_PASS ? "pass" : "drop",
		"ipv6_ext_overflow",
		f->flags & MXW_CF_V6EXT_PASS ? "pass" : "drop",
		"fail_mode", f->flags & MXW_CF_FAIL_CLOSED ? "closed" : "open",
		"syn",
		"per_source", "rate", (json_int_t)f->src_rate,
		"burst", (json_int_t)f->src_burst,
		"per_prefix", "rate", (json_int_t)f->pfx_rate,
		"burst", (json_int_t)f->pfx_burst,
		"ipv4_len", (json_int_t)f->pfx4_len,
		"ipv6_len", (json_int_t)f->pfx6_len,
		"global", "rate", (json_int_t)f->global_rate,
		"burst", (json_int_t)f->global_burst,
		"ipv6_source_len", (json_int_t)f->src6_len,
		"max_conns_per_source", (json_int_t)f->max_conns_per_src,
		"icmp", "rate", (json_int_t)f->icmp_rate,
		"burst", (json_int_t)f->icmp_burst,
		"conntrack",
		"tcp_timeout", (json_int_t)(f->ct_tcp_timeout_ns / NS_PER_SEC),
		"udp_timeout", (json_int_t)(f->ct_udp_timeout_ns / NS_PER_SEC),
		"reconcile_interval", (json_int_t)c->reconcile_interval,
		"table_sizes", sizes,
		"allow", ctl_prefixes_json(c->allow, c->n_allow),
		"block", ctl_prefixes_json(c->block, c->n_block));
	if (root) {
		json_object_set_new(root, "inspection", ctl_insp_json(c));
		json_object_set_new(root, "policy", ctl_policy_json(&c->policy));
	}
	return root;
}

const char *ctl_config_restart_key(const struct ctl_config *cur,
				   const struct ctl_config *n)
{
	if (strcmp(cur->outside, n->outside))
		return "interfaces.outside";
	if (strcmp(cur->inside, n->inside))
		return "interfaces.inside";
	if (cur->xdp_mode != n->xdp_mode)
		return "interfaces.xdp_mode";
	if (strcmp(cur->pin_dir, n->pin_dir))
		return "bpf.pin_dir";
	if (strcmp(cur->sock_path, n->sock_path))
		return "control.socket";
	if (strcmp(cur->state_dir, n->state_dir))
		return "state_dir";
	for (int i = 0; i < CTL_T_MAX; i++)
		if (cur->table_size[i] != n->table_size[i])
			return "fastpath.table_sizes";
	/* The AF_XDP sockets and their UMEMs are set up once. */
	if (cur->insp.enabled != n->insp.enabled)
		return "inspection.enabled";
	if (cur->insp.queues != n->insp.queues)
		return "inspection.queues";
	if (cur->insp.ring_size != n->insp.ring_size)
		return "inspection.ring_size";
	if (cur->insp.zerocopy != n->insp.zerocopy)
		return "inspection.zerocopy";
	if (cur->insp.rt_priority != n->insp.rt_priority)
		return "inspection.rt_priority";
	return NULL;
}
