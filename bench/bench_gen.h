/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

/**
 * @file
 * Traffic generators of synfin-bench: stateless descriptions of the packets of each workload
 * (lifecycle, established, synflood, mixed), the frame writer that turns a description into
 * Ethernet/IPv4/TCP, UDP or ICMP bytes in an mbuf and pcap reading and writing (both on
 * test/lib). Everything here runs outside the
 * timed region; the generators keep O(1) state (a round counter and a slot index), so 10 M
 * concurrent connections cost no generator memory.
 *
 * Thread-safety: none; one generator per thread.
 */

#include <stdbool.h>
#include <stdint.h>

#include "tl_pcap.h"

/** IP protocols of the generated packets (struct bench_pkt::proto). */
#define BENCH_PROTO_ICMP 1
#define BENCH_PROTO_TCP  6
#define BENCH_PROTO_UDP  17

/**
 * One packet to write, fields in host order. TCP uses every field; UDP the addresses, ports and
 * len; ICMP echo the addresses, sport as the identifier, seq as the sequence number, flags as
 * the type (8 request, 0 reply) and len.
 */
struct bench_pkt {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t win;
	uint16_t len;   /**< payload bytes after the L4 header */
	uint8_t flags;  /**< TCP: CT_TCPF_*; ICMP: the type */
	uint8_t synopt; /**< 1: MSS + SACK-permitted + window scale 7 options */
	uint8_t proto;  /**< BENCH_PROTO_* (0 is TCP) */
};

/** What the accounting needs to know about a generated packet. */
struct bench_tag {
	uint32_t slot;  /**< lifecycle slot / flow index; UINT32_MAX for flood SYNs */
	uint8_t phase;  /**< lifecycle phase 0..7, or 0xff */
	uint8_t flood;  /**< 1: flood SYN */
	uint8_t warmup; /**< 1: packet of the untimed warm-up */
	uint8_t proto;  /**< BENCH_PROTO_* of the packet */
};

/** Frame bytes needed for a packet (Ethernet + IPv4 + L4 header [+ options] + payload, min 60). */
uint32_t bench_frame_len(const struct bench_pkt *p);

/** Write the frame of @p p to @p buf (at least bench_frame_len() bytes). @return its length. */
uint32_t bench_frame_write(uint8_t *buf, const struct bench_pkt *p);

/**
 * Lifecycle phases: SYN, SYN+ACK, ACK, data, FIN, ACK, FIN, ACK. A mixed workload's UDP and
 * ICMP slots run the same number of packets per flow: four request/response pairs.
 */
#define BENCH_PHASES 8

/** Mixed workload: shares of the slots, in percent (they add up to 100). */
struct bench_mix {
	uint8_t tcp, udp, icmp;
};

/** Generator of the lifecycle / established / synflood workloads. */
struct bench_gen {
	int mode;             /**< BENCH_W_* */
	uint32_t n;           /**< concurrent connections (slots) / flows */
	uint64_t round;       /**< current round over the slots */
	uint32_t slot;        /**< next slot in this round */
	uint32_t seed;        /**< perturbs addresses, ports and ISNs */
	uint16_t payload;     /**< data segment length */
	double flood_ratio;   /**< synflood: fraction of packets that are flood SYNs */
	double flood_acc;     /**< Bresenham accumulator of flood packets */
	uint64_t rng;         /**< xorshift state for flood sources */
	uint64_t warm_left;   /**< warm-up packets still to emit (emitted first, tagged) */
	uint8_t no_stagger;   /**< 1: every slot starts at round 0 (bench_gen_no_stagger()) */
	uint32_t loop_gens;   /**< loopable: connections per slot in one pass (0: endless) */
	uint32_t loop_tuples; /**< loopable: 4-tuples per slot, used in turn */
	uint64_t loop_left;   /**< loopable: lifecycle packets still to emit in this pass */
	struct bench_mix mix; /**< mixed: shares of TCP, UDP and ICMP slots */
};

