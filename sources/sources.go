// Package sources holds the HR contract of accessrecon: the Person an HR
// system reports, the lifecycle Status, and the Source interface every HR
// collector (csv, bamboohr, workday, ...) implements.
//
// HR is the authority of every run: who works here, in what role, and since
// when they no longer do. A Source only reports what HR says; matching people
// to accounts and deciding what is wrong is the job of package reconcile.
//
// This package holds types and pure functions only; it does no I/O.
package sources

import (
	"context"
	"fmt"
	"iter"
	"sort"
	"strings"
	"time"
)

// Status is a person's lifecycle status as accessrecon understands it.
type Status string

// The lifecycle statuses. Every HR vocabulary maps onto these four.
const (
	Active     Status = "active"
	Leave      Status = "leave"
	Suspended  Status = "suspended"
	Terminated Status = "terminated"
)

// Statuses lists the lifecycle statuses in a stable order.
var Statuses = []Status{Active, Leave, Suspended, Terminated}

// Person is one HR record. EmployeeID is the key; it is kept exactly as HR
// wrote it (trimmed), and compared case-insensitively by reconcile.
type Person struct {
	EmployeeID string
	Email      string
	FirstName  string
	LastName   string
	Status     Status
	// StatusEffective is when Status took effect (zero when HR does not say).
	StatusEffective time.Time
	// TerminationDate is HR's termination date, past or future (zero if none).
	TerminationDate time.Time
	HireDate        time.Time
	Department      string
	JobCode         string
	ManagerID       string
	WorkerType      string
	// RoleChange is a role change the source itself reports (zero for most
	// sources: the engine then learns a role change by comparing each HR
	// snapshot with the previous one).
	RoleChange RoleChange
}

// RoleChange is a role change as HR reports it: the job code the person
// held before JobCode, and when the change took effect (zero: not said).
// A drill's synthetic canary record uses it to announce a move, since a
// canary is never part of the previous snapshot.
type RoleChange struct {
	PrevJobCode string
	At          time.Time
}

// Name is the person's display name.
func (p Person) Name() string {
	return strings.TrimSpace(p.FirstName + " " + p.LastName)
}

// Source lists the people of one HR system. People yields every person once;
// on failure it yields one (Person{}, err) and stops. It stops promptly when
// the consumer breaks out of the loop or ctx ends. A Source must report bad
// data (missing or duplicate employee ID, unknown status, unparseable date) as
// an error naming the record and field rather than skip it: a run never acts
// on half-read HR data.
type Source interface {
	People(ctx context.Context) iter.Seq2[Person, error]
}

// Refresher is an optional capability of a Source: re-read just the named
// people (by employee ID, or by the HR system's own ID where it has one). The
// HR-event fast path uses it; without it the whole source is read.
type Refresher interface {
	PeopleByID(ctx context.Context, ids []string) iter.Seq2[Person, error]
}

// IDResolver is an optional capability of a Source whose HR system names
// people by an internal ID of its own in webhooks and change feeds
// (BambooHR's numeric id): EmployeeIDFor returns the employee ID of the
// person internalID names. An unknown internal ID is an error, never an
// empty employee ID. The webhook fast path uses it for events of the
// Source's own HR system (the source whose type is the webhook's); without
// it, such an event's internal ID is used as the employee ID.
type IDResolver interface {
	EmployeeIDFor(ctx context.Context, internalID string) (string, error)
}

// LocalConfig is implemented by the configuration of a source whose HR
// system writes dates without a zone: the wiring gives it the zone to read
// them in (the source's own timezone, else the organisation's, else UTC).
type LocalConfig interface {
	SetLocation(loc *time.Location)
}

// StatusMap maps an HR system's status vocabulary onto Status. Keys are
// compared case-insensitively after trimming.
type StatusMap map[string]Status

// Parse maps raw to a Status: first through m, then the four lifecycle words
// themselves (any case). An empty or unknown value is an error listing what
// would have been accepted.
func (m StatusMap) Parse(raw string) (Status, error) {
	key := strings.ToLower(strings.TrimSpace(raw))
	for k, v := range m {
		if strings.ToLower(strings.TrimSpace(k)) == key {
			return v, nil
		}
	}
	for _, s := range Statuses {
		if string(s) == key {
			return s, nil
		}
	}
	known := make([]string, 0, len(m)+len(Statuses))
	for _, s := range Statuses {
		known = append(known, string(s))
	}
	for k := range m {
		known = append(known, k)
	}
	sort.Strings(known[len(Statuses):])
	if key == "" {
		return "", fmt.Errorf("empty status (accepted: %s)", strings.Join(known, ", "))
	}
	return "", fmt.Errorf("unknown status %q (accepted: %s; map others with status_map)", raw, strings.Join(known, ", "))
}

// Validate checks that every value of m is a lifecycle status.
func (m StatusMap) Validate() error {
	for k, v := range m {
		switch v {
		case Active, Leave, Suspended, Terminated:
		default:
			return fmt.Errorf("status_map[%q]: %q is not one of active, leave, suspended, terminated", k, v)
		}
	}
	return nil
}

