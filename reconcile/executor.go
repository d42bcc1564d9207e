package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/targets"
)

// ActionRecord is one action of a run as the reports show it.
type ActionRecord = store.Action

// Retry bounds the executor's retries of transient failures.
type Retry struct {
	Attempts int           // total tries (default 5)
	Base     time.Duration // first backoff (default 500ms), doubled each try, with jitter
	Max      time.Duration // longest wait, Retry-After included (default 60s)
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 5
	}
	if r.Base <= 0 {
		r.Base = 500 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = time.Minute
	}
	return r
}

// guardRevocations applies the blast-radius rails per target: when a target
// would see more revocations than max_revocations, or more than
// max_revocations_percent of its enabled accounts, nothing is revoked on it.
// A tripped HR-shrink guard stops enforcement everywhere.
func (e *Engine) guardRevocations(spec RunSpec, mode Mode, res *Result) {
	g := spec.Policy.Guards
	enabled := map[string]int{}
	for _, c := range res.Collections {
		if c.Side == "target" {
			enabled[c.Name] = c.Enabled
		}
	}
	accounts := map[string]map[string]bool{}
	for _, f := range res.Findings {
		if hasAuto(f) {
			if accounts[f.Target] == nil {
				accounts[f.Target] = map[string]bool{}
			}
			accounts[f.Target][f.AccountID] = true
		}
	}
	for _, ts := range spec.Targets {
		if TargetMode(ts, spec) != Enforce {
			continue
		}
		n := len(accounts[ts.Name])
		var why string
		switch {
		case g.MaxRevocations > 0 && n > g.MaxRevocations:
			why = fmt.Sprintf("max_revocations: %s would revoke %d accounts, limit %d", ts.Name, n, g.MaxRevocations)
		case n > g.percentFloor && float64(n) > float64(enabled[ts.Name])*g.MaxRevocationsPercent/100:
			why = fmt.Sprintf("max_revocations_percent: %s would revoke %d of %d enabled accounts (%.1f%%), limit %.1f%%",
				ts.Name, n, enabled[ts.Name], 100*float64(n)/float64(max(enabled[ts.Name], 1)), g.MaxRevocationsPercent)
		}
		if why == "" {
			continue
		}
		res.Run.Guards = append(res.Run.Guards, why+": nothing revoked there")
		res.Findings = append(res.Findings, Finding{Fingerprint: Fingerprint(GuardTripped, ts.Name, "(blast radius)"), Kind: GuardTripped, Severity: High,
			Disposition: Review, Target: ts.Name, AccountID: "(blast radius)", Reason: why + ": a person must confirm these revocations",
			Evidence: map[string]string{"accounts": fmt.Sprint(n)}, Actions: []Step{}, FirstSeen: spec.AsOf})
	}
}

func hasAuto(f Finding) bool {
	if f.Disposition != AutoRevoke && f.Disposition != ManualRevoke {
		return false
	}
	return slices.ContainsFunc(f.Actions, func(s Step) bool { return s.Auto })
}

// TargetMode is a target's effective mode in a run. A dry run, or a run
// told report explicitly (RunSpec.Mode: run --mode report, a job's mode),
// acts nowhere. Otherwise the target's own mode wins, then the run's, then
// policy.mode.
func TargetMode(ts TargetSpec, spec RunSpec) Mode {
	if spec.DryRun || spec.Mode == Report {
		return Report
	}
	return cmp.Or(ts.Mode, spec.Mode, spec.Policy.Mode, Report)
}

// work is one distinct action on one account, shared by the findings that
// plan it (a terminated person's account and its reenabled finding both
// plan "disable").
type work struct {
	ts       *TargetSpec
	caps     targets.Capabilities
	account  targets.Account
	step     Step
	findings []*Finding
	rec      store.Action
}

