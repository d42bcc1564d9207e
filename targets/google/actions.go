package google

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/accessrecon/accessrecon/targets"
)

// Disable suspends the user: users.patch {"suspended": true}. Suspending a
// suspended user succeeds; an unknown user wraps ErrNotFound.
func (t *Target) Disable(ctx context.Context, a targets.Account) error {
	body := map[string]bool{"suspended": true}
	q := url.Values{"fields": {"id,suspended"}}
	if err := t.call(ctx, http.MethodPatch, "users/"+esc(a.ID), q, body, nil); err != nil {
		return fmt.Errorf("google: suspend user %s: %w", a.ID, err)
	}
	return nil
}

// RevokeSessions signs the user out of every web and device session
// (users.signOut). With credentials: skip it also deletes every OAuth token
// and app password of the user, since those are not listed as credentials
// for the executor to revoke one by one.
func (t *Target) RevokeSessions(ctx context.Context, a targets.Account) error {
	if err := t.call(ctx, http.MethodPost, "users/"+esc(a.ID)+"/signOut", nil, nil, nil); err != nil {
		return fmt.Errorf("google: sign out user %s: %w", a.ID, err)
	}
	if t.cfg.Credentials != "skip" {
		return nil
	}
	cs, err := t.credentialsOf(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("google: sign out user %s: list tokens: %w", a.ID, err)
	}
	for _, c := range cs {
		if err := t.deleteCredential(ctx, a.ID, c.ID); err != nil && !errors.Is(err, targets.ErrNotFound) {
			return fmt.Errorf("google: sign out user %s: revoke %s: %w", a.ID, c.ID, err)
		}
	}
	return nil
}

// RevokeCredential deletes one OAuth token (tokens.delete, ID
// "oauth:<clientId>") or app password (asps.delete, ID "asp:<codeId>").
// One already gone succeeds; an unknown user wraps ErrNotFound.
func (t *Target) RevokeCredential(ctx context.Context, a targets.Account, c targets.Credential) error {
	err := t.deleteCredential(ctx, a.ID, c.ID)
	if errors.Is(err, targets.ErrNotFound) {
		err = t.userExists(ctx, a.ID) // the token is gone; is the user?
	}
	if err != nil {
		return fmt.Errorf("google: revoke %s of user %s: %w", c.ID, a.ID, err)
	}
	return nil
}

func (t *Target) deleteCredential(ctx context.Context, userID, credID string) error {
	switch {
	case strings.HasPrefix(credID, oauthPrefix):
		return t.call(ctx, http.MethodDelete, "users/"+esc(userID)+"/tokens/"+esc(strings.TrimPrefix(credID, oauthPrefix)), nil, nil, nil)
	case strings.HasPrefix(credID, aspPrefix):
		code := strings.TrimPrefix(credID, aspPrefix)
		if _, err := strconv.ParseInt(code, 10, 32); err != nil {
			return fmt.Errorf("credential %q: app password code %q is not a number", credID, code)
		}
		return t.call(ctx, http.MethodDelete, "users/"+esc(userID)+"/asps/"+code, nil, nil, nil)
	}
	return fmt.Errorf("credential %q is neither oauth:<clientId> nor asp:<codeId>", credID)
}

// RemoveFromGroup removes the user from the group (members.delete, by
// group ID; by the group's email when the ID is not known and group_name
// is email). A membership already gone succeeds; an unknown user or group
// wraps ErrNotFound.
func (t *Target) RemoveFromGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	key := g.ID
	if key == "" {
		key = g.Name // groups.* take the group's email (or an alias) as groupKey
	}
	if key == "" {
		return fmt.Errorf("google: remove user %s from a group with neither ID nor name", a.ID)
	}
	err := t.call(ctx, http.MethodDelete, "groups/"+esc(key)+"/members/"+esc(a.ID), nil, nil, nil)
	if errors.Is(err, targets.ErrNotFound) {
		// 404 answers an unknown group, an unknown user and a user who is
		// not a member alike: ask which.
		if err = t.userExists(ctx, a.ID); err == nil {
			err = t.call(ctx, http.MethodGet, "groups/"+esc(key), url.Values{"fields": {"id"}}, nil, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("google: remove user %s from group %s (%s): %w", a.ID, g.Name, key, err)
	}
	return nil
}

func (t *Target) userExists(ctx context.Context, id string) error {
	return t.call(ctx, http.MethodGet, "users/"+esc(id), url.Values{"fields": {"id"}}, nil, nil)
}

var (
	_ targets.Disabler          = (*Target)(nil)
	_ targets.SessionRevoker    = (*Target)(nil)
	_ targets.CredentialRevoker = (*Target)(nil)
	_ targets.GroupRemover      = (*Target)(nil)
)
