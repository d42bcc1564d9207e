package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// FindingsFile is findings.json, its parts in the file's order.
type FindingsFile struct {
	Findings []reconcile.Finding `json:"findings"`
	Run      struct {
		ID         int64     `json:"id"`
		AsOf       time.Time `json:"as_of"`
		StartedAt  time.Time `json:"started_at"`
		FinishedAt time.Time `json:"finished_at"`
		Status     string    `json:"status"`
		Mode       string    `json:"mode"`
		Guards     []string  `json:"guards,omitempty"`
		// Trusted is false once a safety rail tripped: the findings are
		// shown but were not acted on, and no ticket followed them.
		Trusted bool   `json:"trusted"`
		DryRun  bool   `json:"dry_run,omitempty"`
		Error   string `json:"error,omitempty"`
	} `json:"run"`
	Collections []store.Collection `json:"collections"`
	Actions     []store.Action     `json:"actions,omitempty"`
}

// WriteFindings writes findings.json atomically, readable by its owner only.
func WriteFindings(path string, res *reconcile.Result) error {
	var f FindingsFile
	f.Run.ID, f.Run.AsOf, f.Run.StartedAt, f.Run.FinishedAt = res.Run.ID, res.Run.AsOf, res.Run.StartedAt, res.Run.FinishedAt
	f.Run.Status, f.Run.Mode, f.Run.Guards, f.Run.Error = string(res.Run.Status), res.Run.Mode, res.Run.Guards, res.Run.Error
	f.Run.Trusted, f.Run.DryRun = res.Trusted(), res.Run.DryRun
	f.Collections, f.Actions = res.Collections, res.Actions
	// The findings first (the engine writes them, from the JSON it
	// spooled), then the run's other parts.
	var tail bytes.Buffer
	tail.WriteString("\n]")
	part := func(key string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		fmt.Fprintf(&tail, ",\n%q: %s", key, b)
		return nil
	}
	if err := part("run", f.Run); err != nil {
		return err
	}
	if err := part("collections", f.Collections); err != nil {
		return err
	}
	if f.Actions != nil {
		if err := part("actions", f.Actions); err != nil {
			return err
		}
	}
	tail.WriteString("}\n")
	return res.WriteFindingsFile(path, tail.Bytes())
}

// withRunID returns a logger whose lines carry "run" once id is set: the
// connectors are built before the run has an ID, and the engine sets it.
func withRunID(log *slog.Logger, id *atomic.Int64) *slog.Logger {
	return slog.New(runIDHandler{h: log.Handler(), id: id})
}

type runIDHandler struct {
	h  slog.Handler
	id *atomic.Int64
}

func (r runIDHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r runIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := r.id.Load(); id > 0 {
		rec = rec.Clone()
		rec.AddAttrs(slog.Int64("run", id))
	}
	return r.h.Handle(ctx, rec)
}

func (r runIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return runIDHandler{h: r.h.WithAttrs(as), id: r.id}
}

func (r runIDHandler) WithGroup(name string) slog.Handler {
	return runIDHandler{h: r.h.WithGroup(name), id: r.id}
}
