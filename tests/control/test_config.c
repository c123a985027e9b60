// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_config.c - config parsing (control/ctl_config.c): defaults, every
 * key set to a non-default value, the error table (bad types, ranges,
 * unknown keys, each error naming its key path), config.get's JSON form
 * parsing back to the same config, and the reload restart-key check.
 * argv[1], when given, is the example config, which must be valid.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"
#include "ctltest.h"

#define IFACES "\"interfaces\":{\"outside\":\"eth0\",\"inside\":\"eth1\"}"

static struct ctl_config *parse(const char *text, char *err)
{
	return ctl_config_parse(text, strlen(text), err, CTL_ERR_MAX);
}

struct bad_case {
	const char *json;
	const char *error;      /* expected message prefix */
};

static const struct bad_case bad[] = {
	{"{}", "interfaces: required key is missing"},
	{"[]", "(top level): must be a JSON object"},
	{"{\"interfaces\":{\"outside\":\"a\"}}",
	 "interfaces.inside: required key is missing"},
	{"{\"interfaces\":{\"inside\":\"a\"}}",
	 "interfaces.outside: required key is missing"},
	{"{\"interfaces\":[]}", "interfaces: must be an object"},
	{"{\"interfaces\":{\"outside\":\"a\",\"inside\":\"a\"}}",
	 "interfaces.inside: must differ from interfaces.outside"},
	{"{\"interfaces\":{\"outside\":\"abcdefghijklmnop\",\"inside\":\"b\"}}",
	 "interfaces.outside: must be 1..15 characters"},
	{"{\"interfaces\":{\"outside\":\"\",\"inside\":\"b\"}}",
	 "interfaces.outside: must be 1..15 characters"},
	{"{\"interfaces\":{\"outside\":\"a/b\",\"inside\":\"b\"}}",
	 "interfaces.outside: not a valid interface name"},
	{"{\"interfaces\":{\"outside\":1,\"inside\":\"b\"}}",
	 "interfaces.outside: must be a string"},
	{"{\"interfaces\":{\"outside\":\"a\",\"inside\":\"b\","
	 "\"xdp_mode\":\"offload\"}}",
	 "interfaces.xdp_mode: must be one of \"native\", \"generic\""},
	{"{\"interfaces\":{\"outside\":\"a\",\"inside\":\"b\",\"x\":1}}",
	 "interfaces.x: unknown key"},
	{"{" IFACES ",\"foo\":1}", "foo: unknown key"},
	{"{" IFACES ",\"bpf\":{\"pin_dir\":\"relative\"}}",
	 "bpf.pin_dir: must be an absolute path"},
	{"{" IFACES ",\"bpf\":{\"detach_on_exit\":\"yes\"}}",
	 "bpf.detach_on_exit: must be true or false"},
	{"{" IFACES ",\"bpf\":{\"pinned\":true}}", "bpf.pinned: unknown key"},
	{"{" IFACES ",\"control\":{\"socket\":\"ctl.sock\"}}",
	 "control.socket: must be an absolute path"},
	{"{" IFACES ",\"control\":{\"socket\":\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaa\"}}",
	 "control.socket: must be 1..107 characters"},
	{"{" IFACES ",\"control\":{\"group\":\"a b\"}}",
	 "control.group: not a valid group name"},
	{"{" IFACES ",\"control\":{\"max_request_bytes\":100}}",
	 "control.max_request_bytes: must be an integer 256..16777216"},
	{"{" IFACES ",\"control\":{\"max_clients\":0}}",
	 "control.max_clients: must be an integer 1..4096"},
	{"{" IFACES ",\"control\":{\"max_clients\":4097}}",
	 "control.max_clients: must be an integer 1..4096"},
	{"{" IFACES ",\"control\":{\"stall_timeout\":0}}",
	 "control.stall_timeout: must be an integer 1..3600"},
	{"{" IFACES ",\"state_dir\":\"var/lib\"}",
	 "state_dir: must be an absolute path"},
	{"{" IFACES ",\"state_dir\":\"/var/\\u0001\"}",
	 "state_dir: control character in string"},
	{"{" IFACES ",\"log\":{\"level\":\"trace\"}}",
	 "log.level: must be one of \"error\", \"warn\", \"info\", \"debug\""},
	{"{" IFACES ",\"log\":\"info\"}", "log: must be an object"},
	{"{" IFACES ",\"fastpath\":{\"mail_ports\":[0]}}",
	 "fastpath.mail_ports: [0] must be an integer 1..65535"},
	{"{" IFACES ",\"fastpath\":{\"mail_ports\":[25,65536]}}",
	 "fastpath.mail_ports: [1] must be an integer 1..65535"},
	{"{" IFACES ",\"fastpath\":{\"mail_ports\":[25,25]}}",
	 "fastpath.mail_ports: [1] duplicate port 25"},
	{"{" IFACES ",\"fastpath\":{\"mail_ports\":[\"25\"]}}",
	 "fastpath.mail_ports: [0] must be an integer 1..65535"},
	{"{" IFACES ",\"fastpath\":{\"mail_ports\":25}}",
	 "fastpath.mail_ports: must be an array of ports"},
	{"{" IFACES ",\"fastpath\":{\"mail_ports\":[]}}",
	 "fastpath.mail_ports: must list at least one port"},
	{"{" IFACES ",\"fastpath\":{\"mail_ports\":[25],"
	 "\"implicit_tls_ports\":[465]}}",
	 "fastpath.implicit_tls_ports: [0] port 465 is not in "
	 "fastpath.mail_ports"},
	{"{" IFACES ",\"fastpath\":{\"protected\":[\"198.51.100.7/24\"]}}",
	 "fastpath.protected: [0] \"198.51.100.7/24\": host bits set"},
	{"{" IFACES ",\"fastpath\":{\"protected\":\"198.51.100.0/24\"}}",
	 "fastpath.protected: must be an array"},
	{"{" IFACES ",\"fastpath\":{\"other_ethertypes\":\"maybe\"}}",
	 "fastpath.other_ethertypes: must be one of \"drop\", \"pass\""},
	{"{" IFACES ",\"fastpath\":{\"fragments\":true}}",
	 "fastpath.fragments: must be one of \"drop\", \"pass\""},
	{"{" IFACES ",\"fastpath\":{\"ipv6_ext_overflow\":\"accept\"}}",
	 "fastpath.ipv6_ext_overflow: must be one of \"drop\", \"pass\""},
	{"{" IFACES ",\"fastpath\":{\"fail_mode\":\"half\"}}",
	 "fastpath.fail_mode: must be one of \"open\", \"closed\""},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"per_source\":{\"rate\":-1}}}}",
	 "fastpath.syn.per_source.rate: must be an integer 0..10000000"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"per_source\":{\"rate\":1.5}}}}",
	 "fastpath.syn.per_source.rate: must be an integer 0..10000000"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"per_source\":{\"rate\":\"20\"}}}}",
	 "fastpath.syn.per_source.rate: must be an integer 0..10000000"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"per_source\":{\"rate\":true}}}}",
	 "fastpath.syn.per_source.rate: must be an integer 0..10000000"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"per_source\":"
	 "{\"rate\":10000001}}}}",
	 "fastpath.syn.per_source.rate: must be an integer 0..10000000"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"per_source\":"
	 "{\"rate\":5,\"burst\":0}}}}",
	 "fastpath.syn.per_source.burst: must be >= 1 when rate > 0"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"per_source\":{\"rat\":5}}}}",
	 "fastpath.syn.per_source.rat: unknown key"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"per_prefix\":{\"ipv4_len\":33}}}}",
	 "fastpath.syn.per_prefix.ipv4_len: must be an integer 8..32"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"per_prefix\":{\"ipv4_len\":7}}}}",
	 "fastpath.syn.per_prefix.ipv4_len: must be an integer 8..32"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"per_prefix\":{\"ipv6_len\":"
	 "129}}}}",
	 "fastpath.syn.per_prefix.ipv6_len: must be an integer 16..128"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"per_prefix\":{\"ipv6_len\":"
	 "64},\"ipv6_source_len\":56}}}",
	 "fastpath.syn.per_prefix.ipv6_len: must be <= "
	 "fastpath.syn.ipv6_source_len (56)"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"global\":{\"rate\":1,"
	 "\"burst\":0}}}}",
	 "fastpath.syn.global.burst: must be >= 1 when rate > 0"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"global\":{\"ipv4_len\":24}}}}",
	 "fastpath.syn.global.ipv4_len: unknown key"},
	{"{" IFACES ",\"fastpath\":{\"syn\":{\"ipv6_source_len\":8}}}",
	 "fastpath.syn.ipv6_source_len: must be an integer 16..128"},
	{"{" IFACES ",\"fastpath\":{\"max_conns_per_source\":1000001}}",
	 "fastpath.max_conns_per_source: must be an integer 0..1000000"},
	{"{" IFACES ",\"fastpath\":{\"icmp\":{\"burst\":-5}}}",
	 "fastpath.icmp.burst: must be an integer 0..10000000"},
	{"{" IFACES ",\"fastpath\":{\"conntrack\":{\"tcp_timeout\":0}}}",
	 "fastpath.conntrack.tcp_timeout: must be an integer 1..604800"},
	{"{" IFACES ",\"fastpath\":{\"conntrack\":{\"udp_timeout\":86401}}}",
	 "fastpath.conntrack.udp_timeout: must be an integer 1..86400"},
	{"{" IFACES ",\"fastpath\":{\"conntrack\":{\"reconcile_interval\":0}}}",
	 "fastpath.conntrack.reconcile_interval: must be an integer 1..3600"},
	{"{" IFACES ",\"fastpath\":{\"conntrack\":{\"icmp_timeout\":1}}}",
	 "fastpath.conntrack.icmp_timeout: unknown key"},
	{"{" IFACES ",\"fastpath\":{\"table_sizes\":{\"block_exact\":10}}}",
	 "fastpath.table_sizes.block_exact: must be an integer 1024..16777216"},
	{"{" IFACES ",\"fastpath\":{\"table_sizes\":{\"conn_count\":32768}}}",
	 "fastpath.table_sizes.conn_count: removed: per-source connection counts "
	 "live in the src_bucket table now; size src_bucket and delete this key"},
	{"{" IFACES ",\"fastpath\":{\"table_sizes\":{\"bypass\":16777217}}}",
	 "fastpath.table_sizes.bypass: must be an integer 1024..16777216"},
	{"{" IFACES ",\"fastpath\":{\"table_sizes\":{\"blocks\":10000}}}",
	 "fastpath.table_sizes.blocks: unknown key"},
	{"{" IFACES ",\"fastpath\":{\"mailports\":[25]}}",
	 "fastpath.mailports: unknown key"},
	{"{" IFACES ",\"allow\":[\"x\"]}", "allow: [0] \"x\": invalid"},
	{"{" IFACES ",\"allow\":[1]}", "allow: [0] must be a string"},
	{"{" IFACES ",\"block\":5}", "block: must be an array"},
	{"{" IFACES ",\"block\":[\"192.0.2.0/24\",\"2001:db8::/129\"]}",
	 "block: [1] \"2001:db8::/129\": invalid IPv6 prefix length"},
	{"{" IFACES ",\"//\":5}", "//: a comment must be a string"},
	{"{" IFACES ",\"fastpath\":{\"//x\":[\"a\",2]}}",
	 "fastpath.//x: a comment must be a string"},
	/* inspection */
	{"{" IFACES ",\"inspection\":{\"ring_size\":1000}}",
	 "inspection.ring_size: must be a power of two 64..32768"},
	{"{" IFACES ",\"inspection\":{\"ring_size\":65536}}",
	 "inspection.ring_size: must be an integer 64..32768"},
	{"{" IFACES ",\"inspection\":{\"queues\":257}}",
	 "inspection.queues: must be an integer 0..256"},
	{"{" IFACES ",\"inspection\":{\"heartbeat_ms\":10}}",
	 "inspection.heartbeat_ms: must be an integer 50..60000"},
	{"{" IFACES ",\"inspection\":{\"busy_poll_us\":100001}}",
	 "inspection.busy_poll_us: must be an integer 0..100000"},
	{"{" IFACES ",\"inspection\":{\"max_flows\":0}}",
	 "inspection.max_flows: must be an integer 1..16777216"},
	{"{" IFACES ",\"inspection\":{\"memory_mb\":0}}",
	 "inspection.memory_mb: must be an integer 1..65536"},
	{"{" IFACES ",\"inspection\":{\"idle_timeout\":9}}",
	 "inspection.idle_timeout: must be an integer 10..86400"},
	{"{" IFACES ",\"inspection\":{\"enabled\":1}}",
	 "inspection.enabled: must be true or false"},
	{"{" IFACES ",\"inspection\":{\"smtp\":[25]}}",
	 "inspection.smtp: unknown key"},
	{"{" IFACES ",\"inspection\":{\"smtp_ports\":[2525]}}",
	 "inspection.smtp_ports: [0] port 2525 is not in fastpath.mail_ports"},
	{"{" IFACES ",\"inspection\":{\"smtp_ports\":[25,465]}}",
	 "inspection.smtp_ports: [1] port 465 is in "
	 "fastpath.implicit_tls_ports"},
	{"{" IFACES ",\"inspection\":{\"imap_ports\":[25]}}",
	 "inspection.imap_ports: [0] port 25 is in another inspection port "
	 "list"},
	{"{" IFACES ",\"inspection\":{\"pop3_ports\":[110,110]}}",
	 "inspection.pop3_ports: [1] duplicate port 110"},
	{"{" IFACES ",\"fastpath\":{\"mail_ports\":[1,2,3,4,5,6,7,8,9,25]},"
	 "\"inspection\":{\"smtp_ports\":[1,2,3,4,5,6,7,8,9]}}",
	 "inspection.smtp_ports: at most 8 ports"},
	{"{" IFACES ",\"inspection\":{\"local_domains\":\"example.org\"}}",
	 "inspection.local_domains: must be an array of domain names"},
	{"{" IFACES ",\"inspection\":{\"local_domains\":[\"example\"]}}",
	 "inspection.local_domains: [0] \"example\" is not a domain name"},
	{"{" IFACES ",\"inspection\":{\"local_domains\":[\"a.org\","
	 "\"-a.org\"]}}",
	 "inspection.local_domains: [1] \"-a.org\" is not a domain name"},
	{"{" IFACES ",\"inspection\":{\"local_domains\":[\"a-.org\"]}}",
	 "inspection.local_domains: [0] \"a-.org\" is not a domain name"},
	{"{" IFACES ",\"inspection\":{\"local_domains\":[\"a..org\"]}}",
	 "inspection.local_domains: [0] \"a..org\" is not a domain name"},
	{"{" IFACES ",\"inspection\":{\"local_domains\":[\"a.org.\"]}}",
	 "inspection.local_domains: [0] \"a.org.\" is not a domain name"},
	{"{" IFACES ",\"inspection\":{\"local_domains\":[\"a_b.org\"]}}",
	 "inspection.local_domains: [0] \"a_b.org\" is not a domain name"},
	{"{" IFACES ",\"inspection\":{\"local_domains\":[\"..org\"]}}",
	 "inspection.local_domains: [0] \"..org\" is not a domain name"},
	{"{" IFACES ",\"inspection\":{\"local_domains\":[\"a.b\\u0000c\"]}}",
	 "invalid JSON"},       /* no NUL reaches the domain check */
	{"{" IFACES ",\"inspection\":{\"local_domains\":[\"a"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org\"]}}",
	 "inspection.local_domains: [0] \"aaaa"},
	{"{" IFACES ",\"inspection\":{\"local_domains\":[5]}}",
	 "inspection.local_domains: [0] must be a string"},
	{"{" IFACES ",\"inspection\":{\"limits\":{\"command_line\":511}}}",
	 "inspection.limits.command_line: must be an integer 512..1024"},
	{"{" IFACES ",\"inspection\":{\"limits\":{\"data_line\":999}}}",
	 "inspection.limits.data_line: must be an integer 1000..1048576"},
	{"{" IFACES ",\"inspection\":{\"limits\":{\"errors\":1001}}}",
	 "inspection.limits.errors: must be an integer 0..1000"},
	{"{" IFACES ",\"inspection\":{\"limits\":{\"junk\":-1}}}",
	 "inspection.limits.junk: must be an integer 0..100000"},
	{"{" IFACES ",\"inspection\":{\"limits\":{\"recipients\":1e3}}}",
	 "inspection.limits.recipients: must be an integer 0..100000"},
	{"{" IFACES ",\"inspection\":{\"limits\":{\"lines\":1}}}",
	 "inspection.limits.lines: unknown key"},
	{"{" IFACES ",\"inspection\":{\"actions\":{\"vrfy\":\"block\"}}}",
	 "inspection.actions.vrfy: must be one of \"allow\", \"score\", "
	 "\"deny\", \"kill\""},
	{"{" IFACES ",\"inspection\":{\"actions\":{\"VRFY\":\"deny\"}}}",
	 "inspection.actions.VRFY: unknown key"},
	{"{" IFACES ",\"inspection\":{\"actions\":{\"//\":1}}}",
	 "inspection.actions.//: a comment must be a string"},
	{"{" IFACES ",\"policy\":{\"weights\":{\"//\":[2]}}}",
	 "policy.weights.//: a comment must be a string"},
	{"{" IFACES ",\"inspection\":{\"actions\":[]}}",
	 "inspection.actions: must be an object"},
	/* policy */
	{"{" IFACES ",\"policy\":{\"threshold\":0}}",
	 "policy.threshold: must be an integer 1..1000000"},
	{"{" IFACES ",\"policy\":{\"score_half_life\":0}}",
	 "policy.score_half_life: must be an integer 1..31622400"},
	{"{" IFACES ",\"policy\":{\"shadow\":\"yes\"}}",
	 "policy.shadow: must be true or false"},
	{"{" IFACES ",\"policy\":{\"weights\":{\"vrfy\":-1}}}",
	 "policy.weights.vrfy: must be an integer 0..1000000"},
	{"{" IFACES ",\"policy\":{\"weights\":{\"vrfy\":1000001}}}",
	 "policy.weights.vrfy: must be an integer 0..1000000"},
	{"{" IFACES ",\"policy\":{\"weights\":{\"nope\":1}}}",
	 "policy.weights.nope: unknown key"},
	{"{" IFACES ",\"policy\":{\"weights\":{\"audit_banner_version\":1}}}",
	 "policy.weights.audit_banner_version: must be 0"},
	{"{" IFACES ",\"policy\":{\"counters\":{\"auth\":{}}}}",
	 "policy.counters.auth: unknown key"},
	{"{" IFACES ",\"policy\":{\"counters\":{\"auth_failed\":"
	 "{\"limit\":33}}}}",
	 "policy.counters.auth_failed.limit: must be an integer 0..32"},
	{"{" IFACES ",\"policy\":{\"counters\":{\"killed_sessions\":"
	 "{\"window\":0}}}}",
	 "policy.counters.killed_sessions.window: must be an integer "
	 "1..31622400"},
	{"{" IFACES ",\"policy\":{\"counters\":{\"invalid_recipient\":"
	 "{\"max\":3}}}}",
	 "policy.counters.invalid_recipient.max: unknown key"},
	{"{" IFACES ",\"policy\":{\"block\":{\"ttl\":0}}}",
	 "policy.block.ttl: must be an integer 1..31622400"},
	{"{" IFACES ",\"policy\":{\"block\":{\"factor\":0}}}",
	 "policy.block.factor: must be an integer 1..100"},
	{"{" IFACES ",\"policy\":{\"block\":{\"ttl\":700,"
	 "\"max_ttl\":600}}}",
	 "policy.block.max_ttl: must be >= policy.block.ttl (700)"},
	{"{" IFACES ",\"policy\":{\"block\":{\"max_ttl\":3000}}}",
	 "policy.block.max_ttl: must be >= policy.escalation.ttl (3600)"},
	{"{" IFACES ",\"policy\":{\"block\":{\"repeat_window\":31622401}}}",
	 "policy.block.repeat_window: must be an integer 0..31622400"},
	{"{" IFACES ",\"policy\":{\"escalation\":{\"count\":1}}}",
	 "policy.escalation.count: must be an integer 2..16"},
	{"{" IFACES ",\"policy\":{\"escalation\":{\"ipv4_len\":32}}}",
	 "policy.escalation.ipv4_len: must be an integer 8..31"},
	{"{" IFACES ",\"policy\":{\"escalation\":{\"ipv6_len\":64}}}",
	 "policy.escalation.ipv6_len: must be < fastpath.syn.ipv6_source_len "
	 "(64)"},
	{"{" IFACES ",\"policy\":{\"escalation\":{\"prefix\":24}}}",
	 "policy.escalation.prefix: unknown key"},
	{"{" IFACES ",\"policy\":{\"max_sources\":100}}",
	 "policy.max_sources: must be an integer 1024..16777216"},
	{"{" IFACES ",\"policy\":{\"block_ttl\":100}}",
	 "policy.block_ttl: unknown key"},
	{"{" IFACES "," IFACES "}", "invalid JSON"},
	{"{" IFACES ",}", "invalid JSON"},
	{"", "invalid JSON"},
	{"{" IFACES "} trailing", "invalid JSON"},
};

