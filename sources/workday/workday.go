// Package workday is the Workday source of accessrecon: it reads a custom
// report exposed as a web service (Workday Report-as-a-Service, RaaS) in JSON
// or CSV, streaming it one Report_Entry at a time, and maps each entry onto a
// sources.Person exactly as the CSV source would for the same data.
//
// RaaS reports are not paged: a report of the whole workforce is one large
// response, which is decoded incrementally and never held in memory.
package workday

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// Fields names the report field (its alias as the report writes it) holding
// each canonical attribute. Empty keeps the default aliases (the first one
// present in an entry is used); "-" means "not read". A value
// "Group_group.Field" reads Field from the first element of the array (or
// the object) Group_group; a plain alias absent at the top level of an entry
// is also looked up one level into its *_group values (first element).
type Fields struct {
	EmployeeID      string `yaml:"employee_id"`
	Email           string `yaml:"email"`
	FirstName       string `yaml:"first_name"`
	LastName        string `yaml:"last_name"`
	Status          string `yaml:"status"`
	StatusEffective string `yaml:"status_effective"`
	TerminationDate string `yaml:"termination_date"`
	HireDate        string `yaml:"hire_date"`
	Department      string `yaml:"department"`
	JobCode         string `yaml:"job_code"`
	ManagerID       string `yaml:"manager_id"`
	WorkerType      string `yaml:"worker_type"`
}

// defaultAliases lists, per canonical attribute, the aliases tried in order
// when Fields leaves it empty.
func defaultAliases() map[string][]string {
	return map[string][]string{
		"employee_id":      {"Employee_ID"},
		"email":            {"Email_Address", "Primary_Work_Email", "Email"},
		"first_name":       {"Legal_Name_First_Name", "First_Name"},
		"last_name":        {"Legal_Name_Last_Name", "Last_Name"},
		"status":           {"Worker_Status", "Active_Status"},
		"status_effective": {"Status_Effective_Date"},
		"termination_date": {"Termination_Date"},
		"hire_date":        {"Hire_Date"},
		"department":       {"Supervisory_Organization"},
		"job_code":         {"Job_Code"},
		"manager_id":       {"Manager_Employee_ID"},
		"worker_type":      {"Worker_Type"},
	}
}

// DefaultStatusMap maps Workday's usual status vocabularies (Worker_Status
// words, Active_Status "1"/"0"). Entries of Config.StatusMap are added to (and
// override) these.
func DefaultStatusMap() sources.StatusMap {
	return sources.StatusMap{
		"Active":           sources.Active,
		"Terminated":       sources.Terminated,
		"On Leave":         sources.Leave,
		"Leave of Absence": sources.Leave,
		"1":                sources.Active,
		"0":                sources.Terminated,
	}
}

