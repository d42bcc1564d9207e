// Package reconcile is accessrecon's engine. One run collects HR people from
// the sources and accounts from every target (in parallel, streamed into the
// snapshot store), correlates each account with a person, records the drift
// since the previous good run, classifies what disagrees into findings with a
// disposition, applies the safety rails, carries out the clear cases through
// the targets' capabilities (enforce mode), and returns a Result that the
// reports are written from.
//
// reconcile never imports a connector: the caller (cmd/accessrecon) hands it
// sources.Source and targets.Target values. Nor does it import a store: it
// declares the Store it needs (store.go), which reconcile/store implements
// on SQLite.
package reconcile

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// SourceSpec is one configured HR source.
type SourceSpec struct {
	Name, Type string
	Source     sources.Source
	// Priority decides for a person several sources report: the record of
	// the source with the highest priority wins (default 0 for all: see
	// HRResolution for what decides then).
	Priority int
}

// TargetSpec is one configured target.
type TargetSpec struct {
	Name, Type string
	// Tier names the SLA tier (critical, standard, low; default standard).
	Tier   string
	Target targets.Target
	// Correlation settings; Target is filled in from Name.
	Correlation Correlation
	// Mode overrides the run's mode for this target ("" = the run's).
	Mode Mode
	// Concurrency and RateLimit bound the executor's calls (defaults 4 and
	// unlimited).
	Concurrency int
	RateLimit   float64
}

// RunSpec is everything one run needs.
type RunSpec struct {
	AsOf    time.Time
	Job     string
	Mode    Mode // "" = Policy.Mode
	DryRun  bool // forces report mode
	Scope   []Kind
	Sources []SourceSpec
	Targets []TargetSpec
	Policy  Policy
	Links   []Link
	// EmployeeIDs restricts the run to these people (the HR-event fast path):
	// only their HR records are read and only accounts correlated to them are
	// judged; nothing is resolved and no orphan is concluded.
	EmployeeIDs []string
	// Timeout bounds the whole run (0: none beyond ctx).
	Timeout time.Duration
	// Location is the organisation's time zone (nil: UTC): the sources
	// read HR dates without a zone in it (each source is given its zone by
	// the wiring), and findings show HR dates as dates there.
	Location *time.Location
}

// Result is a finished run, as the reports need it.
type Result struct {
	Run Run
	// Findings are the run's findings, most severe first. Once the run
	// has saved them, change one only through the Result's methods
	// (SetJiraKey): AppendFindingJSON serves the bytes the store was given.
	// They are pointers to where the targets' lists unpacked them
	// (findingList): a Finding is about 400 bytes, and copying them into
	// one slice held every finding twice at the run's peak (70 MB at
	// 100,000 people).
	Findings    []*Finding
	Drift       []DriftRow
	Collections []Collection
	// Resolved lists the problems of earlier runs that this run saw gone.
	Resolved   []FindingState
	Exemptions []Exemption
	Policy     Policy
	// PeopleCount is the size of the HR snapshot.
	PeopleCount int
	// Actions is every action the executor requested in this run.
	Actions []ActionRecord
	// Guards are the safety rails that tripped (Run.Guards holds their
	// text).
	Guards []Guard
	// HRResolutions lists the people more than one HR source reported:
	// which record won and why (the workbook's Sources section).
	HRResolutions []HRResolution
	// Timezone is the IANA name of RunSpec.Location, the zone HR dates
	// were read and are shown in ("UTC" by default).
	Timezone string

	// spool holds the findings' JSON as saved when the engine has a Spool.
	spool *findingSpool
}

// AppendFindingJSON appends Findings[i] as json.Marshal writes it to dst:
// from the spool (Engine.Spool), the very bytes the store was given, while
// the finding is unchanged since (each finding is marshalled once per
// run); else marshalled now.
func (r *Result) AppendFindingJSON(dst []byte, i int) ([]byte, error) {
	if r.spool != nil {
		if b, ok, err := r.spool.appendBody(dst, i); ok || err != nil {
			return b, err
		}
	}
	return r.Findings[i].appendJSON(dst)
}

// Close lets go of the findings' JSON the run spooled (Engine.Spool):
// AppendFindingJSON then marshals each finding afresh.
func (r *Result) Close() error {
	if r.spool == nil {
		return nil
	}
	err := r.spool.close()
	r.spool = nil
	return err
}

// SetJiraKey records the ticket that tracks Findings[i] (reports/jira, after
// the run saved its findings); AppendFindingJSON then includes it.
func (r *Result) SetJiraKey(i int, key string) {
	r.Findings[i].JiraKey = key
	if r.spool != nil {
		r.spool.drop(i)
	}
}

// Engine runs reconciliations against one store.
type Engine struct {
	Store Store
	Log   *slog.Logger
	// Now is the wall clock (tests inject one); AsOf in a RunSpec is the
	// logical time findings are judged at.
	Now func() time.Time
	// Progress, when set, is told how many rows each collector has read:
	// 0 when it starts, every 10,000 rows, and the total when it is done.
	Progress func(name string, n int, done bool)
	// Audit, when set, receives the run's audit events.
	Audit Auditor
	// Started, when set, is told the run's ID as soon as it has one (the
	// caller's connector logs can then carry it).
	Started func(runID int64)
	// Retry bounds the executor's retries (zero value: the defaults).
	Retry Retry
	// Redactor scrubs every configured secret from error text before it is
	// stored, audited, reported, logged or returned by Run (nil: none
	// configured).
	Redactor *targets.Redactor
	// Spool, when set, is a folder where a run keeps its findings' JSON
	// (Result.AppendFindingJSON, for findings.json) from their save until the
	// Result is closed: a file without a name, about the size of
	// findings.json, that becomes findings.json when it is written there
	// (Result.WriteFindingsFile). Without one nothing is kept:
	// AppendFindingJSON marshals each finding again.
	Spool string
}

// errText is err's message as it may be kept as evidence: scrubbed of every
// configured secret, printable, and cut short.
func (e *Engine) errText(err error) string {
	return targets.Printable(e.Redactor.Redact(err.Error()), 2000)
}

// Auditor records audit events; the store's hash-chained trail implements it.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent) error
}

// AuditType is the kind of an audit event.
type AuditType string

// The audit events of a run. Other parts of accessrecon (holds, webhooks)
// record their own types.
const (
	AuditRunStarted         AuditType = "run_started"
	AuditRunFinished        AuditType = "run_finished"
	AuditHRStatusSeen       AuditType = "hr_status_seen"       // HR's status of a person about to be acted on
	AuditPlanMade           AuditType = "plan_made"            // the steps planned for a finding
	AuditHoldApplied        AuditType = "hold_applied"         // a hold stopped a finding's plan
	AuditExemptionApplied   AuditType = "exemption_applied"    // an exemption covered a finding
	AuditActionRequested    AuditType = "action_requested"     // an action recorded, about to be attempted
	AuditActionNotAttempted AuditType = "action_not_attempted" // a recorded action that enforcement stopped before
	AuditTargetResponse     AuditType = "target_response"      // what the target answered
	AuditVerification       AuditType = "verification"         // the re-read after an action
	AuditActionRecovered    AuditType = "action_recovered"     // an interrupted run's action settled
)

