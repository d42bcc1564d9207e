// Package memlimit sizes the process's soft heap limit: to the data of the
// runs going (Budget), never above what the process may use (Soft).
package memlimit

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Soft is the ceiling of the soft heap limit: three quarters of the
// memory this process may use (the cgroup's memory.max, else the machine's
// MemTotal), at least 1 GiB. A fixed limit below the live data of a large
// estate made the garbage collector run almost constantly (65% of a
// 10-million-account run's CPU); a limit near the real ceiling only bites
// when memory is really short, where working harder beats being killed.
func Soft(cgroupMax, meminfo string) int64 {
	const floor = 1 << 30
	avail := int64(0)
	if b, err := os.ReadFile(cgroupMax); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 {
			avail = v
		}
	}
	if avail == 0 {
		avail = memTotal(meminfo)
	}
	return max(avail/4*3, floor)
}

// memTotal reads MemTotal from a /proc/meminfo file (0 when unknown).
func memTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
