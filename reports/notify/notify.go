// Package notify tells people where they already look what a finished run
// did: a digest of the revocations carried out (one message per run, not one
// per account), a tripped safety rail, revocations past their SLA, a run
// that failed or finished partial, and the result of a termination drill.
//
// Sinks are Slack (an incoming webhook, or chat.postMessage with a bot
// token), Microsoft Teams (a Workflows webhook), email over SMTP (STARTTLS),
// and a generic JSON webhook signed with HMAC-SHA256. Each sink has its own
// filter by event type and minimum severity.
//
// Messages are short plain text: people are named by name and employee ID,
// every line passes through targets.Printable (no control characters, one
// line, cut short), and each sink escapes what its format would interpret
// (Slack: &, < and >, with mrkdwn off; Teams: text runs, which carry no
// markdown; email: text/plain, quoted-printable, encoded subject).
//
// A sink that is down never fails a run: Send returns what was delivered and
// what must wait, and keeps the undelivered notifications in an Outbox for
// the next Send to retry.
package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/reconcile"
	"github.com/accessrecon/accessrecon/targets"
)

// Config is the reports.notify section of schedule.yaml.
type Config struct {
	// RunURL, when set, is the prefix of a link to the run's evidence; the
	// run ID is appended (or replaces {run} when the prefix contains it).
	RunURL string `yaml:"run_url"`
	// MaxItems bounds the lines of one message (default 10); the rest is
	// counted ("…and 4 more").
	MaxItems int `yaml:"max_items"`
	// MaxAge drops an undelivered notification this old instead of retrying
	// it (default 168h: a week).
	MaxAge time.Duration `yaml:"max_age"`
	// Timeout bounds each delivery (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	Sinks   []Sink        `yaml:"sinks"`
}

// Sink is one place notifications go: exactly one of Slack, Teams, Email and
// Webhook is set.
type Sink struct {
	// Name identifies the sink in the Outbox and in metrics; unique.
	Name string `yaml:"name"`
	// Events are the event types this sink wants (empty: all).
	Events []EventType `yaml:"events"`
	// MinSeverity drops events below it (default low: everything).
	MinSeverity reconcile.Severity `yaml:"min_severity"`

	Slack   *SlackConfig   `yaml:"slack"`
	Teams   *TeamsConfig   `yaml:"teams"`
	Email   *EmailConfig   `yaml:"email"`
	Webhook *WebhookConfig `yaml:"webhook"`
}

// Wants says whether the sink takes an event.
func (s *Sink) Wants(ev Event) bool {
	if len(s.Events) > 0 && !slices.Contains(s.Events, ev.Type) {
		return false
	}
	return severityRank(ev.Severity) <= severityRank(cmp.Or(s.MinSeverity, reconcile.Low))
}

// SecretFields asks the wiring for every sink's secrets; keys are
// "sinks.NAME.KEY" (sinks.it-slack.webhook_url names webhook_url_env and
// webhook_url_file of sink it-slack).
func (c *Config) SecretFields() []targets.SecretField {
	var out []targets.SecretField
	for i := range c.Sinks {
		s := &c.Sinks[i]
		var fs []targets.SecretField
		switch {
		case s.Slack != nil:
			fs = s.Slack.secretFields()
		case s.Teams != nil:
			fs = s.Teams.secretFields()
		case s.Email != nil:
			fs = s.Email.secretFields()
		case s.Webhook != nil:
			fs = s.Webhook.secretFields()
		}
		for _, f := range fs {
			f.Key = "sinks." + s.Name + "." + f.Key
			out = append(out, f)
		}
	}
	return out
}

// ResolvePaths makes the email sinks' ca_file relative to the configuration
// file's directory.
func (c *Config) ResolvePaths(dir string) {
	for i := range c.Sinks {
		if e := c.Sinks[i].Email; e != nil && e.CAFile != "" && !filepath.IsAbs(e.CAFile) {
			e.CAFile = filepath.Join(dir, e.CAFile)
		}
	}
}

