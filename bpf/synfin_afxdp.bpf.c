// SPDX-License-Identifier: (BSD-3-Clause OR GPL-2.0)
/*
 * XDP program for synfin on a kernel interface through DPDK's net_af_xdp PMD (its `xdp_prog=`
 * devarg): frames synfin tracks, TCP over IPv4 or IPv6 (untagged, or behind one or two VLAN
 * tags; IPv6 also when an extension header comes first, which synfin's parser walks), go to the
 * AF_XDP socket of their RX queue; everything else (ARP, ICMP, UDP, SSH to the host is TCP but
 * see the README: steer it with a port rule if the host must stay reachable over it, ...) goes
 * to the kernel stack with XDP_PASS. The PMD looks the socket map up by its name, xsks_map
 * (BPF_MAP_TYPE_XSKMAP, key = RX queue index). A queue without a socket passes (the
 * bpf_redirect_map() fallback action).
 */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

/* TCP port the host keeps (0 = none): its segments are passed to the stack (set before load). */
const volatile __u16 keep_port_be = 0;

static __always_inline int
is_vlan(__u16 et)
{
	return et == 0x0081 || et == 0xa888 || et == 0x0091; /* 0x8100 0x88a8 0x9100, wire order */
}

SEC("xdp")
int
synfin_afxdp(struct xdp_md *ctx)
{
	const __u8 *d = (const __u8 *)(long)ctx->data;
	const __u8 *e = (const __u8 *)(long)ctx->data_end;
	const __u8 *l3, *l4 = 0;
	__u16 et;

	if (d + 14 > e)
		return XDP_PASS;
	et = *(const __u16 *)(d + 12);
	l3 = d + 14;
	if (is_vlan(et)) {
		if (l3 + 4 > e)
			return XDP_PASS;
		et = *(const __u16 *)(l3 + 2);
		l3 += 4;
		if (is_vlan(et)) {
			if (l3 + 4 > e)
				return XDP_PASS;
			et = *(const __u16 *)(l3 + 2);
			l3 += 4;
		}
	}
	if (et == 0x0008) { /* IPv4 */
		if (l3 + 20 > e || l3[9] != 6)
			return XDP_PASS;
		l4 = l3 + (l3[0] & 0x0f) * 4;
	} else if (et == 0xdd86) { /* IPv6 */
		__u8 nh;

		if (l3 + 40 > e)
			return XDP_PASS;
		nh = l3[6];
		if (nh != 6 && nh != 0 && nh != 43 && nh != 44 && nh != 51 && nh != 60)
			return XDP_PASS;
		if (nh == 6)
			l4 = l3 + 40;
	} else {
		return XDP_PASS;
	}
	if (keep_port_be != 0 && l4 != 0 && l4 + 4 <= e &&
	    (*(const __u16 *)l4 == keep_port_be || *(const __u16 *)(l4 + 2) == keep_port_be))
		return XDP_PASS;
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}
