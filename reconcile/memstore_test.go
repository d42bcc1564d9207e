package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// memStore is an in-memory Store: the engine's tests run against it, which
// proves that the engine needs nothing of a store but the Store interface.
// It keeps what reconcile/store keeps, with the same rules (which runs are
// baselines, which steps are unfinished, when a finding resolves); the
// SQLite store's own behaviour (crashes, locks, the audit chain) is tested
// against SQLite (crash_test.go, package reconcile_test, and reconcile/store).
//
// Beside the Store methods it has the few the tests use to set up and
// inspect a store (GetRun, Actions, InsertAction, AddHold, AckManualStep),
// with reconcile/store's semantics.
type memStore struct {
	mu          sync.Mutex
	runs        []Run // index = ID-1
	collections map[memCollKey]Collection
	// people and accounts are the snapshots runs finished (FinishPeople,
	// FinishAccounts): what each run saved; the pending ones are saved but
	// not finished yet.
	people        map[int64][]PersonRow
	accounts      map[memAcctKey]targets.Account
	pendingPeople map[int64][]PersonRow
	pendingAccts  map[memSnapKey][]targets.Account
	pendingIDs    map[memAcctKey]bool  // saved in a run, finished or not
	snapshots     map[memSnapKey]bool  // run's snapshot of a target → complete
	baselines     map[memSnapKey]int64 // run's snapshot of a target → its baseline run
	versions      map[memVerKey][]memVersion
	drift         map[int64][]DriftRow
	findings      map[int64][]FindingRow
	bodies        map[string][]byte // by content hash
	states        map[string]FindingState
	actions       []Action // index = ID-1
	holds         []Hold   // index = ID-1
}

type memCollKey struct {
	run  int64
	side Side
	name string
}

type memSnapKey struct {
	run    int64
	target string
}

type memVerKey struct{ target, account string }

// memVersion is an account version as the SQLite store keeps it.
type memVersion struct {
	AccountVersion
	hash uint64
}

type memAcctKey struct {
	run             int64
	target, account string
}

var (
	_ Store           = (*memStore)(nil)
	_ SnapshotHistory = (*memStore)(nil)
)

func newMemStore() *memStore {
	return &memStore{
		collections:   map[memCollKey]Collection{},
		people:        map[int64][]PersonRow{},
		accounts:      map[memAcctKey]targets.Account{},
		pendingPeople: map[int64][]PersonRow{},
		pendingAccts:  map[memSnapKey][]targets.Account{},
		pendingIDs:    map[memAcctKey]bool{},
		snapshots:     map[memSnapKey]bool{},
		baselines:     map[memSnapKey]int64{},
		bodies:        map[string][]byte{},
		versions:      map[memVerKey][]memVersion{},
		drift:         map[int64][]DriftRow{},
		findings:      map[int64][]FindingRow{},
		states:        map[string]FindingState{},
	}
}

// mem is the engine's store, as the tests made it.
func mem(e *Engine) *memStore { return e.Store.(*memStore) }

// The store keeps times in UTC (SQLite keeps RFC 3339 in UTC).
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func (s *memStore) BeginRun(ctx context.Context, r Run) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.ID = int64(len(s.runs) + 1)
	r.Status = StatusRunning
	r.AsOf, r.StartedAt, r.FinishedAt = utc(r.AsOf), utc(r.StartedAt), time.Time{}
	r.Guards, r.Counts, r.Error, r.HRSuspect = nil, nil, "", false
	s.runs = append(s.runs, r)
	return r.ID, nil
}

func (s *memStore) FinishRun(r Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.ID < 1 || int(r.ID) > len(s.runs) {
		return nil // an UPDATE of no row
	}
	old := &s.runs[r.ID-1]
	old.FinishedAt, old.Status, old.Guards, old.Error, old.Mode, old.HRSuspect = utc(r.FinishedAt), r.Status, nil, r.Error, r.Mode, r.HRSuspect
	if len(r.Guards) > 0 {
		old.Guards = slices.Clone(r.Guards)
	}
	old.Counts = maps.Clone(r.Counts)
	return nil
}

// GetRun returns one run.
func (s *memStore) GetRun(ctx context.Context, id int64) (Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 1 || int(id) > len(s.runs) {
		return Run{}, fmt.Errorf("memstore: no run %d", id)
	}
	return s.runs[id-1], nil
}