// execute carries out the automatic steps of the run's clear cases on the
// targets in enforce mode, after recovering what an interrupted earlier run
// left half done. In report mode it records the plan only.
func (e *Engine) execute(ctx context.Context, log *slog.Logger, spec RunSpec, mode Mode, res *Result) error {
	now := e.now().UTC()
	holds, err := e.Store.Holds(ctx, false)
	if err != nil {
		return err
	}
	held := map[string]store.Hold{}
	for _, h := range holds {
		if h.Until.After(now) {
			held[h.Target+"\x00"+h.AccountID] = h
		}
	}
	guarded := map[string]bool{}
	hrGuard := false
	for _, f := range res.Findings {
		if f.Kind == GuardTripped && f.AccountID == "(blast radius)" {
			guarded[f.Target] = true
		}
	}
	for _, g := range res.Run.Guards {
		if len(g) > 9 && g[:9] == "hr_shrink" {
			hrGuard = true
		}
	}
	byName := map[string]*TargetSpec{}
	for i := range spec.Targets {
		byName[spec.Targets[i].Name] = &spec.Targets[i]
	}

	var jobs []*work
	index := map[string]*work{}
	for i := range res.Findings {
		f := &res.Findings[i]
		if !hasAuto(*f) {
			continue
		}
		ts := byName[f.Target]
		tmode := TargetMode(*ts, spec)
		switch {
		case tmode != Enforce:
			f.Outcome = OutcomePlanned
			continue
		case hrGuard || guarded[f.Target]:
			f.Outcome = OutcomeBlocked
			continue
		}
		if h, ok := held[f.Target+"\x00"+f.AccountID]; ok {
			f.Outcome = OutcomeBlocked
			f.Evidence["hold"] = fmt.Sprintf("held by %s until %s: %s", h.CreatedBy, h.Until.Format("2006-01-02"), h.Reason)
			e.audit(ctx, AuditEvent{RunID: res.Run.ID, Type: "hold_applied", Actor: h.CreatedBy, Target: f.Target,
				Detail: map[string]any{"account_id": f.AccountID, "hold_id": h.ID, "reason": h.Reason, "until": h.Until, "fingerprint": f.Fingerprint}})
			continue
		}
		if f.Person != nil {
			e.audit(ctx, AuditEvent{RunID: res.Run.ID, Type: "hr_status_seen", Target: f.Target,
				Detail: map[string]any{"employee_id": f.Person.EmployeeID, "status": f.Person.Status, "termination_date": f.Person.TerminationDate, "account_id": f.AccountID}})
		}
		e.audit(ctx, AuditEvent{RunID: res.Run.ID, Type: "plan_made", Target: f.Target,
			Detail: map[string]any{"fingerprint": f.Fingerprint, "kind": f.Kind, "account_id": f.AccountID, "steps": f.Actions}})
		for _, s := range f.Actions {
			if !s.Auto {
				continue
			}
			key := f.Target + "\x00" + f.AccountID + "\x00" + string(s.Op) + "\x00" + s.Arg
			w, ok := index[key]
			if !ok {
				w = &work{ts: ts, caps: targets.Resolve(ts.Target), account: f.account, step: s}
				index[key] = w
				jobs = append(jobs, w)
			}
			w.findings = append(w.findings, f)
		}
	}
	for _, f := range res.Findings {
		if f.Disposition == Exempt {
			e.audit(ctx, AuditEvent{RunID: res.Run.ID, Type: "exemption_applied", Actor: f.Exemption.Approver, Target: f.Target,
				Detail: map[string]any{"account_id": f.AccountID, "kind": f.Kind, "owner": f.Exemption.Owner, "reason": f.Exemption.Reason, "expires": f.Exemption.Expires.Time}})
		}
	}

	for _, ts := range spec.Targets {
		if TargetMode(ts, spec) == Enforce {
			e.recover(ctx, log, res.Run.ID, &ts)
		}
	}

	// Per target: a worker pool bounded by Concurrency and a rate limiter.
	byTarget := map[string][]*work{}
	for _, w := range jobs {
		byTarget[w.ts.Name] = append(byTarget[w.ts.Name], w)
	}
	var outer errgroup.Group
	for name, ws := range byTarget {
		ts := byName[name]
		outer.Go(func() error {
			limit := rate.Inf
			if ts.RateLimit > 0 {
				limit = rate.Limit(ts.RateLimit)
			}
			lim := rate.NewLimiter(limit, 1)
			var g errgroup.Group
			g.SetLimit(max(ts.Concurrency, 1))
			if ts.Concurrency == 0 {
				g.SetLimit(4)
			}
			// Steps of one account run in plan order: group them.
			perAccount := map[string][]*work{}
			var order []string
			for _, w := range ws {
				if _, ok := perAccount[w.account.ID]; !ok {
					order = append(order, w.account.ID)
				}
				perAccount[w.account.ID] = append(perAccount[w.account.ID], w)
			}
			for _, id := range order {
				g.Go(func() error {
					for _, w := range perAccount[id] {
						e.do(ctx, log.With("target", name), res.Run.ID, lim, w)
					}
					return nil
				})
			}
			return g.Wait()
		})
	}
	_ = outer.Wait()

	for _, w := range jobs {
		res.Actions = append(res.Actions, w.rec)
	}
	e.settle(spec, res, jobs)
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}

