// Package drill is `accessrecon drill`: a termination, suspension or role
// change (move) you can show an auditor. It injects the HR event for the
// configured canaries only (drills.canaries: test identities that exist in
// no HR file), runs the leaver fast path in enforce mode through the
// runner, measures per target the time from the event to the verified
// revocation against the tier's SLA, restores the canaries where the
// target can, records the drill in the store and the audit trail, and sends
// its result to the notification sinks that want it (through the store's
// outbox, like a run's events).
//
// A move gives the canary the job code move_to, its job_code being the old
// role, and says so in the synthetic record (sources.Person.RoleChange):
// the run removes the groups of the old role that the new one does not
// allow, and the drill checks that exactly those went and every other group
// stayed.
//
// Real people are out of reach: a canary whose employee ID any real HR
// source reports is refused, as is a canary account that carries another
// employee ID; the run is limited to the canaries' employee IDs; and the
// restoring capabilities are only reachable through CanaryRestorer, which
// refuses every account that is not a canary.
package drill

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/runner"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/trail"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/reconcile/store"
	"github.com/accessrecon/accessrecon/reports/notify"
	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// The scenarios.
const (
	Terminate = "terminate"
	Suspend   = "suspend"
	Move      = "move"
)

// Options say what drill to run.
type Options struct {
	Scenario string // terminate (default), suspend or move
	By       string // who ran it (recorded)
	Job      string // the run's job name (default "drill")
	Log      *slog.Logger
	// Human, when set, receives the runner's messages for people.
	Human interface{ Write([]byte) (int, error) }
}

// ErrRefused is a drill that was not run because it could have touched a
// real person or could not measure anything.
var ErrRefused = errors.New("drill refused")

// canary is one canary account on one target, as found before the drill.
type canary struct {
	employeeID string
	target     string
	tier       string
	before     targets.Account
	t          targets.Target
	// moving are the IDs of the groups a move must take (the old role's
	// that the new role does not allow); nil for other scenarios.
	moving map[string]bool
}

// Run runs one drill. The caller holds the store's run lock. It returns the
// drill as recorded (also when the drill failed its SLA: Passed says); an
// error means the drill could not be run or recorded.
func Run(ctx context.Context, cfg *config.Config, st storefile.Store, o Options) (store.Drill, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	scenario := o.Scenario
	if scenario == "" {
		scenario = Terminate
	}
	d := store.Drill{Scenario: scenario, By: o.By}
	switch scenario {
	case Terminate, Suspend, Move:
	default:
		return d, fmt.Errorf("%w: scenario %q is not terminate, suspend or move", ErrRefused, scenario)
	}
	if len(cfg.Drills.Canaries) == 0 {
		return d, fmt.Errorf("%w: drills.canaries is empty: configure the test identities to exercise", ErrRefused)
	}
	if strings.TrimSpace(o.By) == "" {
		return d, fmt.Errorf("%w: say who runs the drill (--by)", ErrRefused)
	}
	w, canaries, restorers, err := prepare(ctx, cfg, log, scenario)
	if err != nil {
		if errors.Is(err, ErrRefused) { // a refusal is evidence too
			err = errors.Join(err, appendAudit(context.WithoutCancel(ctx), cfg, st, log, "drill_refused", o.By, 0, time.Now().UTC(),
				map[string]any{"scenario": scenario, "error": err.Error()}))
		}
		return d, err
	}
	defer w.Close()

	// The HR event: the canaries' synthetic records, terminated or
	// suspended now, beside the real sources (read only for the canaries'
	// IDs, where they can).
	event := time.Now().UTC()
	var people []sources.Person
	var ids []string
	for _, c := range cfg.Drills.Canaries {
		p := c.Person()
		switch scenario {
		case Terminate:
			p.Status, p.TerminationDate, p.StatusEffective = sources.Terminated, event, event
		case Suspend:
			p.Status, p.StatusEffective = sources.Suspended, event
		case Move:
			p.JobCode = strings.TrimSpace(c.MoveTo)
			p.RoleChange = sources.RoleChange{PrevJobCode: strings.TrimSpace(c.JobCode), At: event}
		}
		people = append(people, p)
		ids = append(ids, p.EmployeeID)
	}
	d.StartedAt = event
	job := o.Job
	if job == "" {
		job = "drill"
	}
	env := runner.Env{Store: st, Log: log}
	if o.Human != nil {
		env.Human = o.Human
	}
	res, runErr := runner.Run(ctx, cfg, env, runner.Request{Job: job, Mode: reconcile.Enforce, EmployeeIDs: ids,
		ExtraSources: []reconcile.SourceSpec{{Name: "drill-canaries", Type: "drill", Source: staticSource(people)}},
		Reports:      runner.Set{}, Drill: true})
	if res != nil {
		d.RunID = res.Run.ID
	}
	if runErr != nil {
		d.Error = runErr.Error()
	}
	rctx := context.WithoutCancel(ctx)
	d.Targets = measure(rctx, cfg, canaries, res, event)
	d.Passed = runErr == nil && len(d.Targets) > 0
	for _, t := range d.Targets {
		d.Passed = d.Passed && t.Passed
	}
	d.Restored = restore(rctx, canaries, restorers)
	d.FinishedAt = time.Now().UTC()
	id, err := st.SaveDrill(rctx, d)
	if err != nil {
		return d, err
	}
	d.ID = id
	if err := recordAudit(rctx, cfg, st, log, d); err != nil {
		return d, err
	}
	names := map[string]string{}
	for _, c := range canaries {
		names[c.target+"\x00"+c.before.ID] = cmp.Or(c.before.Username, c.before.ID)
	}
	sendNotification(rctx, cfg, st, log, o.Human, result(d, names))
	return d, nil
}