/* The inspection and policy defaults are the engine's and the policy
 * module's own, plus the ports of this config. */
static void test_insp_policy_defaults(const struct ctl_config *c)
{
	struct mxi_config e;
	struct ctl_policy_cfg pc;

	mxi_config_default(&e);
	ctl_policy_cfg_default(&pc);
	/* implicit_tls_ports' order (465, 995, 993), not the engine's */
	memset(e.tls_ports, 0, sizeof(e.tls_ports));
	for (uint32_t i = 0; i < c->n_tls_ports; i++)
		e.tls_ports[i] = c->tls_ports[i];
	CHECK(!c->insp.enabled && c->insp.queues == 0 &&
	      c->insp.ring_size == 2048 && !c->insp.zerocopy &&
	      c->insp.heartbeat_ms == 500 && c->insp.ndpi, "insp defaults");
	CHECK(memcmp(&c->insp.engine, &e, sizeof(e)) == 0,
	      "engine defaults = mxi_config_default()");
	CHECK(c->insp.engine.smtp_ports[0] == 25 &&
	      c->insp.engine.smtp_ports[1] == 587 &&
	      c->insp.engine.smtp_ports[2] == 0 &&
	      c->insp.engine.pop3_ports[0] == 110 &&
	      c->insp.engine.imap_ports[0] == 143, "insp ports");
	CHECK(memcmp(&c->policy, &pc, sizeof(pc)) == 0,
	      "policy defaults = ctl_policy_cfg_default()");
	CHECK(c->policy.threshold == 10 && c->policy.weight[SMTP_R_VRFY] == 3,
	      "policy defaults");
}

