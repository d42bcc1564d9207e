package reconcile

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Evidence is written byte for byte as the map it replaced: findings.json,
// the stored bodies (their content hashes) and Jira's ticket fields stay
// what earlier versions wrote.
func TestEvidenceJSONIsTheMapsJSON(t *testing.T) {
	for _, pairs := range [][]string{
		nil,
		{},
		{"last_login", "2026-01-02T03:04:05Z", "account_enabled", "true"},
		{"z", "", "a", "1", "m", "x"},
		{"html", "<b>&amp;</b>", "quote", `say "hi" \ back`},
		{"ctl", "a\x00b\x01\x1f\b\f\n\r\t\x7f", "bad", "\xff\xfe ok \xc3"},
		{"sep", "line\u2028para\u2029end", "uni", "تفعيل ✓ 𝄞"},
		{"dup", "first", "dup", "last", "a", "b"},
	} {
		var ev Evidence
		var m map[string]string
		if pairs != nil {
			ev, m = Evidence{}, map[string]string{}
		}
		for i := 0; i < len(pairs); i += 2 {
			ev = append(ev, Fact{pairs[i], pairs[i+1]})
			m[pairs[i]] = pairs[i+1]
		}
		type withEv struct {
			E Evidence `json:"evidence"`
		}
		type withMap struct {
			E map[string]string `json:"evidence"`
		}
		got, err := json.Marshal(withEv{ev})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(withMap{m})
		if !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %s\nwant %s", pairs, got, want)
		}
		// Written directly, not through json.Marshal (which escapes
		// what a marshaller leaves raw).
		direct, _ := ev.MarshalJSON()
		if wantDirect, _ := json.Marshal(m); !bytes.Equal(direct, wantDirect) {
			t.Errorf("%q: MarshalJSON %s, want %s", pairs, direct, wantDirect)
		}
		// Read back and written again, as the period report reads stored
		// bodies: the same as the map's round trip.
		var back withEv
		var backMap withMap
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(want, &backMap)
		again, _ := json.Marshal(back)
		if wantAgain, _ := json.Marshal(backMap); !bytes.Equal(again, wantAgain) {
			t.Errorf("%q read back and written: %s, want %s", pairs, again, wantAgain)
		}
	}
}

func FuzzEvidenceJSON(f *testing.F) {
	f.Add("k", "v", "a<", "\xff\u2028\x01")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		got, err := json.Marshal(Evidence{{k1, v1}, {k2, v2}})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(map[string]string{k1: v1, k2: v2})
		if !bytes.Equal(got, want) {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
}

func TestEvidenceGetSet(t *testing.T) {
	var ev Evidence
	ev.Set("b", "1")
	ev.Set("a", "2")
	ev.Set("b", "3")
	if ev.Get("b") != "3" || ev.Get("a") != "2" || ev.Get("c") != "" || len(ev) != 2 {
		t.Fatalf("evidence %v", ev)
	}
	if s := ev.Sorted(); s[0].Key != "a" || s[1].Key != "b" || ev[0].Key != "b" {
		t.Fatalf("sorted %v (of %v): want a, b, and ev unchanged", s, ev)
	}
	// A key given twice: Get, Set, Map and the JSON agree on the last.
	dup := Evidence{{"k", "first"}, {"k", "last"}}
	if dup.Get("k") != "last" || dup.Map()["k"] != "last" {
		t.Fatalf("Get %q, Map %q: want the last value", dup.Get("k"), dup.Map()["k"])
	}
	dup.Set("k", "set")
	if b, _ := dup.MarshalJSON(); string(b) != `{"k":"set"}` {
		t.Fatalf("after Set: %s", b)
	}
}
