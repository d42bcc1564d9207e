//go:build !linux

package runner

// forgetCached does nothing here (see cache_linux.go).
func forgetCached(string) {}
