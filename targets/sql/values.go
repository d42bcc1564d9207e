package sqltarget

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/targets"
)

// The canonical columns of the accounts query.
var accountColumns = []string{
	"account_id", "username", "email", "employee_id", "display_name", "enabled",
	"last_login", "created", "privileged", "groups",
}

// The columns of the groups and credentials queries.
var (
	groupColumns      = []string{"account_id", "group_name"}
	credentialColumns = []string{"account_id", "credential_id", "kind", "created", "last_used", "active"}
)

// columns maps the columns a query returned onto canonical names. Unknown
// and duplicate columns are errors, as are missing required ones.
func columns(key string, got, known, required []string) (map[string]int, error) {
	idx := map[string]int{}
	var unknown []string
	for i, c := range got {
		n := strings.ToLower(strings.TrimSpace(c))
		if !slices.Contains(known, n) {
			unknown = append(unknown, c)
			continue
		}
		if _, dup := idx[n]; dup {
			return nil, fmt.Errorf("%s: column %s returned twice", key, n)
		}
		idx[n] = i
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%s: unknown column(s) %s (alias the columns to: %s)", key, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	var missing []string
	for _, c := range required {
		if _, ok := idx[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: missing required column(s) %s (the query returns: %s)", key, strings.Join(missing, ", "), strings.Join(got, ", "))
	}
	return idx, nil
}

// scanRow holds one row's values, reused across rows.
type scanRow struct {
	idx  map[string]int
	vals []any
	ptrs []any
}

func newScanRow(idx map[string]int, n int) *scanRow {
	r := &scanRow{idx: idx, vals: make([]any, n), ptrs: make([]any, n)}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r
}

func (r *scanRow) raw(c string) any {
	if i, ok := r.idx[c]; ok {
		return r.vals[i]
	}
	return nil
}

func (r *scanRow) has(c string) bool { _, ok := r.idx[c]; return ok }

func (r *scanRow) str(c string) string { return toString(r.raw(c)) }

func (r *scanRow) bool(c string, nullOK bool) (bool, error) {
	v := r.raw(c)
	if !nullOK && r.has(c) {
		switch x := v.(type) {
		case nil:
			return false, fmt.Errorf("column %s: NULL (want a boolean)", c)
		case string, []byte:
			if strings.TrimSpace(toString(x)) == "" {
				return false, fmt.Errorf("column %s: empty (want a boolean)", c)
			}
		}
	}
	b, err := toBool(v)
	if err != nil {
		return false, fmt.Errorf("column %s: %w", c, err)
	}
	return b, nil
}

func (r *scanRow) time(c string) (time.Time, error) {
	t, err := toTime(r.raw(c))
	if err != nil {
		return time.Time{}, fmt.Errorf("column %s: %w", c, err)
	}
	return t, nil
}

func (r *scanRow) account(loginTracked bool) (targets.Account, error) {
	a := targets.Account{
		ID:           r.str("account_id"),
		Username:     r.str("username"),
		Email:        r.str("email"),
		EmployeeID:   strings.TrimSpace(r.str("employee_id")),
		DisplayName:  r.str("display_name"),
		LoginTracked: loginTracked,
		Groups:       splitGroups(r.str("groups")),
	}
	if a.ID == "" {
		return targets.Account{}, errors.New("column account_id: empty or NULL")
	}
	var err error
	if a.Enabled, err = r.bool("enabled", false); err != nil {
		return targets.Account{}, err
	}
	if a.Privileged, err = r.bool("privileged", true); err != nil {
		return targets.Account{}, err
	}
	if a.LastLogin, err = r.time("last_login"); err != nil {
		return targets.Account{}, err
	}
	if a.Created, err = r.time("created"); err != nil {
		return targets.Account{}, err
	}
	return a, nil
}

func (r *scanRow) credential() (targets.Credential, error) {
	c := targets.Credential{ID: r.str("credential_id"), Kind: r.str("kind")}
	if c.ID == "" {
		return c, errors.New("column credential_id: empty or NULL")
	}
	var err error
	if c.Active, err = r.bool("active", false); err != nil {
		return c, err
	}
	if c.Created, err = r.time("created"); err != nil {
		return c, err
	}
	if c.LastUsed, err = r.time("last_used"); err != nil {
		return c, err
	}
	return c, nil
}

func splitGroups(s string) []targets.Group {
	var out []targets.Group
	for g := range strings.SplitSeq(s, ";") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, targets.Group{ID: g, Name: g})
		}
	}
	return out
}

func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// toBool reads a boolean stored as bool, integer 0/1 or text. NULL is false.
func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	case int64:
		switch x {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
		return false, fmt.Errorf("%d is not a boolean (want 0 or 1)", x)
	case float64:
		switch x {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
		return false, fmt.Errorf("%v is not a boolean (want 0 or 1)", x)
	case string, []byte:
		s := strings.ToLower(strings.TrimSpace(toString(x)))
		switch s {
		case "true", "yes", "1", "t", "y":
			return true, nil
		case "false", "no", "0", "f", "n", "":
			return false, nil
		}
		return false, fmt.Errorf("%q is not a boolean (want true/false, yes/no or 1/0)", s)
	}
	return false, fmt.Errorf("%T is not a boolean", v)
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
}

// toTime reads a time stored as a time, unix seconds or text. NULL, empty
// text and 0 are the zero time; text without a zone is UTC.
func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		if x.IsZero() {
			return time.Time{}, nil
		}
		return x.UTC(), nil
	case int64:
		if x == 0 {
			return time.Time{}, nil
		}
		return time.Unix(x, 0).UTC(), nil
	case float64:
		if x == 0 {
			return time.Time{}, nil
		}
		sec, frac := math.Modf(x)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	case string, []byte:
		s := strings.TrimSpace(toString(x))
		if s == "" {
			return time.Time{}, nil
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return toTime(n)
		}
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("unparseable time %q (want RFC 3339, YYYY-MM-DD, \"YYYY-MM-DD hh:mm:ss\" or unix seconds)", s)
	}
	return time.Time{}, fmt.Errorf("%T is not a time", v)
}
