-- SPDX-License-Identifier: BSD-3-Clause
-- pktgen-dpdk Lua script (-f rate-sweep.lua): replays the pcap loaded with -s 0:FILE at
-- 10, 25, 50, 75 and 100 % of line rate, 10 s each, and prints what port 0 sent and what
-- port 1 (synfin's inline output, if wired back) received at each step. Compare with
-- synfin's own "show stats" (RX-packets, INVALID, reasons) for the same interval.
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

pktgen.screen("off")
pktgen.pcap("0", "on")
for _, rate in ipairs({10, 25, 50, 75, 100}) do
	pktgen.clr()
	pktgen.set("0", "rate", rate)
	pktgen.start("0")
	pktgen.delay(10000)
	pktgen.stop("0")
	pktgen.delay(500)
	local tx = pktgen.portStats("0", "port")[0]
	local rx = pktgen.portStats("1", "port")[1]
	printf("rate %3d%%: port0 opackets %d, port1 ipackets %d\n", rate,
	       tx.opackets, rx and rx.ipackets or 0)
end
pktgen.screen("on")
