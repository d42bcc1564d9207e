// Package targets holds the contract between accessrecon and every system that
// grants access: the Account it lists, the Target interface, the optional
// capabilities a target may have (disable, revoke sessions, revoke a
// credential, remove from a group, re-read one account), the sentinel errors
// they return, and Secret for credentials in configuration.
//
// The model is database/sql/driver's: one required method (Accounts), and each
// further ability a small optional interface resolved once at wiring time
// (if d, ok := t.(targets.Disabler)). What a target cannot do automatically
// becomes a manual step for a person; a target grows by adding an optional
// interface, never by changing Target.
//
// Every capability is idempotent: doing it twice is fine, and an account that
// is already gone returns an error wrapping ErrNotFound. A capability that
// fails in a way that may be retried returns (or wraps) a *TransientError.
//
// Connectors receive their secrets as values: a configuration that needs one
// implements SecretConfig, and the wiring in cmd reads each SecretField (from
// the environment or a file) before the connector is built. Text that comes
// back from an upstream system passes through a Redactor before it leaves a
// connector, since errors end up in evidence kept for years.
//
// This package holds types and pure functions only; it does no I/O.
package targets

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Account is one account on a target. ID is the target's native identifier
// (never an email); matching accounts to people is reconcile's job.
type Account struct {
	ID       string
	Username string
	Email    string
	// DN is the account's distinguished name on a directory (empty
	// elsewhere): people write it in exemptions and holds.
	DN          string
	EmployeeID  string
	DisplayName string
	Enabled     bool
	// LoginTracked says whether the target reports logins for this account.
	// When true, a zero LastLogin means "never logged in"; when false the
	// last login is unknown and no dormancy conclusion may be drawn.
	LoginTracked bool
	LastLogin    time.Time
	Created      time.Time
	Privileged   bool
	Groups       []Group
	Credentials  []Credential
}

// Group is one group the account is a member of. ID is stable (a DN, an
// object ID) and is what actions use; Name is what people write (a CN, a
// display name) and is what policies, baselines and reports use, compared
// case-insensitively. A target whose groups have only a name uses it for both.
type Group struct {
	ID   string
	Name string
}

// NamedGroups makes groups known only by name (a CSV export, an SQL table
// of names): each name is also the ID.
func NamedGroups(names ...string) []Group {
	if len(names) == 0 {
		return nil
	}
	out := make([]Group, len(names))
	for i, n := range names {
		out[i] = Group{ID: n, Name: n}
	}
	return out
}

// GroupNames lists the names of gs, in order.
func GroupNames(gs []Group) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Name
	}
	return out
}

// Credential is an API key, token or similar secret that keeps working on its
// own, independently of the account's enabled flag.
type Credential struct {
	ID       string
	Kind     string
	Created  time.Time
	LastUsed time.Time // zero: never used, or not reported
	Active   bool
}

// Target lists accounts. Accounts yields every account once; on failure it
// yields one (Account{}, err) and stops; it stops promptly when the consumer
// breaks or ctx ends.
type Target interface {
	Accounts(ctx context.Context) iter.Seq2[Account, error]
}

// Getter re-reads one account by its native ID, so that an action can be
// verified without listing the whole target. An unknown ID returns an error
// wrapping ErrNotFound.
type Getter interface {
	Account(ctx context.Context, id string) (Account, error)
}

// Disabler disables (suspends, locks, deactivates: the reversible form the
// system offers) an account.
type Disabler interface {
	Disable(ctx context.Context, a Account) error
}

// SessionRevoker ends the account's active sessions and refresh tokens.
type SessionRevoker interface {
	RevokeSessions(ctx context.Context, a Account) error
}

// CredentialRevoker deactivates one of the account's credentials.
type CredentialRevoker interface {
	RevokeCredential(ctx context.Context, a Account, c Credential) error
}

// GroupRemover removes the account from one group, identified by g.ID (as
// Account.Groups lists it; Name is for messages).
type GroupRemover interface {
	RemoveFromGroup(ctx context.Context, a Account, g Group) error
}

// ErrNotFound is wrapped by capabilities when the account (or credential, or
// group membership) does not exist on the target.
var ErrNotFound = errors.New("not found")

// ErrPermission is wrapped when the target refuses the action for lack of
// rights: retrying will not help, a person must fix the connector's grants.
var ErrPermission = errors.New("permission denied")

// TransientError marks a failure that may succeed when retried: a timeout, a
// 429 or a 5xx. RetryAfter is the delay the target asked for (zero when it did
// not say). Every capability is idempotent, so retrying one that may have
// happened is safe.
type TransientError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *TransientError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%v (transient, retry after %s)", e.Err, e.RetryAfter)
	}
	return fmt.Sprintf("%v (transient)", e.Err)
}

func (e *TransientError) Unwrap() error { return e.Err }

