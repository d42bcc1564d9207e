package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/sync/errgroup"

	"github.com/accessrecon/accessrecon/targets"
)

// CredentialKind is the Credential.Kind of an IAM access key.
const CredentialKind = "access_key"

// errNoMarker is a truncated page without a new Marker: a server fault that
// retrying will not mend.
var errNoMarker = errors.New("IsTruncated without a new Marker")

// errUserGone marks a user deleted between the listing and its details.
var errUserGone = errors.New("user deleted while being read")

// collect reads every page of one IAM listing: it follows Marker while
// IsTruncated is true (IAM may return fewer than MaxItems with more to come),
// and refuses a truncated page without a new Marker instead of looping.
func collect[T any](ctx context.Context, call func(marker *string) (items []T, truncated bool, next *string, err error)) ([]T, error) {
	var all []T
	var marker *string
	for {
		items, truncated, next, err := call(marker)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if !truncated {
			return all, nil
		}
		if next == nil || *next == "" || (marker != nil && *next == *marker) {
			return nil, errNoMarker
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		marker = next
	}
}

// readUsers reads the details of a page of ListUsers users.
func (t *Target) readUsers(ctx context.Context, users []types.User, pc *policyCache) ([]targets.Account, error) {
	accts := make([]targets.Account, len(users))
	for i, u := range users {
		accts[i] = targets.Account{
			ID:           aws.ToString(u.UserId),
			Username:     aws.ToString(u.UserName),
			DisplayName:  aws.ToString(u.UserName),
			LoginTracked: true,
			LastLogin:    aws.ToTime(u.PasswordLastUsed),
			Created:      aws.ToTime(u.CreateDate),
		}
	}
	return t.completeAll(ctx, accts, func(ctx context.Context, a *targets.Account) error {
		return t.readUser(ctx, a, pc)
	})
}

// completeAll runs complete on each account, concurrency at a time, and
// returns them in their order; users deleted meanwhile (errUserGone) are left
// out. It remembers each user's name for Getter.
func (t *Target) completeAll(ctx context.Context, accts []targets.Account, complete func(context.Context, *targets.Account) error) ([]targets.Account, error) {
	gone := make([]bool, len(accts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.cfg.Concurrency)
	for i := range accts {
		g.Go(func() error {
			err := complete(gctx, &accts[i])
			if errors.Is(err, errUserGone) {
				gone[i] = true
				return nil
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("aws: read users: %w", ctx.Err())
		}
		return nil, err
	}
	kept := accts[:0]
	t.mu.Lock()
	for i, a := range accts {
		if !gone[i] {
			t.names[a.ID] = a.Username
			kept = append(kept, a)
		}
	}
	t.mu.Unlock()
	return kept, nil
}

// applyTags sets the employee ID and email from the configured tags.
func (t *Target) applyTags(a *targets.Account, tags []types.Tag) {
	for _, tg := range tags {
		switch k := aws.ToString(tg.Key); {
		case t.cfg.TagEmployeeID != "" && k == t.cfg.TagEmployeeID:
			a.EmployeeID = strings.TrimSpace(aws.ToString(tg.Value))
		case t.cfg.TagEmail != "" && k == t.cfg.TagEmail:
			a.Email = strings.TrimSpace(aws.ToString(tg.Value))
		}
	}
}

// readUser completes a ListUsers account, user by user: login profile,
// access keys (with last use), groups, policies and tags.
func (t *Target) readUser(ctx context.Context, a *targets.Account, pc *policyCache) error {
	name := a.Username
	gone := func(what string, err error) error {
		var api interface{ ErrorCode() string }
		if errors.As(err, &api) && api.ErrorCode() == "NoSuchEntity" {
			return errUserGone
		}
		return t.wrap(ctx, fmt.Sprintf("%s of user %s", what, name), err)
	}

	if err := t.readCredentials(ctx, a, nil, false); err != nil {
		return err
	}

	groups, err := collect(ctx, func(m *string) ([]types.Group, bool, *string, error) {
		r, err := t.client.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: &name, Marker: m, MaxItems: t.maxItems()})
		if err != nil {
			return nil, false, nil, err
		}
		return r.Groups, r.IsTruncated, r.Marker, nil
	})
	if err != nil {
		return gone("list groups", err)
	}
	for _, g := range groups {
		gn := aws.ToString(g.GroupName)
		a.Groups = append(a.Groups, targets.Group{ID: aws.ToString(g.Arn), Name: gn})
		priv, err := pc.group(ctx, gn)
		if err != nil {
			return err
		}
		a.Privileged = a.Privileged || priv
	}

	attached, err := collect(ctx, func(m *string) ([]types.AttachedPolicy, bool, *string, error) {
		r, err := t.client.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: &name, Marker: m, MaxItems: t.maxItems()})
		if err != nil {
			return nil, false, nil, err
		}
		return r.AttachedPolicies, r.IsTruncated, r.Marker, nil
	})
	if err != nil {
		return gone("list attached policies", err)
	}
	for _, p := range attached {
		priv, err := pc.policy(ctx, aws.ToString(p.PolicyArn))
		if err != nil {
			return err
		}
		a.Privileged = a.Privileged || priv
	}

	inline, err := collect(ctx, func(m *string) ([]string, bool, *string, error) {
		r, err := t.client.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: &name, Marker: m, MaxItems: t.maxItems()})
		if err != nil {
			return nil, false, nil, err
		}
		return r.PolicyNames, r.IsTruncated, r.Marker, nil
	})
	if err != nil {
		return gone("list inline policies", err)
	}
	for _, pn := range inline {
		r, err := t.client.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: &name, PolicyName: aws.String(pn)})
		if err != nil {
			return gone("get inline policy "+pn, err)
		}
		priv, err := documentPrivileged(aws.ToString(r.PolicyDocument))
		if err != nil {
			return fmt.Errorf("aws: inline policy %s of user %s: %w", pn, name, err)
		}
		a.Privileged = a.Privileged || priv
	}

	if t.cfg.TagEmployeeID != "" || t.cfg.TagEmail != "" {
		tags, err := collect(ctx, func(m *string) ([]types.Tag, bool, *string, error) {
			r, err := t.client.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: &name, Marker: m, MaxItems: t.maxItems()})
			if err != nil {
				return nil, false, nil, err
			}
			return r.Tags, r.IsTruncated, r.Marker, nil
		})
		if err != nil {
			return gone("list tags", err)
		}
		t.applyTags(a, tags)
	}
	return nil
}

