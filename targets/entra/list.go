package entra

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"time"

	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// The JSON shapes read from Graph. Every field is checked against the CSDL
// (csdl_test.go).
type graphUser struct {
	ID                       string               `json:"id"`
	UserPrincipalName        string               `json:"userPrincipalName"`
	Mail                     string               `json:"mail"`
	EmployeeID               string               `json:"employeeId"`
	AccountEnabled           *bool                `json:"accountEnabled"`
	CreatedDateTime          *time.Time           `json:"createdDateTime"`
	SignInActivity           *graphSignInActivity `json:"signInActivity"`
	UserType                 string               `json:"userType"`
	OnPremisesSamAccountName string               `json:"onPremisesSamAccountName"`
	OnPremisesSyncEnabled    *bool                `json:"onPremisesSyncEnabled"`
}

type graphSignInActivity struct {
	LastSignInDateTime               *time.Time `json:"lastSignInDateTime"`
	LastNonInteractiveSignInDateTime *time.Time `json:"lastNonInteractiveSignInDateTime"`
	LastSuccessfulSignInDateTime     *time.Time `json:"lastSuccessfulSignInDateTime"`
}

type graphGroup struct {
	ID                    string   `json:"id"`
	DisplayName           string   `json:"displayName"`
	GroupTypes            []string `json:"groupTypes"`
	IsAssignableToRole    *bool    `json:"isAssignableToRole"`
	OnPremisesSyncEnabled *bool    `json:"onPremisesSyncEnabled"`
	MembershipRule        string   `json:"membershipRule"`
}

type graphRoleAssignment struct {
	ID               string               `json:"id"`
	PrincipalID      string               `json:"principalId"`
	RoleDefinitionID string               `json:"roleDefinitionId"`
	DirectoryScopeID string               `json:"directoryScopeId"`
	RoleDefinition   *graphRoleDefinition `json:"roleDefinition"`
}

type graphRoleDefinition struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	TemplateID  string `json:"templateId"`
}

type graphPage[T any] struct {
	NextLink string `json:"@odata.nextLink"`
	Value    []T    `json:"value"`
}

// walk GETs first and every @odata.nextLink after it, calling fn for each
// page. A next link that leaves the Graph endpoint is an error (the token
// would go with it).
func walk[T any](ctx context.Context, t *Target, what, first string, fn func([]T) error) error {
	next := first
	for next != "" {
		var p graphPage[T]
		if err := t.getJSON(ctx, next, &p); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := fn(p.Value); err != nil {
			return err
		}
		if p.NextLink != "" && !t.sameOrigin(p.NextLink) {
			return fmt.Errorf("%s: @odata.nextLink %q is not under %s: not followed", what, pathOf(p.NextLink), t.graph)
		}
		next = p.NextLink
	}
	return nil
}

// directory is what a listing learns before the users: memberships (in
// members mode) and who holds directory roles.
type directory struct {
	groups []targets.Group
	// byUser maps a user ID to indexes into groups (members mode only).
	byUser map[string][]int32
	// roleHolders are the principals (users, role-assignable groups) with
	// an active directory role, with the roles' names.
	roleHolders map[string][]string
}

// loadRoles reads every active directory role assignment, once.
func (t *Target) loadRoles(ctx context.Context) (map[string][]string, error) {
	holders := map[string][]string{}
	u := t.url(pathRoleAssignments, query(roleAssignmentSelect, 0, "roleDefinition", roleDefinitionSelect))
	err := walk(ctx, t, "entra: directory role assignments", u, func(page []graphRoleAssignment) error {
		for _, a := range page {
			name := a.RoleDefinitionID
			if a.RoleDefinition != nil && a.RoleDefinition.DisplayName != "" {
				name = a.RoleDefinition.DisplayName
			}
			if !slices.Contains(holders[a.PrincipalID], name) {
				holders[a.PrincipalID] = append(holders[a.PrincipalID], name)
			}
		}
		return nil
	})
	return holders, err
}

