package okta

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// user is the part of Okta's User the target reads.
type user struct {
	ID        string                     `json:"id"`
	Status    string                     `json:"status"`
	Created   time.Time                  `json:"created"`
	LastLogin *time.Time                 `json:"lastLogin"`
	Profile   map[string]json.RawMessage `json:"profile"`
}

type group struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	Embedded struct {
		Stats *struct {
			UsersCount       *int `json:"usersCount"`
			HasAdminPrivlege bool `json:"hasAdminPrivlege"` // sic: Okta's spelling
		} `json:"stats"`
	} `json:"_embedded"`
}

type apiToken struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	UserID      string     `json:"userId"`
	Created     time.Time  `json:"created"`
	ExpiresAt   *time.Time `json:"expiresAt"`
	TokenWindow string     `json:"tokenWindow"`
}

// index is what one listing learns before it streams users: group
// memberships, who holds an admin role, and the API tokens by owner.
type index struct {
	groups  []targets.Group
	admin   []bool             // admin[i]: groups[i] holds an admin role
	member  map[string][]int32 // user id → indexes into groups
	holders map[string]bool    // users assigned an admin role directly
	tokens  map[string][]targets.Credential
}

// Accounts lists every user (DEPROVISIONED included, unless search/filter
// narrows it) page by page. Before the first user it reads the org's groups
// and their members, the users holding admin roles and the API tokens: each
// is one paged listing, far fewer calls than asking per user.
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		ix, err := t.index(ctx)
		if err != nil {
			yield(targets.Account{}, fmt.Errorf("okta: list users: %w", err))
			return
		}
		q := url.Values{"limit": {strconv.Itoa(t.cfg.PageSize)}}
		switch {
		case t.cfg.Search != "":
			q.Set("search", t.cfg.Search)
		case t.cfg.Filter != "":
			q.Set("filter", t.cfg.Filter)
		default:
			q.Set("filter", everyStatus())
		}
		u := t.api.url("/api/v1/users", q)
		for pageNo := 1; u != nil; pageNo++ {
			var page []user
			next, err := t.api.get(ctx, u, &page)
			if err != nil {
				yield(targets.Account{}, fmt.Errorf("okta: list users (page %d): %w", pageNo, err))
				return
			}
			for i := range page {
				if err := ctx.Err(); err != nil {
					yield(targets.Account{}, fmt.Errorf("okta: list users: %w", err))
					return
				}
				a, err := t.account(&page[i])
				if err != nil {
					yield(targets.Account{}, fmt.Errorf("okta: list users: %w", err))
					return
				}
				ix.fill(&a)
				if !yield(a, nil) {
					return
				}
			}
			u = next
		}
	}
}

// everyStatus is a filter that matches every user: Okta's filter allows
// status with eq, joined by or. Without a filter or search the listing
// leaves DEPROVISIONED users out.
func everyStatus() string {
	parts := make([]string, len(allStatuses))
	for i, s := range allStatuses {
		parts[i] = `status eq "` + s + `"`
	}
	return strings.Join(parts, " or ")
}