static void test_defaults(void)
{
	char err[CTL_ERR_MAX];
	struct ctl_config *c = parse("{" IFACES "}", err);

	CHECK(c != NULL, "defaults");
	if (!c)
		return;
	CHECK(strcmp(c->outside, "eth0") == 0 && strcmp(c->inside, "eth1") == 0,
	      "defaults");
	CHECK(c->xdp_mode == CTL_XDP_NATIVE, "defaults");
	CHECK(strcmp(c->pin_dir, "/sys/fs/bpf/mxwall") == 0, "defaults");
	CHECK(!c->detach_on_exit, "defaults");
	CHECK(strcmp(c->sock_path, "/run/mxwall/control.sock") == 0, "defaults");
	CHECK(strcmp(c->group, "mxwall") == 0, "defaults");
	CHECK(c->max_request_bytes == 65536 && c->max_clients == 64 &&
	      c->stall_timeout == 10, "defaults");
	CHECK(strcmp(c->state_dir, "/var/lib/mxwall") == 0, "defaults");
	CHECK(c->log_level == CTL_LOG_INFO, "defaults");
	CHECK(c->n_mail_ports == 7 && c->mail_ports[0] == 25 &&
	      c->mail_ports[6] == 993, "defaults");
	CHECK(c->n_tls_ports == 3, "defaults");
	CHECK(c->n_protected == 0, "defaults");
	CHECK(c->fp.flags == 0, "defaults: drop, drop, drop, open");
	CHECK(c->fp.src_rate == 20 && c->fp.src_burst == 40, "defaults");
	CHECK(c->fp.pfx_rate == 200 && c->fp.pfx_burst == 400, "defaults");
	CHECK(c->fp.pfx4_len == 24 && c->fp.pfx6_len == 48 &&
	      c->fp.src6_len == 64, "defaults");
	CHECK(c->fp.global_rate == 0 && c->fp.global_burst == 0, "defaults");
	CHECK(c->fp.max_conns_per_src == 50, "defaults");
	CHECK(c->fp.icmp_rate == 100 && c->fp.icmp_burst == 200, "defaults");
	CHECK(c->fp.ct_tcp_timeout_ns == 7200ull * 1000000000ull &&
	      c->fp.ct_udp_timeout_ns == 60ull * 1000000000ull, "defaults");
	CHECK(c->reconcile_interval == 10, "defaults");
	for (int i = 0; i < CTL_T_MAX; i++)
		CHECK(c->table_size[i] == ctl_tables[i].def, ctl_tables[i].key);
	CHECK(c->table_size[CTL_T_ALLOW_EXACT] == MXW_ALLOW_EXACT_MAX &&
	      c->table_size[CTL_T_BLOCK_EXACT] == MXW_BLOCK_EXACT_MAX &&
	      c->table_size[CTL_T_SRC_BUCKET] == MXW_BUCKET_MAX,
	      "table_sizes defaults");
	CHECK(c->n_allow == 0 && c->n_block == 0, "defaults");
	test_insp_policy_defaults(c);
	ctl_config_free(c);

	/* The implicit-TLS default follows mail_ports. */
	c = parse("{" IFACES ",\"fastpath\":{\"mail_ports\":[25,465]}}", err);
	CHECK(c && c->n_tls_ports == 1 && c->tls_ports[0] == 465,
	      "tls default subset");
	/* So do the inspection ports, and the engine's TLS ports follow
	 * implicit_tls_ports. */
	CHECK(c && c->insp.engine.smtp_ports[0] == 25 &&
	      c->insp.engine.smtp_ports[1] == 0 &&
	      c->insp.engine.pop3_ports[0] == 0 &&
	      c->insp.engine.imap_ports[0] == 0 &&
	      c->insp.engine.tls_ports[0] == 465 &&
	      c->insp.engine.tls_ports[1] == 0, "insp ports default subset");
	ctl_config_free(c);
	/* The policy's sources are the fast path's IPv6 source length. */
	c = parse("{" IFACES ",\"fastpath\":{\"syn\":{\"ipv6_source_len\":"
		  "56}}}", err);
	CHECK(c && c->policy.source6_len == 56, "policy source6_len");
	ctl_config_free(c);
}

