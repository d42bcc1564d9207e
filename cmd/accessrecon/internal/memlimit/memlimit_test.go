package memlimit

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	meminfo := write("meminfo", "MemTotal:       25165824 kB\nMemFree:        1000 kB\n")
	for _, tc := range []struct {
		name   string
		cgroup string
		want   int64
	}{
		{"cgroup limit", write("max1", "8589934592\n"), 6 << 30},
		{"no cgroup limit: the machine", write("max2", "max\n"), 18 << 30},
		{"no cgroup file: the machine", filepath.Join(dir, "missing"), 18 << 30},
		{"a small cgroup keeps the floor", write("max3", "536870912\n"), 1 << 30},
	} {
		if got := Soft(tc.cgroup, meminfo); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := Soft(filepath.Join(dir, "missing"), filepath.Join(dir, "missing")); got != 1<<30 {
		t.Errorf("nothing known: %d, want the 1 GiB floor", got)
	}
}

// On Linux (glibc, as this program is built and run there), C's malloc
// accepts the fixed threshold: the mallopt call is made and succeeds.
func TestMapLargeC(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("glibc's malloc only")
	}
	if !MapLargeC() {
		t.Fatal("mallopt(M_MMAP_THRESHOLD) refused, or not made")
	}
}