// AuditEvent is one thing that happened in a run, for the audit trail.
type AuditEvent struct {
	RunID  int64          `json:"run_id,omitempty"`
	Type   AuditType      `json:"type"`
	Actor  string         `json:"actor"`
	Target string         `json:"target,omitempty"`
	Detail map[string]any `json:"detail,omitempty"`
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) audit(ctx context.Context, ev AuditEvent) {
	if e.Audit == nil {
		return
	}
	if ev.Actor == "" {
		ev.Actor = "accessrecon"
	}
	if err := e.Audit.Record(ctx, ev); err != nil {
		e.Log.Error("audit record failed", "type", ev.Type, "err", err)
	}
}

// ErrGuard is wrapped by Run's error when a guard stopped enforcement.
var ErrGuard = errors.New("guard tripped")

// Run carries out one reconciliation. It always records the run in the store
// (failed runs too) and returns the Result with the error. A failed HR
// collection fails the run before any judgement; a failed target is reported
// and judged no further, and the other targets go on.
func (e *Engine) Run(ctx context.Context, spec RunSpec) (*Result, error) {
	if err := spec.Policy.Validate(); err != nil {
		return nil, err
	}
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	mode := cmp.Or(spec.Mode, spec.Policy.Mode)
	if spec.DryRun {
		mode = Report
	}
	if spec.AsOf.IsZero() {
		spec.AsOf = e.now()
	}
	spec.AsOf = spec.AsOf.UTC()
	scope := "full"
	if len(spec.EmployeeIDs) > 0 {
		scope = "people:" + strings.Join(spec.EmployeeIDs, ",")
	} else if len(spec.Scope) > 0 {
		scope = joinKinds(spec.Scope)
	}
	res := &Result{Run: Run{AsOf: spec.AsOf, StartedAt: e.now().UTC(), Mode: string(mode), Job: spec.Job, Scope: scope, Status: StatusRunning,
		DryRun: spec.DryRun}, Policy: spec.Policy,
		Timezone: cmp.Or(spec.Location, time.UTC).String()}
	id, err := e.Store.BeginRun(ctx, res.Run)
	if err != nil {
		return nil, err
	}
	res.Run.ID = id
	if e.Started != nil {
		e.Started(id)
	}
	log := e.Log.With("run", id, "job", spec.Job)
	log.Info("run started", "as_of", spec.AsOf, "mode", mode, "scope", scope)
	e.audit(ctx, AuditEvent{RunID: id, Type: AuditRunStarted, Detail: map[string]any{"as_of": spec.AsOf, "mode": mode, "scope": scope, "job": spec.Job}})

	runErr := e.run(ctx, log, spec, mode, res)
	res.Run.FinishedAt = e.now().UTC()
	switch {
	case runErr == nil && len(res.Guards) > 0:
		res.Run.Status = StatusGuardTripped
		runErr = fmt.Errorf("%w: %s", ErrGuard, strings.Join(res.Run.Guards, "; "))
	case runErr == nil:
		res.Run.Status = StatusCompleted
	case errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded):
		res.Run.Status = StatusCancelled
	case res.Run.Status != StatusPartial:
		res.Run.Status = StatusFailed
	}
	if runErr != nil {
		res.Run.Error = e.errText(runErr)
	}
	if err := e.Store.FinishRun(res.Run); err != nil {
		runErr = errors.Join(runErr, err)
	}
	e.audit(context.WithoutCancel(ctx), AuditEvent{RunID: id, Type: AuditRunFinished, Detail: map[string]any{"status": res.Run.Status, "counts": res.Run.Counts, "guards": res.Run.Guards, "error": res.Run.Error}})
	runErr = e.scrubbed(runErr)
	log.Info("run finished", "status", res.Run.Status, "findings", len(res.Findings), "err", runErr)
	return res, runErr
}

// scrubbed is err with its message scrubbed by the Redactor (nil stays
// nil), for logs and Run's callers, which print it: errors.Is and errors.As
// still see err. (errText, for what is kept, also escapes and cuts it.)
// Connectors scrub their own errors; this is the same again for whatever
// one missed.
func (e *Engine) scrubbed(err error) error {
	if err == nil || e.Redactor == nil {
		return err
	}
	return &scrubbedError{err: err, text: e.Redactor.Redact(err.Error())}
}

type scrubbedError struct {
	err  error
	text string
}

func (s *scrubbedError) Error() string { return s.text }
func (s *scrubbedError) Unwrap() error { return s.err }

func (e *Engine) run(ctx context.Context, log *slog.Logger, spec RunSpec, mode Mode, res *Result) error {
	// HR is collected while the first targets read their previous state
	// from the store, and the open findings are read while the targets
	// are collected: each is work the other core would wait through.
	hr := &hrFuture{done: make(chan struct{})}
	go func() {
		defer close(hr.done)
		hr.people, hr.err = e.collectHR(ctx, log, spec, res)
	}()
	var open *OpenFindings
	var openErr error
	var openWG sync.WaitGroup
	defer openWG.Wait()
	openWG.Go(func() {
		<-hr.done // the people are not read here: run lets them go
		if openErr = hr.err; openErr == nil {
			open, openErr = e.Store.OpenFindings(ctx)
		}
	})
	links := map[string]map[string]string{}
	for _, l := range spec.Links {
		if links[l.Target] == nil {
			links[l.Target] = map[string]string{}
		}
		links[l.Target][l.AccountID] = l.EmployeeID
	}
	var only map[string]bool
	if len(spec.EmployeeIDs) > 0 {
		only = map[string]bool{}
		for _, id := range spec.EmployeeIDs {
			only[NormalizeID(id)] = true
		}
	}

	slots, cpus := collectionSlots()
	var wg sync.WaitGroup
	results := make([]targetResult, len(spec.Targets))
	for i := range spec.Targets {
		ts := &spec.Targets[i]
		ts.Correlation.Target = ts.Name
		ts.Correlation.Links = links[ts.Name]
		local := false
		if l, ok := ts.Target.(targets.Local); ok {
			local = l.Local()
		}
		wg.Go(func() {
			if local { // a processor first: a slot is not held waiting for one
				cpus <- struct{}{}
				defer func() { <-cpus }()
			}
			slots <- struct{}{}
			defer func() { <-slots }()
			results[i] = e.collectTarget(ctx, log.With("target", ts.Name), res.Run.ID, spec, ts, hr, only)
		})
	}
	wg.Wait()
	if _, err := hr.wait(); err != nil {
		return err // the targets recorded nothing
	}
	// Every target is judged: the people are let go before the findings
	// are unpacked (findingList), the two largest things a run holds.
	hr.people = nil
	failed, refErrs := mergeTargets(spec, results, res)
	// Even a run that stops here reports its findings as far as it got.
	e.finishFindings(spec, results, res)
	if err := ctx.Err(); err != nil {
		return err
	}
	// A reference in the policy that names no account, or several, stops
	// the run before anything is judged final or acted on.
	if len(refErrs) > 0 {
		return errors.Join(refErrs...)
	}
	slices.SortFunc(res.Collections, func(a, b Collection) int {
		return cmp.Or(cmp.Compare(a.Side, b.Side), cmp.Compare(a.Name, b.Name))
	})

	e.guardRevocations(spec, mode, res)
	if err := e.execute(ctx, log, spec, mode, res); err != nil {
		return err
	}
	// First-seen dates and ticket keys of problems already known, for every
	// finding, those the guards and the executor added included.
	openWG.Wait()
	if openErr != nil {
		return openErr
	}
	inParts(len(res.Findings), func(lo, hi int) {
		for _, f := range res.Findings[lo:hi] {
			if st, ok := open.Get(f.Fingerprint); ok {
				f.FirstSeen, f.JiraKey = st.FirstSeen, st.JiraKey
			}
		}
	})
	// The open findings are not needed any more: the save goes without
	// them.
	open = nil
	if err := e.save(ctx, spec, res); err != nil {
		return err
	}
	if len(failed) > 0 {
		res.Run.Status = StatusPartial
		return errors.Join(failed...)
	}
	return nil
}

