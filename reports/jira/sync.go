package jira

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/accessrecon/accessrecon/reconcile"
)

// ActionKind is what Sync does to a ticket.
type ActionKind string

// The actions.
const (
	Create   ActionKind = "create"   // a new ticket
	Update   ActionKind = "update"   // a comment with the changed evidence
	Close    ActionKind = "close"    // a comment and the done transition
	Reopen   ActionKind = "reopen"   // the reopen transition and a comment
	Recreate ActionKind = "recreate" // a new ticket linked to a closed one that cannot be reopened
	Relabel  ActionKind = "relabel"  // the hash label of an earlier version replaced, no comment
)

// Action is one thing Sync would do (Plan) or did.
type Action struct {
	Kind        ActionKind `json:"kind"`
	Fingerprint string     `json:"fingerprint"`
	// Key is the existing ticket ("" for a create).
	Key     string `json:"key,omitempty"`
	Summary string `json:"summary"`
}

// Summary counts what a Sync did.
type Summary struct {
	Created, Updated, Closed, Reopened, Unchanged int
	// Failed counts ops Jira refused (a 4xx): they are dropped and logged;
	// an open finding's op is queued again by the next run.
	Failed int
	// Pending counts ops left in the Outbox for the next run.
	Pending int
}

// intents are the ops a run asks for: an open ticket for every finding that
// needs a person, a closed one for every resolved problem.
func (c *Client) intents(res *reconcile.Result) []Op {
	var ops []Op
	seen := map[string]bool{}
	nm := accountNames(res)
	// A run whose safety rails tripped is not trusted: its only tickets are
	// the rails' own. Nothing else is opened, changed, closed or reopened
	// on its word (the findings are still in the workbook, marked).
	trusted := res.Trusted()
	for _, f := range res.Findings {
		if !f.NeedsPerson() || seen[f.Fingerprint] || (!trusted && f.Kind != reconcile.GuardTripped) {
			continue
		}
		seen[f.Fingerprint] = true
		ops = append(ops, c.openOp(res, f, nm))
	}
	for _, st := range res.Resolved {
		if seen[st.Fingerprint] || !trusted {
			continue
		}
		seen[st.Fingerprint] = true
		gone := &block{}
		gone.add("Kind", st.Kind)
		gone.add("Target", st.Target)
		gone.add("Account ID", st.AccountID)
		comment := fmt.Sprintf("accessrecon run %d (as of %s) no longer sees this problem: closing.\n%s",
			res.Run.ID, res.Run.AsOf.UTC().Format("2006-01-02 15:04 MST"), gone)
		if l := c.runLink(res.Run.ID); l != "" {
			comment += "Evidence: " + l + "\n"
		}
		ops = append(ops, Op{ID: st.Fingerprint, Fingerprint: st.Fingerprint, Want: WantClosed, Key: st.JiraKey,
			Comment: comment, RunID: res.Run.ID, Queued: c.now().UTC()})
	}
	return ops
}

// decide says what an op needs, given the ticket the label search found.
func (c *Client) decide(op Op, t *ticket) (Action, bool) {
	a := Action{Fingerprint: op.Fingerprint, Summary: op.Summary}
	if t != nil {
		a.Key = t.Key
	}
	switch {
	case op.Want == WantClosed:
		if t == nil || t.Done {
			return a, false
		}
		a.Kind, a.Summary = Close, "close: "+t.Key
	case t == nil:
		a.Kind = Create
	case t.Done:
		a.Kind = Reopen
	case t.hash() != op.Hash && op.LegacyHash != "" && t.hash() == op.LegacyHash:
		a.Kind = Relabel
	case t.hash() != op.Hash:
		a.Kind = Update
	default:
		return a, false
	}
	return a, true
}

