package serve

import (
	"slices"
	"strconv"
	"testing"
	"time"
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