// mergeTargets adds the targets' drift and collections to res in target
// order and returns the targets' collection errors and policy reference
// errors. Their findings stay in results, for finishFindings.
func mergeTargets(spec RunSpec, results []targetResult, res *Result) (failed, refErrs []error) {
	nd := len(res.Drift)
	for i := range results {
		nd += len(results[i].drift)
	}
	res.Drift = slices.Grow(res.Drift, nd-len(res.Drift))
	for i := range results {
		tr := &results[i]
		res.Drift = append(res.Drift, tr.drift...)
		res.Collections = append(res.Collections, tr.collection)
		if tr.err != nil {
			failed = append(failed, fmt.Errorf("target %s: %w", spec.Targets[i].Name, tr.err))
		}
		if tr.refErr != nil {
			refErrs = append(refErrs, tr.refErr)
		}
		*tr = targetResult{findings: tr.findings} // the rest is copied: let it go
	}
	return failed, refErrs
}

// collectHR reads every source into the store and the in-memory index,
// derives the role history and HR drift, and checks the shrink guard.
func (e *Engine) collectHR(ctx context.Context, log *slog.Logger, spec RunSpec, res *Result) (*People, error) {
	if len(spec.Sources) == 0 {
		return nil, errors.New("no HR source configured: HR is the authority of every run")
	}
	targeted := len(spec.EmployeeIDs) > 0
	// The previous snapshot is read while the sources are: each is work
	// the other core would wait through. Role history is carried from it
	// once both are in.
	var prevRun int64
	var prev *prevHR
	var prevErr error
	var prevWG sync.WaitGroup
	prevWG.Go(func() { prevRun, prev, prevErr = e.prevPeople(ctx, res.Run.ID) })
	loc := cmp.Or(spec.Location, time.UTC)
	snap := &hrSnapshot{origin: map[string]hrOrigin{}, dups: map[string][]hrRecord{}}
	for si := range spec.Sources {
		if err := e.collectSource(ctx, log, spec, si, snap, res); err != nil {
			prevWG.Wait()
			return nil, err
		}
	}
	if prevWG.Wait(); prevErr != nil {
		return nil, prevErr
	}
	for _, row := range snap.all {
		roleHistory(spec, prev, row)
	}
	for _, recs := range snap.dups {
		for _, r := range recs[1:] { // recs[0] is in snap.all
			roleHistory(spec, prev, r.row)
		}
	}
	// A person several sources report is resolved per person: one record
	// wins, or the conflict is that person's finding alone.
	conflicts := map[string]bool{}
	for _, key := range slices.Sorted(maps.Keys(snap.dups)) {
		w, r := resolvePerson(snap.dups[key], spec.AsOf, loc)
		snap.all[snap.origin[key].idx] = w.row
		res.HRResolutions = append(res.HRResolutions, r)
		if r.Rule == RuleConflict {
			conflicts[key] = true
			f := conflictFinding(w.row, r, loc)
			res.Findings = append(res.Findings, &f)
			log.Warn("HR sources disagree about a person", "employee_id", w.row.EmployeeID, "reason", r.Reason)
		}
	}
	// The people are indexed for the targets while the snapshot is
	// stored and compared (each only reads the rows, numbered first):
	// every target waits for both, and at a million people each takes a
	// second or more.
	var people *People
	var index sync.WaitGroup
	numberRows(snap.all)
	index.Go(func() { people = indexPeople(snap.all) })
	defer index.Wait()
	// The snapshot is stored only once every source was read whole; a
	// targeted run's is the people it was asked about, and records nobody
	// gone.
	for batch := range slices.Chunk(snap.all, 5000) {
		if err := e.Store.SavePeople(ctx, res.Run.ID, batch); err != nil {
			return nil, err
		}
	}
	if err := e.Store.FinishPeople(ctx, res.Run.ID, !targeted); err != nil {
		return nil, err
	}
	res.PeopleCount = len(snap.all)
	if !targeted && prevRun > 0 {
		res.Drift = append(res.Drift, hrDrift(snap.all, prev, loc)...)
		checkHRShrink(spec, res, len(snap.all), prev.rows.Len())
	}
	index.Wait()
	people.conflicts = conflicts
	return people, nil
}

// prevPeople loads the HR snapshot of the previous run that can be a
// baseline (prevRun 0 and nobody when there is none).
func (e *Engine) prevPeople(ctx context.Context, runID int64) (prevRun int64, prev *prevHR, err error) {
	prevRun, err = e.Store.PrevHRRun(ctx, runID)
	if err != nil {
		return 0, nil, err
	}
	prev = &prevHR{}
	if prevRun > 0 {
		for p, err := range e.Store.HRStates(ctx, prevRun) {
			if err != nil {
				return 0, nil, err
			}
			prev.rows.add(p)
		}
	}
	prev.byID = make(map[string]int32, prev.rows.Len())
	for i, k := range idKeys(prev.rows.Len(), func(i int) string { return prev.rows.at(i).EmployeeID }) {
		prev.byID[k] = int32(i)
	}
	return prevRun, prev, nil
}

// prevHR is the previous run's HR snapshot, indexed by normalised
// employee ID.
type prevHR struct {
	rows chunkList[HRState]
	byID map[string]int32
}

// HRState is what a run needs of a person in the previous HR snapshot:
// the role history it carries on and what HR drift compares. (A whole
// PersonRow is three times as large: appending a hundred thousand of them
// spent half of the snapshot's read growing the slice; and reading its
// fourteen columns took the SQLite store 0.08 s longer at 100,000 people,
// while the targets waited.)
type HRState struct {
	EmployeeID, JobCode, PrevJobCode string
	Status                           sources.Status
	TerminationDate, JobChangedAt    time.Time
}

// find returns the index in rows of the person whose employee ID is id
// once normalised.
func (h *prevHR) find(id string) (int, bool) {
	i, ok := byNormalID(h.byID, id)
	return int(i), ok
}

// hrSnapshot is the HR snapshot while the sources are read.
type hrSnapshot struct {
	all []*PersonRow
	// origin is where each person's first record is: its index in all and
	// its source's index in spec.Sources. Records of people several
	// sources report are kept in dups until every source is read.
	origin map[string]hrOrigin
	dups   map[string][]hrRecord
}

type hrOrigin struct{ idx, src int }