// loadMemberships walks every group and its user members, once.
func (t *Target) loadMemberships(ctx context.Context, d *directory) error {
	d.byUser = map[string][]int32{}
	var groups []graphGroup
	err := walk(ctx, t, "entra: list groups", t.url(pathGroups, query(groupSelect, t.cfg.PageSize, "", nil)), func(page []graphGroup) error {
		groups = append(groups, page...)
		return nil
	})
	if err != nil {
		return err
	}
	for _, g := range groups {
		idx := int32(len(d.groups))
		d.groups = append(d.groups, targets.Group{ID: g.ID, Name: g.DisplayName})
		u := t.url(fill(pathGroupMembers, g.ID), query(memberSelect, t.cfg.PageSize, "", nil))
		err := walk(ctx, t, "entra: members of group "+g.DisplayName, u, func(page []struct {
			ID string `json:"id"`
		}) error {
			for _, m := range page {
				d.byUser[m.ID] = append(d.byUser[m.ID], idx)
			}
			return nil
		})
		if errors.Is(err, targets.ErrNotFound) {
			continue // deleted since the group listing
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// userGroups reads one user's direct group memberships (memberOf).
func (t *Target) userGroups(ctx context.Context, id string) ([]targets.Group, error) {
	var out []targets.Group
	u := t.url(fill(pathUserMemberOf, id), query(groupSelect, t.cfg.PageSize, "", nil))
	err := walk(ctx, t, "entra: groups of user "+id, u, func(page []graphGroup) error {
		for _, g := range page {
			out = append(out, targets.Group{ID: g.ID, Name: g.DisplayName})
		}
		return nil
	})
	return out, err
}

// Accounts lists every user. Before the first user it reads the directory
// role assignments and (groups: members) every group's members; then it
// streams /users page by page.
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		var d directory
		var err error
		if d.roleHolders, err = t.loadRoles(ctx); err != nil {
			yield(targets.Account{}, err)
			return
		}
		if t.cfg.Groups == GroupsMembers {
			if err := t.loadMemberships(ctx, &d); err != nil {
				yield(targets.Account{}, err)
				return
			}
		}
		tracked := !t.cfg.SkipSignInActivity
		first := true
		for {
			sel := userSelect
			if !tracked {
				sel = withoutSignInActivity
			}
			stopped := false
			err := walk(ctx, t, "entra: list users", t.url(pathUsers, query(sel, t.cfg.PageSize, "", nil)), func(page []graphUser) error {
				first = false
				for _, u := range page {
					a := t.account(u, tracked, &d)
					if t.cfg.Groups == GroupsMemberOf {
						gs, err := t.userGroups(ctx, u.ID)
						if err != nil {
							return err
						}
						a.Groups = gs
						a.Privileged = a.Privileged || holdsRoleThroughGroup(gs, d.roleHolders)
					}
					if !yield(a, nil) {
						stopped = true
						return errStop
					}
				}
				return nil
			})
			if stopped {
				return
			}
			if err != nil && first && tracked && isStatus(err, http.StatusForbidden) {
				// Selecting signInActivity needs AuditLog.Read.All and an
				// Entra ID P1/P2 licence; without them Graph refuses the
				// whole request.
				t.log.Warn("entra: Graph refused signInActivity (it needs the AuditLog.Read.All permission and Entra ID P1/P2); listing without it: logins are not tracked and no dormancy is concluded", "err", err)
				tracked = false
				continue
			}
			if err != nil {
				if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
					err = fmt.Errorf("%w (%w)", err, cerr)
				}
				yield(targets.Account{}, err)
			}
			return
		}
	}
}

var errStop = errors.New("consumer stopped")

// isStatus says whether err is Graph's answer with that HTTP status.
func isStatus(err error, code int) bool {
	var se *upstream.StatusError
	return errors.As(err, &se) && se.Code == code
}

var withoutSignInActivity = slices.DeleteFunc(slices.Clone(userSelect), func(s string) bool { return s == "signInActivity" })

func holdsRoleThroughGroup(gs []targets.Group, holders map[string][]string) bool {
	for _, g := range gs {
		if len(holders[g.ID]) > 0 {
			return true
		}
	}
	return false
}

// account maps a Graph user.
func (t *Target) account(u graphUser, tracked bool, d *directory) targets.Account {
	a := targets.Account{
		ID:           u.ID,
		Username:     u.UserPrincipalName,
		Email:        u.Mail,
		EmployeeID:   u.EmployeeID,
		Enabled:      u.AccountEnabled == nil || *u.AccountEnabled,
		LoginTracked: tracked,
		Privileged:   len(d.roleHolders[u.ID]) > 0,
	}
	if t.cfg.Username == UsernameSamAccountName && u.OnPremisesSamAccountName != "" {
		a.Username = u.OnPremisesSamAccountName
	}
	if u.CreatedDateTime != nil {
		a.Created = *u.CreatedDateTime
	}
	if tracked {
		a.LastLogin = lastLogin(u.SignInActivity)
	}
	if d.byUser != nil {
		idx := d.byUser[u.ID]
		if len(idx) > 0 {
			a.Groups = make([]targets.Group, len(idx))
			for i, x := range idx {
				a.Groups[i] = d.groups[x]
				if len(d.roleHolders[d.groups[x].ID]) > 0 {
					a.Privileged = true
				}
			}
		}
	}
	return a
}

// lastLogin is the last successful sign-in, interactive or not. Graph has
// recorded lastSuccessfulSignInDateTime since December 2023; for a user with
// no value there, the later of the last interactive and non-interactive
// attempts is used (those count failed attempts too). None: never (zero).
func lastLogin(s *graphSignInActivity) time.Time {
	if s == nil {
		return time.Time{}
	}
	if s.LastSuccessfulSignInDateTime != nil {
		return *s.LastSuccessfulSignInDateTime
	}
	var out time.Time
	for _, p := range []*time.Time{s.LastSignInDateTime, s.LastNonInteractiveSignInDateTime} {
		if p != nil && p.After(out) {
			out = *p
		}
	}
	return out
}