func (t *Target) index(ctx context.Context) (*index, error) {
	ix := &index{member: map[string][]int32{}, holders: map[string]bool{}, tokens: map[string][]targets.Credential{}}
	limit := strconv.Itoa(t.cfg.PageSize)

	// Groups, then the members of each (BUILT_IN "Everyone" holds every user
	// and can be neither granted nor removed: it is left out).
	type walk struct {
		id  string
		idx int32
	}
	var walks []walk
	for u := t.api.url("/api/v1/groups", url.Values{"limit": {limit}, "expand": {"stats"}}); u != nil; {
		var page []group
		next, err := t.api.get(ctx, u, &page)
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		for _, g := range page {
			if g.Type == "BUILT_IN" || g.ID == "" {
				continue
			}
			name := g.Profile.Name
			if name == "" {
				name = g.ID
			}
			idx := int32(len(ix.groups))
			ix.groups = append(ix.groups, targets.Group{ID: g.ID, Name: name})
			admin := t.priv[strings.ToLower(name)]
			if s := g.Embedded.Stats; s != nil {
				admin = admin || s.HasAdminPrivlege
				if s.UsersCount != nil && *s.UsersCount == 0 {
					ix.admin = append(ix.admin, admin)
					continue // empty: no member listing
				}
			}
			ix.admin = append(ix.admin, admin)
			walks = append(walks, walk{g.ID, idx})
		}
		u = next
	}
	for _, w := range walks {
		path := "/api/v1/groups/" + url.PathEscape(w.id) + "/users"
		for u := t.api.url(path, url.Values{"limit": {limit}}); u != nil; {
			var page []struct {
				ID string `json:"id"`
			}
			next, err := t.api.get(ctx, u, &page)
			if err != nil {
				return nil, fmt.Errorf("list members of group %s: %w", w.id, err)
			}
			for _, m := range page {
				ix.member[m.ID] = append(ix.member[m.ID], w.idx)
			}
			u = next
		}
	}

	// Users holding an admin role directly (roles through groups are seen on
	// the groups: hasAdminPrivlege). Paged through _links.next.
	for u := t.api.url("/api/v1/iam/assignees/users", url.Values{"limit": {"100"}}); u != nil; {
		var page struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
			Links struct {
				Next *struct {
					Href string `json:"href"`
				} `json:"next"`
			} `json:"_links"`
		}
		if _, err := t.api.get(ctx, u, &page); err != nil {
			return nil, fmt.Errorf("list admin role holders: %w", err)
		}
		for _, v := range page.Value {
			ix.holders[v.ID] = true
		}
		next := (*url.URL)(nil)
		if page.Links.Next != nil && page.Links.Next.Href != "" {
			n, err := t.api.sameOrg(page.Links.Next.Href, u)
			if err != nil {
				return nil, err
			}
			next = n
		}
		u = next
	}

	if *t.cfg.APITokens {
		if err := t.apiTokens(ctx, func(tk apiToken) {
			ix.tokens[tk.UserID] = append(ix.tokens[tk.UserID], credential(tk))
		}); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// apiTokens lists the org's active API tokens.
func (t *Target) apiTokens(ctx context.Context, fn func(apiToken)) error {
	for u := t.api.url("/api/v1/api-tokens", nil); u != nil; {
		var page []apiToken
		next, err := t.api.get(ctx, u, &page)
		if err != nil {
			return fmt.Errorf("list API tokens (needs okta.apiTokens.read, or an SSWS token of a super admin; or set api_tokens: false): %w", err)
		}
		for _, tk := range page {
			fn(tk)
		}
		u = next
	}
	return nil
}

// credential maps an API token. Okta reports no last use, but it renews a
// token's expiresAt to (use + tokenWindow) on every use, and a token unused
// for its window expires: so the last use is expiresAt - tokenWindow.
func credential(tk apiToken) targets.Credential {
	c := targets.Credential{ID: tk.ID, Kind: "api_token", Created: tk.Created, Active: true}
	if w, ok := isoDuration(tk.TokenWindow); ok && tk.ExpiresAt != nil && !tk.ExpiresAt.IsZero() {
		if used := tk.ExpiresAt.Add(-w); !used.Before(tk.Created) {
			c.LastUsed = used
		}
	}
	return c
}

// isoDuration reads an ISO 8601 duration such as P30D or PT12H (years and
// months as 365 and 30 days).
func isoDuration(s string) (time.Duration, bool) {
	if len(s) < 3 || s[0] != 'P' {
		return 0, false
	}
	var d time.Duration
	inTime, num := false, -1
	units := map[bool]map[byte]time.Duration{
		false: {'Y': 365 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour},
		true:  {'H': time.Hour, 'M': time.Minute, 'S': time.Second},
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 'T' && !inTime && num < 0:
			inTime = true
		case c >= '0' && c <= '9':
			if num < 0 {
				num = 0
			}
			num = num*10 + int(c-'0')
			if num > 1_000_000 {
				return 0, false
			}
		default:
			u, ok := units[inTime][c]
			if !ok || num < 0 {
				return 0, false
			}
			d += time.Duration(num) * u
			num = -1
		}
	}
	return d, num < 0 && d > 0
}