func (t *Target) maxItems() *int32 { return aws.Int32(int32(t.cfg.PageSize)) }

// readCredentials reads the account's console password (GetLoginProfile)
// and access keys (ListAccessKeys), with each key's last use from row (the
// credential report) where it names the key, else GetAccessKeyLastUsed. With
// needPasswordLastUsed and no row, GetUser supplies PasswordLastUsed. Enabled
// is set (console password or an active key) and LastLogin becomes the
// latest of the password's and the keys' last use. A user deleted meanwhile
// returns errUserGone.
func (t *Target) readCredentials(ctx context.Context, a *targets.Account, row *reportRow, needPasswordLastUsed bool) error {
	name := a.Username
	isGone := func(err error) bool {
		var api interface{ ErrorCode() string }
		return errors.As(err, &api) && api.ErrorCode() == "NoSuchEntity"
	}
	keys, err := collect(ctx, func(m *string) ([]types.AccessKeyMetadata, bool, *string, error) {
		r, err := t.client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: &name, Marker: m, MaxItems: t.maxItems()})
		if err != nil {
			return nil, false, nil, err
		}
		return r.AccessKeyMetadata, r.IsTruncated, r.Marker, nil
	})
	if err != nil {
		if isGone(err) {
			return errUserGone
		}
		return t.wrap(ctx, "list access keys of user "+name, err)
	}
	a.Enabled = true
	if _, err := t.client.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: &name}); err != nil {
		if !isGone(err) {
			return t.wrap(ctx, "get login profile of user "+name, err)
		}
		a.Enabled = false
	}
	switch {
	case row != nil:
		a.LastLogin = row.passwordLastUsed
	case needPasswordLastUsed:
		r, err := t.client.GetUser(ctx, &iam.GetUserInput{UserName: &name})
		if err != nil {
			if isGone(err) {
				return errUserGone
			}
			return t.wrap(ctx, "get user "+name, err)
		}
		a.LastLogin = aws.ToTime(r.User.PasswordLastUsed)
	}
	for _, k := range keys {
		c := targets.Credential{
			ID:      aws.ToString(k.AccessKeyId),
			Kind:    CredentialKind,
			Created: aws.ToTime(k.CreateDate),
			Active:  k.Status == types.StatusTypeActive,
		}
		if last, ok := row.keyLastUsed(c.Created); ok {
			c.LastUsed = last
		} else {
			r, err := t.client.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
			if err != nil {
				return t.wrap(ctx, "get last use of access key "+c.ID, err)
			}
			if r.AccessKeyLastUsed != nil {
				c.LastUsed = aws.ToTime(r.AccessKeyLastUsed.LastUsedDate)
			}
		}
		if c.Active {
			a.Enabled = true
		}
		if c.LastUsed.After(a.LastLogin) {
			a.LastLogin = c.LastUsed
		}
		a.Credentials = append(a.Credentials, c)
	}
	return nil
}