// collectSource reads source si into snap and records its collection. A
// source that fails fails the run.
func (e *Engine) collectSource(ctx context.Context, log *slog.Logger, spec RunSpec, si int, snap *hrSnapshot, res *Result) error {
	src := spec.Sources[si]
	targeted := len(spec.EmployeeIDs) > 0
	start := time.Now()
	col := Collection{RunID: res.Run.ID, Side: SideSource, Name: src.Name, Type: src.Type, StartedAt: start.UTC().Format(time.RFC3339), Status: CollectionOK}
	if e.Progress != nil {
		e.Progress(src.Name, 0, false)
	}
	seq := src.Source.People(ctx)
	if targeted {
		if r, ok := src.Source.(sources.Refresher); ok {
			seq = r.PeopleByID(ctx, spec.EmployeeIDs)
		}
	}
	var cerr error
	for p, err := range seq {
		if err != nil {
			cerr = err
			break
		}
		if cerr = snap.add(spec, si, p); cerr != nil {
			break
		}
		col.Count++
		if e.Progress != nil && col.Count%10000 == 0 {
			e.Progress(src.Name, col.Count, false)
		}
	}
	if cerr == nil && col.Count == 0 && !targeted {
		cerr = errors.New("no people: an HR snapshot with nobody in it is never right")
	}
	if cerr == nil {
		cerr = ctx.Err()
	}
	col.Duration = time.Since(start)
	if e.Progress != nil {
		e.Progress(src.Name, col.Count, true)
	}
	if cerr != nil {
		col.Status, col.Error = CollectionFailed, e.errText(cerr)
		res.Collections = append(res.Collections, col)
		_ = e.Store.SaveCollection(context.WithoutCancel(ctx), col)
		return fmt.Errorf("source %s: %w", src.Name, cerr)
	}
	res.Collections = append(res.Collections, col)
	if err := e.Store.SaveCollection(ctx, col); err != nil {
		return err
	}
	log.Info("source collected", "source", src.Name, "people", col.Count, "duration", col.Duration)
	return nil
}

// add takes one person as source si reports them.
func (snap *hrSnapshot) add(spec RunSpec, si int, p sources.Person) error {
	src := spec.Sources[si]
	p.EmployeeID = strings.TrimSpace(p.EmployeeID)
	if p.EmployeeID == "" {
		return errors.New("a person without an employee ID")
	}
	key := NormalizeID(p.EmployeeID)
	o, dup := snap.origin[key]
	if dup && o.src == si {
		return fmt.Errorf("employee ID %s is reported twice", p.EmployeeID)
	}
	row := &PersonRow{Person: p}
	if !dup {
		snap.origin[key] = hrOrigin{len(snap.all), si}
		snap.all = append(snap.all, row)
		return nil
	}
	if snap.dups[key] == nil {
		first := spec.Sources[o.src]
		snap.dups[key] = []hrRecord{{source: first.Name, priority: first.Priority, row: snap.all[o.idx]}}
	}
	snap.dups[key] = append(snap.dups[key], hrRecord{source: src.Name, priority: src.Priority, row: row})
	return nil
}

// roleHistory sets a person's role history: carried from the previous
// snapshot prev, or the role change the source reports.
func roleHistory(spec RunSpec, prev *prevHR, row *PersonRow) {
	p := &row.Person
	if i, ok := prev.find(p.EmployeeID); ok {
		old := prev.rows.at(i)
		row.PrevJobCode, row.JobChangedAt = old.PrevJobCode, old.JobChangedAt
		if old.JobCode != "" && old.JobCode != p.JobCode {
			row.PrevJobCode, row.JobChangedAt = old.JobCode, spec.AsOf
		}
	}
	// A role change the source reports itself is HR's word: it wins over
	// what the snapshots suggest (and is the only signal for someone the
	// previous snapshot does not hold).
	if rc := p.RoleChange; rc.PrevJobCode != "" && rc.PrevJobCode != p.JobCode {
		row.PrevJobCode, row.JobChangedAt = rc.PrevJobCode, rc.At
		if rc.At.IsZero() {
			row.JobChangedAt = spec.AsOf
		}
	}
}

// hrDrift is what changed in HR since the previous snapshot.
func hrDrift(all []*PersonRow, prev *prevHR, loc *time.Location) []DriftRow {
	var out []DriftRow
	seen := make([]bool, prev.rows.Len())
	for _, p := range all {
		i, ok := prev.find(p.EmployeeID)
		if !ok {
			out = append(out, DriftRow{Side: SideHR, Subject: p.EmployeeID, Kind: "hired", Detail: p.JobCode})
			continue
		}
		seen[i] = true
		old := prev.rows.at(i)
		if old.Status != p.Status {
			out = append(out, DriftRow{Side: SideHR, Subject: p.EmployeeID, Kind: "status_changed", Detail: string(old.Status) + " -> " + string(p.Status)})
		}
		if old.JobCode != p.JobCode {
			out = append(out, DriftRow{Side: SideHR, Subject: p.EmployeeID, Kind: "job_changed", Detail: old.JobCode + " -> " + p.JobCode})
		}
		if !sameHRDate(old.TerminationDate, p.TerminationDate, loc) {
			out = append(out, DriftRow{Side: SideHR, Subject: p.EmployeeID, Kind: "termination_date_changed", Detail: dayIn(old.TerminationDate, loc) + " -> " + dayIn(p.TerminationDate, loc)})
		}
	}
	for i := range prev.rows.Len() {
		if !seen[i] {
			out = append(out, DriftRow{Side: SideHR, Subject: prev.rows.at(i).EmployeeID, Kind: "left_hr_snapshot"})
		}
	}
	return out
}

// checkHRShrink trips the HR-shrink rail when the snapshot of n people
// shrank past the policy's limit since the previous one of was people.
func checkHRShrink(spec RunSpec, res *Result, n, was int) {
	limit := *spec.Policy.Guards.HRShrinkPercent
	if was == 0 || float64(was-n) <= float64(was)*limit/100 {
		return
	}
	g := Guard{Kind: GuardHRShrink, Reason: fmt.Sprintf("HR has %d people, the last good run had %d (-%.1f%%, limit %.0f%%): enforcement stopped, no orphan concluded, no ticket changed", n, was, 100*float64(was-n)/float64(was), limit)}
	res.trip(g)
	res.Run.HRSuspect = true
	res.Findings = append(res.Findings, &Finding{Kind: GuardTripped, Severity: Critical, Disposition: Review, Target: HRTarget, AccountID: "(hr_shrink)",
		Reason:   g.Reason + ": check the HR export before the next run",
		Evidence: Evidence{{"people", fmt.Sprint(n)}, {"people_last_good_run", fmt.Sprint(was)}}})
}

// sameHRDate says whether two readings of a termination date are the same:
// the same instant, or the same date read as midnight UTC by an earlier run
// and as local midnight now that a timezone is configured (not a change HR
// made).
func sameHRDate(old, cur time.Time, loc *time.Location) bool {
	if old.Equal(cur) {
		return true
	}
	y, m, d := old.UTC().Date()
	return old.Equal(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) && cur.Equal(time.Date(y, m, d, 0, 0, 0, 0, loc))
}

type targetResult struct {
	// refErr says which of the policy's account references on this target
	// did not name exactly one account.
	refErr     error
	findings   findingList
	drift      []DriftRow
	collection Collection
	err        error
}

