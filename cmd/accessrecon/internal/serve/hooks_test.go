package serve

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/sources"
)

// The rejection log lets through the first per events of each minute and
// then says how many it held back.
func TestSamplerFirstPerMinute(t *testing.T) {
	s := sampler{per: 3}
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var got []bool
	for i := range 5 {
		ok, _ := s.allow(t0.Add(time.Duration(i) * time.Second))
		got = append(got, ok)
	}
	if want := []bool{true, true, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("first minute: %v, want %v", got, want)
	}
	if ok, dropped := s.allow(t0.Add(61 * time.Second)); !ok || dropped != 2 {
		t.Errorf("next minute: %v, %d held back; want true, 2", ok, dropped)
	}
}

// The bearer mode requires the scheme, a timestamp within the window, and
// refuses the same request twice.
func TestVerifyBearer(t *testing.T) {
	keys := hookKeys{hrToken: []byte("tok"), window: 5 * time.Minute}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.Unix(), 10)
	claimed := map[string]bool{}
	claim := func(sig string, _ time.Time) (bool, error) {
		if claimed[sig] {
			return false, nil
		}
		claimed[sig] = true
		return true, nil
	}
	body := []byte(`{"employee_ids":["E1"]}`)
	for _, c := range []struct{ authz, ts, want string }{
		{"", ts, HookBadSignature},
		{"tok", ts, HookBadScheme},
		{"Token tok", ts, HookBadScheme},
		{"Bearer nope", ts, HookBadSignature},
		{"Bearer tok", "", HookStale},
		{"Bearer tok", strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10), HookStale},
		{"Bearer tok", ts, HookAccepted},
		{"Bearer tok", ts, HookReplayed},
		{"bearer tok", strconv.FormatInt(now.Unix()+1, 10), HookAccepted},
	} {
		if got, why := verifyBearer(keys, c.authz, c.ts, body, now, claim); got != c.want {
			t.Errorf("Authorization %q, timestamp %q: %s (%s), want %s", c.authz, c.ts, got, why, c.want)
		}
	}
}

// acmeHR is an HR source of a system other than BambooHR whose webhooks name
// people by an internal id: it resolves the ids it knows.
type acmeHR struct {
	ids   map[string]string
	asked []string
}

func (a *acmeHR) People(context.Context) iter.Seq2[sources.Person, error] {
	return func(func(sources.Person, error) bool) {}
}

func (a *acmeHR) EmployeeIDFor(_ context.Context, internalID string) (string, error) {
	a.asked = append(a.asked, internalID)
	if id, ok := a.ids[internalID]; ok {
		return id, nil
	}
	return "", errors.New("acme: no such id")
}

var _ sources.IDResolver = (*acmeHR)(nil)

// A webhook item carrying only an internal id is resolved by the source of
// its own HR system implementing sources.IDResolver, whatever its concrete
// type; another system's resolver is never asked (its ids mean nothing
// there); an id it cannot resolve stands for itself.
func TestResolveIDsThroughIDResolver(t *testing.T) {
	acme := &acmeHR{ids: map[string]string{"77": "E0077", "78": "e0077"}}
	other := &acmeHR{ids: map[string]string{"77": "WRONG", "5": "WRONG"}}
	wired := []reconcile.SourceSpec{
		{Name: "other-hr", Type: "otherhr", Source: other},
		{Name: "acme", Type: "acme", Source: acme},
	}
	batch := []hookItem{
		{requestID: "r1", source: "acme", internalID: "77"},
		{requestID: "r1", source: "acme", internalID: "78"}, // same person, other case: one ID
		{requestID: "r1", source: "acme", internalID: "99"}, // unknown: itself
		{requestID: "r2", source: "hr", employeeID: "E0100"},
		{requestID: "r3", source: "bamboohr", internalID: "5"}, // no bamboohr source wired
	}
	ids, events := resolveIDs(t.Context(), slog.New(slog.DiscardHandler), batch, wired)
	if want := []string{"E0077", "99", "E0100", "5"}; !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	if len(other.asked) != 0 || !slices.Equal(acme.asked, []string{"77", "78", "99"}) {
		t.Fatalf("asked: acme %v, other %v", acme.asked, other.asked)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Source+":"+e.EmployeeID)
	}
	if want := []string{"acme:E0077", "acme:e0077", "acme:99", "hr:E0100", "bamboohr:5"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}