// prepare wires the config, refuses canaries that are real people, and
// finds each canary account as it is before the drill.
func prepare(ctx context.Context, cfg *config.Config, log *slog.Logger, scenario string) (_ *config.Wired, _ []canary, _ map[string]*CanaryRestorer, err error) {
	w, err := config.Wire(ctx, cfg, log)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	want := map[string]bool{}
	var ids []string
	for _, c := range cfg.Drills.Canaries {
		want[reconcile.NormalizeID(c.EmployeeID)] = true
		ids = append(ids, strings.TrimSpace(c.EmployeeID))
	}
	for _, s := range w.Spec.Sources {
		seq := s.Source.People(ctx)
		if r, ok := s.Source.(sources.Refresher); ok {
			seq = r.PeopleByID(ctx, ids)
		}
		for p, err := range seq {
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%w: HR source %s could not be read to prove the canaries are nobody real: %v", ErrRefused, s.Name, err)
			}
			if want[reconcile.NormalizeID(p.EmployeeID)] {
				return nil, nil, nil, fmt.Errorf("%w: canary %s is a real person in HR source %s (%s): a drill never touches a real person", ErrRefused, p.EmployeeID, s.Name, p.Name())
			}
		}
	}
	tiers := map[string]string{}
	for _, t := range cfg.Targets {
		tiers[t.Name] = t.Tier
	}
	var out []canary
	found := map[string][]targets.Account{}
	for _, c := range cfg.Drills.Canaries {
		if scenario == Move && (strings.TrimSpace(c.JobCode) == "" || strings.TrimSpace(c.MoveTo) == "") {
			return nil, nil, nil, fmt.Errorf("%w: canary %s: a move needs its job_code (the old role) and move_to (the new one)", ErrRefused, c.EmployeeID)
		}
		for _, ts := range w.Spec.Targets {
			ref, ok := c.Accounts[ts.Name]
			if !ok {
				continue
			}
			a, err := findAccount(ctx, ts.Target, ref)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%w: canary %s on %s: %v", ErrRefused, c.EmployeeID, ts.Name, err)
			}
			if a.EmployeeID != "" && reconcile.NormalizeID(a.EmployeeID) != reconcile.NormalizeID(c.EmployeeID) {
				return nil, nil, nil, fmt.Errorf("%w: canary %s on %s: account %s carries employee ID %s, not the canary's", ErrRefused, c.EmployeeID, ts.Name, a.ID, a.EmployeeID)
			}
			if !a.Enabled {
				return nil, nil, nil, fmt.Errorf("%w: canary %s on %s: account %s is disabled: restore it before drilling", ErrRefused, c.EmployeeID, ts.Name, a.ID)
			}
			k := canary{employeeID: c.EmployeeID, target: ts.Name, tier: tiers[ts.Name], before: a, t: ts.Target}
			if scenario == Move {
				if k.moving, err = moving(cfg.Policy.Roles, c, ts.Name, a); err != nil {
					return nil, nil, nil, err
				}
			}
			out = append(out, k)
			found[ts.Name] = append(found[ts.Name], a)
		}
	}
	restorers := map[string]*CanaryRestorer{}
	for _, ts := range w.Spec.Targets {
		if accs := found[ts.Name]; len(accs) > 0 {
			restorers[ts.Name] = NewCanaryRestorer(ts.Name, ts.Target, accs)
		}
	}
	return w, out, restorers, nil
}