// collectTarget streams one target's accounts into the store, judging each
// account as it passes: correlation, drift against the previous good
// snapshot, classification. Nothing of the target is held whole in memory
// but the store's hash of each current account (the store tells each
// saved account's state in the previous snapshot, reading only what
// changed).
func (e *Engine) collectTarget(ctx context.Context, log *slog.Logger, runID int64, spec RunSpec, ts *TargetSpec, hr *hrFuture, only map[string]bool) targetResult {
	var b *targetBaseline
	err := ts.Correlation.Validate()
	if err == nil {
		b, err = e.targetBaseline(ctx, ts.Name, runID)
	}
	people, hrErr := hr.wait()
	if hrErr != nil {
		// The run stops on HR: nothing of the target is recorded (a
		// snapshot the baseline began is dropped when the run finishes).
		return targetResult{err: hrErr}
	}
	caps := targets.Resolve(ts.Target)
	capNames := make([]string, 0, 5)
	for _, c := range caps.List() {
		capNames = append(capNames, string(c))
	}
	tc := &targetCollection{e: e, ctx: ctx, log: log, ts: ts, start: time.Now()}
	tc.tr.collection = Collection{RunID: runID, Side: SideTarget, Name: ts.Name, Type: ts.Type, Tier: ts.Tier,
		Capabilities: strings.Join(capNames, ","), StartedAt: tc.start.UTC().Format(time.RFC3339), Status: CollectionOK}
	if err != nil {
		return tc.fail(err)
	}
	if e.Progress != nil {
		e.Progress(ts.Name, 0, false)
	}
	j := newJudge(spec.AsOf, &spec.Policy, ts.Name, ts.Tier, caps)
	j.hrConflicts, j.loc, j.people = people.conflicts, cmp.Or(spec.Location, time.UTC), people
	refs := newRefCheck(&spec.Policy, ts.Name)
	if err := tc.stream(runID, b, j, refs, people, only); err != nil {
		return tc.fail(err)
	}
	// The listing ended whole: the snapshot is complete unless the run is
	// targeted (it saved only the accounts of the people it looks at).
	tc.finished = true
	gone, err := e.Store.FinishAccounts(ctx, runID, ts.Name, only == nil)
	if err != nil {
		return tc.fail(err)
	}
	if only == nil {
		for _, id := range gone {
			tc.tr.drift = append(tc.tr.drift, DriftRow{Side: SideTarget, Target: ts.Name, Subject: id, Kind: "account_deleted"})
		}
	}
	tc.tr.collection.Duration = time.Since(tc.start)
	if e.Progress != nil {
		e.Progress(ts.Name, tc.tr.collection.Count, true)
	}
	if err := e.Store.SaveCollection(ctx, tc.tr.collection); err != nil {
		return tc.fail(err)
	}
	tc.tr.refErr = refs.err()
	for _, a := range refs.absent() {
		log.Warn("an exemption of an account that may be absent names none: nothing exempted", "reference", a)
	}
	log.Info("target collected", "accounts", tc.tr.collection.Count, "findings", tc.tr.findings.Len(), "duration", tc.tr.collection.Duration)
	return tc.tr
}

// collectAtOnce is how many targets a run collects at once: the waits of
// most on their systems overlap, and each holds its previous state (about
// 85 MB for a million accounts) while it is collected.
const collectAtOnce = 4

// collectionSlots returns the semaphores of a run's collection: slots for
// every target (collectAtOnce), and cpus, which a target that reads local
// files (targets.Local) takes first, one per processor. Such a listing is
// processor work from start to end: more of them at once than processors
// only hold more in memory. At 1,000,000 people x 10 CSV targets on two
// processors, day 2 took 37.8-41.9 s with two at once against 42.1-46.3 s
// with four (1.0 million page faults against 1.3-1.4, a live heap of
// 2,072-2,161 MiB at most against 2,218-2,373), and day 1 at 100,000
// people 8.17-8.42 s against 8.54-8.77 (three runs each, in turn); day 2 at
// 100,000 people 3.04-3.15 s against 3.13-3.41 in four pairs, as long in
// five others.
func collectionSlots() (slots, cpus chan struct{}) {
	return make(chan struct{}, collectAtOnce), make(chan struct{}, max(1, min(runtime.GOMAXPROCS(0), collectAtOnce)))
}

// hrFuture is the run's HR snapshot while it is being collected.
type hrFuture struct {
	done   chan struct{} // closed once people or err is set
	people *People
	err    error
}

// wait returns the HR snapshot once it is collected (HR's collection ends
// on ctx's cancellation, like every source's).
func (h *hrFuture) wait() (*People, error) {
	<-h.done
	return h.people, h.err
}

// targetCollection is one target's collection in progress.
type targetCollection struct {
	e     *Engine
	ctx   context.Context
	log   *slog.Logger
	ts    *TargetSpec
	start time.Time
	tr    targetResult
	// finished says that FinishAccounts was called.
	finished bool
}

// fail ends the collection with err. Unknown is not absent: nothing that a
// complete listing would be needed for is concluded, and nothing is acted
// upon.
func (tc *targetCollection) fail(err error) targetResult {
	e, tr := tc.e, &tc.tr
	tr.err = err
	tr.collection.Status, tr.collection.Error = CollectionFailed, e.errText(err)
	if tr.collection.Count > 0 {
		tr.collection.Status = CollectionPartial
	}
	tr.collection.Duration = time.Since(tc.start)
	_ = e.Store.SaveCollection(context.WithoutCancel(tc.ctx), tr.collection)
	if !tc.finished {
		// What was saved is the run's snapshot of the target; nothing
		// unseen is deleted.
		tc.finished = true
		_, _ = e.Store.FinishAccounts(context.WithoutCancel(tc.ctx), tr.collection.RunID, tc.ts.Name, false)
	}
	var kept findingList
	for f := range tr.findings.take() {
		switch f.Kind {
		case Orphaned, TerminatedActive, SuspendedActive:
			continue
		}
		f.Disposition = Review
		for i := range f.Actions {
			f.Actions[i].Auto = false
		}
		kept.add(*f)
	}
	kept.add(Finding{Kind: GuardTripped, Severity: High, Disposition: Review, Target: tc.ts.Name, AccountID: "(collection)",
		Reason:   "collection of " + tc.ts.Name + " failed: no orphaned or terminated conclusions and no revocation on it this run",
		Evidence: Evidence{{"error", e.errText(err)}, {"accounts_read", fmt.Sprint(tr.collection.Count)}}})
	tr.findings = kept
	tr.drift = nil
	tc.log.Error("target collection failed", "err", e.scrubbed(err), "accounts_read", tr.collection.Count)
	return *tr
}

// targetBaseline is what the store knows of a target from earlier runs.
type targetBaseline struct {
	prevRun int64           // the last good collection (0: none)
	revoked map[string]bool // accounts accessrecon disabled since prevRun
	// suspended holds the accounts accessrecon disabled for a suspension
	// or leave, whenever that was: a person back at work is reported
	// (returned), never re-enabled.
	suspended map[string]Disablement
}

// targetBaseline begins the run's snapshot of a target, with its last
// good collection as the baseline that each saved batch is compared with.
func (e *Engine) targetBaseline(ctx context.Context, target string, runID int64) (*targetBaseline, error) {
	var err error
	b := &targetBaseline{revoked: map[string]bool{}, suspended: map[string]Disablement{}}
	if b.prevRun, err = e.Store.LastGoodCollection(ctx, SideTarget, target, runID); err != nil {
		return nil, err
	}
	if err := e.Store.BeginAccounts(ctx, runID, b.prevRun, target); err != nil {
		return nil, err
	}
	if b.prevRun > 0 {
		if b.revoked, err = e.Store.DisabledSince(ctx, target, b.prevRun); err != nil {
			return nil, err
		}
	}
	disabled, err := e.Store.Disablements(ctx, target)
	if err != nil {
		return nil, err
	}
	for id, d := range disabled {
		if d.Fingerprint == Fingerprint(SuspendedActive, target, id) {
			b.suspended[id] = d
		}
	}
	return b, nil
}

