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
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/accessrecon/accessrecon/targets"
)

// ActionRecord is one action of a run as the reports show it.
type ActionRecord = Action

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
		if c.Side == SideTarget {
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
		var kind GuardKind
		switch {
		case g.MaxRevocations > 0 && n > g.MaxRevocations:
			kind = GuardMaxRevocations
			why = fmt.Sprintf("%s would revoke %d accounts, limit %d", ts.Name, n, g.MaxRevocations)
		case n > g.percentFloor && float64(n) > float64(enabled[ts.Name])*g.MaxRevocationsPercent/100:
			kind = GuardMaxRevocationsPercent
			why = fmt.Sprintf("%s would revoke %d of %d enabled accounts (%.1f%%), limit %.1f%%",
				ts.Name, n, enabled[ts.Name], 100*float64(n)/float64(max(enabled[ts.Name], 1)), g.MaxRevocationsPercent)
		}
		if why == "" {
			continue
		}
		res.trip(Guard{Kind: kind, Target: ts.Name, Reason: why + ": nothing revoked there"})
		res.Findings = append(res.Findings, &Finding{Fingerprint: Fingerprint(GuardTripped, ts.Name, BlastRadiusAccount), Kind: GuardTripped, Severity: High,
			Disposition: Review, Target: ts.Name, AccountID: BlastRadiusAccount, Reason: why + ": a person must confirm these revocations",
			Evidence: Evidence{{"accounts", fmt.Sprint(n)}}, Actions: []Step{}, FirstSeen: spec.AsOf})
	}
}

// BlastRadiusAccount is the AccountID of the guard_tripped finding of a
// blast-radius rail on a target (one per target: its fingerprint is stable).
// Only people read it; the engine decides on Result.Guards.
const BlastRadiusAccount = "(blast radius)"

func hasAuto(f *Finding) bool {
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
	rec      Action
}

// halt stops a run's enforcement for good: the first reason wins, and no
// action is attempted after it.
type halt struct {
	mu  sync.Mutex
	err error
}

func (h *halt) stop(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		h.err = err
	}
}

func (h *halt) reason() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// ErrAuditFailed is wrapped by a run's error when an audit record could not
// be appended: enforcement stopped there, since no revocation may happen
// without its record.
var ErrAuditFailed = errors.New("audit trail unavailable: enforcement stopped")

// record appends an audit event that enforcement depends on. When it fails,
// enforcement stops for the rest of the run.
func (e *Engine) record(ctx context.Context, h *halt, ev AuditEvent) error {
	if e.Audit == nil {
		return nil
	}
	if ev.Actor == "" {
		ev.Actor = "accessrecon"
	}
	if err := e.Audit.Record(ctx, ev); err != nil {
		err = fmt.Errorf("%w: %s: %w", ErrAuditFailed, ev.Type, err)
		e.Log.Error("audit record failed: stopping enforcement", "type", ev.Type, "err", err)
		h.stop(err)
		return err
	}
	return nil
}

// leaseLost turns a lost store lock into the run's error: the run ends
// cancelled, with the reason.
func leaseLost(err error) error {
	return fmt.Errorf("%w: %w", context.Canceled, err)
}

// execute carries out the automatic steps of the run's clear cases on the
// targets in enforce mode, after recovering what an interrupted earlier run
// left half done. In report mode it records the plan only.
func (e *Engine) execute(ctx context.Context, log *slog.Logger, spec RunSpec, mode Mode, res *Result) error {
	h := &halt{}
	// Settle what an interrupted run left requested before judging what is
	// still to do: a step it cannot observe is planned again below.
	for i := range spec.Targets {
		if TargetMode(spec.Targets[i], spec) == Enforce {
			e.recover(ctx, log, h, res.Run.ID, &spec.Targets[i])
		}
	}
	if err := e.replanUnfinished(ctx, spec, res); err != nil {
		return err
	}
	jobs, err := e.plan(ctx, h, spec, res)
	if err != nil {
		return err
	}
	e.dispatch(ctx, log, h, res.Run.ID, jobs)
	for _, w := range jobs {
		res.Actions = append(res.Actions, w.rec)
	}
	e.settle(spec, res, jobs)
	if err := ctx.Err(); err != nil {
		if cause := context.Cause(ctx); cause != nil && cause != err {
			return fmt.Errorf("%w: %w", err, cause)
		}
		return err
	}
	return h.reason()
}

