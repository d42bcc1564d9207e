package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// Account references written by people (a hold's --account, a config's
// exemptions and approvals) are checked against the accounts of the
// target's last complete collection in the store, the way a run resolves
// them (reconcile.Names: ID, username, email or DN, case-insensitive).

// maxHits is how many accounts a reference's answer keeps: enough to show
// an ambiguous reference's candidates.
const maxHits = 5

// refAnswer is what the last collection says of one reference.
type refAnswer struct {
	ref  string
	n    int               // accounts it names
	hits []targets.Account // the first maxHits of them
}

// collected is what the last complete collection of one target says about
// the references and the group names written against it.
type collected struct {
	target string
	runID  int64 // 0: never collected completely
	refs   []refAnswer
	// groups are the names of the groups some account holds, by the
	// lower-case form of their names and IDs (nil unless asked for).
	groups map[string]string
	// usernames are the accounts' usernames (or IDs), for suggestions
	// (nil unless asked for).
	usernames []string
}

// readCollected resolves refs against target's last complete collection, in
// one pass over its accounts; withGroups also gathers the group names held,
// withNames the usernames (for "did you mean").
func readCollected(ctx context.Context, st storefile.Store, target string, refs []string, withGroups, withNames bool) (collected, error) {
	c := collected{target: target}
	for _, r := range refs {
		c.refs = append(c.refs, refAnswer{ref: r})
	}
	id, err := st.LastCollection(ctx, target)
	if err != nil || id == 0 {
		return c, err
	}
	c.runID = id
	if withGroups {
		c.groups = map[string]string{}
	}
	for a, err := range st.CollectedAccounts(ctx, id, target) {
		if err != nil {
			return c, err
		}
		for i := range c.refs {
			if reconcile.Names(c.refs[i].ref, a) {
				c.refs[i].n++
				if len(c.refs[i].hits) < maxHits {
					c.refs[i].hits = append(c.refs[i].hits, a)
				}
			}
		}
		if withGroups {
			// A name people write may be the group's name or its ID
			// (a DN): both count as held; names are what is suggested.
			for _, g := range a.Groups {
				c.groups[strings.ToLower(g.Name)] = g.Name
				if _, ok := c.groups[strings.ToLower(g.ID)]; !ok {
					c.groups[strings.ToLower(g.ID)] = g.Name
				}
			}
		}
		if withNames {
			c.usernames = append(c.usernames, cmp.Or(a.Username, a.ID))
		}
	}
	return c, nil
}

// accountWord shows an account as people know it: "ID (username, email)".
func accountWord(a targets.Account) string {
	var also []string
	for _, v := range []string{a.Username, a.Email, a.DN} {
		if v != "" && v != a.ID {
			also = append(also, v)
		}
	}
	if len(also) == 0 {
		return a.ID
	}
	return a.ID + " (" + strings.Join(also, ", ") + ")"
}

// problem says what is wrong with reference r (written at key), or "" when
// it names exactly one account.
func (c collected) problem(key string, r refAnswer) string {
	switch {
	case r.n == 1:
		return ""
	case r.n == 0:
		msg := fmt.Sprintf("%s: %q names no account on target %s at its last collection (run %d): write the account's ID, username, email or DN", key, r.ref, c.target, c.runID)
		if near := closestNames(r.ref, c.usernames, 3); len(near) > 0 {
			msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(near, ", "))
		}
		return msg
	}
	var cands []string
	for _, a := range r.hits {
		cands = append(cands, accountWord(a))
	}
	if r.n > len(r.hits) {
		cands = append(cands, "…")
	}
	return fmt.Sprintf("%s: %q names %d accounts on target %s at its last collection (run %d): %s; write the account's ID", key, r.ref, r.n, c.target, c.runID, strings.Join(cands, "; "))
}

// resolveAccount is the one account ref names on target at its last
// complete collection; otherwise an error led by what (the flag) saying why,
// with the candidates.
func resolveAccount(ctx context.Context, cfg *config.Config, st storefile.Store, what, target, ref string) (targets.Account, error) {
	c, err := readCollected(ctx, st, target, []string{ref}, false, false)
	if err != nil {
		return targets.Account{}, err
	}
	if c.runID == 0 {
		return targets.Account{}, fmt.Errorf("%s: target %s has no complete collection in %s yet, so %q cannot be checked: run accessrecon run --config %s first",
			what, target, cfg.StoreName(), ref, cfg.Path())
	}
	if c.refs[0].n == 0 {
		// Read again for suggestions: only a mistake pays for them.
		if c, err = readCollected(ctx, st, target, []string{ref}, false, true); err != nil {
			return targets.Account{}, err
		}
	}
	if p := c.problem(what, c.refs[0]); p != "" {
		return targets.Account{}, errors.New(p)
	}
	return c.refs[0].hits[0], nil
}

// accountNames finds accounts' usernames in their targets' last
// collections, for lists people read.
type accountNames struct {
	st   storefile.Store
	runs map[string]int64
}

// username is the username of account id on target at its last
// collection ("" when unknown).
func (n *accountNames) username(ctx context.Context, target, id string) string {
	if n.runs == nil {
		n.runs = map[string]int64{}
	}
	run, ok := n.runs[target]
	if !ok {
		run, _ = n.st.LastCollection(ctx, target)
		n.runs[target] = run
	}
	if run == 0 {
		return ""
	}
	a, found, err := n.st.SnapshotAccount(ctx, run, target, id)
	if err != nil || !found {
		return ""
	}
	return a.Username
}
