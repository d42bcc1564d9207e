package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// inChain is AD's LDAP_MATCHING_RULE_IN_CHAIN: transitive membership.
const inChain = "1.2.840.113556.1.4.1941"

// groupGraph expands direct group memberships (AD nested_groups). It holds
// either the parent groups of every group (listing: one paged search of all
// groups, far fewer than users) or, for one account, the transitive groups
// the server computed with the in-chain matching rule.
type groupGraph struct {
	parents map[string][]string // lower-case group DN -> DNs of groups it is a member of
	chain   []string            // one account's transitive groups
}

// loadGroupGraph reads every group's memberOf under group_base_dn.
func (t *Target) loadGroupGraph(ctx context.Context, conn *goldap.Conn) (*groupGraph, error) {
	g := &groupGraph{parents: map[string][]string{}}
	req := goldap.NewSearchRequest(t.s.GroupBaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, 0, false, "(objectClass=group)", []string{"memberOf"}, nil)
	err := t.pagedSearch(ctx, conn, req, func(e *goldap.Entry) bool {
		if p := e.GetEqualFoldAttributeValues("memberOf"); len(p) > 0 {
			g.parents[strings.ToLower(e.DN)] = p
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("ldap: nested groups: %w", err)
	}
	return g, nil
}

// chainGroups asks the server for every group dn is a member of, directly or
// through nesting.
func (t *Target) chainGroups(ctx context.Context, conn *goldap.Conn, dn string) (*groupGraph, error) {
	g := &groupGraph{}
	f := fmt.Sprintf("(&(objectClass=group)(member:%s:=%s))", inChain, goldap.EscapeFilter(dn))
	req := goldap.NewSearchRequest(t.s.GroupBaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, 0, false, f, []string{"1.1"}, nil)
	err := t.pagedSearch(ctx, conn, req, func(e *goldap.Entry) bool {
		g.chain = append(g.chain, e.DN)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("ldap: nested groups of %s: %w", dn, err)
	}
	return g, nil
}

// expand returns direct plus every group reachable from it, each once
// (compared case-insensitively), sorted.
func (g *groupGraph) expand(direct []string) []string {
	seen := map[string]bool{}
	var out []string
	var queue []string
	add := func(dn string) {
		k := strings.ToLower(dn)
		if !seen[k] {
			seen[k] = true
			out = append(out, dn)
			queue = append(queue, k)
		}
	}
	for _, d := range direct {
		add(d)
	}
	for _, d := range g.chain {
		add(d)
	}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		for _, p := range g.parents[k] {
			add(p)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}
