// Package gen generates reproducible HR and account data for benchmarks, the
// demo and load tests: the same Spec always yields the same people and
// accounts, computed on the fly from their index (nothing is held whole), so
// a million accounts cost no memory until a consumer keeps them.
//
// Spec.Day makes a series of nightly exports of one organisation: day d is
// day d-1 with a deterministic 0.1% of the accounts changed (a group added or
// removed, disabled or enabled again, a last login moved to that day) and a
// few leavers (terminated that day, 0.01% of people) and joiners (hired that
// day, with accounts everywhere), judged as of DayAsOf. Day 1 (or 0) is the
// data set Spec has always made.
package gen

import (
	"context"
	"encoding/csv"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
)

// Spec describes a data set.
type Spec struct {
	People  int       // HR records
	Targets int       // systems, each with an account for (nearly) every person
	Groups  int       // groups per account (default 4)
	Seed    uint64    // same seed, same data
	AsOf    time.Time // dates are spread before it
	// Day is the day of the series (0 and 1: the first); see the package
	// documentation.
	Day int
	// Shuffled lists people and accounts in an order of their own, not by
	// ID, as a directory lists GUIDs: the same order every day, the day's
	// joiners last. The people and accounts are the same.
	Shuffled bool
}

// ChangePerMille is the share of accounts (per thousand) a day changes.
const ChangePerMille = 1

// joinerBase is the index of the first joiner: day k's n-th joiner is
// person joinerBase + k<<16 + n, past every person and orphan index.
const joinerBase = 1 << 30

func (s Spec) day() int { return max(s.Day, 1) }

// DayAsOf is when day Day's data is to be judged: AsOf plus Day-1 days.
func (s Spec) DayAsOf() time.Time { return s.asOf().AddDate(0, 0, s.day()-1) }

// dayDate is midnight of day k of the series.
func (s Spec) dayDate(k int) time.Time { return s.asOf().AddDate(0, 0, k-1).Truncate(24 * time.Hour) }

// JoinersPerDay is how many people each day after the first hires (0.01%
// of People, at least one).
func (s Spec) JoinersPerDay() int { return max(s.People/10000, 1) }

// isPerson says whether index i is a person's (not an orphan's).
func isPerson(s Spec, i int) bool { return i < s.People || i >= joinerBase }

// joinDay is the day person i was hired in the series (1: there from the
// start).
func joinDay(i int) int {
	if i < joinerBase {
		return 1
	}
	return (i - joinerBase) >> 16
}

// hash is a deterministic hash of the seed and parts (splitmix64).
func (s Spec) hash(parts ...uint64) uint64 {
	h := s.Seed ^ 0x243F6A8885A308D3
	for _, p := range parts {
		h += p + 0x9E3779B97F4A7C15
		h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9
		h = (h ^ (h >> 27)) * 0x94D049BB133111EB
		h ^= h >> 31
	}
	return h
}

// PersonIndexes yields the indexes of the day's people: 0 to People-1,
// then the joiners of days 2 to Day.
func (s Spec) PersonIndexes() iter.Seq[int] {
	return func(yield func(int) bool) {
		if s.listed(s.People, 0, yield) {
			s.joiners(yield)
		}
	}
}

// AccountIndexes yields the indexes Account is asked about on target t:
// the people of day 1, the orphans, then the joiners.
func (s Spec) AccountIndexes(t int) iter.Seq[int] {
	return func(yield func(int) bool) {
		if s.listed(s.People+s.Orphans(), t+1, yield) {
			s.joiners(yield)
		}
	}
}