// firstBatch and laterBatch are how many accounts a target's collection
// saves at a time, each batch a transaction under the store's one writer,
// then judges. A target's first snapshot writes every account: in batches
// of 10,000 (100 transactions at 100,000 people x 10 targets, not 500), day
// 1's targets were collected 0.36-1.0 s sooner than in batches of 2,000 (6
// pairs; 50,000 were no faster and held 250 MB more). Later runs write
// the few accounts that changed, and larger batches there were slower (the
// write lock held longer while the other targets wait).
const firstBatch, laterBatch = 10_000, 2_000

// stream reads the target's accounts, saving them in batches and judging
// each one the run looks at once its batch is saved (the save tells each
// account's state in the baseline).
func (tc *targetCollection) stream(runID int64, b *targetBaseline, j *judge, refs *refCheck, people *People, only map[string]bool) error {
	e, ctx, ts, col := tc.e, tc.ctx, tc.ts, &tc.tr.collection
	var seenIDs map[string]struct{} // nil: the target checks itself
	if u, ok := ts.Target.(targets.UniqueLister); !ok || !u.ListsUniqueIDs() {
		seenIDs = map[string]struct{}{}
	}
	batchSize := laterBatch
	if b.prevRun == 0 {
		batchSize = firstBatch
	}
	batch := make([]targets.Account, 0, batchSize)
	matches := make([]Match, 0, batchSize)
	prev := make([]BaselineState, batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := e.Store.SaveAccounts(ctx, runID, ts.Name, batch, prev[:len(batch)]); err != nil {
			return err
		}
		for i := range batch {
			tc.judge(b, j, &batch[i], matches[i], prev[i], only != nil)
		}
		clear(batch) // the accounts' strings are not kept for the next batch's
		batch, matches = batch[:0], matches[:0]
		return nil
	}
	for a, err := range ts.Target.Accounts(ctx) {
		if err != nil {
			_ = flush()
			return err
		}
		refs.see(a)
		if a.ID == "" {
			_ = flush()
			return errors.New("the target listed an account without an ID")
		}
		if seenIDs != nil {
			if _, dup := seenIDs[a.ID]; dup {
				_ = flush()
				return fmt.Errorf("the target listed account %s twice", a.ID)
			}
			seenIDs[a.ID] = struct{}{}
		}
		col.Count++
		if a.Enabled {
			col.Enabled++
		}
		if e.Progress != nil && col.Count%10000 == 0 {
			e.Progress(ts.Name, col.Count, false)
		}
		m := people.Correlate(&ts.Correlation, a)
		if only != nil && (m.Person == nil || !only[NormalizeID(m.Person.EmployeeID)]) {
			continue
		}
		batch, matches = append(batch, a), append(matches, m)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return ctx.Err()
}

// judge records one account's drift since the baseline, where its state
// was prev, and its findings.
func (tc *targetCollection) judge(b *targetBaseline, j *judge, a *targets.Account, m Match, prev BaselineState, targeted bool) {
	tr, name := &tc.tr, tc.ts.Name
	var s seen
	switch {
	case prev.Same:
		s.prevDisabled = !a.Enabled
	case prev.Found:
		s.prevDisabled = !prev.State.Enabled
		tr.drift = append(tr.drift, accountDrift(name, *a, prev.State)...)
	case b.prevRun > 0 && !targeted:
		tr.drift = append(tr.drift, DriftRow{Side: SideTarget, Target: name, Subject: a.ID, Kind: "account_created", Detail: a.Username})
	}
	s.revokedByUs = b.revoked[a.ID]
	if d, ok := b.suspended[a.ID]; ok {
		s.suspendedByUs = new(d) // allocated only when found
	}
	tr.findings.add(j.classify(a, m, s)...)
}

func accountDrift(target string, a targets.Account, prev AccountState) []DriftRow {
	var out []DriftRow
	d := func(kind, detail string) {
		out = append(out, DriftRow{Side: SideTarget, Target: target, Subject: a.ID, Kind: kind, Detail: detail})
	}
	if prev.Enabled && !a.Enabled {
		d("account_disabled", a.Username)
	}
	if !prev.Enabled && a.Enabled {
		d("account_enabled", a.Username)
	}
	if prev.Privileged != a.Privileged {
		d("privilege_changed", fmt.Sprintf("%v -> %v", prev.Privileged, a.Privileged))
	}
	if !joinedGroupsEqual(a.Groups, prev.Groups) {
		old := SplitGroups(prev.Groups)
		for _, g := range a.Groups {
			if !slices.ContainsFunc(old, sameGroup(g)) {
				d("group_added", g.Name)
			}
		}
		for _, g := range old {
			if !slices.ContainsFunc(a.Groups, sameGroup(g)) {
				d("group_removed", g.Name)
			}
		}
	}
	return out
}

// sameGroup matches a group by its stable ID.
func sameGroup(g targets.Group) func(targets.Group) bool {
	return func(x targets.Group) bool { return x.ID == g.ID }
}

// finishFindings puts the run's own findings and the targets' (taken from
// results) in res.Findings: each given its fingerprint, the run's scope
// kept, ordered for people (sortFindings). Each target's list unpacks its
// findings once, letting its packed form go; res.Findings points at them
// where they were unpacked. The targets are unpacked side by side: one
// after the other, this was a tenth of a second of one processor at the
// end of a 100,000-person day, the other one idle.
func (e *Engine) finishFindings(spec RunSpec, results []targetResult, res *Result) {
	hrSuspect := res.Tripped(GuardHRShrink)
	inScope := func(f *Finding) bool {
		return len(spec.Scope) == 0 || slices.Contains(spec.Scope, f.Kind) || f.Kind == GuardTripped
	}
	finish := func(f *Finding) {
		// A fingerprint is a SHA-256 (0.6 CPU-s at a million people):
		// made where the finding is unpacked, on every core.
		f.Fingerprint = Fingerprint(f.Kind, f.Target, f.AccountID)
		f.FirstSeen = spec.AsOf
		if f.Actions == nil {
			f.Actions = []Step{}
		}
	}
	// Each target's findings are unpacked into their place in all, as
	// many targets at once as there are processors (a chunk's packed
	// form is let go as it is unpacked), and then the ones not kept are
	// squeezed out.
	off := make([]int, len(results)+1)
	off[0] = len(res.Findings)
	for i := range results {
		off[i+1] = off[i] + results[i].findings.Len()
	}
	all := make([]*Finding, off[len(results)])
	n := 0
	for _, f := range res.Findings {
		if inScope(f) {
			finish(f)
			all[n] = f
			n++
		}
	}
	ends := make([]int, len(results))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range results {
		g.Go(func() error {
			at := off[i]
			for f := range results[i].findings.take() {
				// HR is suspect: an account whose owner HR did not
				// report may belong to someone the export left out.
				if inScope(f) && (f.Kind != Orphaned || !hrSuspect) {
					finish(f)
					all[at] = f
					at++
				}
			}
			ends[i] = at
			return nil
		})
	}
	_ = g.Wait() // nothing in them fails
	for i := range results {
		n += copy(all[n:], all[off[i]:ends[i]])
	}
	clear(all[n:])
	kept := all[:n]
	permute(kept, findingOrder(len(kept), func(i int) *Finding { return kept[i] }))
	res.Findings = kept
	res.Exemptions = spec.Policy.Exemptions
}

// sortFindings orders findings by severity, kind, target and account,
// ties in the order given.
//
// Sorting by comparisons reads each finding many times, through its
// pointer, at random across the targets' lists (and sorting the findings
// themselves cost 0.5 CPU-s for the 183,000 of a 100,000-person day).
// Their sort keys are sorted instead (findingOrder), and the pointers are
// then moved into that order once.
func sortFindings(fs []*Finding) {
	if slices.IsSortedFunc(fs, compareFindings) { // as they nearly always are when the executor is done
		return
	}
	permute(fs, findingOrder(len(fs), func(i int) *Finding { return fs[i] }))
}

// compareFindings compares two findings in sortFindings' order.
func compareFindings(a, b *Finding) int {
	return cmp.Or(cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)), cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Target, b.Target), cmp.Compare(a.AccountID, b.AccountID))
}