// planner decides, finding by finding, what enforce would do: blocked by a
// rail or a hold, planned only (report mode), or work for the executor.
type planner struct {
	now     time.Time
	holds   []Hold
	guarded map[string]bool // targets a rail stopped
	hrGuard bool            // the HR-shrink rail stopped every target
	byName  map[string]*TargetSpec
}

func (e *Engine) newPlanner(ctx context.Context, spec RunSpec, res *Result) (*planner, error) {
	now := e.now().UTC()
	holds, err := e.Store.Holds(ctx, false)
	if err != nil {
		return nil, err
	}
	p := &planner{now: now, holds: holds, guarded: map[string]bool{}, hrGuard: res.Tripped(GuardHRShrink), byName: map[string]*TargetSpec{}}
	for _, g := range res.Guards {
		if g.Target != "" {
			p.guarded[g.Target] = true
		}
	}
	for i := range spec.Targets {
		p.byName[spec.Targets[i].Name] = &spec.Targets[i]
	}
	return p, nil
}

// heldFor is the hold of f's account, if any. A hold names its account as
// the person wrote it (resolved to the ID when it was added; older holds
// may carry a username).
func (p *planner) heldFor(f *Finding) (Hold, bool) {
	for _, h := range p.holds {
		if h.Target == f.Target && h.Until.After(p.now) && (h.AccountID == f.AccountID || f.account != nil && Names(h.AccountID, *f.account)) {
			return h, true
		}
	}
	return Hold{}, false
}

// plan sets the outcome of every finding with automatic steps that will
// not be acted on (blocked, planned), records the person's steps of those
// that will, and returns the automatic steps as work, one per distinct
// action on an account.
func (e *Engine) plan(ctx context.Context, h *halt, spec RunSpec, res *Result) ([]*work, error) {
	p, err := e.newPlanner(ctx, spec, res)
	if err != nil {
		return nil, err
	}
	var jobs []*work
	var manual []Action
	index := map[string]*work{}
	for _, f := range res.Findings {
		if !hasAuto(f) {
			continue
		}
		ts := p.byName[f.Target]
		if !e.planFinding(ctx, h, p, spec, res.Run.ID, ts, f) {
			continue
		}
		for _, s := range f.Actions {
			if !s.Auto {
				// A person's step beside automatic ones: kept open in the
				// store, so that once the automatic steps have disabled
				// the account the finding stays until someone records
				// the step as done (accessrecon ack) or the account is
				// gone.
				manual = append(manual, Action{RunID: res.Run.ID, Fingerprint: f.Fingerprint, Target: f.Target, AccountID: f.AccountID,
					Op: string(s.Op), Arg: s.Arg, Status: ActionManual, Error: s.Manual, RequestedAt: p.now, Kind: string(f.Kind), EmployeeID: f.EmployeeID})
				continue
			}
			key := f.Target + "\x00" + f.AccountID + "\x00" + string(s.Op) + "\x00" + s.Arg
			w, ok := index[key]
			if !ok {
				acct := targets.Account{ID: f.AccountID, Username: f.Username}
				if f.account != nil {
					acct = *f.account
				}
				w = &work{ts: ts, caps: targets.Resolve(ts.Target), account: acct, step: s}
				index[key] = w
				jobs = append(jobs, w)
			}
			w.findings = append(w.findings, f)
		}
	}
	if len(manual) > 0 {
		ids, err := e.Store.InsertActions(ctx, manual)
		if err != nil {
			return nil, err
		}
		for i := range manual {
			manual[i].ID = ids[i]
		}
		res.Actions = append(res.Actions, manual...)
	}
	for _, f := range res.Findings {
		if f.Disposition == Exempt {
			_ = e.record(ctx, h, AuditEvent{RunID: res.Run.ID, Type: AuditExemptionApplied, Actor: f.Exemption.Approver, Target: f.Target,
				Detail: map[string]any{"account_id": f.AccountID, "kind": f.Kind, "owner": f.Exemption.Owner, "reason": f.Exemption.Reason, "expires": f.Exemption.Expires.Time}})
		}
	}
	return jobs, nil
}