static const char *full_config =
	"{\"//\": \"every key, none at its default\","
	" \"interfaces\": {\"outside\": \"ve-out\", \"inside\": \"ve-in\","
	"                 \"xdp_mode\": \"generic\"},"
	" \"bpf\": {\"pin_dir\": \"/sys/fs/bpf/other\", \"detach_on_exit\": true},"
	" \"control\": {\"socket\": \"/tmp/x.sock\", \"group\": \"adm\","
	"   \"max_request_bytes\": 4096, \"max_clients\": 3,"
	"   \"stall_timeout\": 7},"
	" \"state_dir\": \"/tmp/state\","
	" \"log\": {\"level\": \"debug\"},"
	" \"fastpath\": {"
	"   \"mail_ports\": [25, 2525, 465], \"implicit_tls_ports\": [465],"
	"   \"protected\": [\"192.0.2.0/24\", \"2001:db8:1::/48\"],"
	"   \"other_ethertypes\": \"pass\", \"fragments\": \"pass\","
	"   \"ipv6_ext_overflow\": \"pass\", \"fail_mode\": \"closed\","
	"   \"syn\": {\"per_source\": {\"rate\": 5, \"burst\": 6},"
	"            \"per_prefix\": {\"rate\": 50, \"burst\": 60,"
	"                             \"ipv4_len\": 20, \"ipv6_len\": 40},"
	"            \"global\": {\"rate\": 1000, \"burst\": 2000},"
	"            \"ipv6_source_len\": 56},"
	"   \"max_conns_per_source\": 0,"
	"   \"icmp\": {\"rate\": 0, \"burst\": 0},"
	"   \"conntrack\": {\"tcp_timeout\": 300, \"udp_timeout\": 30,"
	"                 \"reconcile_interval\": 2},"
	"   \"table_sizes\": {\"allow_exact\": 2048, \"block_exact\": 4096,"
	"     \"allow_prefix\": 64, \"block_prefix\": 128, \"src_bucket\": 8192,"
	"     \"pfx_bucket\": 16384,"
	"     \"conntrack\": 65536, \"conn\": 131072, \"bypass\": 32768}},"
	" \"inspection\": {\"enabled\": true, \"queues\": 2,"
	"   \"ring_size\": 4096, \"zerocopy\": true, \"heartbeat_ms\": 250,"
	"   \"ndpi\": false, \"max_flows\": 1000, \"memory_mb\": 64,"
	"   \"idle_timeout\": 300, \"smtp_ports\": [25],"
	"   \"pop3_ports\": [2525], \"imap_ports\": [],"
	"   \"local_domains\": [\"Example.ORG\", \".example.net\"],"
	"   \"limits\": {\"command_line\": 600, \"data_line\": 2000,"
	"     \"errors\": 5, \"junk\": 0, \"recipients\": 50},"
	"   \"actions\": {\"vrfy\": \"deny\", \"null_sender\": \"kill\"}},"
	" \"policy\": {\"shadow\": true, \"threshold\": 20,"
	"   \"score_half_life\": 60,"
	"   \"weights\": {\"vrfy\": 0, \"null_sender\": 4},"
	"   \"counters\": {\"auth_failed\": {\"limit\": 3, \"window\": 60},"
	"     \"invalid_recipient\": {\"limit\": 0, \"window\": 61},"
	"     \"killed_sessions\": {\"limit\": 32, \"window\": 62}},"
	"   \"block\": {\"ttl\": 60, \"factor\": 2, \"max_ttl\": 7200,"
	"     \"repeat_window\": 0},"
	"   \"escalation\": {\"count\": 16, \"window\": 0, \"ttl\": 120,"
	"     \"ipv4_len\": 16, \"ipv6_len\": 44},"
	"   \"max_sources\": 1024},"
	" \"allow\": [\"192.0.2.25\"],"
	" \"block\": [\"198.51.100.0/24\", \"2001:db8:bad::/48\", \"203.0.113.9\"]}";