// do carries out one action: record it as requested, call the target with
// retries on transient errors, verify by re-reading, record the outcome.
func (e *Engine) do(ctx context.Context, log *slog.Logger, runID int64, lim *rate.Limiter, w *work) {
	r := e.Retry.withDefaults()
	w.rec = store.Action{RunID: runID, Fingerprint: w.findings[0].Fingerprint, Target: w.ts.Name, AccountID: w.account.ID,
		Op: string(w.step.Op), Arg: w.step.Arg, Status: "requested", RequestedAt: e.now().UTC()}
	id, err := e.Store.InsertAction(ctx, w.rec)
	if err != nil {
		w.rec.Status, w.rec.Error = "failed", e.errText(err)
		return
	}
	w.rec.ID = id
	e.audit(ctx, AuditEvent{RunID: runID, Type: "action_requested", Target: w.ts.Name,
		Detail: map[string]any{"action_id": id, "account_id": w.account.ID, "op": w.step.Op, "arg": w.step.Arg}})

	var callErr error
	for attempt := 1; attempt <= r.Attempts; attempt++ {
		w.rec.Attempts = attempt
		if err := lim.Wait(ctx); err != nil {
			callErr = err
			break
		}
		callErr = e.call(ctx, w)
		if callErr == nil || errors.Is(callErr, targets.ErrNotFound) || !retryable(callErr) || attempt == r.Attempts {
			break
		}
		wait := r.Base << (attempt - 1)
		wait = wait/2 + rand.N(wait/2+1) // jitter
		var te *targets.TransientError
		if errors.As(callErr, &te) && te.RetryAfter > 0 {
			wait = te.RetryAfter
		}
		wait = min(wait, r.Max)
		log.Warn("action failed, retrying", "account", w.account.ID, "op", w.step.Op, "attempt", attempt, "wait", wait, "err", callErr)
		select {
		case <-ctx.Done():
			callErr = errors.Join(callErr, ctx.Err())
		case <-time.After(wait):
			continue
		}
		break
	}
	response := map[string]any{"action_id": id, "account_id": w.account.ID, "op": w.step.Op, "attempts": w.rec.Attempts}
	if callErr != nil {
		response["error"] = e.errText(callErr)
	}
	e.audit(context.WithoutCancel(ctx), AuditEvent{RunID: runID, Type: "target_response", Target: w.ts.Name, Detail: response})

	switch {
	case callErr != nil && errors.Is(callErr, targets.ErrNotFound):
		// The account (or membership, credential) is gone: nothing left to revoke.
		w.rec.Status, w.rec.Verified, w.rec.Error = "done", true, "already gone: "+e.errText(callErr)
	case callErr != nil:
		w.rec.Status, w.rec.Error = "failed", e.errText(callErr)
	default:
		verified, note := e.verify(context.WithoutCancel(ctx), w)
		w.rec.Verified = verified
		w.rec.Status = "done"
		if !verified {
			w.rec.Status, w.rec.Error = "unverified", note
		}
		e.audit(context.WithoutCancel(ctx), AuditEvent{RunID: runID, Type: "verification", Target: w.ts.Name,
			Detail: map[string]any{"action_id": id, "account_id": w.account.ID, "op": w.step.Op, "verified": verified, "note": note}})
	}
	w.rec.FinishedAt = e.now().UTC()
	if err := e.Store.FinishAction(w.rec); err != nil {
		log.Error("recording action outcome failed", "action", id, "err", err)
	}
}