// merge combines the pending ops with a run's: a run's op replaces a pending
// one for the same fingerprint.
func merge(pending, fresh []Op) []Op {
	byID := map[string]Op{}
	for _, op := range pending {
		byID[op.ID] = op
	}
	for _, op := range fresh {
		byID[op.ID] = op
	}
	out := make([]Op, 0, len(byID))
	for _, op := range byID {
		out = append(out, op)
	}
	slices.SortFunc(out, func(a, b Op) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func fingerprints(ops []Op) []string {
	fps := make([]string, len(ops))
	for i, op := range ops {
		fps[i] = op.Fingerprint
	}
	return fps
}

// Plan returns what Sync would do for res (with the ops pending in out, when
// out is not nil) without changing anything: it only reads (the label
// searches). A Reopen may turn into a Recreate when Sync finds that the
// closed ticket has no reopen transition.
func (c *Client) Plan(ctx context.Context, res *reconcile.Result, out Outbox) ([]Action, error) {
	var pending []Op
	if out != nil {
		var err error
		if pending, err = out.Pending(ctx); err != nil {
			return nil, fmt.Errorf("jira: outbox: %w", err)
		}
	}
	ops := merge(pending, c.intents(res))
	tickets, err := c.search(ctx, fingerprints(ops))
	if err != nil {
		return nil, err
	}
	var actions []Action
	for _, op := range ops {
		var t *ticket
		if tk, ok := tickets[op.Fingerprint]; ok {
			t = &tk
		}
		if a, ok := c.decide(op, t); ok {
			actions = append(actions, a)
		}
	}
	return actions, nil
}

// Sync brings the tickets in line with a finished run: it queues the run's
// ops in out, then sends everything pending. It records each ticket's key
// with out.SetJiraKey and in res.Findings[i].JiraKey.
//
// Sync never leaves work behind silently: when Jira is unavailable (5xx,
// 429 or network errors after the bounded retries) it stops, the unsent ops
// stay in out, Summary.Pending counts them, and the error wraps ErrDeferred.
// Neither that nor a refused op (Summary.Failed) should fail the run.
func (c *Client) Sync(ctx context.Context, res *reconcile.Result, out Outbox) (Summary, error) {
	var sum Summary
	if err := out.Save(ctx, c.intents(res)); err != nil {
		return sum, fmt.Errorf("jira: outbox: save: %w", err)
	}
	ops, err := out.Pending(ctx)
	if err != nil {
		return sum, fmt.Errorf("jira: outbox: %w", err)
	}
	sum.Pending = len(ops)
	if len(ops) == 0 {
		return sum, nil
	}
	tickets, err := c.search(ctx, fingerprints(ops))
	if err != nil {
		return sum, c.deferred(err, sum)
	}
	findingAt := map[string]int{}
	for i := range res.Findings {
		findingAt[res.Findings[i].Fingerprint] = i
	}
	var errs []error
	for _, op := range ops {
		var t *ticket
		if tk, ok := tickets[op.Fingerprint]; ok {
			t = &tk
		}
		key, err := c.send(ctx, op, t, &sum)
		if errors.Is(err, errUnavailable) || ctx.Err() != nil {
			return sum, c.deferred(err, sum)
		}
		if err != nil {
			sum.Failed++
			c.log.Error("jira refused a ticket update; dropped", "fingerprint", op.Fingerprint, "want", op.Want, "err", err)
			errs = append(errs, err)
		}
		if key != "" {
			if i, ok := findingAt[op.Fingerprint]; ok {
				res.SetJiraKey(i, key)
			}
			if err := out.SetJiraKey(ctx, op.Fingerprint, key); err != nil {
				return sum, fmt.Errorf("jira: outbox: set key of %s: %w", op.Fingerprint, err)
			}
		}
		if err := out.Done(ctx, op.ID); err != nil {
			return sum, fmt.Errorf("jira: outbox: done %s: %w", op.ID, err)
		}
		sum.Pending--
	}
	c.log.Info("jira tickets synced", "created", sum.Created, "updated", sum.Updated, "closed", sum.Closed,
		"reopened", sum.Reopened, "unchanged", sum.Unchanged, "failed", sum.Failed)
	return sum, errors.Join(errs...)
}

func (c *Client) deferred(err error, sum Summary) error {
	c.log.Warn("jira unavailable; work kept for the next run", "pending", sum.Pending, "err", err)
	return fmt.Errorf("%w (%d pending): %w", ErrDeferred, sum.Pending, err)
}

// send carries out one op and returns the key of the ticket that tracks the
// fingerprint afterwards.
func (c *Client) send(ctx context.Context, op Op, t *ticket, sum *Summary) (string, error) {
	a, ok := c.decide(op, t)
	if !ok {
		sum.Unchanged++
		if t != nil {
			return t.Key, nil
		}
		return "", nil
	}
	switch a.Kind {
	case Create:
		key, err := c.create(ctx, op, "")
		if err == nil {
			sum.Created++
		}
		return key, err
	case Update:
		if err := c.comment(ctx, t.Key, fmt.Sprintf("accessrecon run %d: the finding changed. Now:\n\n%s", op.RunID, op.Description)); err != nil {
			return t.Key, err
		}
		if err := c.swapHash(ctx, *t, op.Hash); err != nil {
			return t.Key, err
		}
		sum.Updated++
		return t.Key, nil
	case Relabel:
		// Unchanged since an earlier version labelled it: nothing to say.
		if err := c.swapHash(ctx, *t, op.Hash); err != nil {
			return t.Key, err
		}
		sum.Unchanged++
		return t.Key, nil
	case Close:
		if err := c.comment(ctx, t.Key, op.Comment); err != nil {
			return t.Key, err
		}
		if err := c.transition(ctx, t.Key, c.cfg.DoneTransition); err != nil {
			return t.Key, err
		}
		sum.Closed++
		return t.Key, nil
	case Reopen:
		err := c.transition(ctx, t.Key, c.cfg.ReopenTransition)
		if errors.Is(err, errNoTransition) {
			c.log.Warn("closed ticket cannot be reopened; creating a new one linked to it", "key", t.Key, "transition", c.cfg.ReopenTransition)
			key, err := c.create(ctx, op, t.Key)
			if err == nil {
				sum.Created++
			}
			return key, err
		}
		if err != nil {
			return t.Key, err
		}
		body := fmt.Sprintf("accessrecon run %d: the problem is back; reopening.", op.RunID)
		if t.hash() != op.Hash {
			body += " Now:\n\n" + op.Description
		}
		if err := c.comment(ctx, t.Key, body); err != nil {
			return t.Key, err
		}
		if t.hash() != op.Hash {
			if err := c.swapHash(ctx, *t, op.Hash); err != nil {
				return t.Key, err
			}
		}
		sum.Reopened++
		return t.Key, nil
	}
	return "", fmt.Errorf("jira: unknown action %q", a.Kind)
}

// create files a new ticket; relatesTo, when set, is linked to it.
func (c *Client) create(ctx context.Context, op Op, relatesTo string) (string, error) {
	fields := &gojira.IssueFields{
		Project:     gojira.Project{Key: c.cfg.Project},
		Type:        gojira.IssueType{Name: c.cfg.IssueType},
		Summary:     op.Summary,
		Description: op.Description,
		Labels:      op.Labels,
	}
	if op.Priority != "" {
		fields.Priority = &gojira.Priority{Name: op.Priority}
	}
	if op.Component != "" {
		fields.Components = []*gojira.Component{{Name: op.Component}}
	}
	if op.Assignee != "" {
		// Not gojira.User: it would send "Password":"" along.
		who := "name"
		if c.cfg.SearchAPI == SearchJQL {
			who = "accountId"
		}
		fields.Unknowns = map[string]any{"assignee": map[string]any{who: op.Assignee}}
	}
	var created *gojira.Issue
	err := c.call(ctx, "create issue", func() (*gojira.Response, error) {
		is, resp, err := c.api.Issue.CreateWithContext(ctx, &gojira.Issue{Fields: fields})
		created = is
		return resp, err
	})
	if err != nil {
		return "", err
	}
	if created == nil || created.Key == "" {
		return "", errors.New("jira: create issue: no key in the answer")
	}
	c.log.Info("jira ticket created", "key", created.Key, "fingerprint", op.Fingerprint)
	if relatesTo != "" {
		link := &gojira.IssueLink{Type: gojira.IssueLinkType{Name: "Relates"},
			InwardIssue: &gojira.Issue{Key: created.Key}, OutwardIssue: &gojira.Issue{Key: relatesTo}}
		if err := c.call(ctx, "link issue", func() (*gojira.Response, error) { return c.api.Issue.AddLinkWithContext(ctx, link) }); err != nil {
			// The ticket exists and carries the label: do not create it again.
			c.log.Warn("jira: could not link the new ticket to the closed one", "key", created.Key, "relates_to", relatesTo, "err", err)
		}
	}
	return created.Key, nil
}

func (c *Client) comment(ctx context.Context, key, body string) error {
	return c.call(ctx, "comment "+key, func() (*gojira.Response, error) {
		_, resp, err := c.api.Issue.AddCommentWithContext(ctx, key, &gojira.Comment{Body: body})
		return resp, err
	})
}

// swapHash replaces the ticket's content-hash label.
func (c *Client) swapHash(ctx context.Context, t ticket, hash string) error {
	var edits []map[string]any
	for _, l := range t.Labels {
		if strings.HasPrefix(l, hashLabelPrefix) {
			edits = append(edits, map[string]any{"remove": l})
		}
	}
	edits = append(edits, map[string]any{"add": hashLabelPrefix + hash})
	return c.call(ctx, "label "+t.Key, func() (*gojira.Response, error) {
		return c.api.Issue.UpdateIssueWithContext(ctx, t.Key, map[string]any{"update": map[string]any{"labels": edits}})
	})
}

var errNoTransition = errors.New("no such transition")

// transition moves a ticket through the transition with this name.
func (c *Client) transition(ctx context.Context, key, name string) error {
	var ts []gojira.Transition
	err := c.call(ctx, "transitions of "+key, func() (*gojira.Response, error) {
		var resp *gojira.Response
		var err error
		ts, resp, err = c.api.Issue.GetTransitionsWithContext(ctx, key)
		return resp, err
	})
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ts, func(t gojira.Transition) bool { return strings.EqualFold(t.Name, name) })
	if i < 0 {
		names := make([]string, len(ts))
		for j, t := range ts {
			names[j] = t.Name
		}
		return fmt.Errorf("jira: %s: %w %q (available: %s)", key, errNoTransition, name, strings.Join(names, ", "))
	}
	return c.call(ctx, "transition "+key, func() (*gojira.Response, error) {
		return c.api.Issue.DoTransitionWithContext(ctx, key, ts[i].ID)
	})
}