// userByID finds a user by user ID: by the name the last listing saw (a
// GetUser confirms it still belongs to that ID: names are reused), else by
// walking ListUsers (a renamed user keeps its ID).
func (t *Target) userByID(ctx context.Context, id string) (types.User, error) {
	t.mu.Lock()
	name, ok := t.names[id]
	t.mu.Unlock()
	if ok {
		r, err := t.client.GetUser(ctx, &iam.GetUserInput{UserName: &name})
		switch {
		case err == nil && r.User != nil && aws.ToString(r.User.UserId) == id:
			return *r.User, nil
		case err != nil && !errors.Is(t.wrap(ctx, "", err), targets.ErrNotFound):
			return types.User{}, t.wrap(ctx, "get user "+name, err)
		}
	}
	var found *types.User
	_, err := collect(ctx, func(m *string) ([]struct{}, bool, *string, error) {
		r, err := t.client.ListUsers(ctx, &iam.ListUsersInput{Marker: m, MaxItems: t.maxItems()})
		if err != nil {
			return nil, false, nil, err
		}
		for i := range r.Users {
			if aws.ToString(r.Users[i].UserId) == id {
				found = &r.Users[i]
				return nil, false, nil, nil
			}
		}
		return nil, r.IsTruncated, r.Marker, nil
	})
	if err != nil {
		return types.User{}, t.wrap(ctx, "list users", err)
	}
	if found == nil {
		return types.User{}, fmt.Errorf("aws: user ID %s: %w", id, targets.ErrNotFound)
	}
	return *found, nil
}

// userName resolves the account to the user's current name, checking that
// the name still belongs to the account's user ID.
func (t *Target) userName(ctx context.Context, a targets.Account) (string, error) {
	if a.Username == "" {
		u, err := t.userByID(ctx, a.ID)
		if err != nil {
			return "", err
		}
		return aws.ToString(u.UserName), nil
	}
	r, err := t.client.GetUser(ctx, &iam.GetUserInput{UserName: &a.Username})
	if err != nil {
		return "", t.wrap(ctx, "get user "+a.Username, err)
	}
	if id := aws.ToString(r.User.UserId); a.ID != "" && a.ID != a.Username && id != a.ID {
		// The name now belongs to another user: the account is gone.
		return "", fmt.Errorf("aws: user %s now has ID %s, not %s: %w", a.Username, id, a.ID, targets.ErrNotFound)
	}
	return a.Username, nil
}