enum bench_workload {
	BENCH_W_LIFECYCLE = 0,
	BENCH_W_ESTABLISHED,
	BENCH_W_SYNFLOOD,
	BENCH_W_MIXED,
	BENCH_W_PCAP,
	BENCH_W_MAX
};

/**
 * Initialise a generator. Lifecycle/synflood slots start staggered (slot i begins at round
 * 7 - i % 8), so after the 7 warm-up rounds every phase is equally present; established flows
 * do their handshake (3 rounds) as warm-up. The warm-up packet count is in g->warm_left.
 */
void bench_gen_init(struct bench_gen *g, int mode, uint32_t n, uint32_t seed, uint16_t payload,
                    double flood_ratio);

/**
 * Mixed: full lifecycles like BENCH_W_LIFECYCLE, but each slot carries TCP, UDP or ICMP by the
 * shares of @p mix (a slot's protocol is fixed by a hash of its index and the seed). A UDP slot
 * runs flows of four request/response pairs (client port 1024.., server port 53, a new client
 * port for each flow); an ICMP slot, echo request/reply pairs of one identifier per flow. UDP
 * and ICMP flows are not closed: they end by their idle timeout, as on a real link. Call right
 * after bench_gen_init() with BENCH_W_MIXED. @return 0, or -1 when the shares do not add up
 * to 100.
 */
int bench_gen_mix(struct bench_gen *g, struct bench_mix mix);

/** Protocol (BENCH_PROTO_*) of slot @p i of generator @p g. */
uint8_t bench_gen_slot_proto(const struct bench_gen *g, uint32_t i);

/**
 * Lifecycle: start every slot at round 0 instead of staggering them, with no warm-up, so round r
 * carries phase r of every slot: 8 N packets are N connections all open at once, each spread
 * over the whole stream. Call right after bench_gen_init().
 */
void bench_gen_no_stagger(struct bench_gen *g);

/**
 * Make a lifecycle or synflood generator loopable (after bench_gen_init(), before the first
 * packet): the stream ends once every slot has run @p gens complete connections, so a replay of
 * it in a loop never cuts a connection. Slot i uses @p tuples 4-tuples in turn (client port
 * changes), so each is reused by gens / tuples connections per pass; each use advances both
 * ISNs of the tuple by 2^32 / (gens / tuples), so the next SYN on a tuple, within a pass or
 * after the wrap, is after the old connection's sequence space by modular comparison: a valid
 * TIME_WAIT reopen (RFC 9293 3.10.7.4, RFC 6191). No warm-up: every packet is emitted.
 * @return 0, or -1 when @p gens is not a multiple of @p tuples, gens / tuples is not in
 *         3 .. 65536, or the payload does not fit in an ISN step.
 */
int bench_gen_loopable(struct bench_gen *g, uint32_t gens, uint32_t tuples);

/** True once a loopable generator has emitted its whole pass. */
static inline bool
bench_gen_done(const struct bench_gen *g)
{
	return g->loop_gens != 0 && g->loop_left == 0;
}

/** Next packet (not to be called once bench_gen_done()). @return tag describing it. */
struct bench_tag bench_gen_next(struct bench_gen *g, struct bench_pkt *p);

/**
 * Load a classic pcap into memory (test/lib's tl_pcap_load(): microsecond or nanosecond magic,
 * either byte order, LINKTYPE_ETHERNET); free it with tl_pcap_free().
 * @return 0, or -1 with a message on stderr.
 */
int bench_pcap_load(const char *path, struct tl_pcap *pc);

/**
 * Write @p npkts packets of generator @p g (warm-up first, then timed packets) to a classic pcap
 * (microsecond timestamps, @p us_per_pkt apart), or fewer when a loopable generator's pass ends
 * first. With @p skip_warm the warm-up packets are generated but not written.
 * @return the packets written, or -1 with a message on stderr.
 */
int64_t bench_pcap_write(const char *path, struct bench_gen *g, uint64_t npkts, int skip_warm,
                         uint32_t us_per_pkt);

#endif /* BENCH_GEN_H */