static void check_full_insp_policy(const struct ctl_config *c,
				   const char *label)
{
	const struct mxi_config *e = &c->insp.engine;
	const struct ctl_policy_cfg *pc = &c->policy;

	CHECK(c->insp.enabled && c->insp.queues == 2 &&
	      c->insp.ring_size == 4096 && c->insp.zerocopy &&
	      c->insp.heartbeat_ms == 250 && !c->insp.ndpi, label);
	CHECK(e->max_flows == 1000 && e->buckets == 1024 &&
	      e->mem_limit == 64ull << 20 &&
	      e->idle_timeout_ns == 300ull * 1000000000ull, label);
	CHECK(e->smtp_ports[0] == 25 && e->smtp_ports[1] == 0 &&
	      e->pop3_ports[0] == 2525 && e->pop3_ports[1] == 0 &&
	      e->imap_ports[0] == 0 && e->tls_ports[0] == 465 &&
	      e->tls_ports[1] == 0, label);
	CHECK(e->smtp.n_local_domains == 2 &&
	      e->smtp.local_domains[0] == c->insp.domains[0] &&
	      strcmp(e->smtp.local_domains[0], "example.org") == 0 &&
	      strcmp(e->smtp.local_domains[1], ".example.net") == 0, label);
	CHECK(e->smtp.cmd_line_max == 600 && e->smtp.data_line_max == 2000 &&
	      e->smtp.error_limit == 5 && e->smtp.junk_limit == 0 &&
	      e->smtp.rcpt_limit == 50, label);
	CHECK(e->smtp.action[SMTP_R_VRFY] == SMTP_A_DENY &&
	      e->smtp.action[SMTP_R_NULL_SENDER] == SMTP_A_KILL &&
	      e->smtp.action[SMTP_R_EXPN] == SMTP_A_SCORE, label);
	CHECK(pc->shadow && pc->threshold == 20 && pc->score_half_life == 60,
	      label);
	CHECK(pc->weight[SMTP_R_VRFY] == 0 && pc->weight[SMTP_R_NULL_SENDER] == 4
	      && pc->weight[SMTP_R_EXPN] == 3, label);
	CHECK(pc->counter[CTL_PC_AUTH_FAILED].limit == 3 &&
	      pc->counter[CTL_PC_AUTH_FAILED].window == 60 &&
	      pc->counter[CTL_PC_INVALID_RCPT].limit == 0 &&
	      pc->counter[CTL_PC_INVALID_RCPT].window == 61 &&
	      pc->counter[CTL_PC_KILLED].limit == 32 &&
	      pc->counter[CTL_PC_KILLED].window == 62, label);
	CHECK(pc->block_ttl == 60 && pc->ttl_factor == 2 &&
	      pc->ttl_max == 7200 && pc->repeat_window == 0, label);
	CHECK(pc->escalate_count == 16 && pc->escalate_window == 0 &&
	      pc->escalate_ttl == 120 && pc->prefix4_len == 16 &&
	      pc->prefix6_len == 44 && pc->source6_len == 56, label);
	CHECK(pc->max_sources == 1024, label);
}