func (e *Engine) call(ctx context.Context, w *work) error {
	a := w.account
	switch w.step.Op {
	case targets.CanDisable:
		return w.caps.Disabler.Disable(ctx, a)
	case targets.CanRevokeSessions:
		return w.caps.SessionRevoker.RevokeSessions(ctx, a)
	case targets.CanRevokeCredential:
		for _, c := range a.Credentials {
			if c.ID == w.step.Arg {
				return w.caps.CredentialRevoker.RevokeCredential(ctx, a, c)
			}
		}
		return w.caps.CredentialRevoker.RevokeCredential(ctx, a, targets.Credential{ID: w.step.Arg})
	case targets.CanRemoveFromGroup:
		return w.caps.GroupRemover.RemoveFromGroup(ctx, a, targets.Group{ID: w.step.Arg, Name: cmp.Or(w.step.Name, w.step.Arg)})
	}
	return fmt.Errorf("unknown step %q", w.step.Op)
}

// retryable says whether an error may go away on its own.
func retryable(err error) bool {
	var te *targets.TransientError
	if errors.As(err, &te) {
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// verify re-reads the account and says whether the change is observed.
func (e *Engine) verify(ctx context.Context, w *work) (bool, string) {
	if w.step.Op == targets.CanRevokeSessions {
		return true, "accepted by the target; sessions are not observable"
	}
	if w.caps.Getter == nil {
		return false, "the target cannot re-read one account: change not observed"
	}
	a, err := w.caps.Getter.Account(ctx, w.account.ID)
	if errors.Is(err, targets.ErrNotFound) {
		return true, "account no longer exists"
	}
	if err != nil {
		return false, "re-read failed: " + e.errText(err)
	}
	return observed(w.step, a)
}

func observed(s Step, a targets.Account) (bool, string) {
	switch s.Op {
	case targets.CanDisable:
		if a.Enabled {
			return false, "account still enabled after disable"
		}
	case targets.CanRemoveFromGroup:
		if slices.ContainsFunc(a.Groups, sameGroup(targets.Group{ID: s.Arg})) {
			return false, "account still in group " + cmp.Or(s.Name, s.Arg)
		}
	case targets.CanRevokeCredential:
		for _, c := range a.Credentials {
			if c.ID == s.Arg && c.Active {
				return false, "credential " + s.Arg + " still active"
			}
		}
	}
	return true, "observed"
}

// recover settles the actions an interrupted earlier run left as requested:
// it re-reads each account and records what actually happened. Nothing is
// recorded as done that is not observed; whatever is still needed is planned
// again by this run's findings.
func (e *Engine) recover(ctx context.Context, log *slog.Logger, runID int64, ts *TargetSpec) {
	pending, err := e.Store.PendingActions(ctx, ts.Name, runID)
	if err != nil || len(pending) == 0 {
		return
	}
	caps := targets.Resolve(ts.Target)
	for _, p := range pending {
		status, note := "recovered_not_done", "re-read failed"
		if caps.Getter != nil {
			a, err := caps.Getter.Account(ctx, p.AccountID)
			switch {
			case errors.Is(err, targets.ErrNotFound):
				status, note = "recovered_done", "account no longer exists"
			case err == nil:
				if ok, why := observed(Step{Op: targets.Capability(p.Op), Arg: p.Arg}, a); ok {
					status, note = "recovered_done", "observed by run "+fmt.Sprint(runID)
				} else {
					note = why
				}
			default:
				note = e.errText(err)
			}
		}
		p.Status, p.Error, p.FinishedAt, p.Verified = status, note, e.now().UTC(), status == "recovered_done"
		if err := e.Store.FinishAction(p); err != nil {
			log.Error("recording recovered action failed", "action", p.ID, "err", err)
		}
		e.audit(ctx, AuditEvent{RunID: runID, Type: "action_recovered", Target: ts.Name,
			Detail: map[string]any{"action_id": p.ID, "from_run": p.RunID, "account_id": p.AccountID, "op": p.Op, "status": status, "note": note}})
		log.Warn("recovered an interrupted action", "action", p.ID, "from_run", p.RunID, "status", status)
	}
}

// settle sets each acted-upon finding's outcome and SLA figures, and turns
// every failed or unverified action into a revocation_failed finding.
func (e *Engine) settle(spec RunSpec, res *Result, jobs []*work) {
	byFinding := map[*Finding][]*work{}
	for _, w := range jobs {
		for _, f := range w.findings {
			byFinding[f] = append(byFinding[f], w)
		}
	}
	var failed []Finding
	for f, ws := range byFinding {
		ok := true
		var last time.Time
		var errs []string
		for _, w := range ws {
			if w.rec.Status != "done" {
				ok = false
				errs = append(errs, fmt.Sprintf("%s %s: %s (%s)", w.step.Op, w.step.Arg, w.rec.Status, w.rec.Error))
			}
			last = maxTime(last, w.rec.FinishedAt)
		}
		if !ok {
			f.Outcome = OutcomeFailed
			// One revocation_failed per account: its fingerprint is the
			// account's, and two findings of one account may share a step.
			fp := Fingerprint(RevocationFailed, f.Target, f.AccountID)
			if i := slices.IndexFunc(failed, func(x Finding) bool { return x.Fingerprint == fp }); i >= 0 {
				failed[i].Reason += fmt.Sprintf("; revoking %s (%s) did not complete: %s", f.Kind, f.Fingerprint, strings.Join(errs, "; "))
				failed[i].Evidence["finding"] += ", " + f.Fingerprint
				for _, st := range f.Actions {
					if !slices.Contains(failed[i].Actions, st) {
						failed[i].Actions = append(failed[i].Actions, st)
					}
				}
				continue
			}
			failed = append(failed, Finding{Fingerprint: Fingerprint(RevocationFailed, f.Target, f.AccountID), Kind: RevocationFailed, Severity: High,
				Disposition: Review, Target: f.Target, AccountID: f.AccountID, Username: f.Username, EmployeeID: f.EmployeeID, Person: f.Person,
				Reason:   fmt.Sprintf("revoking %s (%s) did not complete: %s", f.Kind, f.Fingerprint, strings.Join(errs, "; ")),
				Evidence: map[string]string{"finding": f.Fingerprint}, Actions: slices.Clone(f.Actions), FirstSeen: spec.AsOf, Tier: f.Tier, EffectiveAt: f.EffectiveAt})
			continue
		}
		f.Outcome = OutcomeDone
		at := last
		f.RevokedAt = &at
		if f.EffectiveAt != nil {
			elapsed := at.Sub(*f.EffectiveAt)
			f.Elapsed = elapsed.Round(time.Second).String()
			within := elapsed <= spec.Policy.SLA[cmp.Or(f.Tier, "standard")].D()
			f.WithinSLA = &within
		}
	}
	res.Findings = append(res.Findings, failed...)
	sortFindings(res.Findings)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