// severityRank is a severity's place in sortFindings' order: Critical
// first (and a severity not known, with it), then High, Medium, Low.
func severityRank(s Severity) int {
	switch s {
	case High:
		return 1
	case Medium:
		return 2
	case Low:
		return 3
	}
	return 0
}

// findingOrder returns the positions of n findings (f(i) is the i-th) in
// sortFindings' order: severity, kind, target and account, ties in the
// order given. The findings of one severity, kind and target (few of
// those) are a group: the groups are ranked once, and each is sorted by
// account on its own (sortInGroups). Comparing the severity, kind and
// target of every pair was most of the 0.27 CPU-s that ordering a
// 100,000-person day's 183,000 findings took; and a target's accounts
// often come in order, which a group keeps and its sort then merely
// checks.
func findingOrder(n int, f func(i int) *Finding) []int32 {
	type head struct {
		severity int
		kind     Kind
		target   string
	}
	headOf := func(x *Finding) head { return head{severityRank(x.Severity), x.Kind, x.Target} }
	groups := map[head]int32{}
	for i := range n {
		groups[headOf(f(i))] = 0
	}
	heads := slices.SortedFunc(maps.Keys(groups), func(a, b head) int {
		return cmp.Or(cmp.Compare(a.severity, b.severity), cmp.Compare(a.kind, b.kind), cmp.Compare(a.target, b.target))
	})
	for r, h := range heads {
		groups[h] = int32(r)
	}
	type key struct {
		account  string
		i, group int32
	}
	keys := make([]key, n)
	for i := range n {
		x := f(i)
		keys[i] = key{x.AccountID, int32(i), groups[headOf(x)]}
	}
	keys = sortInGroups(keys, len(groups), func(k *key) int { return int(k.group) }, func(a, b key) int {
		return cmp.Or(strings.Compare(a.account, b.account), cmp.Compare(a.i, b.i))
	})
	idx := make([]int32, n)
	for k := range keys {
		idx[k] = keys[k].i
	}
	return idx
}

// sortInGroups returns keys sorted by group (from 0 to groups-1: keys of
// a smaller group first) and, within a group, by compare. The keys are
// put in their groups in one pass, each group keeping the order given,
// and the groups are then sorted on their own, one goroutine per core.
func sortInGroups[K any](keys []K, groups int, group func(*K) int, compare func(a, b K) int) []K {
	next := make([]int, groups+1) // where each group's next key goes
	for i := range keys {
		next[group(&keys[i])+1]++
	}
	for g := range groups {
		next[g+1] += next[g]
	}
	bounds := slices.Clone(next)
	out := make([]K, len(keys))
	for i := range keys {
		g := group(&keys[i])
		out[next[g]] = keys[i]
		next[g]++
	}
	work := make(chan []K)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for part := range work {
				slices.SortFunc(part, compare)
			}
		})
	}
	for g := range groups {
		if bounds[g+1]-bounds[g] > 1 {
			work <- out[bounds[g]:bounds[g+1]]
		}
	}
	close(work)
	wg.Wait()
	return out
}

// SortFindingRows orders rows by fingerprint, as the SQL stores write
// them, duplicates side by side in the order given: their fingerprints
// are sorted (fingerprintOrder), and the rows (large) are then moved into
// that order once. Rows already in order are left as they are.
func SortFindingRows(rows []FindingRow) {
	if slices.IsSortedFunc(rows, func(a, b FindingRow) int { return strings.Compare(a.Fingerprint, b.Fingerprint) }) {
		return
	}
	permute(rows, fingerprintOrder(len(rows), func(i int) string { return rows[i].Fingerprint }))
}

// fingerprintOrder returns the positions of n fingerprints (fp(i) is the
// i-th) in increasing order, ties in the order given. They are sorted in
// groups of one first byte each, side by side (sortInGroups).
func fingerprintOrder(n int, fp func(i int) string) []int32 {
	type key struct {
		fp string
		i  int32
	}
	keys := make([]key, n)
	for i := range n {
		keys[i] = key{fp(i), int32(i)}
	}
	keys = sortInGroups(keys, 257, func(k *key) int {
		if k.fp == "" {
			return 0
		}
		return 1 + int(k.fp[0])
	}, func(a, b key) int { return cmp.Or(strings.Compare(a.fp, b.fp), cmp.Compare(a.i, b.i)) })
	idx := make([]int32, n)
	for k := range keys {
		idx[k] = keys[k].i
	}
	return idx
}

// permute puts fs[idx[k]] at k for every k, in place, following the
// permutation's cycles; idx is used up.
func permute[T any](fs []T, idx []int32) {
	for start := range idx {
		if idx[start] < 0 || int(idx[start]) == start {
			continue
		}
		tmp := fs[start]
		k := start
		for {
			src := int(idx[k])
			idx[k] = -1
			if src == start {
				fs[k] = tmp
				break
			}
			fs[k] = fs[src]
			k = src
		}
	}
}

// save records drift and findings and resolves what this run saw gone.
func (e *Engine) save(ctx context.Context, spec RunSpec, res *Result) error {
	if err := e.Store.SaveDrift(ctx, res.Run.ID, res.Drift); err != nil {
		return err
	}
	n := len(res.Findings)
	var spool *findingSpool
	if e.Spool != "" && n > 0 {
		var err error
		if spool, err = newFindingSpool(e.Spool, n); err != nil {
			// findings.json then marshals the findings again: the run
			// is the same.
			e.Log.Warn("findings' JSON not spooled", "err", err)
		}
	}
	hashes := make([]byte, 16*n) // the findings' content hashes
	bodies := &keptBodies{n: n}  // the bodies not spooled
	if err := marshalFindings(res.Findings, spool, hashes, bodies); err != nil {
		if spool != nil {
			spool.close()
		}
		return err
	}
	spool.writeBack()
	rows := findingRows(res.Findings, spool, hashes, bodies)
	if err := spool.failed(); err != nil {
		e.Log.Warn("findings spool failed: some of findings.json marshalled again", "err", err)
	}
	okTargets := map[string]bool{}
	for _, c := range res.Collections {
		if c.Side == SideTarget && c.Status == CollectionOK {
			okTargets[c.Name] = true
		}
	}
	targeted := len(spec.EmployeeIDs) > 0
	// An untrusted run (a tripped rail) resolves nothing: the tickets of
	// what it did not see stay open until a run that can be trusted.
	resolves := func(kind, target string) bool {
		if targeted || spec.DryRun || (!okTargets[target] && target != HRTarget) || !res.Trusted() {
			return false
		}
		return len(spec.Scope) == 0 || slices.Contains(spec.Scope, Kind(kind))
	}
	resolved, err := e.Store.SaveFindings(ctx, res.Run.ID, spec.AsOf, rows, resolves)
	if err != nil {
		if spool != nil {
			spool.close()
		}
		return err
	}
	res.spool = spool
	res.Resolved = resolved
	counts := map[string]int{"people": res.PeopleCount, "findings": len(res.Findings), "drift": len(res.Drift), "resolved": len(resolved)}
	for _, c := range res.Collections {
		if c.Side == SideTarget {
			counts["accounts"] += c.Count
		}
	}
	for _, c := range CountKinds(res.Findings) {
		counts["kind:"+string(c.Kind)] += c.N
		counts["disposition:"+string(c.Disposition)] += c.N
	}
	res.Run.Counts = counts
	return nil
}