func (s *memStore) SaveCollection(ctx context.Context, c Collection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.DurationMS = c.Duration.Milliseconds()
	s.collections[memCollKey{c.RunID, c.Side, c.Name}] = c
	return nil
}

// baseline says whether a run's snapshots can be compared against.
func baseline(r Run) bool {
	return !strings.HasPrefix(r.Scope, "people:") && !r.DryRun
}

func (s *memStore) LastGoodCollection(ctx context.Context, side Side, name string, before int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best int64
	for k, c := range s.collections {
		if k.side != side || k.name != name || c.Status != CollectionOK || k.run >= before || k.run <= best {
			continue
		}
		r := s.runs[k.run-1]
		switch r.Status {
		case StatusFailed, StatusRunning, StatusCancelled, StatusCrashed:
			continue
		}
		if baseline(r) {
			best = k.run
		}
	}
	return best, nil
}

func (s *memStore) PrevHRRun(ctx context.Context, before int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := min(before-1, int64(len(s.runs))); id >= 1; id-- {
		r := s.runs[id-1]
		switch r.Status {
		case StatusCompleted, StatusGuardTripped, StatusPartial:
			if baseline(r) && !r.HRSuspect {
				return id, nil
			}
		}
	}
	return 0, nil
}

func (s *memStore) SavePeople(ctx context.Context, runID int64, people []*PersonRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range people {
		c := *p
		c.StatusEffective, c.TerminationDate, c.HireDate, c.JobChangedAt = utc(c.StatusEffective), utc(c.TerminationDate), utc(c.HireDate), utc(c.JobChangedAt)
		s.pendingPeople[runID] = append(s.pendingPeople[runID], c)
	}
	return nil
}

// FinishPeople makes what the run saved its HR snapshot.
func (s *memStore) FinishPeople(ctx context.Context, runID int64, complete bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.people[runID] = s.pendingPeople[runID]
	delete(s.pendingPeople, runID)
	return nil
}

func (s *memStore) HRStates(ctx context.Context, runID int64) iter.Seq2[HRState, error] {
	return func(yield func(HRState, error) bool) {
		for p, err := range s.People(ctx, runID) {
			if !yield(HRState{EmployeeID: p.EmployeeID, Status: p.Status, JobCode: p.JobCode, PrevJobCode: p.PrevJobCode,
				TerminationDate: p.TerminationDate, JobChangedAt: p.JobChangedAt}, err) || err != nil {
				return
			}
		}
	}
}

func (s *memStore) People(ctx context.Context, runID int64) iter.Seq2[PersonRow, error] {
	s.mu.Lock()
	ps := slices.Clone(s.people[runID])
	s.mu.Unlock()
	slices.SortStableFunc(ps, func(a, b PersonRow) int { return strings.Compare(a.EmployeeID, b.EmployeeID) })
	return func(yield func(PersonRow, error) bool) {
		for _, p := range ps {
			if err := ctx.Err(); err != nil {
				yield(PersonRow{}, err)
				return
			}
			if !yield(p, nil) {
				return
			}
		}
	}
}

// BeginAccounts records the baseline of the run's snapshot of target.
func (s *memStore) BeginAccounts(ctx context.Context, runID, prevRun int64, target string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := memSnapKey{runID, target}
	if _, ok := s.baselines[k]; ok || len(s.pendingAccts[k]) > 0 {
		return fmt.Errorf("memstore: accounts of %s in run %d begun after saves", target, runID)
	}
	s.baselines[k] = prevRun
	return nil
}

func (s *memStore) SaveAccounts(ctx context.Context, runID int64, target string, accounts []targets.Account, prev []BaselineState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := memSnapKey{runID, target}
	for i, a := range accounts {
		if s.pendingIDs[memAcctKey{runID, target, a.ID}] {
			return fmt.Errorf("memstore: account %s of %s saved twice in run %d", a.ID, target, runID)
		}
		if prev != nil {
			prev[i] = BaselineState{}
			if was, ok := s.accounts[memAcctKey{s.baselines[k], target, a.ID}]; ok && s.baselines[k] > 0 {
				prev[i] = BaselineState{Found: true, Same: AccountHash(&was) == AccountHash(&a),
					State: AccountState{Enabled: was.Enabled, Privileged: was.Privileged, Groups: JoinGroups(was.Groups)}}
			}
		}
		s.pendingIDs[memAcctKey{runID, target, a.ID}] = true
		a.Groups, a.Credentials = slices.Clone(a.Groups), slices.Clone(a.Credentials)
		s.pendingAccts[k] = append(s.pendingAccts[k], a)
	}
	return nil
}