// listed yields 0 to n-1 in the order file (0 HR, t+1 target t) lists
// them: in order, or when Shuffled each k-th is k*stride mod n, stride
// coprime to n (every index once), neither 1 nor n-1 (consecutive ones far
// apart; a few small n have no such stride and are listed in order) and
// picked from the file's number (each file in an order of its own). It
// says whether yield wants more.
func (s Spec) listed(n, file int, yield func(int) bool) bool {
	stride := 1
	if s.Shuffled {
		start := int(0x9E3779B97F4A7C15 * uint64(file+1) % uint64(max(n, 1))) // the golden ratio's
		for d := range n {
			if k := (start + d) % n; k >= 2 && k <= n-2 && gcd(k, n) == 1 {
				stride = k
				break
			}
		}
	}
	for k := range n {
		if !yield(k * stride % n) {
			return false
		}
	}
	return true
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (s Spec) joiners(yield func(int) bool) {
	for k := 2; k <= s.day(); k++ {
		for n := range s.JoinersPerDay() {
			if !yield(joinerBase + k<<16 + n) {
				return
			}
		}
	}
}

// JobCodes are the roles people are given, round robin.
var JobCodes = []string{"ENG", "SALES", "FIN", "HR", "OPS", "SUPPORT", "LEGAL", "MKT"}

func (s Spec) rng(parts ...uint64) *rand.Rand {
	var a uint64 = s.Seed
	for _, p := range parts {
		a = a*0x9E3779B97F4A7C15 + p + 1
	}
	return rand.New(rand.NewPCG(a, a^0xD1B54A32D192ED03))
}

func (s Spec) asOf() time.Time {
	if s.AsOf.IsZero() {
		return time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	}
	return s.AsOf
}

// EmployeeID of person i.
func EmployeeID(i int) string { return fmt.Sprintf("E%06d", i) }

// Person returns person i as of day Day.
func (s Spec) Person(i int) sources.Person {
	p := s.basePerson(i)
	for k := max(joinDay(i)+1, 2); k <= s.day(); k++ {
		if p.Status != sources.Terminated && s.hash(4, uint64(k), uint64(i))%10000 == 0 { // a leaver
			p.Status = sources.Terminated
			p.TerminationDate = s.dayDate(k)
			p.StatusEffective = p.TerminationDate
		}
	}
	return p
}

// basePerson is person i as first seen.
func (s Spec) basePerson(i int) sources.Person {
	r := s.rng(1, uint64(i))
	asOf := s.asOf()
	p := sources.Person{
		EmployeeID: EmployeeID(i), FirstName: "Given" + strconv.Itoa(i), LastName: "Family" + strconv.Itoa(i%997),
		Email:   fmt.Sprintf("user%06d@example.com", i),
		Status:  sources.Active,
		JobCode: JobCodes[i%len(JobCodes)], Department: "Dept" + strconv.Itoa(i%40), WorkerType: "employee",
		HireDate: asOf.AddDate(0, 0, -30-r.IntN(3000)).Truncate(24 * time.Hour),
	}
	if i > 0 {
		p.ManagerID = EmployeeID(i / 10)
	}
	if jd := joinDay(i); jd > 1 { // a joiner: hired on their day, active
		p.ManagerID, p.HireDate = EmployeeID(0), s.dayDate(jd)
		return p
	}
	switch x := r.IntN(1000); {
	case x < 30: // terminated, in the past
		p.Status = sources.Terminated
		p.TerminationDate = asOf.AddDate(0, 0, -1-r.IntN(60)).Truncate(24 * time.Hour)
		p.StatusEffective = p.TerminationDate
	case x < 40:
		p.Status = sources.Suspended
		p.StatusEffective = asOf.AddDate(0, 0, -1-r.IntN(10)).Truncate(24 * time.Hour)
	case x < 50:
		p.Status = sources.Leave
		p.StatusEffective = asOf.AddDate(0, 0, -r.IntN(60)).Truncate(24 * time.Hour)
	case x < 60: // leaving soon: not yet a finding
		p.TerminationDate = asOf.AddDate(0, 0, 1+r.IntN(30)).Truncate(24 * time.Hour)
	}
	return p
}

// TargetName of target t.
func TargetName(t int) string { return fmt.Sprintf("app%02d", t) }

// Account returns the account of person i on target t as of day Day; ok
// is false when the person has none there. Indexes from People up (to the
// joiners') are orphans.
func (s Spec) Account(t, i int) (targets.Account, bool) {
	a, ok := s.baseAccount(t, i)
	if !ok {
		return a, false
	}
	for k := max(joinDay(i)+1, 2); k <= s.day(); k++ {
		h := s.hash(3, uint64(k), uint64(t), uint64(i))
		if h%1000 >= ChangePerMille {
			continue
		}
		switch (h >> 32) % 4 {
		case 0:
			name := fmt.Sprintf("%s-extra-%d", TargetName(t), k)
			a.Groups = append(slices.Clip(a.Groups), targets.Group{ID: name, Name: name})
		case 1:
			if len(a.Groups) > 0 {
				a.Groups = a.Groups[1:]
			}
		case 2:
			a.Enabled = !a.Enabled
		case 3:
			a.LastLogin = s.dayDate(k).Add(time.Duration(h>>40%(24*3600)) * time.Second)
		}
	}
	return a, true
}

// baseAccount is the account of person i on target t as first seen.
func (s Spec) baseAccount(t, i int) (targets.Account, bool) {
	r := s.rng(2, uint64(t), uint64(i))
	asOf := s.asOf()
	if jd := joinDay(i); jd > 1 { // a joiner's accounts date from their day
		asOf = s.dayDate(jd)
	}
	groups := max(s.Groups, 4)
	if s.Groups > 0 {
		groups = s.Groups
	}
	if isPerson(s, i) && r.IntN(100) < 2 {
		return targets.Account{}, false // 2% of people have no account on a system
	}
	a := targets.Account{
		ID:       fmt.Sprintf("%s-%07d", TargetName(t), i),
		Username: fmt.Sprintf("user%06d", i), Email: fmt.Sprintf("user%06d@example.com", i), EmployeeID: EmployeeID(i),
		DisplayName: "User " + strconv.Itoa(i), Enabled: r.IntN(100) >= 3, LoginTracked: true,
		Created: asOf.AddDate(0, 0, -10-r.IntN(2000)),
	}
	if joinDay(i) > 1 {
		a.Created = asOf
	}
	if !isPerson(s, i) { // orphan: an account nobody in HR owns
		a.EmployeeID = ""
		a.Email = fmt.Sprintf("svc%06d@example.com", i)
	}
	switch x := r.IntN(100); {
	case x < 85:
		a.LastLogin = asOf.Add(-time.Duration(r.IntN(60*24)) * time.Hour)
	case x < 95: // dormant
		a.LastLogin = asOf.Add(-time.Duration(100*24+r.IntN(200*24)) * time.Hour)
	}
	job := JobCodes[i%len(JobCodes)]
	for g := range groups {
		name := fmt.Sprintf("%s-%s-%d", TargetName(t), strings.ToLower(job), g)
		a.Groups = append(a.Groups, targets.Group{ID: name, Name: name})
	}
	if r.IntN(200) == 0 {
		a.Privileged = true
		a.Groups = append(a.Groups, targets.Group{ID: TargetName(t) + "-admins", Name: TargetName(t) + "-admins"})
	}
	if r.IntN(20) == 0 {
		a.Credentials = []targets.Credential{{ID: a.ID + "-key", Kind: "api_key", Created: asOf.AddDate(0, 0, -r.IntN(400)), Active: true}}
	}
	return a, true
}

// Orphans is how many orphaned accounts each target has (0.5% of people).
func (s Spec) Orphans() int { return s.People / 200 }

// Source is a generated HR source.
type Source struct{ Spec Spec }

// People yields the spec's people.
func (g Source) People(ctx context.Context) iter.Seq2[sources.Person, error] {
	return func(yield func(sources.Person, error) bool) {
		n := 0
		for i := range g.Spec.PersonIndexes() {
			if n%4096 == 0 && ctx.Err() != nil {
				yield(sources.Person{}, ctx.Err())
				return
			}
			n++
			if !yield(g.Spec.Person(i), nil) {
				return
			}
		}
	}
}

// Target is one generated target.
type Target struct {
	Spec  Spec
	Index int
}

// Accounts yields the target's accounts.
func (g Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		n := 0
		for i := range g.Spec.AccountIndexes(g.Index) {
			if n%4096 == 0 && ctx.Err() != nil {
				yield(targets.Account{}, ctx.Err())
				return
			}
			n++
			if a, ok := g.Spec.Account(g.Index, i); ok && !yield(a, nil) {
				return
			}
		}
	}
}

