package okta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/accessrecon/accessrecon/targets"
)

// Disable suspends the user (disable: suspend, the default): POST
// /api/v1/users/{id}/lifecycle/suspend. The user can no longer sign in and
// keeps every group and app assignment; unsuspend reverses it. Okta suspends
// only ACTIVE users: a user that is PROVISIONED, RECOVERY, PASSWORD_EXPIRED or
// LOCKED_OUT gets an error naming the status (a person decides; or configure
// disable: deactivate). With disable: deactivate it POSTs
// lifecycle/deactivate?sendEmail=false instead: irreversible, every app
// assignment is deprovisioned. A SUSPENDED, DEPROVISIONED or STAGED user
// (none can sign in) is left as it is.
func (t *Target) Disable(ctx context.Context, a targets.Account) error {
	fail := func(err error) error { return fmt.Errorf("okta: disable user %s: %w", a.ID, err) }
	status, err := t.status(ctx, a.ID)
	if err != nil {
		return fail(err)
	}
	switch status {
	case "DEPROVISIONED", "STAGED":
		return nil
	case "SUSPENDED":
		if t.cfg.Disable == "suspend" {
			return nil
		}
	}
	path := "/api/v1/users/" + url.PathEscape(a.ID) + "/lifecycle/"
	if t.cfg.Disable == "deactivate" {
		return wrapNil(fail, t.api.send(ctx, http.MethodPost, path+"deactivate", url.Values{"sendEmail": {"false"}}))
	}
	if status != "ACTIVE" {
		return fail(fmt.Errorf("status %s: Okta suspends only ACTIVE users; deactivate this user by hand (irreversible) or configure disable: deactivate", status))
	}
	return wrapNil(fail, t.api.send(ctx, http.MethodPost, path+"suspend", nil))
}

// RevokeSessions ends the user's Okta sessions and revokes the OpenID
// Connect/OAuth access and refresh tokens issued to them (DELETE
// /api/v1/users/{id}/sessions?oauthTokens=true), then revokes every OAuth
// grant (consent) they gave apps (DELETE /api/v1/users/{id}/grants).
func (t *Target) RevokeSessions(ctx context.Context, a targets.Account) error {
	fail := func(err error) error { return fmt.Errorf("okta: revoke sessions of user %s: %w", a.ID, err) }
	base := "/api/v1/users/" + url.PathEscape(a.ID)
	if err := t.api.send(ctx, http.MethodDelete, base+"/sessions", url.Values{"oauthTokens": {"true"}}); err != nil {
		return fail(err)
	}
	return wrapNil(fail, t.api.send(ctx, http.MethodDelete, base+"/grants", nil))
}

// RevokeCredential revokes one of the user's API tokens (DELETE
// /api/v1/api-tokens/{id}) after checking that it is theirs. A token already
// revoked is success; a user that no longer exists wraps ErrNotFound.
func (t *Target) RevokeCredential(ctx context.Context, a targets.Account, c targets.Credential) error {
	fail := func(err error) error {
		return fmt.Errorf("okta: revoke API token %s of user %s: %w", c.ID, a.ID, err)
	}
	if c.Kind != "api_token" {
		return fail(fmt.Errorf("credential kind %q is not an Okta API token", c.Kind))
	}
	path := "/api/v1/api-tokens/" + url.PathEscape(c.ID)
	var tk apiToken
	_, err := t.api.get(ctx, t.api.url(path, nil), &tk)
	if errors.Is(err, targets.ErrNotFound) {
		// Gone already: done, unless the user is gone too.
		if _, serr := t.status(ctx, a.ID); serr != nil {
			return fail(serr)
		}
		return nil
	}
	if err != nil {
		return fail(err)
	}
	if tk.UserID != a.ID {
		return fail(fmt.Errorf("the token belongs to user %s, not to this user: not revoked", tk.UserID))
	}
	err = t.api.send(ctx, http.MethodDelete, path, nil)
	if errors.Is(err, targets.ErrNotFound) {
		return nil // revoked in between
	}
	return wrapNil(fail, err)
}

// RemoveFromGroup removes the user from an Okta-mastered group (OKTA_GROUP):
// DELETE /api/v1/groups/{gid}/users/{id}. Memberships of APP_GROUP groups are
// imported from an app (Active Directory, LDAP, an HR system) and can only be
// changed there, and BUILT_IN groups not at all: both are refused with an
// error naming the group, so that a person does it at the source.
func (t *Target) RemoveFromGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	fail := func(err error) error {
		return fmt.Errorf("okta: remove user %s from group %q (%s): %w", a.ID, g.Name, g.ID, err)
	}
	if g.ID == "" {
		return fail(errors.New("the group has no ID (groups come from this target's listing)"))
	}
	var grp group
	if _, err := t.api.get(ctx, t.api.url("/api/v1/groups/"+url.PathEscape(g.ID), nil), &grp); err != nil {
		return fail(err)
	}
	switch grp.Type {
	case "OKTA_GROUP":
	case "APP_GROUP":
		return fail(errors.New("an APP_GROUP: its members are imported from an app (such as Active Directory); remove the membership there"))
	default:
		return fail(fmt.Errorf("a %s group: Okta does not let its members be changed", grp.Type))
	}
	return wrapNil(fail, t.api.send(ctx, http.MethodDelete, "/api/v1/groups/"+url.PathEscape(g.ID)+"/users/"+url.PathEscape(a.ID), nil))
}

func wrapNil(fail func(error) error, err error) error {
	if err != nil {
		return fail(err)
	}
	return nil
}