/* Engine configs equal but for where local_domains point. */
static bool engine_equal(const struct ctl_config *a, const struct ctl_config *b)
{
	struct mxi_config ea = a->insp.engine, eb = b->insp.engine;

	for (uint32_t i = 0; i < ea.smtp.n_local_domains; i++)
		if (strcmp(ea.smtp.local_domains[i], eb.smtp.local_domains[i]))
			return false;
	memset(ea.smtp.local_domains, 0, sizeof(ea.smtp.local_domains));
	memset(eb.smtp.local_domains, 0, sizeof(eb.smtp.local_domains));
	return memcmp(&ea, &eb, sizeof(ea)) == 0;
}

static void check_full(const struct ctl_config *c, const char *label)
{
	CHECK(c->xdp_mode == CTL_XDP_GENERIC, label);
	CHECK(strcmp(c->outside, "ve-out") == 0, label);
	CHECK(strcmp(c->pin_dir, "/sys/fs/bpf/other") == 0, label);
	CHECK(c->detach_on_exit, label);
	CHECK(strcmp(c->sock_path, "/tmp/x.sock") == 0, label);
	CHECK(strcmp(c->group, "adm") == 0, label);
	CHECK(c->max_request_bytes == 4096 && c->max_clients == 3 &&
	      c->stall_timeout == 7, label);
	CHECK(strcmp(c->state_dir, "/tmp/state") == 0, label);
	CHECK(c->log_level == CTL_LOG_DEBUG, label);
	CHECK(c->n_mail_ports == 3 && c->mail_ports[1] == 2525, label);
	CHECK(c->n_tls_ports == 1 && c->tls_ports[0] == 465, label);
	CHECK(c->n_protected == 2 && c->protected_[0].plen == 120 &&
	      c->protected_[1].plen == 48, label);
	CHECK(c->fp.flags == (MXW_CF_PASS_OTHER_ETHERTYPES | MXW_CF_FRAG_PASS |
			      MXW_CF_V6EXT_PASS | MXW_CF_FAIL_CLOSED |
			      MXW_CF_PROTECTED_ONLY), label);
	CHECK(c->fp.src_rate == 5 && c->fp.src_burst == 6, label);
	CHECK(c->fp.pfx_rate == 50 && c->fp.pfx_burst == 60, label);
	CHECK(c->fp.pfx4_len == 20 && c->fp.pfx6_len == 40 &&
	      c->fp.src6_len == 56, label);
	CHECK(c->fp.global_rate == 1000 && c->fp.global_burst == 2000, label);
	CHECK(c->fp.max_conns_per_src == 0, label);
	CHECK(c->fp.icmp_rate == 0 && c->fp.icmp_burst == 0, label);
	CHECK(c->fp.ct_tcp_timeout_ns == 300ull * 1000000000ull &&
	      c->fp.ct_udp_timeout_ns == 30ull * 1000000000ull, label);
	CHECK(c->reconcile_interval == 2, label);
	CHECK(c->table_size[CTL_T_ALLOW_EXACT] == 2048 &&
	      c->table_size[CTL_T_BLOCK_EXACT] == 4096 &&
	      c->table_size[CTL_T_ALLOW_PREFIX] == 64 &&
	      c->table_size[CTL_T_BLOCK_PREFIX] == 128 &&
	      c->table_size[CTL_T_SRC_BUCKET] == 8192 &&
	      c->table_size[CTL_T_PFX_BUCKET] == 16384 &&
	      c->table_size[CTL_T_CT] == 65536 &&
	      c->table_size[CTL_T_CONN] == 131072 &&
	      c->table_size[CTL_T_BYPASS] == 32768, label);
	CHECK(c->n_allow == 1 && c->n_block == 3, label);
	CHECK(c->n_block == 3 && c->block[1].plen == 48 &&
	      c->block[2].plen == 128, label);
	check_full_insp_policy(c, label);
}