// ListsUniqueIDs says that no two accounts share an ID (each is made from
// its index): targets.UniqueLister.
func (g Target) ListsUniqueIDs() bool { return true }

// WriteCSV writes the data set as CSV files (hr.csv and one <target>.csv per
// target) and a schedule.yaml that reads them, into dir.
func WriteCSV(s Spec, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	d := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	err := writeFile(filepath.Join(dir, "hr.csv"), []string{"employee_id", "email", "first_name", "last_name", "status", "status_effective",
		"termination_date", "department", "job_code", "manager_id", "worker_type", "hire_date"}, func(emit func([]string) error) error {
		for i := range s.PersonIndexes() {
			p := s.Person(i)
			if err := emit([]string{p.EmployeeID, p.Email, p.FirstName, p.LastName, string(p.Status), d(p.StatusEffective), d(p.TerminationDate),
				p.Department, p.JobCode, p.ManagerID, p.WorkerType, d(p.HireDate)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	yaml := "# Generated by accessrecon gen: " + fmt.Sprintf("%d people, %d targets, seed %d, day %d", s.People, s.Targets, s.Seed, s.day()) +
		"\nstore: accessrecon.db\nsources:\n  - name: hr\n    type: csv\n    config: {path: hr.csv}\ntargets:\n"
	for t := range s.Targets {
		name := TargetName(t)
		err := writeFile(filepath.Join(dir, name+".csv"), []string{"account_id", "username", "email", "employee_id", "display_name", "enabled",
			"last_login", "created", "privileged", "groups"}, func(emit func([]string) error) error {
			for i := range s.AccountIndexes(t) {
				a, ok := s.Account(t, i)
				if !ok {
					continue
				}
				if err := emit([]string{a.ID, a.Username, a.Email, a.EmployeeID, a.DisplayName, strconv.FormatBool(a.Enabled), d(a.LastLogin),
					d(a.Created), strconv.FormatBool(a.Privileged), strings.Join(targets.GroupNames(a.Groups), ";")}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		yaml += fmt.Sprintf("  - name: %s\n    type: csv\n    config: {path: %s.csv}\n", name, name)
	}
	return os.WriteFile(filepath.Join(dir, "schedule.yaml"), []byte(yaml), 0o644)
}

func writeFile(path string, header []string, rows func(emit func([]string) error) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.Write(header); err != nil {
		f.Close()
		return err
	}
	if err := rows(w.Write); err != nil {
		f.Close()
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PeopleEnv names the environment variable that sizes the benchmarks'
// generated organisations.
const PeopleEnv = "ACCESSRECON_BENCH_PEOPLE"

// OrderEnv names the environment variable that sets the order the
// benchmarks' generated files list people and accounts in: "id" (the
// default) or "shuffled" (Spec.Shuffled).
const OrderEnv = "ACCESSRECON_BENCH_ORDER"

// ShuffledFromEnv says whether OrderEnv asks for shuffled files.
func ShuffledFromEnv() (bool, error) {
	switch v := os.Getenv(OrderEnv); v {
	case "", "id":
		return false, nil
	case "shuffled":
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: want id or shuffled", OrderEnv, v)
	}
}

// PeopleFromEnv is the number of people a benchmark generates: PeopleEnv
// when set, else def.
func PeopleFromEnv(def int) (int, error) {
	v := os.Getenv(PeopleEnv)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive integer", PeopleEnv, v)
	}
	return n, nil
}