// Notification is one event for one sink: the unit the Outbox keeps.
type Notification struct {
	// ID is "SINK/EVENT-KEY"; the Outbox keeps at most one per ID.
	ID     string    `json:"id"`
	Sink   string    `json:"sink"`
	Event  Event     `json:"event"`
	Queued time.Time `json:"queued"`
	// Attempts counts failed deliveries so far; LastError says the latest
	// (redacted, printable).
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
}

// Outbox keeps notifications a sink has not taken yet, for the next Send.
// The store implements it (the outbox table, kind "notify", the
// Notification as JSON); MemOutbox is the in-memory one.
type Outbox interface {
	// Save queues notifications, replacing a pending one with the same ID.
	Save(ctx context.Context, ns []Notification) error
	// Pending returns the queued notifications.
	Pending(ctx context.Context) ([]Notification, error)
	// Done removes a notification that was delivered or dropped.
	Done(ctx context.Context, id string) error
}

// SinkStats counts one sink's notifications.
type SinkStats struct {
	// Delivered by this Send.
	Delivered int `json:"delivered"`
	// Pending in the Outbox after this Send, for the next one.
	Pending int `json:"pending"`
	// Dropped by this Send: refused for good (the same message can never
	// succeed: 400, msg_too_long…), older than max_age, or for a sink no
	// longer configured.
	Dropped int `json:"dropped"`
}

// Stats counts a Send's notifications, in total and by sink, for /metrics
// (accessrecon_notifications_pending{sink} and friends).
type Stats struct {
	SinkStats
	Sinks map[string]SinkStats `json:"sinks"`
}

func (s *Stats) add(sink string, f func(*SinkStats)) {
	if s.Sinks == nil {
		s.Sinks = map[string]SinkStats{}
	}
	x := s.Sinks[sink]
	f(&x)
	s.Sinks[sink] = x
	f(&s.SinkStats)
}

// Outcome is what a Send did.
type Outcome struct {
	Delivered []Notification
	// Kept must wait: they are in the Outbox for the next Send.
	Kept    []Notification
	Dropped []Notification
	Stats   Stats
}

// ErrDeferred is wrapped by Send's error when notifications were kept in the
// Outbox because a sink was unavailable. It is never a reason to fail a run.
var ErrDeferred = errors.New("notify: notifications deferred to the next run")

// deliverError is a failed delivery; final means the same message can never
// succeed (drop it), otherwise it is kept for the next run.
type deliverError struct {
	err   error
	final bool
}

func (e *deliverError) Error() string { return e.err.Error() }
func (e *deliverError) Unwrap() error { return e.err }

func final(err error) error { return &deliverError{err: err, final: true} }

// sender delivers one rendered event to one sink.
type sender interface {
	send(ctx context.Context, id string, ev Event) error
}

type sink struct {
	cfg    Sink
	sender sender
}

// Notifier sends events to the configured sinks.
type Notifier struct {
	cfg   Config
	sinks []sink
	log   *slog.Logger
	// now is the wall clock (queue times, webhook timestamps); tests set it.
	now func() time.Time
}