// planFinding says whether f's steps are to be carried out. Rails and
// holds apply as enforce would apply them, in every mode: a dry run's plan
// shows exactly what enforce would do. A finding that will be acted on is
// audited with the HR status seen and its plan.
func (e *Engine) planFinding(ctx context.Context, h *halt, p *planner, spec RunSpec, runID int64, ts *TargetSpec, f *Finding) bool {
	tmode := TargetMode(*ts, spec)
	if p.hrGuard || p.guarded[f.Target] {
		f.Outcome = OutcomeBlocked
		return false
	}
	if hd, ok := p.heldFor(f); ok {
		f.Outcome = OutcomeBlocked
		f.Evidence.Set("hold", fmt.Sprintf("held by %s until %s: %s", hd.CreatedBy, hd.Until.Format("2006-01-02"), hd.Reason))
		if tmode == Enforce {
			_ = e.record(ctx, h, AuditEvent{RunID: runID, Type: AuditHoldApplied, Actor: hd.CreatedBy, Target: f.Target,
				Detail: map[string]any{"account_id": f.AccountID, "hold_id": hd.ID, "reason": hd.Reason, "until": hd.Until, "fingerprint": f.Fingerprint}})
		}
		return false
	}
	if tmode != Enforce {
		f.Outcome = OutcomePlanned
		return false
	}
	if f.Person != nil {
		_ = e.record(ctx, h, AuditEvent{RunID: runID, Type: AuditHRStatusSeen, Target: f.Target,
			Detail: map[string]any{"employee_id": f.Person.EmployeeID, "status": f.Person.Status, "termination_date": f.Person.TerminationDate, "account_id": f.AccountID}})
	}
	_ = e.record(ctx, h, AuditEvent{RunID: runID, Type: AuditPlanMade, Target: f.Target,
		Detail: map[string]any{"fingerprint": f.Fingerprint, "kind": f.Kind, "account_id": f.AccountID, "steps": f.Actions}})
	return true
}

// dispatch carries out the work, per target in a worker pool bounded by
// its Concurrency and rate limit; the steps of one account in plan order.
func (e *Engine) dispatch(ctx context.Context, log *slog.Logger, h *halt, runID int64, jobs []*work) {
	byTarget := map[string][]*work{}
	for _, w := range jobs {
		byTarget[w.ts.Name] = append(byTarget[w.ts.Name], w)
	}
	var outer errgroup.Group
	for name, ws := range byTarget {
		ts := ws[0].ts
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
					e.doAccount(ctx, log.With("target", name), h, runID, lim, perAccount[id])
					return nil
				})
			}
			return g.Wait()
		})
	}
	_ = outer.Wait()
}

// doAccount carries out the steps of one account in plan order. All of them
// are recorded as requested, in one transaction that first checks the store
// lock is still ours, before the first is attempted: a crash at any point
// leaves every step of the plan in the store for the next run to settle.
func (e *Engine) doAccount(ctx context.Context, log *slog.Logger, h *halt, runID int64, lim *rate.Limiter, ws []*work) {
	recs := make([]Action, len(ws))
	for i, w := range ws {
		f := w.findings[0]
		w.rec = Action{RunID: runID, Fingerprint: f.Fingerprint, Target: w.ts.Name, AccountID: w.account.ID,
			Op: string(w.step.Op), Arg: w.step.Arg, Status: ActionRequested, RequestedAt: e.now().UTC(), Kind: string(f.Kind)}
		if f.Person != nil {
			w.rec.EmployeeID = f.Person.EmployeeID
		}
		recs[i] = w.rec
	}
	notAttempted := func(ws []*work, why error) {
		for _, w := range ws {
			w.rec.Status, w.rec.Error = ActionFailed, "not attempted: "+e.errText(why)
			if w.rec.ID != 0 {
				w.rec.FinishedAt = e.now().UTC()
				if err := e.Store.FinishAction(w.rec); err != nil {
					log.Error("recording action outcome failed", "action", w.rec.ID, "err", err)
				}
				// Best effort: the trail may be what failed.
				e.audit(context.WithoutCancel(ctx), AuditEvent{RunID: runID, Type: AuditActionNotAttempted, Target: w.ts.Name,
					Detail: map[string]any{"action_id": w.rec.ID, "account_id": w.account.ID, "op": w.step.Op, "arg": w.step.Arg, "reason": e.errText(why)}})
			}
		}
	}
	if err := h.reason(); err != nil {
		notAttempted(ws, err)
		return
	}
	if err := ctx.Err(); err != nil {
		notAttempted(ws, err)
		return
	}
	ids, err := e.Store.InsertActions(ctx, recs)
	if err != nil {
		if errors.Is(err, ErrLeaseLost) {
			err = leaseLost(err)
			log.Error("the store lock is lost: stopping enforcement", "err", err)
			h.stop(err)
		}
		notAttempted(ws, err)
		return
	}
	for i, w := range ws {
		w.rec.ID = ids[i]
	}
	for i, w := range ws {
		if err := e.record(ctx, h, AuditEvent{RunID: runID, Type: AuditActionRequested, Target: w.ts.Name,
			Detail: map[string]any{"action_id": w.rec.ID, "account_id": w.account.ID, "op": w.step.Op, "arg": w.step.Arg}}); err != nil {
			notAttempted(ws[i:], err)
			return
		}
	}
	for i, w := range ws {
		// Each action checks the fencing token first: a run that lost the
		// store lock acts no more.
		err := h.reason()
		if err == nil {
			if err = e.Store.CheckLease(ctx); err != nil {
				if errors.Is(err, ErrLeaseLost) {
					err = leaseLost(err)
					log.Error("the store lock is lost: stopping enforcement", "err", err)
				}
				h.stop(err)
			}
		}
		if err != nil {
			notAttempted(ws[i:], err)
			return
		}
		e.do(ctx, log, h, runID, lim, w)
	}
}