// findAccount resolves ref on t: exactly one account.
func findAccount(ctx context.Context, t targets.Target, ref string) (targets.Account, error) {
	if g := targets.Resolve(t).Getter; g != nil {
		if a, err := g.Account(ctx, ref); err == nil {
			return a, nil
		}
	}
	var hits []targets.Account
	for a, err := range t.Accounts(ctx) {
		if err != nil {
			return targets.Account{}, err
		}
		if matches(a, ref) {
			hits = append(hits, a)
		}
	}
	switch len(hits) {
	case 0:
		return targets.Account{}, fmt.Errorf("account %q: no such account", ref)
	case 1:
		return hits[0], nil
	}
	return targets.Account{}, fmt.Errorf("account %q: matches %d accounts", ref, len(hits))
}

// moving says which of the canary account's groups a move from c's
// job_code to its move_to must take on target: those the old role's
// baseline names and the new role's does not. A move that could show
// nothing there (no baseline for the new role, no such group) is refused.
func moving(roles map[string]map[string][]string, c config.CanaryConfig, target string, a targets.Account) (map[string]bool, error) {
	oldRole, newRole := strings.TrimSpace(c.JobCode), strings.TrimSpace(c.MoveTo)
	allowed, ok := roles[newRole][target]
	if !ok {
		return nil, fmt.Errorf("%w: canary %s on %s: policy.roles gives role %s no groups on %s: nothing there would tell its old groups from its new ones", ErrRefused, c.EmployeeID, target, newRole, target)
	}
	out := map[string]bool{}
	for _, g := range a.Groups {
		if slices.ContainsFunc(roles[oldRole][target], namesGroup(g)) && !slices.ContainsFunc(allowed, namesGroup(g)) {
			out[g.ID] = true
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: canary %s on %s: account %s holds no group of role %s that role %s does not allow (policy.roles): a move would take nothing", ErrRefused, c.EmployeeID, target, a.ID, oldRole, newRole)
	}
	return out, nil
}

// namesGroup says whether a name from policy.roles names g (its name or ID,
// case-insensitively, as the engine compares them).
func namesGroup(g targets.Group) func(string) bool {
	return func(s string) bool { return strings.EqualFold(s, g.Name) || strings.EqualFold(s, g.ID) }
}

// checkMove re-reads a moved canary's account and says what is wrong with
// it (problems): it must still be enabled, every group of the old role
// gone, every other group (the new role's among them) still there, and
// nothing else done. remark says what the check could not show.
func checkMove(ctx context.Context, c canary, steps []store.DrillStep) (problems []string, remark string) {
	var notes []string
	for _, s := range steps {
		if s.Op != string(targets.CanRemoveFromGroup) || !c.moving[s.Arg] {
			notes = append(notes, fmt.Sprintf("a move must only take the old role's groups, yet the run did %s", strings.TrimSpace(s.Op+" "+s.Arg)))
		}
	}
	after, err := findAccount(ctx, c.t, c.before.ID)
	if err != nil {
		return append(notes, "re-reading the account after the move: "+err.Error()), ""
	}
	if !after.Enabled {
		notes = append(notes, "the account was disabled: a move must leave it enabled")
	}
	others := 0
	for _, g := range c.before.Groups {
		still := slices.ContainsFunc(after.Groups, func(x targets.Group) bool { return x.ID == g.ID })
		if !c.moving[g.ID] {
			others++
		}
		switch {
		case c.moving[g.ID] && still:
			notes = append(notes, "still in group "+g.Name+" of the old role")
		case !c.moving[g.ID] && !still:
			notes = append(notes, "lost group "+g.Name+", which the move must leave")
		}
	}
	if others == 0 {
		remark = "the account held no other group, so nothing showed that the new role's groups stay"
	}
	return notes, remark
}

// measure turns the run's actions into each canary target's result; for a
// move it also checks the account as the run left it (checkMove).
func measure(ctx context.Context, cfg *config.Config, canaries []canary, res *reconcile.Result, event time.Time) []store.DrillTarget {
	var out []store.DrillTarget
	for _, c := range canaries {
		tier := reconcile.TierOf(c.tier)
		r := store.DrillTarget{Target: c.target, Account: c.before.ID, Tier: string(tier), SLA: cfg.Policy.SLAFor(tier)}
		if res == nil {
			r.Note = "the run did not start"
			out = append(out, r)
			continue
		}
		ok, auto := true, 0
		var last time.Time
		var manual []string
		for _, a := range res.Actions {
			if a.Target != c.target || a.AccountID != c.before.ID {
				continue
			}
			r.Steps = append(r.Steps, store.DrillStep{Op: a.Op, Arg: a.Arg, Status: string(a.Status), Verified: a.Verified, Error: a.Error})
			if a.Status == reconcile.ActionManual {
				// The target cannot do it: a person's step, outside what
				// the drill measures (named in the note).
				manual = append(manual, strings.TrimSpace(a.Op+" "+a.Arg))
				continue
			}
			auto++
			done := (a.Status == reconcile.ActionDone || a.Status == reconcile.ActionRecoveredDone) && a.Verified
			ok = ok && done
			if done && a.FinishedAt.After(last) {
				last = a.FinishedAt
			}
		}
		var notes []string
		switch {
		case auto == 0:
			notes = append(notes, "nothing was revoked automatically: is the account correlated to the canary (its employee ID), is the target in enforce mode, can it disable, does policy auto-revoke this kind?")
		case !ok:
			notes = append(notes, "a step did not end done and verified")
		}
		if len(manual) > 0 {
			notes = append(notes, "left to a person (the target cannot, not measured): "+strings.Join(manual, ", "))
		}
		moveOK := true
		if c.moving != nil {
			problems, remark := checkMove(ctx, c, r.Steps)
			moveOK = len(problems) == 0
			notes = append(notes, problems...)
			if remark != "" {
				notes = append(notes, remark)
			}
		}
		r.Revoked = auto > 0 && ok
		if r.Revoked {
			r.TimeTaken = max(last.Sub(event), 0)
		}
		if r.SLA <= 0 {
			notes = append(notes, fmt.Sprintf("policy.sla names no time for tier %s", tier))
		} else if r.Revoked && r.TimeTaken > r.SLA {
			notes = append(notes, fmt.Sprintf("revoked in %s, past the %s SLA of tier %s", r.TimeTaken.Round(time.Millisecond), r.SLA, tier))
		}
		r.Passed = r.Revoked && moveOK && r.SLA > 0 && r.TimeTaken <= r.SLA
		r.Note = strings.Join(notes, "; ")
		out = append(out, r)
	}
	return out
}

// restore puts each canary account back as it was before the drill, where
// its target can; it says what it could not.
func restore(ctx context.Context, canaries []canary, rs map[string]*CanaryRestorer) []store.DrillRestore {
	var out []store.DrillRestore
	for _, c := range canaries {
		r := store.DrillRestore{Target: c.target, Account: c.before.ID}
		var notes []string
		cur, err := findAccount(ctx, c.t, c.before.ID)
		if err != nil {
			r.Note = "re-reading the account: " + err.Error()
			out = append(out, r)
			continue
		}
		g := rs[c.target]
		if c.before.Enabled && !cur.Enabled {
			if err := g.Enable(ctx, cur); err != nil {
				notes = append(notes, "not re-enabled: "+err.Error())
			}
		}
		for _, grp := range c.before.Groups {
			if slices.ContainsFunc(cur.Groups, func(x targets.Group) bool { return x.ID == grp.ID }) {
				continue
			}
			if err := g.AddToGroup(ctx, cur, grp); err != nil {
				notes = append(notes, fmt.Sprintf("not back in group %s: %v", grp.Name, err))
			}
		}
		if len(notes) == 0 {
			after, err := findAccount(ctx, c.t, c.before.ID)
			switch {
			case err != nil:
				notes = append(notes, "re-reading the account after restoring: "+err.Error())
			case after.Enabled != c.before.Enabled:
				notes = append(notes, "still disabled after restoring")
			default:
				for _, grp := range c.before.Groups {
					if !slices.ContainsFunc(after.Groups, func(x targets.Group) bool { return x.ID == grp.ID }) {
						notes = append(notes, "still not in group "+grp.Name+" after restoring")
					}
				}
			}
		}
		r.Restored = len(notes) == 0
		r.Note = strings.Join(notes, "; ")
		out = append(out, r)
	}
	return out
}

func recordAudit(ctx context.Context, cfg *config.Config, st storefile.Store, log *slog.Logger, d store.Drill) error {
	return appendAudit(ctx, cfg, st, log, "drill", d.By, d.RunID, d.FinishedAt,
		map[string]any{"drill_id": d.ID, "scenario": d.Scenario, "passed": d.Passed, "targets": d.Targets, "restored": d.Restored, "error": d.Error})
}

// appendAudit appends one record to the audit trail.
func appendAudit(ctx context.Context, cfg *config.Config, st storefile.Store, log *slog.Logger, typ, actor string, runID int64, at time.Time, detail map[string]any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = trail.Open(cfg, st, log).Append(ctx, store.AuditRecord{At: at, RunID: runID, Type: typ, Actor: actor, Detail: b})
	return err
}

// staticSource is the canaries' synthetic HR records.
type staticSource []sources.Person

func (s staticSource) People(ctx context.Context) iter.Seq2[sources.Person, error] {
	return func(yield func(sources.Person, error) bool) {
		for _, p := range s {
			if ctx.Err() != nil {
				yield(sources.Person{}, ctx.Err())
				return
			}
			if !yield(p, nil) {
				return
			}
		}
	}
}

// sendNotification sends the drill's result to the notification sinks that
// want it (reports.notify), through the store's outbox: a sink that is down
// gets it with the next run's or drill's notifications. It never fails the
// drill: what went wrong is logged (and shown to people when human is set).
func sendNotification(ctx context.Context, cfg *config.Config, st storefile.Store, log *slog.Logger, human io.Writer, d notify.DrillResult) {
	warn := func(msg string, err error) {
		log.Warn(msg, "drill", d.ID, "err", err)
		if human != nil {
			fmt.Fprintf(human, "%s: %v\n", msg, err)
		}
	}
	n, err := runner.Notifier(cfg, log)
	if err != nil {
		warn("drill notification not sent", err)
		return
	}
	if n == nil {
		return
	}
	oc, err := n.SendDrill(ctx, d, runner.NotifyOutbox{St: st})
	s := oc.Stats
	log.Info("drill notifications", "drill", d.ID, "delivered", s.Delivered, "pending", s.Pending, "dropped", s.Dropped)
	if human != nil {
		fmt.Fprintf(human, "notifications: %d delivered, %d kept for the next run, %d dropped\n", s.Delivered, s.Pending, s.Dropped)
	}
	if err != nil {
		warn("drill notifications incomplete", err)
	}
}

// result is the drill as notifications tell it; names are the canary
// accounts' usernames by target and account ID ("TARGET\x00ID").
func result(d store.Drill, names map[string]string) notify.DrillResult {
	r := notify.DrillResult{ID: strconv.FormatInt(d.ID, 10), Scenario: d.Scenario, By: d.By, RunID: d.RunID, StartedAt: d.StartedAt, FinishedAt: d.FinishedAt}
	for _, t := range d.Targets {
		x := notify.DrillTarget{Target: t.Target, Tier: t.Tier, Canary: cmp.Or(names[t.Target+"\x00"+t.Account], t.Account), SLA: t.SLA, Passed: t.Passed, Error: t.Note}
		if t.Revoked {
			x.Elapsed = t.TimeTaken
		}
		for _, rs := range d.Restored {
			if rs.Target == t.Target && rs.Account == t.Account {
				x.Restored = rs.Restored
				if !rs.Restored && rs.Note != "" {
					x.Error = strings.TrimPrefix(x.Error+"; not restored: "+rs.Note, "; ")
				}
			}
		}
		r.Targets = append(r.Targets, x)
	}
	if d.Error != "" { // the run itself failed: the drill did, whatever the targets say
		r.Targets = append(r.Targets, notify.DrillTarget{Target: "(run)", Error: d.Error})
	}
	return r
}