// FinishAccounts makes what the run saved its snapshot of the target and
// keeps the versions the SQLite store would: one per change, the current
// ones the run did not save ended by a complete snapshot.
func (s *memStore) FinishAccounts(ctx context.Context, runID int64, target string, complete bool) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := memSnapKey{runID, target}
	saved := map[string]bool{}
	for _, a := range s.pendingAccts[k] {
		saved[a.ID] = true
	}
	var gone []string
	if prevRun := s.baselines[k]; complete && prevRun > 0 {
		for ak := range s.accounts {
			if ak.run == prevRun && ak.target == target && !saved[ak.account] {
				gone = append(gone, ak.account)
			}
		}
	}
	delete(s.baselines, k)
	for _, a := range s.pendingAccts[k] {
		s.accounts[memAcctKey{runID, target, a.ID}] = a
		vk := memVerKey{target, a.ID}
		vs := s.versions[vk]
		h := AccountHash(&a)
		if n := len(vs); n > 0 && vs[n-1].ValidTo == 0 {
			if vs[n-1].hash == h {
				continue
			}
			vs[n-1].ValidTo = runID
		}
		s.versions[vk] = append(vs, memVersion{AccountVersion{ValidFrom: runID, Account: a}, h})
	}
	delete(s.pendingAccts, k)
	s.snapshots[k] = complete
	if complete {
		for vk, vs := range s.versions {
			if n := len(vs); vk.target == target && !saved[vk.account] && vs[n-1].ValidTo == 0 {
				vs[n-1].ValidTo = runID
			}
		}
	}
	return gone, nil
}

// AccountAt is reconcile.SnapshotHistory's.
func (s *memStore) AccountAt(ctx context.Context, target, accountID string, at time.Time) (targets.Account, int64, bool, error) {
	s.mu.Lock()
	var run int64
	for k, complete := range s.snapshots {
		if complete && k.target == target && k.run > run && !s.runs[k.run-1].StartedAt.After(at) {
			run = k.run
		}
	}
	s.mu.Unlock()
	if run == 0 {
		return targets.Account{}, 0, false, nil
	}
	a, found, err := s.SnapshotAccount(ctx, run, target, accountID)
	return a, run, found, err
}

// AccountVersions is reconcile.SnapshotHistory's.
func (s *memStore) AccountVersions(ctx context.Context, target, accountID string) ([]AccountVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []AccountVersion
	for _, v := range s.versions[memVerKey{target, accountID}] {
		v.Account = snapshotView(v.Account)
		out = append(out, v.AccountVersion)
	}
	return out, nil
}

func (s *memStore) AccountStates(ctx context.Context, runID int64, target string) (map[string]AccountState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]AccountState{}
	for k, a := range s.accounts {
		if k.run == runID && k.target == target {
			out[a.ID] = AccountState{Enabled: a.Enabled, Privileged: a.Privileged, Groups: JoinGroups(a.Groups)}
		}
	}
	return out, nil
}

// SnapshotAccount returns what reconcile/store keeps of an account.
func (s *memStore) SnapshotAccount(ctx context.Context, runID int64, target, accountID string) (targets.Account, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[memAcctKey{runID, target, accountID}]
	if !ok {
		return targets.Account{}, false, nil
	}
	return snapshotView(a), true, nil
}

// snapshotView is what reconcile/store keeps of an account.
func snapshotView(a targets.Account) targets.Account {
	out := targets.Account{ID: a.ID, Username: a.Username, Email: a.Email, EmployeeID: a.EmployeeID, DisplayName: a.DisplayName,
		Enabled: a.Enabled, Privileged: a.Privileged, Groups: SplitGroups(JoinGroups(a.Groups)), LastLogin: utc(a.LastLogin)}
	for _, c := range a.Credentials {
		out.Credentials = append(out.Credentials, targets.Credential{ID: c.ID, Kind: c.Kind, Active: c.Active})
	}
	return out
}

func (s *memStore) SaveDrift(ctx context.Context, runID int64, drift []DriftRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drift[runID] = append(s.drift[runID], drift...)
	return nil
}

