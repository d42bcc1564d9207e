package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFindingJSONIsTheStoredBody: without a spool the run keeps no JSON of
// its findings, and AppendFindingJSON marshals each again: the very bytes the
// store saved; once SetJiraKey changes a finding, with the key.
func TestFindingJSONIsTheStoredBody(t *testing.T) {
	e := newEngine(t)
	res, err := e.Run(context.Background(), spec(fakeAccounts(), Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) < 2 {
		t.Fatalf("%d findings: the test proves nothing", len(res.Findings))
	}
	saved := mem(e).findings[res.Run.ID]
	if len(saved) != len(res.Findings) {
		t.Fatalf("%d findings saved, %d in the result", len(saved), len(res.Findings))
	}
	for i := range res.Findings {
		savedJSON(t, res, saved, i)
	}
	res.SetJiraKey(1, "OPS-7")
	got, err := res.AppendFindingJSON(nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	var back Finding
	if err := json.Unmarshal(got, &back); err != nil || back.JiraKey != "OPS-7" {
		t.Errorf("after SetJiraKey, AppendFindingJSON = %s (%v), want the key", got, err)
	}
}

// savedJSON returns AppendFindingJSON(nil, i), failing the test unless it is finding
// i marshalled afresh and the body the store saved.
func savedJSON(t *testing.T, res *Result, saved []FindingRow, i int) []byte {
	t.Helper()
	got, err := res.AppendFindingJSON(nil, i)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := json.Marshal(res.Findings[i])
	if err != nil {
		t.Fatal(err)
	}
	if row := savedRow(t, saved, res.Findings[i].Fingerprint); !bytes.Equal(got, fresh) || !bytes.Equal(got, row.Body) {
		t.Fatalf("finding %d: AppendFindingJSON %s\nmarshalled afresh %s\nsaved %s", i, got, fresh, row.Body)
	}
	return got
}

// savedRow is the row of fingerprint fp among the rows the engine gave
// the store, failing the test unless they are in fingerprint order (the
// order the SQL stores write them in: the engine makes each row in its
// place).
func savedRow(t *testing.T, saved []FindingRow, fp string) *FindingRow {
	t.Helper()
	byFP := func(a, b FindingRow) int { return strings.Compare(a.Fingerprint, b.Fingerprint) }
	if !slices.IsSortedFunc(saved, byFP) {
		t.Fatal("the rows given to the store are not in fingerprint order")
	}
	i, ok := slices.BinarySearchFunc(saved, FindingRow{Fingerprint: fp}, byFP)
	if !ok {
		t.Fatalf("finding %s was not saved", fp)
	}
	return &saved[i]
}

// With a Spool, the findings' JSON waits on disk: the store is given each
// row's content hash and loads the bodies it writes; AppendFindingJSON serves the
// same bytes from the spool, which leaves no file in its folder; SetJiraKey
// and Close make AppendFindingJSON marshal afresh.
func TestFindingJSONFromTheSpool(t *testing.T) {
	e := newEngine(t)
	e.Spool = t.TempDir()
	res, err := e.Run(context.Background(), spec(fakeAccounts(), Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) < 2 || res.spool == nil {
		t.Fatalf("%d findings, spool %v: the test proves nothing", len(res.Findings), res.spool)
	}
	saved := mem(e).findings[res.Run.ID]
	for i := range res.Findings {
		got := savedJSON(t, res, saved, i)
		if row := savedRow(t, saved, res.Findings[i].Fingerprint); !bytes.Equal(row.Hash, ContentHash(row, got)) {
			t.Fatalf("finding %d: the store was given hash %x", i, row.Hash)
		}
	}
	if left, err := os.ReadDir(e.Spool); err != nil || len(left) != 0 {
		t.Errorf("the spool's folder holds %v (%v): want nothing", left, err)
	}
	res.SetJiraKey(1, "OPS-7")
	var back Finding
	if got, err := res.AppendFindingJSON(nil, 1); err != nil || json.Unmarshal(got, &back) != nil || back.JiraKey != "OPS-7" {
		t.Errorf("after SetJiraKey, AppendFindingJSON = %s (%v), want the key", got, err)
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}
	want := savedRow(t, saved, res.Findings[0].Fingerprint).Body
	if got, err := res.AppendFindingJSON(nil, 0); err != nil || !bytes.Equal(got, want) {
		t.Errorf("after Close, AppendFindingJSON(nil, 0) = %s, %v; want %s", got, err, want)
	}
}

// A spool that takes every body leaves none in memory, not even a slice of
// their places (44 MB at a million people); without a spool every body is
// kept.
func TestBodiesKeptOnlyWhereNotSpooled(t *testing.T) {
	findings := []*Finding{{Fingerprint: "b", Kind: Dormant, AccountID: "x"}, {Fingerprint: "a", Kind: Orphaned, AccountID: "y"}}
	sp, err := newFindingSpool(t.TempDir(), len(findings))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.f.Close()
	for _, spool := range []*findingSpool{sp, nil} {
		hashes, bodies := make([]byte, 16*len(findings)), &keptBodies{n: len(findings)}
		if err := marshalFindings(findings, spool, hashes, bodies); err != nil {
			t.Fatal(err)
		}
		if spool != nil && bodies.all != nil {
			t.Errorf("a spool that took every body: %d kept in memory", len(bodies.all))
		}
		rows := findingRows(findings, spool, hashes, bodies)
		for k, i := range []int{1, 0} {
			want, _ := json.Marshal(findings[i])
			if body, err := rows.Body(k); err != nil || !bytes.Equal(body, want) {
				t.Errorf("spool %v: row %d's body %s (%v), want %s", spool != nil, k, body, err, want)
			}
		}
	}
}

// A spool that fails (a full disk) fails nothing: the bodies it could not
// take are kept in memory for the store, each in its finding's row (the
// rows in fingerprint order, the findings not), with its hash; and the
// failure is told.
func TestSpoolThatFailsKeepsTheBodies(t *testing.T) {
	sp, err := newFindingSpool(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	sp.f.Close() // every write fails
	findings := []*Finding{{Fingerprint: "c", Kind: Dormant, AccountID: "x"}, {Fingerprint: "a", Kind: Orphaned, AccountID: "y"}, {Fingerprint: "b", AccountID: "z"}}
	hashes, bodies := make([]byte, 16*len(findings)), &keptBodies{n: len(findings)}
	if err := marshalFindings(findings, sp, hashes, bodies); err != nil {
		t.Fatalf("marshalFindings with a failing spool: %v", err)
	}
	if sp.failed() == nil {
		t.Error("the spool's failure is not told")
	}
	rows := findingRows(findings, sp, hashes, bodies)
	for k, i := range []int{1, 2, 0} { // a, b, c
		want, _ := json.Marshal(findings[i])
		r := rows.Row(k)
		body, err := rows.Body(k)
		fp, hash := rows.Key(k)
		if err != nil || !bytes.Equal(body, want) || !bytes.Equal(r.Hash, ContentHash(&r, want)) || !bytes.Equal(hash, r.Hash) ||
			r.Fingerprint != findings[i].Fingerprint || fp != r.Fingerprint {
			t.Errorf("row %d: %s, body %s (%v), hash %x; want finding %d's, %s in memory", k, r.Fingerprint, body, err, r.Hash, i, want)
		}
	}
	res := &Result{Findings: findings, spool: sp}
	a, _ := rows.Body(0) // finding 1's
	if got, err := res.AppendFindingJSON(nil, 1); err != nil || !bytes.Equal(got, a) {
		t.Errorf("AppendFindingJSON(nil, 1) = %s, %v; want %s", got, err, a)
	}
}

// The spool reads its bodies through a window of the file: each body comes
// back whole and its own, whatever the order of reading, across windows,
// and when it is larger than a window; a body dropped has none.
func TestSpoolReadsThroughItsWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const n = 600
	bodies := make([][]byte, n)
	for i := range bodies {
		size := 1 + rng.IntN(6000)
		if i%150 == 7 {
			size = spoolWindow + rng.IntN(spoolWindow) // larger than a window
		}
		bodies[i] = make([]byte, size)
		for k := range bodies[i] {
			bodies[i][k] = byte('a' + rng.IntN(26))
		}
	}
	sp, err := newFindingSpool(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.f.Close()
	// Batches put from goroutines started in another order than the
	// findings', as the marshalling goroutines may finish them: each waits
	// for its turn, and the file is laid out in the findings' order.
	var batches [][2]int
	for lo := 0; lo < n; lo += 37 {
		batches = append(batches, [2]int{lo, min(lo+37, n)})
	}
	rng.Shuffle(len(batches), func(a, b int) { batches[a], batches[b] = batches[b], batches[a] })
	var wg sync.WaitGroup
	for _, b := range batches {
		wg.Go(func() {
			var buf []byte
			var bounds []int
			for i := b[0]; i < b[1]; i++ {
				buf = append(buf, findingSeparator(i)...)
				bounds = append(bounds, len(buf))
				buf = append(buf, bodies[i]...)
				bounds = append(bounds, len(buf))
			}
			if err := sp.put(b[0], buf, bounds); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	want := []byte(findingsHead)
	for i, b := range bodies {
		want = append(append(want, findingSeparator(i)...), b...)
	}
	if got, err := io.ReadAll(io.NewSectionReader(sp.f, 0, 1<<40)); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the spool holds %d bytes (%v), want the %d of the bodies in order", len(got), err, len(want))
	}
	sp.drop(11)
	total := 0
	for i, b := range bodies {
		if i != 11 {
			total += len(b)
		}
	}
	var dst []byte
	// In any order few bytes are read beyond the bodies' own (the store
	// loads bodies in fingerprint order, which is not the spool's); in
	// the findings' order, as findings.json reads them, few reads.
	for _, pass := range []struct {
		name         string
		order        []int
		bytes        float64 // most bytes read, per byte of the bodies
		readsPerBody float64
	}{
		{"random order", rng.Perm(n), 1.25, 1},
		{"in order", inOrder(n), 1.5, 0.25},
	} {
		sp.read, sp.reads = 0, 0
		dst = readSpool(t, sp, bodies, pass.order, dst)
		if float64(sp.read) > pass.bytes*float64(total) || float64(sp.reads) > pass.readsPerBody*float64(n) {
			t.Errorf("%s: %d reads of %d bytes in all for %d bodies of %d bytes", pass.name, sp.reads, sp.read, n, total)
		}
	}
}

func inOrder(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return order
}

// readSpool reads the bodies of sp in order and checks each.
func readSpool(t *testing.T, sp *findingSpool, bodies [][]byte, order []int, dst []byte) []byte {
	t.Helper()
	for _, i := range order {
		got, ok, err := sp.appendBody(dst[:0], i)
		if err != nil {
			t.Fatal(err)
		}
		if i == 11 {
			if ok {
				t.Error("a dropped body read back")
			}
			continue
		}
		if !ok || !bytes.Equal(got, bodies[i]) {
			t.Fatalf("body %d: %d bytes (ok %v), want %d", i, len(got), ok, len(bodies[i]))
		}
		own, err := sp.body(i)
		if err != nil || !bytes.Equal(own, bodies[i]) {
			t.Fatalf("body(%d): %d bytes, %v", i, len(own), err)
		}
		own[0] ^= 0xff // its own copy: the next read is unchanged
		dst = got
	}
	return dst
}

// A spool that holds every finding as saved becomes the findings file:
// WriteFindingsFile writes the tail after the bodies and names the file,
// replacing the one there, readable by its owner only, and nothing else is
// left in the folder; the bodies still read back. Named once, it is not
// named again: a second file is written afresh, the same bytes. A spool
// with a finding changed since (a ticket's key) or a batch not marshalled
// is not named: the file is written afresh, the change in it.
func TestSpoolBecomesTheFindingsFile(t *testing.T) {
	if _, ok := openUnnamed(t.TempDir()); !ok {
		t.Skip("no O_TMPFILE here: the spool is never named, and findings.json is written afresh")
	}
	e := newEngine(t)
	e.Spool = t.TempDir()
	res, err := e.Run(context.Background(), spec(fakeAccounts(), Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) < 2 || res.spool == nil || !res.spool.unnamed {
		t.Fatalf("%d findings, spool %v: the test proves nothing", len(res.Findings), res.spool)
	}
	defer res.Close()
	path := filepath.Join(e.Spool, "findings.json")
	if err := os.WriteFile(path, []byte("yesterday's"), 0o644); err != nil {
		t.Fatal(err)
	}
	tail := "\n],\n\"run\": {}}\n"
	// file is what the findings file of r should hold.
	file := func(r *Result) string {
		want := findingsHead
		for i := range r.Findings {
			b, err := r.AppendFindingJSON(nil, i)
			if err != nil {
				t.Fatal(err)
			}
			want += findingSeparator(i) + string(b)
		}
		return want + tail
	}
	check := func(what, path, want string) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want || !json.Valid(got) {
			t.Fatalf("%s holds (%v):\n%s\nwant:\n%s", what, err, got, want)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", what, fi, err)
		}
	}
	want := file(res)
	if err := res.WriteFindingsFile(path, []byte(tail)); err != nil || res.spool.unnamed {
		t.Fatalf("WriteFindingsFile: %v (the spool named: %v)", err, !res.spool.unnamed)
	}
	check("the file", path, want)
	if left, err := os.ReadDir(e.Spool); err != nil || len(left) != 1 {
		t.Errorf("the folder holds %v (%v): want findings.json alone", left, err)
	}
	if b, err := res.AppendFindingJSON(nil, 1); err != nil || !strings.Contains(want, string(b)) {
		t.Errorf("after the spool became the file, AppendFindingJSON(nil, 1) = %s, %v", b, err)
	}
	again := filepath.Join(t.TempDir(), "again.json")
	if err := res.WriteFindingsFile(again, []byte(tail)); err != nil {
		t.Fatal(err)
	}
	check("a second file", again, want)
	check("the first file after the second", path, want)

	for name, change := range map[string]func(*Result){
		"a ticket's key set": func(r *Result) { r.SetJiraKey(1, "OPS-9") },
		"a batch skipped":    func(r *Result) { r.spool.err = errSkipped },
	} {
		res, err := e.Run(context.Background(), spec(fakeAccounts(), Policy{}))
		if err != nil {
			t.Fatal(err)
		}
		change(res)
		path := filepath.Join(t.TempDir(), "findings.json")
		if err := res.WriteFindingsFile(path, []byte(tail)); err != nil || !res.spool.unnamed {
			t.Errorf("%s: WriteFindingsFile: %v (the spool named: %v)", name, err, !res.spool.unnamed)
		}
		want := file(res)
		if name == "a ticket's key set" && !strings.Contains(want, `"jira_key":"OPS-9"`) {
			t.Fatalf("the file would not hold the key:\n%s", want)
		}
		check(name, path, want)
		res.Close()
	}
}

// A finding that cannot be marshalled (a date past year 9999) fails the
// save, and the batches after its own, already taken by the other
// goroutines and waiting for their turn, go on without it: marshalFindings
// returns instead of waiting for ever, and the spool is not kept.
func TestMarshalFailureLetsTheOtherBatchesGo(t *testing.T) {
	const n = 6 * spoolBatch
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, bad := range []int{0, 4*spoolBatch - 1, n - 1} {
		findings := make([]*Finding, n)
		for i := range findings {
			findings[i] = &Finding{Fingerprint: fmt.Sprintf("%016x", i), Kind: Dormant, AccountID: fmt.Sprint(i)}
		}
		findings[bad].Person = &PersonRef{EmployeeID: "E1", TerminationDate: &far}
		sp, err := newFindingSpool(t.TempDir(), n)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- marshalFindings(findings, sp, make([]byte, 16*n), &keptBodies{n: n}) }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), findings[bad].Fingerprint) {
				t.Errorf("finding %d unmarshallable: marshalFindings = %v", bad, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("finding %d unmarshallable: marshalFindings still waiting after 20 s", bad)
		}
		if ok, err := sp.link(filepath.Join(t.TempDir(), "findings.json"), nil); ok || err != nil {
			t.Errorf("finding %d unmarshallable: the spool kept (%v, %v)", bad, ok, err)
		}
		sp.f.Close()
	}
}

// TestFindingAppendJSONIsMarshal: the hand-written encoder writes what
// encoding/json's Marshal writes, byte for byte (the stored bodies are
// hashed), for findings whose every field — reached by reflection, so a
// field added to Finding is filled too — is set or left empty at random,
// with strings that need escaping and times in other zones.
func TestFindingAppendJSONIsMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 13))
	texts := []string{"", "a", "alice@example.com", `q"u\o`, "<b>&</b>", "\x00\x1f\t\n", "\xff\xfe", "x\u2028y\u2029", "تفعيل ✓ 𝄞"}
	zones := []*time.Location{time.UTC, time.FixedZone("AST", 3*3600), time.FixedZone("", -(5*3600 + 30*60))}
	var fill func(v reflect.Value, depth int)
	fill = func(v reflect.Value, depth int) {
		if depth >= 0 && rng.IntN(4) == 0 {
			return // left empty: omitempty and null
		}
		if v.Type() == reflect.TypeFor[time.Time]() {
			ns := rng.Int64N(3) * int64(rng.IntN(1e9))
			v.Set(reflect.ValueOf(time.Unix(rng.Int64N(4e9), ns).In(zones[rng.IntN(len(zones))])))
			return
		}
		switch v.Kind() {
		case reflect.String:
			v.SetString(texts[rng.IntN(len(texts))])
		case reflect.Bool:
			v.SetBool(rng.IntN(2) == 0)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem(), depth+1)
		case reflect.Slice:
			n := rng.IntN(4)
			v.Set(reflect.MakeSlice(v.Type(), n, n))
			for i := range n {
				fill(v.Index(i), depth+1)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i), depth+1)
				}
			}
		default:
			t.Fatalf("the test cannot fill a %s: teach it", v.Type())
		}
	}
	for range 3000 {
		var f Finding
		fill(reflect.ValueOf(&f).Elem(), -1)
		f.Evidence = f.Evidence.Sorted() // as the engine keeps it
		want, err := json.Marshal(&f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.appendJSON([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "prefix"+string(want) {
			t.Fatalf("appendJSON:\n%s\nencoding/json:\n%s", got[len("prefix"):], want)
		}
		if allocs := testing.AllocsPerRun(5, func() { _, _ = f.appendJSON(got[:0]) }); allocs != 0 {
			t.Fatalf("appendJSON allocated %.0f times into a buffer large enough", allocs)
		}
	}
	// A time Marshal cannot write fails both.
	f := Finding{FirstSeen: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := json.Marshal(&f); err == nil {
		t.Fatal("encoding/json wrote a year 10000")
	}
	if _, err := f.appendJSON(nil); err == nil {
		t.Error("appendJSON wrote a year 10000")
	}
}
