package scim

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/accessrecon/accessrecon/targets"
)

// Enable sets active back to true (drill canaries only: the wiring in cmd
// refuses any other account), by PATCH or PUT as disable: says. A server
// configured with disable: delete removed the user: nothing to re-enable.
func (t *Target) Enable(ctx context.Context, a targets.Account) error {
	path := userPath(a.ID)
	var err error
	switch t.cfg.Disable {
	case "patch":
		op := map[string]any{
			"schemas":    []string{patchOpURN},
			"Operations": []map[string]any{{"op": "replace", "path": "active", "value": true}},
		}
		err = t.do(ctx, http.MethodPatch, path, nil, op, nil)
	case "put":
		var obj map[string]json.RawMessage
		if err = t.do(ctx, http.MethodGet, path, nil, nil, &obj); err == nil {
			for k := range obj {
				if strings.EqualFold(k, "active") {
					delete(obj, k)
				}
			}
			obj["active"] = json.RawMessage("true")
			err = t.do(ctx, http.MethodPut, path, nil, obj, nil)
		}
	default:
		err = fmt.Errorf("disable: %s removed the user: it cannot be re-enabled", t.cfg.Disable)
	}
	if err != nil {
		return fmt.Errorf("scim: enable user %s: %w", a.ID, err)
	}
	return nil
}

// AddToGroup adds the user to the group (drill canaries only) with a PATCH
// add of members; already a member is success.
func (t *Target) AddToGroup(ctx context.Context, a targets.Account, g targets.Group) error {
	name := cmp.Or(g.Name, g.ID)
	gid := g.ID
	var err error
	if gid == "" || gid == g.Name {
		if gid, err = t.groupID(ctx, name); err != nil {
			return fmt.Errorf("scim: add user %s to group %q: %w", a.ID, name, err)
		}
	}
	op := map[string]any{
		"schemas": []string{patchOpURN},
		"Operations": []map[string]any{{
			"op":    "add",
			"path":  "members",
			"value": []map[string]string{{"value": a.ID}},
		}},
	}
	err = t.do(ctx, http.MethodPatch, "/Groups/"+url.PathEscape(gid), nil, op, nil)
	var he *httpError
	if errors.As(err, &he) && he.Status == http.StatusConflict {
		err = nil // already a member
	}
	if err != nil {
		return fmt.Errorf("scim: add user %s to group %q (%s): %w", a.ID, name, gid, err)
	}
	return nil
}

var (
	_ targets.Enabler    = (*Target)(nil)
	_ targets.GroupAdder = (*Target)(nil)
)