// policyCache evaluates each managed policy and each group once per listing.
type policyCache struct {
	t        *Target
	mu       sync.Mutex
	policies map[string]*cached
	groups   map[string]*cached
}

type cached struct {
	once sync.Once
	priv bool
	err  error
}

func newPolicyCache(t *Target) *policyCache {
	return &policyCache{t: t, policies: map[string]*cached{}, groups: map[string]*cached{}}
}

// known records a policy evaluated elsewhere (from a
// GetAccountAuthorizationDetails page).
func (pc *policyCache) known(arn string, priv bool) {
	c := pc.entry(pc.policies, arn)
	c.once.Do(func() { c.priv = priv })
}

func (pc *policyCache) entry(m map[string]*cached, key string) *cached {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	c, ok := m[key]
	if !ok {
		c = &cached{}
		m[key] = c
	}
	return c
}

// policy says whether a managed policy grants *:*, iam:* or *:
// AdministratorAccess by its ARN, any other by its default version's document.
func (pc *policyCache) policy(ctx context.Context, arn string) (bool, error) {
	if isAdministratorAccess(arn) {
		return true, nil
	}
	c := pc.entry(pc.policies, arn)
	c.once.Do(func() {
		t := pc.t
		p, err := t.client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arn})
		if err != nil {
			c.err = t.wrap(ctx, "get policy "+arn, err)
			return
		}
		v, err := t.client.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			c.err = t.wrap(ctx, "get policy version "+arn, err)
			return
		}
		c.priv, c.err = documentPrivileged(aws.ToString(v.PolicyVersion.Document))
		if c.err != nil {
			c.err = fmt.Errorf("aws: policy %s: %w", arn, c.err)
		}
	})
	return c.priv, c.err
}

// group says whether a group's attached or inline policies make its members
// privileged.
func (pc *policyCache) group(ctx context.Context, name string) (bool, error) {
	c := pc.entry(pc.groups, name)
	c.once.Do(func() { c.priv, c.err = pc.readGroup(ctx, name) })
	return c.priv, c.err
}

func (pc *policyCache) readGroup(ctx context.Context, name string) (bool, error) {
	t := pc.t
	attached, err := collect(ctx, func(m *string) ([]types.AttachedPolicy, bool, *string, error) {
		r, err := t.client.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: &name, Marker: m, MaxItems: t.maxItems()})
		if err != nil {
			return nil, false, nil, err
		}
		return r.AttachedPolicies, r.IsTruncated, r.Marker, nil
	})
	if err != nil {
		return false, t.wrap(ctx, "list attached policies of group "+name, err)
	}
	priv := false
	for _, p := range attached {
		ok, err := pc.policy(ctx, aws.ToString(p.PolicyArn))
		if err != nil {
			return false, err
		}
		priv = priv || ok
	}
	inline, err := collect(ctx, func(m *string) ([]string, bool, *string, error) {
		r, err := t.client.ListGroupPolicies(ctx, &iam.ListGroupPoliciesInput{GroupName: &name, Marker: m, MaxItems: t.maxItems()})
		if err != nil {
			return nil, false, nil, err
		}
		return r.PolicyNames, r.IsTruncated, r.Marker, nil
	})
	if err != nil {
		return false, t.wrap(ctx, "list inline policies of group "+name, err)
	}
	for _, pn := range inline {
		r, err := t.client.GetGroupPolicy(ctx, &iam.GetGroupPolicyInput{GroupName: &name, PolicyName: aws.String(pn)})
		if err != nil {
			return false, t.wrap(ctx, "get inline policy "+pn+" of group "+name, err)
		}
		ok, err := documentPrivileged(aws.ToString(r.PolicyDocument))
		if err != nil {
			return false, fmt.Errorf("aws: inline policy %s of group %s: %w", pn, name, err)
		}
		priv = priv || ok
	}
	return priv, nil
}

