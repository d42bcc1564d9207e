package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/accessrecon/accessrecon/targets"
)

// Account re-reads one user: its properties, direct group memberships and
// directory roles. An unknown ID wraps targets.ErrNotFound.
func (t *Target) Account(ctx context.Context, id string) (targets.Account, error) {
	holders, err := t.loadRoles(ctx)
	if err != nil {
		return targets.Account{}, err
	}
	tracked := !t.cfg.SkipSignInActivity
	var u graphUser
	if tracked {
		err = t.getJSON(ctx, t.url(fill(pathUser, id), query(userSelect, 0, "", nil)), &u)
		if isStatus(err, http.StatusForbidden) {
			tracked = false // no signInActivity here: see Accounts
		}
	}
	if !tracked {
		u = graphUser{}
		err = t.getJSON(ctx, t.url(fill(pathUser, id), query(withoutSignInActivity, 0, "", nil)), &u)
	}
	if err != nil {
		return targets.Account{}, fmt.Errorf("entra: get user %s: %w", id, err)
	}
	a := t.account(u, tracked, &directory{roleHolders: holders})
	gs, err := t.userGroups(ctx, u.ID)
	if err != nil {
		return targets.Account{}, err
	}
	a.Groups = gs
	a.Privileged = a.Privileged || holdsRoleThroughGroup(gs, holders)
	return a, nil
}

// userState reads what Disable decides on.
func (t *Target) userState(ctx context.Context, id string) (graphUser, error) {
	var u graphUser
	err := t.getJSON(ctx, t.url(fill(pathUser, id), query(userStateSelect, 0, "", nil)), &u)
	return u, err
}

// Disable sets accountEnabled to false (PATCH /users/{id}), which blocks new
// sign-ins; it does not end existing sessions (RevokeSessions does). A user
// synchronised from on-premises AD is not changed: Graph refuses it, and the
// next sync would undo it; the *ManualStepError says to disable it in AD.
// Already disabled: nothing is sent.
func (t *Target) Disable(ctx context.Context, a targets.Account) error {
	u, err := t.userState(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("entra: disable user %s: %w", a.ID, err)
	}
	if u.OnPremisesSyncEnabled != nil && *u.OnPremisesSyncEnabled {
		return &ManualStepError{
			Action: "disable", Object: describeUser(a),
			Reason: "the user is synchronised from on-premises Active Directory (onPremisesSyncEnabled), so Graph cannot change accountEnabled and the next sync would restore it",
			Step:   "disable the account in Active Directory (the AD target); sign-in sessions can still be revoked here",
		}
	}
	if u.AccountEnabled != nil && !*u.AccountEnabled {
		return nil
	}
	err = t.write(ctx, http.MethodPatch, t.url(fill(pathUser, a.ID), ""), map[string]bool{disableProperty: false})
	if err != nil {
		return fmt.Errorf("entra: disable user %s: %w", a.ID, err)
	}
	return nil
}

// RevokeSessions invalidates the user's refresh tokens and session cookies
// (POST /users/{id}/revokeSignInSessions). Access tokens already issued stay
// valid until they expire (about an hour) unless the app supports
// continuous access evaluation. Works for synchronised users too.
func (t *Target) RevokeSessions(ctx context.Context, a targets.Account) error {
	if err := t.write(ctx, http.MethodPost, t.url(fill(pathRevokeSessions, a.ID), ""), nil); err != nil {
		return fmt.Errorf("entra: revoke sign-in sessions of user %s: %w", a.ID, err)
	}
	return nil
}

// RemoveFromGroup removes the user from the group g.ID (DELETE
// /groups/{gid}/members/{id}/$ref). Dynamic, role-assignable and
// on-premises synchronised groups are not changed (*ManualStepError). Not a
// member (any more): success. An unknown user or group wraps ErrNotFound.
func (t *Target) RemoveFromGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	var grp graphGroup
	if err := t.getJSON(ctx, t.url(fill(pathGroup, g.ID), query(groupSelect, 0, "", nil)), &grp); err != nil {
		return fmt.Errorf("entra: remove user %s from group %q: %w", a.ID, g.Name, err)
	}
	if m := groupNotEditable(grp); m != nil {
		m.Object = fmt.Sprintf("%s from group %q (%s)", describeUser(a), grp.DisplayName, grp.ID)
		return m
	}
	err := t.write(ctx, http.MethodDelete, t.url(fill(pathGroupMemberRef, g.ID, a.ID), ""), nil)
	if errors.Is(err, targets.ErrNotFound) {
		// Graph answers 404 both for a membership that is not there and
		// for a user that is gone: tell them apart.
		var u graphUser
		if uerr := t.getJSON(ctx, t.url(fill(pathUser, a.ID), query([]string{"id"}, 0, "", nil)), &u); uerr != nil {
			return fmt.Errorf("entra: remove user %s from group %q: %w", a.ID, g.Name, uerr)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("entra: remove user %s from group %q: %w", a.ID, g.Name, err)
	}
	return nil
}

// groupNotEditable says why Graph cannot (or must not) remove a member.
func groupNotEditable(g graphGroup) *ManualStepError {
	switch {
	case slices.ContainsFunc(g.GroupTypes, func(s string) bool { return strings.EqualFold(s, "DynamicMembership") }):
		return &ManualStepError{Action: "remove",
			Reason: "the group's membership is dynamic (rule: " + g.MembershipRule + "); members cannot be removed",
			Step:   "change the user attribute the rule matches, or the rule"}
	case g.OnPremisesSyncEnabled != nil && *g.OnPremisesSyncEnabled:
		return &ManualStepError{Action: "remove",
			Reason: "the group is synchronised from on-premises Active Directory",
			Step:   "remove the member in Active Directory (the AD target)"}
	case g.IsAssignableToRole != nil && *g.IsAssignableToRole:
		return &ManualStepError{Action: "remove",
			Reason: "the group is role-assignable: its members hold directory roles, and changing it needs the Privileged Role Administrator role, which this application should not have",
			Step:   "a Privileged Role Administrator removes the member (Entra admin center, Groups, Members)"}
	}
	return nil
}

func describeUser(a targets.Account) string {
	if a.Username != "" {
		return fmt.Sprintf("user %s (%s)", a.Username, a.ID)
	}
	return "user " + a.ID
}

var (
	_ targets.Target         = (*Target)(nil)
	_ targets.Getter         = (*Target)(nil)
	_ targets.Disabler       = (*Target)(nil)
	_ targets.SessionRevoker = (*Target)(nil)
	_ targets.GroupRemover   = (*Target)(nil)
	_ targets.SecretConfig   = (*Config)(nil)
	_ targets.PathConfig     = (*Config)(nil)
)