// Set stores raw (trimmed) into the canonical field of p (employee_id,
// email, first_name, last_name, status, status_effective, termination_date,
// department, job_code, manager_id, worker_type, hire_date), parsing statuses
// through statuses and dates through ParseDateIn with loc (nil: UTC). The
// error says only what is wrong with the value; the caller names the record
// and the field.
func (p *Person) Set(field, raw string, statuses StatusMap, loc *time.Location) error {
	v := strings.TrimSpace(raw)
	var err error
	switch field {
	case "employee_id":
		p.EmployeeID = v
	case "email":
		p.Email = v
	case "first_name":
		p.FirstName = v
	case "last_name":
		p.LastName = v
	case "department":
		p.Department = v
	case "job_code":
		p.JobCode = v
	case "manager_id":
		p.ManagerID = v
	case "worker_type":
		p.WorkerType = v
	case "status":
		p.Status, err = statuses.Parse(v)
	case "status_effective":
		p.StatusEffective, err = ParseDateIn(v, loc)
	case "termination_date":
		p.TerminationDate, err = ParseDateIn(v, loc)
	case "hire_date":
		p.HireDate, err = ParseDateIn(v, loc)
	default:
		err = fmt.Errorf("unknown field %q", field)
	}
	return err
}

// ParseDate is ParseDateIn in UTC.
func ParseDate(raw string) (time.Time, error) { return ParseDateIn(raw, time.UTC) }

// ParseDateIn reads a date as HR systems write them: YYYY-MM-DD, RFC 3339,
// YYYY-MM-DD with a zone offset as Workday writes it (2026-11-24-08:00), or
// a date and time without a zone. A value without a zone is local time in
// loc (nil: UTC): for an organisation in Asia/Riyadh, 2026-11-25 starts at
// 2026-11-24T21:00Z. The result is in UTC; empty input is the zero time.
func ParseDateIn(raw string, loc *time.Location) (time.Time, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return time.Time{}, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	// The value's shape names the only layout that can read it: a run
	// parses millions of dates, and each layout tried in vain costs an
	// error's allocations. What the shape does not settle goes through
	// every layout in turn (which gives the same answer, only slower).
	if t, ok := parseCommonDate(s, loc); ok {
		return t, nil
	}
	if layout, local := dateLayout(s); layout != "" {
		var t time.Time
		var err error
		if local {
			t, err = time.ParseInLocation(layout, s, loc)
		} else {
			t, err = time.Parse(layout, s)
		}
		if err == nil {
			return t.UTC(), nil
		}
	}
	return parseDateLayouts(raw, s, loc)
}

// parseCommonDate reads the two shapes exports write most, YYYY-MM-DD (in
// loc) and YYYY-MM-DDTHH:MM:SSZ, as time.Parse would but without it (a run
// reads millions of dates); false for any other value, and for one out of
// range, which the layouts then read or reject with time.Parse's error.
func parseCommonDate(s string, loc *time.Location) (time.Time, bool) {
	local := len(s) == 10
	if !local && (len(s) != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z') {
		return time.Time{}, false
	}
	if s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return time.Time{}, false
	}
	if local {
		if loc != time.UTC {
			return time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc).UTC(), true
		}
		return time.Unix(daysSinceEpoch(y, m, d)*86400, 0).UTC(), true
	}
	h, ok1 := digits(s[11:13])
	mi, ok2 := digits(s[14:16])
	sec, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Unix(daysSinceEpoch(y, m, d)*86400+int64(h*3600+mi*60+sec), 0).UTC(), true
}

// daysSinceEpoch is the number of days from 1970-01-01 to the valid
// proleptic Gregorian date y-m-d (negative before it), by Howard Hinnant's
// days_from_civil.
func daysSinceEpoch(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// digits is the value of s, which must be all ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysIn is the number of days of month m of year y.
func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// dateLayout is the layout of ParseDateIn's that a trimmed value of this
// shape can only be read with, and whether it is read in the local zone
// (""; false: the shape does not say). It picks what trying the layouts in
// ParseDateIn's order would succeed with first: YYYY-MM-DD is 10 bytes, a
// date and time has T at byte 10 (with a zone, nothing without one reads
// it), and a Workday date has its zone (+, - or Z) at byte 10.
func dateLayout(s string) (layout string, local bool) {
	switch {
	case len(s) == 10:
		return "2006-01-02", true
	case len(s) < 11:
		return "", false
	case s[10] == 'T':
		if z := s[len(s)-1]; z == 'Z' || strings.ContainsAny(s[11:], "+-") {
			return time.RFC3339Nano, false
		}
		return "2006-01-02T15:04:05", true
	case s[10] == '-' || s[10] == '+':
		return "2006-01-02-07:00", false
	case s[10] == 'Z':
		return "2006-01-02Z07:00", false
	}
	return "", false
}

// parseDateLayouts tries ParseDateIn's layouts in turn on the trimmed s.
func parseDateLayouts(raw, s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02-07:00", "2006-01-02Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unparseable date %q (want YYYY-MM-DD or RFC 3339)", raw)
}