func isAdministratorAccess(arn string) bool {
	// arn:aws:iam::aws:policy/AdministratorAccess, in any partition.
	return strings.HasPrefix(arn, "arn:") && strings.HasSuffix(arn, ":iam::aws:policy/AdministratorAccess")
}

// documentPrivileged says whether a policy document (URL-encoded, as IAM
// returns it) has an Allow statement whose Action is *, *:* or iam:*.
func documentPrivileged(encoded string) (bool, error) {
	doc, err := url.QueryUnescape(encoded)
	if err != nil {
		doc = encoded
	}
	var p struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return false, fmt.Errorf("policy document: %w", err)
	}
	type statement struct {
		Effect string
		Action json.RawMessage
	}
	var stmts []statement
	if err := json.Unmarshal(p.Statement, &stmts); err != nil {
		var one statement
		if err := json.Unmarshal(p.Statement, &one); err != nil {
			return false, fmt.Errorf("policy document: Statement: %w", err)
		}
		stmts = []statement{one}
	}
	for _, s := range stmts {
		if !strings.EqualFold(s.Effect, "Allow") || len(s.Action) == 0 {
			continue
		}
		var actions []string
		if err := json.Unmarshal(s.Action, &actions); err != nil {
			var one string
			if err := json.Unmarshal(s.Action, &one); err != nil {
				return false, fmt.Errorf("policy document: Action: %w", err)
			}
			actions = []string{one}
		}
		for _, x := range actions {
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "*", "*:*", "iam:*":
				return true, nil
			}
		}
	}
	return false, nil
}

// Disable deletes the user's login profile (console password) and sets
// every active access key Inactive. Keys and the user are never deleted.
// Already disabled: nothing changes and nil is returned.
func (t *Target) Disable(ctx context.Context, a targets.Account) error {
	name, err := t.userName(ctx, a)
	if err != nil {
		return err
	}
	if _, err := t.client.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: &name}); err != nil {
		if werr := t.wrap(ctx, "delete login profile of user "+name, err); !errors.Is(werr, targets.ErrNotFound) {
			return werr
		}
	} else {
		t.log.Info("deleted login profile", "user", name)
	}
	keys, err := collect(ctx, func(m *string) ([]types.AccessKeyMetadata, bool, *string, error) {
		r, err := t.client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: &name, Marker: m, MaxItems: t.maxItems()})
		if err != nil {
			return nil, false, nil, err
		}
		return r.AccessKeyMetadata, r.IsTruncated, r.Marker, nil
	})
	if err != nil {
		return t.wrap(ctx, "list access keys of user "+name, err)
	}
	for _, k := range keys {
		if k.Status != types.StatusTypeActive {
			continue
		}
		if err := t.deactivate(ctx, name, aws.ToString(k.AccessKeyId)); err != nil {
			return err
		}
	}
	return nil
}

// RevokeCredential sets one access key Inactive (never deletes it).
func (t *Target) RevokeCredential(ctx context.Context, a targets.Account, c targets.Credential) error {
	if c.Kind != "" && c.Kind != CredentialKind {
		return fmt.Errorf("aws: credential %s of kind %q is not an access key: %w", c.ID, c.Kind, targets.ErrNotFound)
	}
	name := a.Username
	if name == "" {
		u, err := t.userByID(ctx, a.ID)
		if err != nil {
			return err
		}
		name = aws.ToString(u.UserName)
	}
	return t.deactivate(ctx, name, c.ID)
}

func (t *Target) deactivate(ctx context.Context, user, keyID string) error {
	_, err := t.client.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: &user, AccessKeyId: &keyID, Status: types.StatusTypeInactive})
	if err != nil {
		return t.wrap(ctx, fmt.Sprintf("deactivate access key %s of user %s", keyID, user), err)
	}
	t.log.Info("deactivated access key", "user", user, "access_key_id", keyID)
	return nil
}