// ParseRetryAfter reads an HTTP Retry-After header: delay-seconds or an
// HTTP date, measured from now. given is false when the header is absent or
// unreadable; a negative delay or a past date is zero.
func ParseRetryAfter(h string, now time.Time) (wait time.Duration, given bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(h); err == nil {
		return time.Duration(max(n, 0)) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Transient wraps err as a *TransientError.
func Transient(err error, retryAfter time.Duration) error {
	return &TransientError{Err: err, RetryAfter: retryAfter}
}

// Secret is a credential read from the environment or a file. It never
// prints: String, GoString, slog and JSON all show REDACTED.
type Secret string

// Reveal returns the secret's value, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string                { return "REDACTED" }
func (s Secret) GoString() string              { return "REDACTED" }
func (s Secret) LogValue() slog.Value          { return slog.StringValue("REDACTED") }
func (s Secret) MarshalJSON() ([]byte, error)  { return []byte(`"REDACTED"`), nil }
func (s Secret) MarshalText() ([]byte, error)  { return []byte("REDACTED"), nil }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("REDACTED")) }

// SecretField is one secret a connector's configuration asks for: where it
// comes from (the values of its *_env and *_file keys) and where the wiring
// stores it. File is relative to the configuration file.
type SecretField struct {
	// Key is the config key's stem, for messages: "token" for token_env and
	// token_file.
	Key      string
	Env      string
	File     string
	Value    *Secret
	Optional bool
}

// SecretConfig is implemented by a connector configuration (pointer
// receiver) that needs secrets. The wiring resolves every field before the
// connector is built; connectors never read the environment or secret files.
type SecretConfig interface {
	SecretFields() []SecretField
}

// PathConfig is implemented by a connector configuration that names files
// other than secrets. The wiring calls ResolvePaths with the directory of the
// configuration file, and every relative path becomes relative to it.
type PathConfig interface {
	ResolvePaths(dir string)
}

// Capability names one optional ability of a target.
type Capability string

// The capabilities, as named in plans, audit records and reports.
const (
	CanGet              Capability = "get"
	CanDisable          Capability = "disable"
	CanRevokeSessions   Capability = "revoke_sessions"
	CanRevokeCredential Capability = "revoke_credential"
	CanRemoveFromGroup  Capability = "remove_from_group"
)

// Configurable is optional. A target whose abilities depend on its
// configuration (an SQL target with no remove_group_statement, say) has every
// method but lists here the capabilities its configuration enables; the
// others are treated as absent.
type Configurable interface {
	Capabilities() []Capability
}

// UniqueLister is optional. A target whose listing never yields two
// accounts with one ID (it ends the listing with an error when it meets an
// ID again, as a CSV export's reader does, or its IDs are unique by
// construction) says so with ListsUniqueIDs: the engine then keeps no
// second set of the IDs it has seen. Every other target is checked by the
// engine.
type UniqueLister interface {
	ListsUniqueIDs() bool
}

// Local is optional. A target whose listing reads files on this machine
// (an export) instead of waiting on another system says so with Local:
// listing it keeps a processor busy from start to end, so the engine lists
// no more such targets at once than the process has processors. Every
// other target waits on its system and is listed beside the others.
type Local interface {
	Local() bool
}

// Capabilities is a target's optional abilities, resolved once: a nil field
// means the target cannot do that and a person must.
type Capabilities struct {
	Getter            Getter
	Disabler          Disabler
	SessionRevoker    SessionRevoker
	CredentialRevoker CredentialRevoker
	GroupRemover      GroupRemover
}

// Resolve finds t's capabilities by type assertion, narrowed by
// Configurable when t implements it.
func Resolve(t Target) Capabilities {
	var c Capabilities
	c.Getter, _ = t.(Getter)
	c.Disabler, _ = t.(Disabler)
	c.SessionRevoker, _ = t.(SessionRevoker)
	c.CredentialRevoker, _ = t.(CredentialRevoker)
	c.GroupRemover, _ = t.(GroupRemover)
	if cf, ok := t.(Configurable); ok {
		on := map[Capability]bool{}
		for _, x := range cf.Capabilities() {
			on[x] = true
		}
		if !on[CanGet] {
			c.Getter = nil
		}
		if !on[CanDisable] {
			c.Disabler = nil
		}
		if !on[CanRevokeSessions] {
			c.SessionRevoker = nil
		}
		if !on[CanRevokeCredential] {
			c.CredentialRevoker = nil
		}
		if !on[CanRemoveFromGroup] {
			c.GroupRemover = nil
		}
	}
	return c
}

// List names the capabilities present, in a stable order.
func (c Capabilities) List() []Capability {
	var out []Capability
	if c.Getter != nil {
		out = append(out, CanGet)
	}
	if c.Disabler != nil {
		out = append(out, CanDisable)
	}
	if c.SessionRevoker != nil {
		out = append(out, CanRevokeSessions)
	}
	if c.CredentialRevoker != nil {
		out = append(out, CanRevokeCredential)
	}
	if c.GroupRemover != nil {
		out = append(out, CanRemoveFromGroup)
	}
	return out
}