// Config is the workday section of the configuration.
type Config struct {
	// URL is the report's RaaS URL,
	// https://{host}/ccx/service/customreport2/{tenant}/{owner}/{report};
	// report prompts may be given as query parameters. ?format= is set from Format.
	URL string `yaml:"url"`
	// UserEnv / UserFile and PasswordEnv / PasswordFile hold the integration
	// system user's credentials (one of each pair).
	UserEnv      string `yaml:"user_env"`
	UserFile     string `yaml:"user_file"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// User and Password are filled in by the wiring (tests set them).
	User     targets.Secret `yaml:"-"`
	Password targets.Secret `yaml:"-"`
	// Format is json (default) or csv.
	Format    string            `yaml:"format"`
	Fields    Fields            `yaml:"fields"`
	StatusMap sources.StatusMap `yaml:"status_map"`
	// Timeout bounds one HTTP request including reading its body (default 30m).
	Timeout time.Duration `yaml:"timeout"`
	// MaxTries bounds the attempts of a throttled request (default 5).
	MaxTries int `yaml:"max_tries"`
	// MaxRetryWait is the longest Retry-After honoured (default 5m).
	MaxRetryWait time.Duration `yaml:"max_retry_wait"`
	// Location is the time zone of dates written without one (default
	// UTC). It is not a key of this section: the wiring sets it from the
	// source's or the organisation's timezone.
	Location *time.Location `yaml:"-"`
}

// ErrAuth is wrapped when Workday refuses the credentials (401/403).
var ErrAuth = errors.New("authentication failed")

// mapping binds one canonical attribute to the aliases that may hold it.
type mapping struct {
	canon   string
	aliases []string // tried in order; each maybe "Group_group.Field"
}

// Source reads people from a Workday RaaS report.
type Source struct {
	url       string
	format    string
	user      targets.Secret
	password  targets.Secret
	credNames string
	id        mapping
	fields    []mapping
	statusMap sources.StatusMap
	location  *time.Location
	http      *upstream.Client
	maxTries  int
	maxWait   time.Duration
	log       *slog.Logger
}

// New validates cfg and resolves the credentials.
func New(cfg Config, log *slog.Logger) (*Source, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.URL == "" {
		return nil, errors.New("workday: url: required")
	}
	u, format, err := reportURL(cfg.URL, cfg.Format)
	if err != nil {
		return nil, err
	}
	user, password := cfg.User, cfg.Password
	if user == "" {
		return nil, errors.New("workday: user_env or user_file: required")
	}
	if password == "" {
		return nil, errors.New("workday: password_env or password_file: required")
	}
	names := []string{}
	for _, n := range []string{cfg.UserEnv, cfg.UserFile, cfg.PasswordEnv, cfg.PasswordFile} {
		if n != "" {
			names = append(names, n)
		}
	}

	id, fields, err := fieldMappings(cfg.Fields)
	if err != nil {
		return nil, err
	}
	sm, err := mergeStatusMap(cfg.StatusMap)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("workday: timeout: must not be negative")
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Minute
	}
	if cfg.MaxTries < 0 {
		return nil, errors.New("workday: max_tries: must not be negative")
	}
	tries := cfg.MaxTries
	if tries == 0 {
		tries = 5
	}
	wait := cfg.MaxRetryWait
	if wait <= 0 {
		wait = 5 * time.Minute
	}
	return &Source{
		url:       u.String(),
		format:    format,
		user:      user,
		password:  password,
		credNames: strings.Join(names, " and "),
		id:        id,
		fields:    fields,
		statusMap: sm,
		location:  cfg.Location,
		http:      httpClient(timeout, tries, wait, targets.NewRedactor(password, user+":"+password), log),
		maxTries:  tries,
		maxWait:   wait,
		log:       log,
	}, nil
}

// reportURL checks the report's URL and adds the format (json unless
// configured otherwise) to its query.
func reportURL(raw, configuredFormat string) (*url.URL, string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", fmt.Errorf("workday: url: %q is not an http(s) URL", raw)
	}
	format := strings.ToLower(strings.TrimSpace(configuredFormat))
	switch format {
	case "":
		format = "json"
	case "json", "csv":
	default:
		return nil, "", fmt.Errorf("workday: format: %q is not json or csv", configuredFormat)
	}
	q := u.Query()
	q.Set("format", format)
	u.RawQuery = q.Encode()
	return u, format, nil
}

// fieldMappings resolves each canonical field to the report aliases it is
// read from: the configured alias, else the defaults; "-" leaves a field
// out (not the employee ID nor the status). The employee ID comes back on
// its own.
func fieldMappings(f Fields) (id mapping, fields []mapping, err error) {
	def := defaultAliases()
	configured := []struct{ canon, v string }{
		{"employee_id", f.EmployeeID}, {"email", f.Email}, {"first_name", f.FirstName}, {"last_name", f.LastName},
		{"status", f.Status}, {"status_effective", f.StatusEffective}, {"termination_date", f.TerminationDate},
		{"hire_date", f.HireDate}, {"department", f.Department}, {"job_code", f.JobCode},
		{"manager_id", f.ManagerID}, {"worker_type", f.WorkerType},
	}
	for _, c := range configured {
		v := strings.TrimSpace(c.v)
		m := mapping{canon: c.canon, aliases: def[c.canon]}
		switch {
		case v == "-" && (c.canon == "employee_id" || c.canon == "status"):
			return mapping{}, nil, fmt.Errorf(`workday: fields.%s: "-" is not allowed`, c.canon)
		case v == "-":
			continue
		case v != "":
			if strings.Count(v, ".") > 1 {
				return mapping{}, nil, fmt.Errorf("workday: fields.%s: %q: at most one level (Group_group.Field)", c.canon, v)
			}
			m.aliases = []string{v}
		}
		if c.canon == "employee_id" {
			id = m
		} else {
			fields = append(fields, m)
		}
	}
	return id, fields, nil
}

// mergeStatusMap adds the configured entries to DefaultStatusMap, each
// replacing a default for the same status (compared without case or
// surrounding space), and validates the result.
func mergeStatusMap(configured sources.StatusMap) (sources.StatusMap, error) {
	sm := DefaultStatusMap()
	for k, v := range configured {
		for dk := range sm {
			if strings.EqualFold(strings.TrimSpace(dk), strings.TrimSpace(k)) {
				delete(sm, dk)
			}
		}
		sm[k] = v
	}
	if err := sm.Validate(); err != nil {
		return nil, fmt.Errorf("workday: %w", err)
	}
	return sm, nil
}

// People reads every entry of the report.
func (s *Source) People(ctx context.Context) iter.Seq2[sources.Person, error] {
	return func(yield func(sources.Person, error) bool) {
		s.run(ctx, nil, yield)
	}
}

// PeopleByID re-reads the named people (by employee ID, trimmed,
// case-insensitively; Workday RaaS exposes no other key). It reads the whole
// report and filters client-side; entries that match no id are skipped
// unvalidated, ids that match no one are not reported.
func (s *Source) PeopleByID(ctx context.Context, ids []string) iter.Seq2[sources.Person, error] {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[strings.ToLower(strings.TrimSpace(id))] = true
	}
	return func(yield func(sources.Person, error) bool) {
		if len(want) == 0 {
			return
		}
		s.run(ctx, want, yield)
	}
}

func (s *Source) run(ctx context.Context, want map[string]bool, yield func(sources.Person, error) bool) {
	stopped, count := false, 0
	emit := func(p sources.Person) bool {
		count++
		if !yield(p, nil) {
			stopped = true
			return false
		}
		return true
	}
	err := func() error {
		resp, err := s.do(ctx, http.MethodGet, s.url, nil, "report")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if s.format == "csv" {
			return s.decodeCSV(ctx, resp.Body, want, emit)
		}
		return s.decodeJSON(ctx, resp.Body, want, emit)
	}()
	if err == nil && want == nil && count == 0 {
		err = errors.New("workday: report: no entries (an HR report with nobody in it is never right: check the report's data source and the ISU's access)")
	}
	if err != nil && !stopped {
		yield(sources.Person{}, err)
	}
}

var _ sources.Source = (*Source)(nil)
var _ sources.Refresher = (*Source)(nil)

// SecretFields asks the wiring for the integration user and its password.
func (c *Config) SecretFields() []targets.SecretField {
	return []targets.SecretField{{Key: "user", Env: c.UserEnv, File: c.UserFile, Value: &c.User},
		{Key: "password", Env: c.PasswordEnv, File: c.PasswordFile, Value: &c.Password}}
}

// SetLocation sets the zone of dates written without one (sources.LocalConfig).
func (c *Config) SetLocation(loc *time.Location) { c.Location = loc }

var _ sources.LocalConfig = (*Config)(nil)