// RemoveFromGroup removes the user from one IAM group (RemoveUserFromGroup).
// A user no longer in the group is success. With allow_group_removal: false
// it refuses (ErrPermission); Capabilities then leaves it out, so the
// executor makes it a manual step.
func (t *Target) RemoveFromGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	group := groupName(g)
	if !t.groupRemovalAllowed() {
		return fmt.Errorf("aws: remove user %s from group %s: allow_group_removal is false: %w", a.Username, group, targets.ErrPermission)
	}
	if group == "" {
		return fmt.Errorf("aws: remove user %s from a group with no name: %w", a.Username, targets.ErrNotFound)
	}
	name, err := t.userName(ctx, a)
	if err != nil {
		return err
	}
	groups, err := collect(ctx, func(m *string) ([]types.Group, bool, *string, error) {
		r, err := t.client.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: &name, Marker: m, MaxItems: t.maxItems()})
		if err != nil {
			return nil, false, nil, err
		}
		return r.Groups, r.IsTruncated, r.Marker, nil
	})
	if err != nil {
		return t.wrap(ctx, "list groups of user "+name, err)
	}
	member := false
	for _, x := range groups {
		member = member || aws.ToString(x.GroupName) == group
	}
	if !member {
		return nil
	}
	if _, err := t.client.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: &name, GroupName: &group}); err != nil {
		return t.wrap(ctx, fmt.Sprintf("remove user %s from group %s", name, group), err)
	}
	t.log.Info("removed user from group", "user", name, "group", group)
	return nil
}

// groupName is the IAM group name of g: the last segment of its ARN
// (arn:aws:iam::123456789012:group/path/Name), else its Name.
func groupName(g targets.Group) string {
	if strings.HasPrefix(g.ID, "arn:") {
		if i := strings.LastIndex(g.ID, "/"); i >= 0 {
			return g.ID[i+1:]
		}
	}
	if g.Name != "" {
		return g.Name
	}
	return g.ID
}

// RevokeSessionsPolicy is the name of the inline policy RevokeSessions puts
// on a user.
const RevokeSessionsPolicy = "AccessreconRevokeOlderSessions"

// RevokeSessions puts on the user an inline policy (RevokeSessionsPolicy)
// denying every action to temporary credentials issued before now
// (aws:TokenIssueTime), the pattern AWS documents for revoking sessions:
// session tokens got with the user's keys stop working, the keys themselves
// (no token issue time) are not affected by it. Doing it again moves the
// cut-off to the new now. Undo: delete the inline policy. Only with
// revoke_sessions: true (otherwise ErrPermission, and Capabilities leaves it
// out).
func (t *Target) RevokeSessions(ctx context.Context, a targets.Account) error {
	if !t.cfg.RevokeSessions {
		return fmt.Errorf("aws: revoke sessions of user %s: revoke_sessions is false: %w", a.Username, targets.ErrPermission)
	}
	name, err := t.userName(ctx, a)
	if err != nil {
		return err
	}
	doc := revokeSessionsDocument(t.now())
	if _, err := t.client.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &name, PolicyName: aws.String(RevokeSessionsPolicy), PolicyDocument: &doc}); err != nil {
		return t.wrap(ctx, "put policy "+RevokeSessionsPolicy+" on user "+name, err)
	}
	t.log.Info("denied sessions issued before now", "user", name, "policy", RevokeSessionsPolicy)
	return nil
}

func revokeSessionsDocument(now time.Time) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"AccessreconRevokeOlderSessions","Effect":"Deny","Action":"*","Resource":"*",` +
		`"Condition":{"DateLessThan":{"aws:TokenIssueTime":"` + now.UTC().Format(time.RFC3339) + `"}}}]}`
}