// do carries out one action recorded as requested: call the target with
// retries on transient errors, verify by re-reading, record the outcome.
func (e *Engine) do(ctx context.Context, log *slog.Logger, h *halt, runID int64, lim *rate.Limiter, w *work) {
	r := e.Retry.withDefaults()
	id := w.rec.ID

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
		log.Warn("action failed, retrying", "account", w.account.ID, "op", w.step.Op, "attempt", attempt, "wait", wait, "err", e.scrubbed(callErr))
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
	_ = e.record(context.WithoutCancel(ctx), h, AuditEvent{RunID: runID, Type: AuditTargetResponse, Target: w.ts.Name, Detail: response})

	switch {
	case callErr != nil && errors.Is(callErr, targets.ErrNotFound):
		// The account (or membership, credential) is gone: nothing left to revoke.
		w.rec.Status, w.rec.Verified, w.rec.Error = ActionDone, true, "already gone: "+e.errText(callErr)
	case callErr != nil:
		w.rec.Status, w.rec.Error = ActionFailed, e.errText(callErr)
	default:
		verified, note := e.verify(context.WithoutCancel(ctx), w)
		w.rec.Verified = verified
		w.rec.Status = ActionDone
		if !verified {
			w.rec.Status, w.rec.Error = ActionUnverified, note
		}
		_ = e.record(context.WithoutCancel(ctx), h, AuditEvent{RunID: runID, Type: AuditVerification, Target: w.ts.Name,
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

// observable says whether a step's effect can be seen by re-reading the
// account. Sessions cannot: that a session revocation happened is known
// only from the target's answer to the call.
func observable(op targets.Capability) bool {
	return op != targets.CanRevokeSessions
}

// recover settles the actions an interrupted earlier run left as requested:
// it re-reads each account and records what actually happened. Nothing is
// recorded as done that is not observed; a step whose effect cannot be
// observed (revoke_sessions) is never assumed done. Whatever is still
// needed is planned again by this run (replanUnfinished and the findings).
func (e *Engine) recover(ctx context.Context, log *slog.Logger, h *halt, runID int64, ts *TargetSpec) {
	pending, err := e.Store.PendingActions(ctx, ts.Name, runID)
	if err != nil || len(pending) == 0 {
		return
	}
	caps := targets.Resolve(ts.Target)
	for _, p := range pending {
		status, note := ActionRecoveredNotDone, "re-read failed"
		switch {
		case !observable(targets.Capability(p.Op)):
			note = "interrupted, and its effect cannot be observed: not assumed done; planned again"
		case caps.Getter != nil:
			a, err := caps.Getter.Account(ctx, p.AccountID)
			switch {
			case errors.Is(err, targets.ErrNotFound):
				status, note = ActionRecoveredDone, "account no longer exists"
			case err == nil:
				if ok, why := observed(Step{Op: targets.Capability(p.Op), Arg: p.Arg}, a); ok {
					status, note = ActionRecoveredDone, "observed by run "+fmt.Sprint(runID)
				} else {
					note = why
				}
			default:
				note = e.errText(err)
			}
		}
		p.Status, p.Error, p.FinishedAt, p.Verified = status, note, e.now().UTC(), status == ActionRecoveredDone
		if err := e.Store.FinishAction(p); err != nil {
			log.Error("recording recovered action failed", "action", p.ID, "err", err)
		}
		_ = e.record(ctx, h, AuditEvent{RunID: runID, Type: AuditActionRecovered, Target: ts.Name,
			Detail: map[string]any{"action_id": p.ID, "from_run": p.RunID, "account_id": p.AccountID, "op": p.Op, "status": status, "note": note}})
		log.Warn("recovered an interrupted action", "action", p.ID, "from_run", p.RunID, "status", status)
	}
}

// replanUnfinished keeps a revocation a finding until every step of it is
// verified. Classification judges enabled accounts only; an account that
// was disabled while a later step of its revocation failed, was not
// verified, or was interrupted (revoke_sessions after a crash) would
// otherwise be forgotten. For each target collected whole, each such account
// still disabled in this run's snapshot whose person HR still says is gone
// gets a finding of the departure's kind with the steps still to do (steps
// whose effect the snapshot shows done are left out).
func (e *Engine) replanUnfinished(ctx context.Context, spec RunSpec, res *Result) error {
	whole := map[string]bool{}
	for _, c := range res.Collections {
		if c.Side == SideTarget && c.Status == CollectionOK {
			whole[c.Name] = true
		}
	}
	unfinished := map[string][]Action{}
	need := map[string]bool{}
	for i := range spec.Targets {
		ts := &spec.Targets[i]
		if !whole[ts.Name] {
			continue
		}
		steps, err := e.Store.UnfinishedSteps(ctx, ts.Name, res.Run.ID)
		if err != nil {
			return err
		}
		unfinished[ts.Name] = steps
		for _, st := range steps {
			need[NormalizeID(st.EmployeeID)] = true
		}
	}
	if len(need) == 0 {
		return nil
	}
	// Only now that there is something to replan: a run of a hundred
	// thousand findings and nothing unfinished spent 0.06 s on this set.
	found := make(map[string]bool, len(res.Findings))
	for _, f := range res.Findings {
		found[f.Fingerprint] = true
	}
	people := map[string]*PersonRow{}
	for p, err := range e.Store.People(ctx, res.Run.ID) {
		if err != nil {
			return err
		}
		if id := NormalizeID(p.EmployeeID); need[id] {
			people[id] = &p
		}
	}
	added := false
	for i := range spec.Targets {
		ts := &spec.Targets[i]
		steps := unfinished[ts.Name]
		if len(steps) == 0 {
			continue
		}
		caps := targets.Resolve(ts.Target)
		j := newJudge(spec.AsOf, &spec.Policy, ts.Name, ts.Tier, caps)
		for lo := 0; lo < len(steps); {
			hi := lo + 1
			for hi < len(steps) && steps[hi].AccountID == steps[lo].AccountID {
				hi++
			}
			if f, ok, err := e.unfinishedFinding(ctx, spec, res.Run.ID, j, caps, people, steps[lo:hi]); err != nil {
				return err
			} else if ok && !found[f.Fingerprint] {
				found[f.Fingerprint] = true
				res.Findings = append(res.Findings, &f)
				added = true
			}
			lo = hi
		}
	}
	if added {
		sortFindings(res.Findings)
	}
	return nil
}

// unfinishedFinding builds the finding of one account's unfinished steps.
func (e *Engine) unfinishedFinding(ctx context.Context, spec RunSpec, runID int64, j *judge, caps targets.Capabilities,
	people map[string]*PersonRow, steps []Action) (Finding, bool, error) {
	a, ok, err := e.Store.SnapshotAccount(ctx, runID, j.target, steps[0].AccountID)
	if err != nil || !ok || a.Enabled {
		// Gone, or not judged by this run; an enabled account is judged
		// whole by classification.
		return Finding{}, false, err
	}
	p := people[NormalizeID(steps[len(steps)-1].EmployeeID)]
	if p == nil {
		return Finding{}, false, nil
	}
	kind, effective, departed := j.departure(p)
	if !departed {
		return Finding{}, false, nil
	}
	lifecycle := spec.Policy.Lifecycle[kind]
	allowed := spec.Policy.autoRevokes(kind)
	who := fmt.Sprintf("%s (ID %s) on %s", cmp.Or(a.Username, a.ID), a.ID, j.target)
	var plan []Step
	var unfinished []string
	for _, st := range steps {
		op := targets.Capability(st.Op)
		if !slices.Contains(lifecycle, op) {
			continue
		}
		s := Step{Op: op, Arg: st.Arg}
		if observable(op) {
			if done, _ := observed(s, a); done {
				continue
			}
		}
		switch op {
		case targets.CanDisable:
			s.Auto, s.Manual = caps.Disabler != nil, "Disable account "+who
		case targets.CanRevokeSessions:
			s.Auto, s.Manual = caps.SessionRevoker != nil, "End every session and revoke refresh tokens of "+who
		case targets.CanRevokeCredential:
			s.Auto, s.Manual = caps.CredentialRevoker != nil, fmt.Sprintf("Revoke credential %s of %s", st.Arg, who)
		case targets.CanRemoveFromGroup:
			s.Auto, s.Manual = caps.GroupRemover != nil, fmt.Sprintf("Remove %s from group %s", who, st.Arg)
		}
		s.Auto = s.Auto && allowed
		plan = append(plan, s)
		step := string(st.Op)
		if st.Arg != "" {
			step += " " + st.Arg
		}
		unfinished = append(unfinished, fmt.Sprintf("%s: %s in run %d (%s)", step, st.Status, st.RunID, st.Error))
	}
	if len(plan) == 0 {
		return Finding{}, false, nil
	}
	// In lifecycle order.
	slices.SortStableFunc(plan, func(x, y Step) int {
		return cmp.Compare(slices.Index(lifecycle, x.Op), slices.Index(lifecycle, y.Op))
	})
	sev := Critical
	if kind == SuspendedActive {
		sev = High
	}
	f := Finding{Fingerprint: Fingerprint(kind, j.target, a.ID), Kind: kind, Severity: sev, Disposition: AutoRevoke,
		Target: j.target, AccountID: a.ID, Username: a.Username, EmployeeID: p.EmployeeID, Tier: j.tier, FirstSeen: spec.AsOf,
		Reason: fmt.Sprintf("account is disabled, but its revocation is unfinished while HR says %s is %s: %s",
			p.EmployeeID, hrState(p, spec.AsOf, spec.Location), strings.Join(unfinished, "; ")),
		Evidence: Evidence{{"account_enabled", "false"}, {"unfinished_steps", strings.Join(unfinished, "; ")}, {"hr_status", string(p.Status)}},
		Actions:  plan, account: &a, Person: personRef(p)}
	if !effective.IsZero() {
		f.EffectiveAt = &effective
	}
	for _, s := range plan {
		if !s.Auto {
			f.Disposition = ManualRevoke
		}
	}
	if ex, ok := j.exemption(&a); ok && !ex.Expired(spec.AsOf) {
		f.Disposition, f.Exemption = Exempt, &ex
		for k := range f.Actions {
			f.Actions[k].Auto = false
		}
	}
	return f, true, nil
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
	var failed []*Finding
	for f, ws := range byFinding {
		ok := true
		var last time.Time
		var errs []string
		for _, w := range ws {
			if w.rec.Status != ActionDone {
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
			if i := slices.IndexFunc(failed, func(x *Finding) bool { return x.Fingerprint == fp }); i >= 0 {
				failed[i].Reason += fmt.Sprintf("; revoking %s (%s) did not complete: %s", f.Kind, f.Fingerprint, strings.Join(errs, "; "))
				failed[i].Evidence.Set("finding", failed[i].Evidence.Get("finding")+", "+f.Fingerprint)
				for _, st := range f.Actions {
					if !slices.Contains(failed[i].Actions, st) {
						failed[i].Actions = append(failed[i].Actions, st)
					}
				}
				continue
			}
			failed = append(failed, &Finding{Fingerprint: Fingerprint(RevocationFailed, f.Target, f.AccountID), Kind: RevocationFailed, Severity: High,
				Disposition: Review, Target: f.Target, AccountID: f.AccountID, Username: f.Username, EmployeeID: f.EmployeeID, Person: f.Person,
				Reason:   fmt.Sprintf("revoking %s (%s) did not complete: %s", f.Kind, f.Fingerprint, strings.Join(errs, "; ")),
				Evidence: Evidence{{"finding", f.Fingerprint}}, Actions: slices.Clone(f.Actions), FirstSeen: spec.AsOf, Tier: f.Tier, EffectiveAt: f.EffectiveAt})
			continue
		}
		f.Outcome = OutcomeDone
		at := last
		f.RevokedAt = &at
		if c, ok := spec.Policy.Clock(f, at, time.Time{}); ok {
			f.Elapsed = c.Elapsed.Round(time.Second).String()
			f.WithinSLA = &c.Within
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
