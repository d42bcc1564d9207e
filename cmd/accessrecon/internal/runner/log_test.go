package runner

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
)

// Connector loggers are made before the run has an ID; once the engine has
// one, every line they write carries it, with their own attributes.
func TestConnectorLogsCarryRunID(t *testing.T) {
	var buf bytes.Buffer
	id := new(atomic.Int64)
	log := withRunID(slog.New(slog.NewJSONHandler(&buf, nil)), id).With("target", "vpn")
	log.Info("before the run")
	id.Store(42)
	log.Info("during the run", "accounts", 3)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	var before, during map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &during); err != nil {
		t.Fatal(err)
	}
	if _, ok := before["run"]; ok {
		t.Errorf("a line before the run has a run ID: %v", before)
	}
	if during["run"] != float64(42) || during["target"] != "vpn" || during["accounts"] != float64(3) {
		t.Errorf("line during the run: %v, want run 42, target vpn, accounts 3", during)
	}
}
