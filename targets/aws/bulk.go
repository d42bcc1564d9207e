package aws

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/accessrecon/accessrecon/targets"
)

// The two ways of listing (Config.Listing).
const (
	// ListingBulk reads groups, policies, tags and memberships of every user
	// with GetAccountAuthorizationDetails (pages of up to 1,000 users), the
	// password's and the keys' last use from the credential report, and per
	// user only what nothing else gives live: ListAccessKeys (key IDs and
	// status) and GetLoginProfile (console password now).
	ListingBulk = "bulk"
	// ListingPerUser reads everything user by user (ListUsers, then
	// GetLoginProfile, ListAccessKeys, GetAccessKeyLastUsed per key,
	// ListGroupsForUser, ListAttachedUserPolicies, ListUserPolicies,
	// GetUserPolicy, ListUserTags).
	ListingPerUser = "per_user"
)

// reportRow is one user's line of the credential report.
type reportRow struct {
	passwordLastUsed time.Time
	keys             []reportKey
}

// reportKey is one access-key slot of the report: created (last_rotated)
// and last used (zero: never, as of the report).
type reportKey struct {
	created, lastUsed time.Time
}

// keyLastUsed finds a key's last use in the report by its creation time (the
// report has no key IDs). ok is false when the row is nil or no slot, or more
// than one, has that creation time.
func (r *reportRow) keyLastUsed(created time.Time) (time.Time, bool) {
	if r == nil {
		return time.Time{}, false
	}
	var found *reportKey
	for i := range r.keys {
		if r.keys[i].created.Equal(created.Truncate(time.Second)) {
			if found != nil {
				return time.Time{}, false
			}
			found = &r.keys[i]
		}
	}
	if found == nil {
		return time.Time{}, false
	}
	return found.lastUsed, true
}

// parseCredentialReport reads the report's CSV by column name (AWS adds
// columns now and then), keyed by user name; the root account's line is left
// out.
func parseCredentialReport(content []byte) (map[string]*reportRow, error) {
	r := csv.NewReader(bytes.NewReader(content))
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("credential report header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"user", "password_last_used", "access_key_1_last_rotated", "access_key_1_last_used_date"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("credential report: no %s column", need)
		}
	}
	when := func(rec []string, name string) (time.Time, error) {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return time.Time{}, nil
		}
		switch v := rec[i]; v {
		case "", "N/A", "no_information", "not_supported":
			return time.Time{}, nil
		default:
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return time.Time{}, fmt.Errorf("credential report: %s of %s: %w", name, rec[col["user"]], err)
			}
			return t, nil
		}
	}
	rows := map[string]*reportRow{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("credential report: %w", err)
		}
		user := rec[col["user"]]
		if user == "<root_account>" {
			continue
		}
		row := &reportRow{}
		if row.passwordLastUsed, err = when(rec, "password_last_used"); err != nil {
			return nil, err
		}
		for n := 1; ; n++ {
			if _, ok := col[fmt.Sprintf("access_key_%d_last_rotated", n)]; !ok {
				break
			}
			created, err := when(rec, fmt.Sprintf("access_key_%d_last_rotated", n))
			if err != nil {
				return nil, err
			}
			used, err := when(rec, fmt.Sprintf("access_key_%d_last_used_date", n))
			if err != nil {
				return nil, err
			}
			if !created.IsZero() {
				row.keys = append(row.keys, reportKey{created: created, lastUsed: used})
			}
		}
		rows[user] = row
	}
}

// credentialReport asks IAM for the account's credential report (IAM reuses
// one younger than four hours), waiting for it up to report_wait. It returns
// nil (and logs why) when there is none to be had: the listing then asks per
// user instead.
func (t *Target) credentialReport(ctx context.Context) (map[string]*reportRow, error) {
	deadline := time.Now().Add(t.cfg.ReportWait)
	wait := time.Second
	for {
		r, err := t.client.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if err != nil {
			werr := t.wrap(ctx, "generate credential report", err)
			if ctx.Err() != nil {
				return nil, werr
			}
			t.log.Warn("no credential report; reading last use per user", "error", werr)
			return nil, nil
		}
		if r.State == types.ReportStateTypeComplete {
			break
		}
		if time.Now().Add(wait).After(deadline) {
			t.log.Warn("credential report not ready within report_wait; reading last use per user", "report_wait", t.cfg.ReportWait)
			return nil, nil
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("aws: wait for credential report: %w", err)
		}
		wait = min(wait*2, 8*time.Second)
	}
	r, err := t.client.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	if err != nil {
		werr := t.wrap(ctx, "get credential report", err)
		if ctx.Err() != nil {
			return nil, werr
		}
		t.log.Warn("no credential report; reading last use per user", "error", werr)
		return nil, nil
	}
	rows, err := parseCredentialReport(r.Content)
	if err != nil {
		return nil, fmt.Errorf("aws: %w", err)
	}
	t.log.Debug("credential report", "generated", aws.ToTime(r.GeneratedTime), "users", len(rows))
	return rows, nil
}

// groupInfo is what the listing needs of a group.
type groupInfo struct {
	arn        string
	privileged bool
}

