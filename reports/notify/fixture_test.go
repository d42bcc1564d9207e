package notify

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

var asOf = time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)

// hostile is a name built to break every format: Slack control sequences
// and mrkdwn, markdown links and emphasis, HTML, a terminal escape, a
// newline that would start a fake line, and a bidi override.
const hostile = "<!channel> *Mal* _lory_ `rm` ~x~ [click](http://evil.example) <b>&amp;</b>\x1b[31m\nInjected: line\u202e"

// finding is a terminated person's account on a target.
func finding(target, user, empID, name string, disp reconcile.Disposition, outcome reconcile.Outcome) reconcile.Finding {
	eff := asOf.Add(-30 * time.Minute)
	return reconcile.Finding{
		Fingerprint: reconcile.Fingerprint(reconcile.TerminatedActive, target, user),
		Kind:        reconcile.TerminatedActive, Severity: reconcile.Critical, Target: target,
		AccountID: "id-" + user, Username: user, EmployeeID: empID,
		Person:      &reconcile.PersonRef{EmployeeID: empID, Name: name, Status: sources.Terminated},
		Disposition: disp, Outcome: outcome,
		Actions:     []reconcile.Step{{Op: targets.CanDisable, Auto: true}},
		EffectiveAt: &eff, Tier: "standard",
	}
}

func revoked(f reconcile.Finding, after time.Duration) reconcile.Finding {
	at := f.EffectiveAt.Add(after)
	f.RevokedAt = &at
	within := after <= time.Hour // the standard tier's default SLA
	f.WithinSLA = &within
	f.Outcome = reconcile.OutcomeDone
	return f
}

func result(runID int64, status reconcile.Status, fs ...reconcile.Finding) *reconcile.Result {
	res := &reconcile.Result{
		Run:    store.Run{ID: runID, AsOf: asOf, FinishedAt: asOf.Add(2 * time.Minute), Status: status, Job: "nightly"},
		Policy: reconcile.DefaultPolicy(),
	}
	for i := range fs {
		res.Findings = append(res.Findings, &fs[i])
	}
	return res
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newNotifier builds a Notifier with a fixed clock.
func newNotifier(t *testing.T, cfg Config, now time.Time) *Notifier {
	t.Helper()
	n, err := New(cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	n.now = func() time.Time { return now }
	return n
}
