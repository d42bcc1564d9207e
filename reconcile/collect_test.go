package reconcile

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// listTarget lists its accounts as given, duplicates included; unique is
// what it answers to ListsUniqueIDs.
type listTarget struct {
	accounts []targets.Account
	unique   bool
}

func (l listTarget) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		for _, a := range l.accounts {
			if !yield(a, nil) {
				return
			}
		}
	}
}

func (l listTarget) ListsUniqueIDs() bool { return l.unique }

// plainTarget is a target that does not say whether its IDs are unique.
type plainTarget struct{ l listTarget }

func (p plainTarget) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return p.l.Accounts(ctx)
}

// A target that does not promise unique IDs is checked by the engine: an
// account listed twice fails its collection (nothing concluded on it).
func TestDuplicateAccountChecked(t *testing.T) {
	dup := []targets.Account{{ID: "A1", EmployeeID: "E1", Enabled: true}, {ID: "A3", EmployeeID: "E3", Enabled: true},
		{ID: "A1", EmployeeID: "E1", Enabled: false}}
	for name, tg := range map[string]targets.Target{"not a UniqueLister": plainTarget{listTarget{accounts: dup}},
		"ListsUniqueIDs false": listTarget{accounts: dup}} {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t)
			rs := RunSpec{AsOf: asOf, Mode: Report, Sources: []SourceSpec{{Name: "hr", Type: "test", Source: hr()}},
				Targets: []TargetSpec{{Name: "app", Type: "list", Target: tg}}}
			res, err := e.Run(context.Background(), rs)
			if err == nil || !strings.Contains(err.Error(), "listed account A1 twice") {
				t.Fatalf("err = %v, want the duplicate named", err)
			}
			for _, c := range res.Collections {
				if c.Name == "app" && c.Status == CollectionOK {
					t.Fatalf("collection of app: %+v", c)
				}
			}
			if got := findKind(res.Findings, TerminatedActive); len(got) != 0 {
				t.Fatalf("terminated_active concluded on a failed collection: %+v", got)
			}
		})
	}
}

// joinedGroupsEqual answers as comparing with JoinGroups's string does.
func TestJoinedGroupsEqual(t *testing.T) {
	g := func(pairs ...string) []targets.Group {
		var out []targets.Group
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, targets.Group{Name: pairs[i], ID: pairs[i+1]})
		}
		return out
	}
	lists := [][]targets.Group{nil, {}, g("a", "a"), g("a", "1"), g("a", "a", "b", "b"), g("a", "1", "b", "b"), g("a\tb", "a\tb"),
		g("a", "b"), g("ab", "ab"), g("a", "a", "", ""), g("", ""), g("a\nb", "a\nb"), g("a", "a\tx"), g("é", "é")}
	var strs []string
	for _, l := range lists {
		strs = append(strs, JoinGroups(l))
	}
	strs = append(strs, "a\n", "\n", "a\t", "a\ta", "a\nb\n", "a\t1\nb\tb")
	for _, l := range lists {
		for _, s := range strs {
			if got, want := joinedGroupsEqual(l, s), JoinGroups(l) == s; got != want {
				t.Errorf("joinedGroupsEqual(%q, %q) = %v, want %v", l, s, got, want)
			}
		}
	}
	gs := g("app-eng-0", "app-eng-0", "app-eng-1", "app-eng-1", "admins", "cn=admins")
	s := JoinGroups(gs)
	if n := testing.AllocsPerRun(100, func() { joinedGroupsEqual(gs, s) }); n != 0 {
		t.Errorf("joinedGroupsEqual: %v allocations, want 0", n)
	}
}

// batchSizes records the size of each batch of accounts saved.
type batchSizes struct {
	Store
	sizes []int
}

func (b *batchSizes) SaveAccounts(ctx context.Context, runID int64, target string, accounts []targets.Account, prev []BaselineState) error {
	b.sizes = append(b.sizes, len(accounts))
	return b.Store.SaveAccounts(ctx, runID, target, accounts, prev)
}