// New validates the configuration (secrets already resolved by the wiring)
// and returns a Notifier. It sends nothing.
func New(cfg Config, log *slog.Logger) (*Notifier, error) {
	if log == nil {
		return nil, errors.New("notify: nil logger")
	}
	if cfg.MaxItems == 0 {
		cfg.MaxItems = 10
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 7 * 24 * time.Hour
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxItems < 0 || cfg.MaxAge < 0 || cfg.Timeout < 0 {
		return nil, errors.New("notify: max_items, max_age and timeout must not be negative")
	}
	if cfg.RunURL != "" && !strings.HasPrefix(cfg.RunURL, "https://") && !strings.HasPrefix(cfg.RunURL, "http://") {
		return nil, fmt.Errorf("notify: run_url: %q is not an http(s) URL", cfg.RunURL)
	}
	n := &Notifier{cfg: cfg, log: log.With("report", "notify"), now: time.Now}
	hc := &http.Client{Timeout: cfg.Timeout}
	seen := map[string]bool{}
	for i, s := range cfg.Sinks {
		where := fmt.Sprintf("notify: sinks[%d]", i)
		if s.Name == "" || strings.ContainsAny(s.Name, "/ \t\n") {
			return nil, fmt.Errorf("%s: name: %q must be set, without spaces or slashes", where, s.Name)
		}
		where = "notify: sinks." + s.Name
		if seen[s.Name] {
			return nil, fmt.Errorf("%s: name used twice", where)
		}
		seen[s.Name] = true
		for _, e := range s.Events {
			if !slices.Contains(EventTypes, e) {
				return nil, fmt.Errorf("%s: events: unknown event %q (one of %v)", where, e, EventTypes)
			}
		}
		if s.MinSeverity != "" && severityRank(s.MinSeverity) > 3 {
			return nil, fmt.Errorf("%s: min_severity: %q is not critical, high, medium or low", where, s.MinSeverity)
		}
		set := 0
		for _, b := range []bool{s.Slack != nil, s.Teams != nil, s.Email != nil, s.Webhook != nil} {
			if b {
				set++
			}
		}
		if set != 1 {
			return nil, fmt.Errorf("%s: set exactly one of slack, teams, email, webhook", where)
		}
		var snd sender
		var err error
		switch {
		case s.Slack != nil:
			snd, err = newSlack(*s.Slack, hc)
		case s.Teams != nil:
			snd, err = newTeams(*s.Teams, hc)
		case s.Email != nil:
			snd, err = newEmail(*s.Email, cfg.Timeout, n.clock)
		case s.Webhook != nil:
			snd, err = newWebhook(*s.Webhook, hc, n.clock)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		n.sinks = append(n.sinks, sink{cfg: s, sender: snd})
	}
	return n, nil
}

func (n *Notifier) clock() time.Time { return n.now() }

// Send derives the events of a finished run and sends them (Events, then
// SendEvents).
func (n *Notifier) Send(ctx context.Context, res *reconcile.Result, out Outbox) (Outcome, error) {
	return n.SendEvents(ctx, n.Events(res), out)
}

// SendDrill sends a drill's result.
func (n *Notifier) SendDrill(ctx context.Context, d DrillResult, out Outbox) (Outcome, error) {
	return n.SendEvents(ctx, []Event{n.DrillEvent(d)}, out)
}

// SendEvents first retries what the Outbox holds, then sends each event to
// every sink that wants it. A notification a sink did not take is kept in
// the Outbox (the error then wraps ErrDeferred); once one delivery to a sink
// failed for a reason that may pass, the sink's other notifications are kept
// without being tried. A notification whose message can never succeed
// (refused as malformed) is dropped and logged, as is one older than
// max_age. The error is never a reason to fail a run: log it.
func (n *Notifier) SendEvents(ctx context.Context, events []Event, out Outbox) (Outcome, error) {
	var oc Outcome
	pending, err := out.Pending(ctx)
	if err != nil {
		return oc, fmt.Errorf("notify: outbox: %w", err)
	}
	// Oldest first, whatever order the Outbox keeps.
	slices.SortStableFunc(pending, func(a, b Notification) int { return a.Queued.Compare(b.Queued) })
	now := n.now().UTC()
	byName := map[string]*sink{}
	for i := range n.sinks {
		byName[n.sinks[i].cfg.Name] = &n.sinks[i]
	}
	queue, order := n.enqueue(pending, events, now)
	var errs []error
	down := map[string]error{}
	var keep []Notification
	done := func(nt Notification) {
		if err := out.Done(ctx, nt.ID); err != nil {
			errs = append(errs, fmt.Errorf("notify: outbox: %w", err))
		}
	}
	for _, id := range order {
		nt := queue[id]
		s := byName[nt.Sink]
		switch {
		case s == nil:
			n.log.Warn("notification dropped: its sink is no longer configured", "id", nt.ID)
			oc.Dropped = append(oc.Dropped, nt)
			oc.Stats.add(nt.Sink, func(x *SinkStats) { x.Dropped++ })
			done(nt)
			continue
		case now.Sub(nt.Queued) > n.cfg.MaxAge:
			n.log.Warn("notification dropped: undelivered for longer than max_age", "id", nt.ID, "queued", nt.Queued, "last_error", nt.LastError)
			oc.Dropped = append(oc.Dropped, nt)
			oc.Stats.add(nt.Sink, func(x *SinkStats) { x.Dropped++ })
			done(nt)
			continue
		}
		if d := down[nt.Sink]; d != nil {
			keep = append(keep, nt)
			continue
		}
		err := s.sender.send(ctx, nt.ID, nt.Event.sanitized())
		if err == nil {
			oc.Delivered = append(oc.Delivered, nt)
			oc.Stats.add(nt.Sink, func(x *SinkStats) { x.Delivered++ })
			done(nt)
			continue
		}
		var de *deliverError
		if errors.As(err, &de) && de.final {
			n.log.Error("notification refused by its sink: dropped", "id", nt.ID, "err", err)
			errs = append(errs, fmt.Errorf("notify: %s: refused: %w", nt.ID, err))
			oc.Dropped = append(oc.Dropped, nt)
			oc.Stats.add(nt.Sink, func(x *SinkStats) { x.Dropped++ })
			done(nt)
			continue
		}
		n.log.Warn("sink unavailable: its notifications are kept for the next run", "sink", nt.Sink, "err", err)
		down[nt.Sink] = err
		nt.Attempts++
		nt.LastError = clean(err.Error(), 500)
		keep = append(keep, nt)
	}
	if len(keep) > 0 {
		if err := out.Save(ctx, keep); err != nil {
			errs = append(errs, fmt.Errorf("notify: outbox: %w", err))
		}
		for _, nt := range keep {
			oc.Kept = append(oc.Kept, nt)
			oc.Stats.add(nt.Sink, func(x *SinkStats) { x.Pending++ })
		}
		var names []string
		for name := range down {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			errs = append(errs, fmt.Errorf("%w: sink %s: %v", ErrDeferred, name, down[name]))
		}
	}
	return oc, errors.Join(errs...)
}

// enqueue adds a notification for each event to each sink that wants it,
// after the outbox's pending ones, and returns them by ID with the order to
// send them in. An event already pending for a sink replaces the pending
// one's event but keeps its place, queue time, attempts and last error.
func (n *Notifier) enqueue(pending []Notification, events []Event, now time.Time) (queue map[string]Notification, order []string) {
	queue = map[string]Notification{}
	for _, p := range pending {
		queue[p.ID] = p
		order = append(order, p.ID)
	}
	for _, ev := range events {
		for i := range n.sinks {
			s := &n.sinks[i]
			if !s.cfg.Wants(ev) {
				continue
			}
			id := s.cfg.Name + "/" + ev.Key
			old, was := queue[id]
			nt := Notification{ID: id, Sink: s.cfg.Name, Event: ev, Queued: now}
			if was {
				nt.Queued, nt.Attempts, nt.LastError = old.Queued, old.Attempts, old.LastError
			} else {
				order = append(order, id)
			}
			queue[id] = nt
		}
	}
	return queue, order
}

// PendingBySink counts the Outbox's notifications by sink, for /metrics at
// scrape time.
func PendingBySink(ctx context.Context, out Outbox) (map[string]int, error) {
	ps, err := out.Pending(ctx)
	if err != nil {
		return nil, err
	}
	m := map[string]int{}
	for _, p := range ps {
		m[p.Sink]++
	}
	return m, nil
}