/* inspection.enabled, queues, ring_size, zerocopy need a restart; the
 * engine and policy settings reload. */
static void test_insp_restart_keys(void)
{
	static const struct {
		const char *insp, *key;
	} rows[] = {
		{"\"enabled\":true", "inspection.enabled"},
		{"\"queues\":1", "inspection.queues"},
		{"\"ring_size\":64", "inspection.ring_size"},
		{"\"zerocopy\":true", "inspection.zerocopy"},
		{"\"heartbeat_ms\":100", NULL},
		{"\"busy_poll_us\":0", NULL},
		{"\"rt_priority\":0", "inspection.rt_priority"},
		{"\"ndpi\":false", NULL},
		{"\"max_flows\":5", NULL},
		{"\"limits\":{\"errors\":3}", NULL},
		{"\"actions\":{\"vrfy\":\"kill\"}", NULL},
	};
	char err[CTL_ERR_MAX], text[512];
	struct ctl_config *base = parse("{" IFACES ",\"policy\":"
					"{\"threshold\":3}}", err), *c;

	CHECK(base != NULL, "restart base");
	if (!base)
		return;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *k;

		snprintf(text, sizeof(text), "{" IFACES ",\"inspection\":{%s}}",
			 rows[i].insp);
		c = parse(text, err);
		CHECK(c != NULL, rows[i].insp);
		if (!c)
			continue;
		k = ctl_config_restart_key(base, c);
		CHECK(rows[i].key ? k && strcmp(k, rows[i].key) == 0 : !k,
		      rows[i].insp);
		ctl_config_free(c);
	}
	ctl_config_free(base);
}