// A target's first snapshot, which writes every account, is saved in
// batches of firstBatch; its later ones in batches of laterBatch.
func TestFirstSnapshotSavedInLargerBatches(t *testing.T) {
	const n = 2*firstBatch + 500
	accounts := make([]targets.Account, n)
	for i := range accounts {
		accounts[i] = targets.Account{ID: fmt.Sprintf("A%06d", i), Username: fmt.Sprintf("u%06d", i), Enabled: true}
	}
	st := &batchSizes{Store: newMemStore()}
	e := newEngine(t)
	e.Store = st
	sp := spec(nil, Policy{})
	sp.Policy.Mode = Report
	sp.Targets[0].Target = listTarget{accounts: accounts, unique: true}
	want := func(batch int) []int {
		var w []int
		for left := n; left > 0; left -= batch {
			w = append(w, min(batch, left))
		}
		return w
	}
	for run, batch := range []int{firstBatch, laterBatch} {
		st.sizes = nil
		if res, err := e.Run(context.Background(), sp); err != nil {
			t.Fatalf("run %d: %v (%+v)", run+1, err, res)
		}
		if w := want(batch); fmt.Sprint(st.sizes) != fmt.Sprint(w) {
			t.Errorf("run %d saved batches of %v accounts, want %v", run+1, st.sizes, w)
		}
	}
}

// gate counts the listings of its targets under way at once; each waits
// for want of them to be under way (or half a second) before it ends.
type gate struct {
	mu       sync.Mutex
	in, most int
	want     int
	full     chan struct{} // closed once want are under way at once
}

// gateTarget is a target of a gate that waits on its system.
type gateTarget struct{ g *gate }

func (t gateTarget) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		g := t.g
		g.mu.Lock()
		g.in++
		g.most = max(g.most, g.in)
		if g.in == g.want {
			close(g.full)
		}
		g.mu.Unlock()
		select {
		case <-g.full:
		case <-time.After(500 * time.Millisecond):
		}
		g.mu.Lock()
		g.in--
		g.mu.Unlock()
	}
}

// localGateTarget is a target of a gate that reads local files.
type localGateTarget struct{ gateTarget }

func (localGateTarget) Local() bool { return true }

// Targets that read local files are listed no more at once than there are
// processors; the others, which wait on their systems, collectAtOnce at
// once whatever the processors, and no more.
func TestLocalTargetsListedOnePerProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, local := range []bool{true, false} {
		n := collectAtOnce + 1
		g := &gate{want: n, full: make(chan struct{})}
		var ts []TargetSpec
		for i := range n {
			var tg targets.Target = gateTarget{g}
			if local {
				tg = localGateTarget{gateTarget{g}}
			}
			ts = append(ts, TargetSpec{Name: fmt.Sprintf("app%d", i), Type: "gate", Target: tg})
		}
		rs := RunSpec{AsOf: asOf, Mode: Report, Sources: []SourceSpec{{Name: "hr", Type: "test", Source: hr()}}, Targets: ts}
		res, err := newEngine(t).Run(context.Background(), rs)
		if err != nil {
			t.Fatal(err)
		}
		want := collectAtOnce
		if local {
			want = 2
		}
		if g.most != want {
			t.Errorf("local %v: %d listed at once, want %d", local, g.most, want)
		}
		if len(res.Collections) != n+1 {
			t.Errorf("local %v: %d collections, want %d", local, len(res.Collections), n+1)
		}
	}
}

// A run's findings of one person, on several targets, share one PersonRef
// (People.ref: the engine numbers its snapshot's rows before it indexes
// them), and another person's is their own.
func TestRunSharesAPersonsRef(t *testing.T) {
	e := newEngine(t)
	accounts := []targets.Account{{ID: "A1", EmployeeID: "E1", Enabled: true}, {ID: "A2", EmployeeID: "E2", Enabled: true}}
	rs := RunSpec{AsOf: asOf, Mode: Report, Sources: []SourceSpec{{Name: "hr", Type: "test", Source: hr()}},
		Targets: []TargetSpec{{Name: "app", Type: "list", Target: listTarget{accounts: accounts, unique: true}},
			{Name: "vpn", Type: "list", Target: listTarget{accounts: accounts, unique: true}}}}
	res, err := e.Run(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string][]*PersonRef{}
	for _, f := range findKind(res.Findings, TerminatedActive) {
		refs[f.EmployeeID] = append(refs[f.EmployeeID], f.Person)
	}
	if len(refs["E1"]) != 2 || len(refs["E2"]) != 2 {
		t.Fatalf("terminated_active findings by person: %v, want two each", refs)
	}
	if refs["E1"][0] == nil || refs["E1"][0] != refs["E1"][1] || refs["E2"][0] != refs["E2"][1] || refs["E1"][0] == refs["E2"][0] {
		t.Fatalf("PersonRefs %v: want one per person, shared by their findings", refs)
	}
}