// fill sets what the index knows about a.
func (ix *index) fill(a *targets.Account) {
	a.Privileged = ix.holders[a.ID]
	for _, i := range ix.member[a.ID] {
		a.Groups = append(a.Groups, ix.groups[i])
		if ix.admin[i] {
			a.Privileged = true
		}
	}
	sortGroups(a.Groups)
	a.Credentials = ix.tokens[a.ID]
}

func sortGroups(gs []targets.Group) {
	sort.Slice(gs, func(i, j int) bool {
		if li, lj := strings.ToLower(gs[i].Name), strings.ToLower(gs[j].Name); li != lj {
			return li < lj
		}
		return gs[i].ID < gs[j].ID
	})
}

// account maps an Okta user to an Account (without groups, roles, tokens).
func (t *Target) account(u *user) (targets.Account, error) {
	if u.ID == "" {
		return targets.Account{}, fmt.Errorf("a user without id")
	}
	a := targets.Account{
		ID:           u.ID,
		Username:     profileString(u.Profile, "login"),
		Email:        profileString(u.Profile, "email"),
		EmployeeID:   profileString(u.Profile, t.cfg.EmployeeIDAttribute),
		DisplayName:  profileString(u.Profile, "displayName"),
		Enabled:      enabledStatus[u.Status],
		LoginTracked: true,
		Created:      u.Created,
	}
	if a.DisplayName == "" {
		a.DisplayName = strings.TrimSpace(profileString(u.Profile, "firstName") + " " + profileString(u.Profile, "lastName"))
	}
	if u.LastLogin != nil {
		a.LastLogin = *u.LastLogin
	}
	return a, nil
}

// profileString reads a profile attribute: a string, or a number (custom
// attributes may be integers) as written.
func profileString(p map[string]json.RawMessage, key string) string {
	v, ok := p[key]
	if !ok || len(v) == 0 || string(v) == "null" {
		return ""
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	if v[0] == '[' || v[0] == '{' {
		return ""
	}
	return string(v)
}

// Account re-reads one user: GET /api/v1/users/{id}, its groups, its role
// assignments and (with api_tokens) its API tokens.
func (t *Target) Account(ctx context.Context, id string) (targets.Account, error) {
	wrap := func(err error) (targets.Account, error) {
		return targets.Account{}, fmt.Errorf("okta: get user %s: %w", id, err)
	}
	var u user
	if _, err := t.api.get(ctx, t.api.url("/api/v1/users/"+url.PathEscape(id), nil), &u); err != nil {
		return wrap(err)
	}
	a, err := t.account(&u)
	if err != nil {
		return wrap(err)
	}
	var groups []group
	if _, err := t.api.get(ctx, t.api.url("/api/v1/users/"+url.PathEscape(u.ID)+"/groups", nil), &groups); err != nil {
		return wrap(err)
	}
	for _, g := range groups {
		if g.Type == "BUILT_IN" {
			continue
		}
		name := g.Profile.Name
		if name == "" {
			name = g.ID
		}
		a.Groups = append(a.Groups, targets.Group{ID: g.ID, Name: name})
		if t.priv[strings.ToLower(name)] {
			a.Privileged = true
		}
	}
	sortGroups(a.Groups)
	var roles []struct {
		Type   string `json:"type"`
		Status string `json:"status"`
	}
	if _, err := t.api.get(ctx, t.api.url("/api/v1/users/"+url.PathEscape(u.ID)+"/roles", nil), &roles); err != nil {
		return wrap(err)
	}
	for _, r := range roles {
		if r.Status != "INACTIVE" {
			a.Privileged = true
		}
	}
	if *t.cfg.APITokens {
		if err := t.apiTokens(ctx, func(tk apiToken) {
			if tk.UserID == u.ID {
				a.Credentials = append(a.Credentials, credential(tk))
			}
		}); err != nil {
			return wrap(err)
		}
	}
	return a, nil
}

// status reads a user's current status; an unknown user wraps ErrNotFound.
func (t *Target) status(ctx context.Context, id string) (string, error) {
	var u struct {
		Status string `json:"status"`
	}
	_, err := t.api.get(ctx, t.api.url("/api/v1/users/"+url.PathEscape(id), nil), &u)
	return u.Status, err
}