static void test_full_and_roundtrip(void)
{
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *c = parse(full_config, err), *c2;
	json_t *j;
	char *text;

	CHECK(c != NULL, err);
	if (!c)
		return;
	check_full(c, "full");
	/* config.get's JSON is a valid config equal to the original. */
	j = ctl_config_to_json(c);
	CHECK(j != NULL, "to_json");
	if (!j) {
		ctl_config_free(c);
		return;
	}
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	c2 = parse(text, err);
	CHECK(c2 != NULL, err);
	if (c2) {
		check_full(c2, "roundtrip");
		CHECK(memcmp(&c->fp, &c2->fp, sizeof(c->fp)) == 0, "roundtrip");
		CHECK(memcmp(&c->policy, &c2->policy, sizeof(c->policy)) == 0,
		      "roundtrip policy");
		CHECK(engine_equal(c, c2), "roundtrip engine");
		CHECK(ctl_config_restart_key(c, c2) == NULL, "same config");
	}
	free(text);
	ctl_config_free(c2);

	/* Keys that need a restart are named; others are reloadable. */
	c2 = parse("{\"interfaces\": {\"outside\": \"ve-out\", \"inside\":"
		   "\"other\"}}", err);
	CHECK(c2 && ctl_config_restart_key(c, c2) &&
	      strcmp(ctl_config_restart_key(c, c2), "interfaces.inside") == 0,
	      "restart key");
	ctl_config_free(c2);
	ctl_config_free(c);
	test_insp_restart_keys();
}

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[CTL_ERR_MAX] = "";
		struct ctl_config *c = parse(bad[i].json, err);

		CHECK(c == NULL, bad[i].json);
		ctl_config_free(c);
		if (strncmp(err, bad[i].error, strlen(bad[i].error)) != 0) {
			fprintf(stderr, "  want: %s\n  got:  %s\n", bad[i].error,
				err);
			CHECK(0, bad[i].json);
		}
	}
}

/*
 * Every leaf key of full_config, one at a time, gets a value of the wrong
 * type; the error must start with that key's full path.  Together with the
 * table above this covers every key the parser knows without listing them
 * twice.
 */
static int n_leaves;

static void wrong_type_walk(json_t *root, json_t *obj, const char *path)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		char kp[256], err[CTL_ERR_MAX] = "", *text;
		json_t *saved, *wrong;
		struct ctl_config *c;

		if (strncmp(k, "//", 2) == 0)
			continue;
		snprintf(kp, sizeof(kp), "%s%s%s", path, path[0] ? "." : "", k);
		if (json_is_object(v)) {
			wrong_type_walk(root, v, kp);
			continue;
		}
		/* A string where anything else is expected, a number where a
		 * string is expected. */
		wrong = json_is_string(v) ? json_integer(5) : json_string("x");
		saved = json_incref(v);
		json_object_set_new(obj, k, wrong);
		text = json_dumps(root, JSON_COMPACT);
		c = parse(text, err);
		CHECK(c == NULL, kp);
		if (strncmp(err, kp, strlen(kp)) != 0 || err[strlen(kp)] != ':') {
			fprintf(stderr, "  %s: got \"%s\"\n", kp, err);
			CHECK(0, kp);
		}
		ctl_config_free(c);
		free(text);
		json_object_set_new(obj, k, saved);
		n_leaves++;
	}
}

static void test_every_key_wrong_type(void)
{
	json_error_t jerr;
	json_t *root = json_loads(full_config, 0, &jerr);

	CHECK(root != NULL, "full_config is JSON");
	if (!root)
		return;
	wrong_type_walk(root, root, "");
	/* 3 interfaces + 2 bpf + 5 control + state_dir + log.level + 31
	 * fastpath leaves + 20 inspection (2 actions) + 21 policy (2
	 * weights) + allow + block: a key added to the parser must be added
	 * to full_config too. */
	CHECK(n_leaves == 86, "leaf count");
	if (n_leaves != 86)
		fprintf(stderr, "  %d leaves\n", n_leaves);
	json_decref(root);
}

static void test_file(const char *path)
{
	char err[CTL_ERR_MAX] = "";
	struct ctl_config *c = ctl_config_load(path, err, sizeof(err));

	CHECK(c != NULL, err);
	ctl_config_free(c);
	c = ctl_config_load("/nonexistent/mxwall.json", err, sizeof(err));
	CHECK(c == NULL && strstr(err, "No such file") != NULL, "missing file");
}

int main(int argc, char **argv)
{
	test_defaults();
	test_full_and_roundtrip();
	test_bad();
	test_every_key_wrong_type();
	for (int i = 1; i < argc; i++)
		test_file(argv[i]);
	return ctltest_done("test_config");
}
