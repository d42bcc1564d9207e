package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/storefile"
)

// validate checks what people wrote against the targets as the store last
// saw them (issue 10 items 1 and 2): every account reference
// (policy.exemptions, policy.privileged_approved, the holds in the store)
// must name exactly one account of its target's last complete collection,
// else it is an error naming the config key and line; a group name of a role
// baseline or of a target's privileged_groups that no account holds there is
// a warning with the closest names. A target never collected is a warning.

// targetRefs is what was written against one target.
type targetRefs struct {
	index int // in cfg.Targets
	// refs and groups say where each reference and group name was
	// written: "file:line: key", or what it is when not in the file (a hold).
	refs   []string
	values []string // the references, in refs' order
	groups []string
	names  []string // the group names, in groups' order
}

// refFindings are validate's verdicts: errors fail it, warnings do not.
type refFindings struct {
	errors, warnings []string
}

// unchecked is why a store's collections are not read (why), and what
// would let them be (until), for the warning of each target with
// references.
type unchecked struct{ why, until string }

// noCollection is the reason when there is no store yet, or a target was
// never collected.
var noCollection = unchecked{"no complete collection in the store yet", "a run has collected it"}

// checkReferences checks the references and group names of cfg against st
// (nil when there is no store yet, or it cannot be read: unchecked says
// why in the warning of each target with references).
func checkReferences(ctx context.Context, cfg *config.Config, st storefile.Store, unchecked unchecked) (refFindings, error) {
	var out refFindings
	root, err := configRoot(cfg.Path())
	if err != nil {
		return out, err
	}
	c := &refCollector{path: cfg.Path(), byTarget: map[string]*targetRefs{}, out: &out}
	for i, t := range cfg.Targets {
		c.byTarget[t.Name] = &targetRefs{index: i}
	}
	if err := c.accountRefs(ctx, cfg, root, st); err != nil {
		return out, err
	}
	c.groupNames(cfg, root)
	for _, t := range cfg.Targets {
		if err := checkTarget(ctx, st, t.Name, c.byTarget[t.Name], unchecked, &out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// configRoot is the top node of the configuration file at path, read
// again for the line of each key.
func configRoot(path string) (*yaml.Node, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	return root, nil
}

// refCollector gathers what was written against each target, and where.
type refCollector struct {
	path     string // of the configuration file
	byTarget map[string]*targetRefs
	out      *refFindings // a reference to a target not configured is an error
}

// where is "file:line: key" for key at node n, or key alone without n.
func (c *refCollector) where(key string, n *yaml.Node) string {
	if n == nil {
		return key
	}
	return fmt.Sprintf("%s:%d: %s", c.path, n.Line, key)
}

// addRef notes account reference ref, written at at, against target.
func (c *refCollector) addRef(target string, at string, ref string) {
	tr, ok := c.byTarget[target]
	if !ok {
		c.out.errors = append(c.out.errors, fmt.Sprintf("%s: target %q is not configured", at, target))
		return
	}
	tr.refs, tr.values = append(tr.refs, at), append(tr.values, ref)
}

// accountRefs gathers the account references of policy.exemptions,
// policy.privileged_approved and the holds in st.
func (c *refCollector) accountRefs(ctx context.Context, cfg *config.Config, root *yaml.Node, st storefile.Store) error {
	policy := child(root, "policy")
	for i, e := range cfg.Policy.Exemptions {
		n := child(index(child(policy, "exemptions"), i), "account_id")
		c.addRef(e.Target, c.where(fmt.Sprintf("policy.exemptions[%d].account_id", i), n), e.AccountID)
	}
	for i, a := range cfg.Policy.PrivilegedApproved {
		n := child(index(child(policy, "privileged_approved"), i), "account_id")
		c.addRef(a.Target, c.where(fmt.Sprintf("policy.privileged_approved[%d].account_id", i), n), a.AccountID)
	}
	if st == nil {
		return nil
	}
	holds, err := st.Holds(ctx, false)
	if err != nil {
		return err
	}
	for _, h := range holds {
		c.addRef(h.Target, fmt.Sprintf("hold %d (accessrecon hold list)", h.ID), h.AccountID)
	}
	return nil
}

// groupNames gathers the group names of each target's privileged_groups
// and of the role baselines (policy.roles).
func (c *refCollector) groupNames(cfg *config.Config, root *yaml.Node) {
	targetsNode := child(root, "targets")
	for i, t := range cfg.Targets {
		pg := child(child(index(targetsNode, i), "config"), "privileged_groups")
		if pg == nil || pg.Kind != yaml.SequenceNode {
			continue
		}
		tr := c.byTarget[t.Name]
		for k, g := range pg.Content {
			tr.groups = append(tr.groups, c.where(fmt.Sprintf("targets[%d] (%s).config.privileged_groups[%d]", i, t.Name, k), g))
			tr.names = append(tr.names, g.Value)
		}
	}
	roles := child(child(root, "policy"), "roles")
	if roles == nil || roles.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(roles.Content); i += 2 {
		job, perTarget := roles.Content[i].Value, roles.Content[i+1]
		if perTarget.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(perTarget.Content); j += 2 {
			target, groups := perTarget.Content[j].Value, perTarget.Content[j+1]
			tr := c.byTarget[target]
			if tr == nil || groups.Kind != yaml.SequenceNode {
				continue // config.Load refused an unknown target already
			}
			for k, g := range groups.Content {
				tr.groups = append(tr.groups, c.where(fmt.Sprintf("policy.roles.%s.%s[%d]", job, target, k), g))
				tr.names = append(tr.names, g.Value)
			}
		}
	}
}

// checkTarget checks what was written against target (tr) with its last
// complete collection in st, adding its verdicts to out (a warning saying
// unchecked when there is none).
func checkTarget(ctx context.Context, st storefile.Store, target string, tr *targetRefs, unchecked unchecked, out *refFindings) error {
	if len(tr.refs) == 0 && len(tr.groups) == 0 {
		return nil
	}
	var c collected
	if st != nil {
		var err error
		if c, err = readCollected(ctx, st, target, tr.values, len(tr.groups) > 0, false); err != nil {
			return err
		}
		if slices.ContainsFunc(c.refs, func(r refAnswer) bool { return r.n == 0 }) && c.runID != 0 {
			if c, err = readCollected(ctx, st, target, tr.values, len(tr.groups) > 0, true); err != nil {
				return err
			}
		}
	}
	if c.runID == 0 {
		out.warnings = append(out.warnings, fmt.Sprintf("targets[%d] (%s): %s: %d account reference(s) and %d group name(s) written against it are checked once %s",
			tr.index, target, unchecked.why, len(tr.refs), len(tr.groups), unchecked.until))
		return nil
	}
	for i, r := range c.refs {
		if p := c.problem(tr.refs[i], r); p != "" {
			out.errors = append(out.errors, p)
		}
	}
	var held []string
	for _, name := range c.groups {
		held = append(held, name)
	}
	slices.Sort(held)
	held = slices.Compact(held)
	for i, name := range tr.names {
		if _, ok := c.groups[strings.ToLower(strings.TrimSpace(name))]; ok {
			continue
		}
		msg := fmt.Sprintf("%s: group %q is held by no account on target %s at its last collection (run %d)", tr.groups[i], name, target, c.runID)
		if near := closestNames(name, held, 3); len(near) > 0 {
			msg += fmt.Sprintf(": did you mean %s?", strings.Join(near, ", "))
		}
		out.warnings = append(out.warnings, msg)
	}
	return nil
}

// child is the value of key in mapping n (nil if n is not a mapping or
// has no such key).
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// index is item i of sequence n (nil if there is none).
func index(n *yaml.Node, i int) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}