// groupIndex reads every group and customer-managed policy
// (GetAccountAuthorizationDetails Filter=Group,LocalManagedPolicy): the
// policies' default documents go into pc, and each group's ARN and
// privilege into the index.
func (t *Target) groupIndex(ctx context.Context, pc *policyCache) (map[string]groupInfo, error) {
	var groups []types.GroupDetail
	_, err := collect(ctx, func(m *string) ([]struct{}, bool, *string, error) {
		r, err := t.client.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{
			Filter: []types.EntityType{types.EntityTypeGroup, types.EntityTypeLocalManagedPolicy}, Marker: m, MaxItems: t.maxItems()})
		if err != nil {
			return nil, false, nil, err
		}
		groups = append(groups, r.GroupDetailList...)
		for _, p := range r.Policies {
			for _, v := range p.PolicyVersionList {
				if !v.IsDefaultVersion {
					continue
				}
				priv, err := documentPrivileged(aws.ToString(v.Document))
				if err != nil {
					return nil, false, nil, fmt.Errorf("policy %s: %w", aws.ToString(p.Arn), err)
				}
				pc.known(aws.ToString(p.Arn), priv)
			}
		}
		return nil, r.IsTruncated, r.Marker, nil
	})
	if err != nil {
		return nil, t.wrap(ctx, "read groups and policies", err)
	}
	idx := make(map[string]groupInfo, len(groups))
	for _, g := range groups {
		gi := groupInfo{arn: aws.ToString(g.Arn)}
		for _, p := range g.AttachedManagedPolicies {
			priv, err := pc.policy(ctx, aws.ToString(p.PolicyArn))
			if err != nil {
				return nil, err
			}
			gi.privileged = gi.privileged || priv
		}
		for _, p := range g.GroupPolicyList {
			priv, err := documentPrivileged(aws.ToString(p.PolicyDocument))
			if err != nil {
				return nil, fmt.Errorf("aws: inline policy %s of group %s: %w", aws.ToString(p.PolicyName), aws.ToString(g.GroupName), err)
			}
			gi.privileged = gi.privileged || priv
		}
		idx[aws.ToString(g.GroupName)] = gi
	}
	return idx, nil
}

// bulkAccounts is the listing with ListingBulk.
func (t *Target) bulkAccounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		pc := newPolicyCache(t)
		groups, err := t.groupIndex(ctx, pc)
		if err != nil {
			yield(targets.Account{}, err)
			return
		}
		report, err := t.credentialReport(ctx)
		if err != nil {
			yield(targets.Account{}, err)
			return
		}
		var marker *string
		for {
			if err := ctx.Err(); err != nil {
				yield(targets.Account{}, fmt.Errorf("aws: list users: %w", err))
				return
			}
			page, err := t.client.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{
				Filter: []types.EntityType{types.EntityTypeUser}, Marker: marker, MaxItems: t.maxItems()})
			if err != nil {
				yield(targets.Account{}, t.wrap(ctx, "list users", err))
				return
			}
			accts, err := t.readDetails(ctx, page.UserDetailList, groups, pc, report)
			if err != nil {
				yield(targets.Account{}, err)
				return
			}
			for _, a := range accts {
				if !yield(a, nil) {
					return
				}
			}
			if !page.IsTruncated {
				return
			}
			if page.Marker == nil || *page.Marker == "" || (marker != nil && *page.Marker == *marker) {
				yield(targets.Account{}, errors.New("aws: list users: IsTruncated without a new Marker"))
				return
			}
			marker = page.Marker
		}
	}
}

// readDetails completes a page of GetAccountAuthorizationDetails users with
// their credentials, concurrency at a time, in the page's order.
func (t *Target) readDetails(ctx context.Context, users []types.UserDetail, groups map[string]groupInfo, pc *policyCache, report map[string]*reportRow) ([]targets.Account, error) {
	accts := make([]targets.Account, len(users))
	for i, u := range users {
		name := aws.ToString(u.UserName)
		a := targets.Account{
			ID:           aws.ToString(u.UserId),
			Username:     name,
			DisplayName:  name,
			LoginTracked: true,
			Created:      aws.ToTime(u.CreateDate),
		}
		for _, g := range u.GroupList {
			gi, ok := groups[g]
			if !ok {
				// A group created after the index was read.
				priv, err := pc.group(ctx, g)
				if err != nil {
					return nil, err
				}
				gi = groupInfo{arn: g, privileged: priv} // ID: the name until the next listing
			}
			a.Groups = append(a.Groups, targets.Group{ID: gi.arn, Name: g})
			a.Privileged = a.Privileged || gi.privileged
		}
		for _, p := range u.AttachedManagedPolicies {
			priv, err := pc.policy(ctx, aws.ToString(p.PolicyArn))
			if err != nil {
				return nil, err
			}
			a.Privileged = a.Privileged || priv
		}
		for _, p := range u.UserPolicyList {
			priv, err := documentPrivileged(aws.ToString(p.PolicyDocument))
			if err != nil {
				return nil, fmt.Errorf("aws: inline policy %s of user %s: %w", aws.ToString(p.PolicyName), name, err)
			}
			a.Privileged = a.Privileged || priv
		}
		t.applyTags(&a, u.Tags)
		accts[i] = a
	}
	return t.completeAll(ctx, accts, func(ctx context.Context, a *targets.Account) error {
		row := report[a.Username]
		return t.readCredentials(ctx, a, row, row == nil)
	})
}