// spoolBatch is how many findings are marshalled and spooled at a time
// (about 700 KB).
const spoolBatch = 1024

// marshalFindings marshals the findings, each once, on every core: its
// body is spooled, with its content hash in hashes (16 bytes a finding), or
// kept in bodies (no spool, or one that failed). The batches are taken in
// the findings' order and spooled in it, laid out as findings.json.
func marshalFindings(findings []*Finding, spool *findingSpool, hashes []byte, bodies *keptBodies) error {
	n := len(findings)
	var next atomic.Int64 // the first finding of the next batch to take
	var g errgroup.Group
	for range min(runtime.GOMAXPROCS(0), (n+spoolBatch-1)/spoolBatch) {
		g.Go(func() error {
			var buf, scratch []byte
			var bounds []int
			for {
				lo := int(next.Add(spoolBatch)) - spoolBatch
				if lo >= n {
					return nil
				}
				hi := min(lo+spoolBatch, n)
				buf, bounds = buf[:0], bounds[:0]
				for i := lo; i < hi; i++ {
					f := findings[i]
					if spool != nil {
						buf = append(buf, findingSeparator(i)...)
					}
					start := len(buf)
					var err error
					if buf, err = f.appendJSON(buf); err != nil {
						next.Store(int64(n)) // no batch after this one
						spool.skip(lo, hi)
						return fmt.Errorf("finding %s: %w", f.Fingerprint, err)
					}
					r := findingRow(f)
					scratch = contentHash(hashes[16*i:16*i+16], scratch, &r, buf[start:])
					if spool == nil {
						bodies.set(i, bytes.Clone(buf[start:]))
						buf = buf[:0]
						continue
					}
					bounds = append(bounds, start, len(buf))
				}
				if spool != nil && spool.put(lo, buf, bounds) != nil {
					// The spool failed (a full disk): the store is given
					// these bodies, and AppendFindingJSON marshals them again.
					for k := 0; k < len(bounds); k += 2 {
						bodies.set(lo+k/2, bytes.Clone(buf[bounds[k]:bounds[k+1]]))
					}
				}
			}
		})
	}
	return g.Wait()
}

// findingRows are the stores' rows of findings marshalled by
// marshalFindings (their content hashes in hashes, 16 bytes each; their
// bodies in bodies or else in the spool), in fingerprint order, the order
// the SQL stores write them in. A row is made from its finding when a
// store asks for it: most of a day's findings are reported unchanged, and
// a store needs only their keys, which are laid out in the rows' order
// (a store walks them more than once; read through the findings, each
// key was three reads at random).
func findingRows(findings []*Finding, spool *findingSpool, hashes []byte, bodies *keptBodies) FindingRows {
	n := len(findings)
	r := &runRows{findings: findings, bodies: bodies, spool: spool, ends: make([]int, n), hashes: make([]byte, 16*n),
		order: fingerprintOrder(n, func(i int) string { return findings[i].Fingerprint })}
	var fps strings.Builder
	fps.Grow(16 * n) // an engine's fingerprint is 16 bytes
	for k, i := range r.order {
		fps.WriteString(findings[i].Fingerprint)
		r.ends[k] = fps.Len()
		copy(r.hashes[16*k:], hashes[16*i:16*i+16])
	}
	r.fps = fps.String()
	return r
}

// runRows are a run's findings as FindingRows: the k-th row is made from
// findings[order[k]]; its fingerprint is fps[ends[k-1]:ends[k]] and its
// content hash hashes[16k:16k+16].
type runRows struct {
	findings []*Finding
	order    []int32
	fps      string
	ends     []int
	hashes   []byte
	bodies   *keptBodies
	spool    *findingSpool
}

func (r *runRows) Len() int { return len(r.order) }

func (r *runRows) Key(k int) (string, []byte) {
	start := 0
	if k > 0 {
		start = r.ends[k-1]
	}
	return r.fps[start:r.ends[k]], r.hashes[16*k : 16*k+16 : 16*k+16]
}

func (r *runRows) Row(k int) FindingRow {
	row := findingRow(r.findings[r.order[k]])
	row.Hash = r.hashes[16*k : 16*k+16 : 16*k+16]
	return row
}

func (r *runRows) Body(k int) ([]byte, error) {
	i := int(r.order[k])
	if b := r.bodies.get(i); b != nil || r.spool == nil {
		return b, nil
	}
	return r.spool.body(i)
}

// keptBodies are the findings' bodies kept in memory, by finding: every
// one without a spool, those of a batch the spool failed to take with one.
// Its slice is made with the first body kept (a slice header a finding is
// 44 MB at a million people, for a spool that nearly always takes all).
type keptBodies struct {
	n    int
	make sync.Once // makes all, once, for the first body set
	all  [][]byte
}

// set keeps finding i's body. The parts of marshalFindings set theirs at
// once, each its own findings.
func (b *keptBodies) set(i int, body []byte) {
	b.make.Do(func() { b.all = make([][]byte, b.n) })
	b.all[i] = body
}

// get returns finding i's body (nil: not kept). Not while bodies are set.
func (b *keptBodies) get(i int) []byte {
	if b.all == nil {
		return nil
	}
	return b.all[i]
}

// inParts calls fn(lo, hi) for n items cut into one part per core, the
// parts at once, and returns when all are done. A part has at least
// minPart items: below that a goroutine costs more than it saves.
func inParts(n int, fn func(lo, hi int)) {
	part := max(n/runtime.GOMAXPROCS(0)+1, minPart)
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += part {
		wg.Go(func() { fn(lo, min(lo+part, n)) })
	}
	wg.Wait()
}

const minPart = 1000

// findingRow is f's row for the stores, without its body.
func findingRow(f *Finding) FindingRow {
	return FindingRow{Fingerprint: f.Fingerprint, Kind: string(f.Kind), Severity: string(f.Severity), Disposition: string(f.Disposition),
		Target: f.Target, AccountID: f.AccountID, EmployeeID: f.EmployeeID, FirstSeen: f.FirstSeen}
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// EventTrail is an append-only audit trail (reconcile/store's hash-chained
// AuditTrail is one). AppendEvent keeps ev as having happened at at, or
// returns an error: then it was not kept.
type EventTrail interface {
	AppendEvent(ctx context.Context, at time.Time, ev AuditEvent) error
}

// TrailAuditor records audit events in a trail, stamped by its clock.
type TrailAuditor struct {
	Trail EventTrail
	Now   func() time.Time
}

// Record appends one event.
func (t TrailAuditor) Record(ctx context.Context, ev AuditEvent) error {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	return t.Trail.AppendEvent(ctx, now(), ev)
}