func (s *memStore) OpenFindings(ctx context.Context) (*OpenFindings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := NewOpenFindings(0)
	for fp, st := range s.states {
		if !st.Resolved {
			out.Add(fp, OpenFinding{FirstSeen: st.FirstSeen, JiraKey: st.JiraKey})
		}
	}
	return out, nil
}

func (s *memStore) SaveFindings(ctx context.Context, runID int64, asOf time.Time, rows FindingRows, resolves func(kind, target string) bool) ([]FindingState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.findings[runID]; ok {
		return nil, fmt.Errorf("memstore: findings of run %d already saved", runID)
	}
	if err := CheckRowOrder(rows); err != nil {
		return nil, err
	}
	asOf = utc(asOf)
	states := maps.Clone(s.states)
	for i := range rows.Len() {
		f := rows.Row(i)
		st, ok := states[f.Fingerprint]
		if !ok || st.Resolved {
			st.FirstSeen = utc(f.FirstSeen)
		}
		if !ok {
			st.Fingerprint, st.Kind, st.Target, st.AccountID = f.Fingerprint, f.Kind, f.Target, f.AccountID
		}
		st.LastSeen, st.LastRun, st.Resolved, st.ResolvedAt = asOf, runID, false, time.Time{}
		states[f.Fingerprint] = st
	}
	var resolved []FindingState
	for _, fp := range slices.Sorted(maps.Keys(states)) {
		st := states[fp]
		if st.Resolved || st.LastRun >= runID || !resolves(st.Kind, st.Target) {
			continue
		}
		st.Resolved, st.ResolvedAt = true, asOf
		states[fp] = st
		resolved = append(resolved, FindingState{Fingerprint: st.Fingerprint, Kind: st.Kind, Target: st.Target, AccountID: st.AccountID,
			FirstSeen: st.FirstSeen, JiraKey: st.JiraKey, Resolved: true, ResolvedAt: asOf})
	}
	// Each body is kept once by its content hash, as the SQL stores keep
	// them: a spooled body is loaded only when the store has not got it.
	kept := make([]FindingRow, rows.Len())
	for i := range kept {
		f := rows.Row(i)
		body, ok := s.bodies[string(f.Hash)]
		if !ok {
			var err error
			if body, err = rows.Body(i); err != nil {
				return nil, err
			}
		}
		kept[i] = f
		kept[i].Body = body
	}
	for i := range kept {
		s.bodies[string(kept[i].Hash)] = kept[i].Body
	}
	s.states = states
	s.findings[runID] = kept
	return resolved, nil
}

// AllFindingStates returns the state of every fingerprint ever seen.
func (s *memStore) AllFindingStates(ctx context.Context) (map[string]FindingState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.states), nil
}

// SetJiraKey records the ticket that tracks a fingerprint.
func (s *memStore) SetJiraKey(ctx context.Context, fingerprint, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.states[fingerprint]; ok {
		st.JiraKey = key
		s.states[fingerprint] = st
	}
	return nil
}

// FindingBodies returns the bodies a run saved, most severe first, as
// reconcile/store orders them.
func (s *memStore) FindingBodies(ctx context.Context, runID int64) ([][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := slices.Clone(s.findings[runID])
	rank := map[string]int{"critical": 0, "high": 1, "medium": 2}
	sev := func(s string) int {
		if r, ok := rank[s]; ok {
			return r
		}
		return 3
	}
	slices.SortFunc(rows, func(a, b FindingRow) int {
		return cmp.Or(cmp.Compare(sev(a.Severity), sev(b.Severity)), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Target, b.Target),
			cmp.Compare(a.AccountID, b.AccountID))
	})
	out := make([][]byte, len(rows))
	for i, r := range rows {
		out[i] = slices.Clone(r.Body)
	}
	return out, nil
}

func (s *memStore) InsertActions(ctx context.Context, as []Action) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, len(as))
	for i, a := range as {
		a.ID = int64(len(s.actions) + 1)
		a.RequestedAt, a.FinishedAt = utc(a.RequestedAt), utc(a.FinishedAt)
		s.actions = append(s.actions, a)
		ids[i] = a.ID
	}
	return ids, nil
}

// InsertAction records one action and returns its ID.
func (s *memStore) InsertAction(ctx context.Context, a Action) (int64, error) {
	ids, err := s.InsertActions(ctx, []Action{a})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

func (s *memStore) FinishAction(a Action) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.ID < 1 || int(a.ID) > len(s.actions) {
		return nil // an UPDATE of no row
	}
	old := &s.actions[a.ID-1]
	old.Status, old.Verified, old.Attempts, old.Error, old.FinishedAt = a.Status, a.Verified, a.Attempts, a.Error, utc(a.FinishedAt)
	return nil
}

