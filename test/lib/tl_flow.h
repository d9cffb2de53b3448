/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TL_FLOW_H
#define TL_FLOW_H

/**
 * @file
 * A flow table set up the way the worker sets up its own (lib/worker/ct_worker_ctl.c), for the
 * tests that drive lib/table directly: records are struct ct_flow, the class is the conntrack
 * state, keys are struct ct_flow_key; the policy gives each state its timeout in worker ticks
 * and marks SYN_SENT, SYN_RECV and SYN_SENT2 embryonic.
 *
 * Thread-safety: none needed (pure functions).
 */

#include <stdint.h>

#include "ct_stats.h"
#include "ct_table.h"
#include "ct_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The worker's policy for @p conf's timeouts into @p pol (zeroed first). */
void tl_flow_policy(struct ct_table_policy *pol, const struct ct_tcp_conf *conf);

/**
 * Creation parameters of a table of struct ct_flow records keyed by struct ct_flow_key, with
 * policy @p pol, counters @p st and end callback @p on_end(@p arg, ...) (may be NULL).
 */
struct ct_table_params tl_flow_table_params(const char *name, uint32_t capacity,
                                            const struct ct_table_policy *pol,
                                            struct ct_lcore_stats *st, ct_table_end_t on_end,
                                            void *arg, uint64_t now);

#ifdef __cplusplus
}
#endif

#endif /* TL_FLOW_H */