// CheckLease: this store knows no lease.
func (s *memStore) CheckLease(ctx context.Context) error { return nil }

// Actions returns the actions of a run in the order they were recorded.
func (s *memStore) Actions(ctx context.Context, runID int64) ([]Action, error) {
	return s.selectActions(func(a Action) bool { return a.RunID == runID }), nil
}

func (s *memStore) selectActions(keep func(Action) bool) []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Action
	for _, a := range s.actions {
		if keep(a) {
			out = append(out, a)
		}
	}
	return out
}

func (s *memStore) PendingActions(ctx context.Context, target string, before int64) ([]Action, error) {
	return s.selectActions(func(a Action) bool {
		return a.Target == target && a.Status == ActionRequested && a.RunID < before
	}), nil
}

func (s *memStore) UnfinishedSteps(ctx context.Context, target string, before int64) ([]Action, error) {
	type step struct{ account, op, arg string }
	latest := map[step]Action{}
	for _, a := range s.selectActions(func(a Action) bool {
		return a.Target == target && a.RunID < before && a.Status != ActionPlanned && a.Status != ActionBlocked
	}) {
		latest[step{a.AccountID, a.Op, a.Arg}] = a // in ID order: the last is the latest
	}
	var out []Action
	for _, a := range latest {
		switch a.Status {
		case ActionDone, ActionRecoveredDone, ActionAcknowledged:
			continue
		}
		if a.EmployeeID != "" {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y Action) int {
		return cmp.Or(strings.Compare(x.AccountID, y.AccountID), cmp.Compare(x.ID, y.ID))
	})
	return out, nil
}

// disabled says whether an action is a disable that accessrecon saw done.
func disabled(a Action, target string) bool {
	return a.Target == target && a.Op == string(targets.CanDisable) && (a.Status == ActionDone || a.Status == ActionRecoveredDone)
}

func (s *memStore) DisabledSince(ctx context.Context, target string, from int64) (map[string]bool, error) {
	out := map[string]bool{}
	for _, a := range s.selectActions(func(a Action) bool { return disabled(a, target) && a.RunID >= from }) {
		out[a.AccountID] = true
	}
	return out, nil
}

func (s *memStore) Disablements(ctx context.Context, target string) (map[string]Disablement, error) {
	out := map[string]Disablement{}
	for _, a := range s.selectActions(func(a Action) bool { return disabled(a, target) }) {
		out[a.AccountID] = Disablement{AccountID: a.AccountID, Fingerprint: a.Fingerprint, RunID: a.RunID, At: a.FinishedAt}
	}
	return out, nil
}

// AddHold records a hold.
func (s *memStore) AddHold(ctx context.Context, h Hold) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.ID = int64(len(s.holds) + 1)
	h.Until, h.CreatedAt, h.RemovedBy, h.RemovedAt = utc(h.Until), utc(h.CreatedAt), "", time.Time{}
	s.holds = append(s.holds, h)
	return h.ID, nil
}

func (s *memStore) Holds(ctx context.Context, all bool) ([]Hold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Hold
	for _, h := range slices.Backward(s.holds) {
		if all || h.RemovedAt.IsZero() {
			out = append(out, h)
		}
	}
	return out, nil
}

var errNoManualStep = errors.New("no open manual step")

// AckManualStep records that a person did the open manual step op (arg) of
// a finding, as reconcile/store does: a verified action by that person in
// the run that opened the step, or an error when the step's latest action
// is not an open manual step.
func (s *memStore) AckManualStep(ctx context.Context, fingerprint, op, arg, by string, at time.Time) (Action, error) {
	steps := s.selectActions(func(a Action) bool { return a.Fingerprint == fingerprint && a.Op == op && a.Arg == arg })
	if len(steps) == 0 || steps[len(steps)-1].Status != ActionManual {
		return Action{}, fmt.Errorf("%s %s: %w", fingerprint, op, errNoManualStep)
	}
	a := steps[len(steps)-1]
	a.Status, a.Verified, a.Attempts, a.Error, a.RequestedAt, a.FinishedAt = ActionAcknowledged, true, 0, "done by "+by, at, at
	id, err := s.InsertAction(ctx, a)
	a.ID = id
	return a, err
}
