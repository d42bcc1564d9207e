// Package bamboohr is the BambooHR source of accessrecon: it reads every
// person (current and terminated) from BambooHR's custom report API
// (POST /reports/custom?format=JSON&onlyCurrent=false), streaming the JSON
// response one employee at a time, and maps each onto a sources.Person exactly
// as the CSV source would for the same data.
//
// It also offers the HR-event fast path: Changed lists the internal ids of
// employees changed since a time (GET /employees/changed), EmployeeIDFor
// resolves BambooHR's internal id (as named in webhooks) to the employee ID,
// and PeopleByID (sources.Refresher) re-reads named people.
package bamboohr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/accessrecon/accessrecon/sources"
	"github.com/accessrecon/accessrecon/targets"
	"github.com/accessrecon/accessrecon/targets/upstream"
)

// Fields names the BambooHR field (alias or custom field id) that holds each
// canonical attribute. Empty keeps the default; "-" means "not read".
type Fields struct {
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

// DefaultFields is the mapping used for every Fields key left empty.
// StatusEffective has no default ("-"): BambooHR has no standard alias for it.
func DefaultFields() Fields {
	return Fields{
		Email:           "workEmail",
		FirstName:       "firstName",
		LastName:        "lastName",
		Status:          "status",
		StatusEffective: "-",
		TerminationDate: "terminationDate",
		HireDate:        "hireDate",
		Department:      "department",
		JobCode:         "jobTitle",
		ManagerID:       "supervisorEId",
		WorkerType:      "employmentHistoryStatus",
	}
}

// DefaultStatusMap maps BambooHR's `status` field. Entries of Config.StatusMap
// are added to (and override) these.
func DefaultStatusMap() sources.StatusMap {
	return sources.StatusMap{"Active": sources.Active, "Inactive": sources.Terminated}
}

// Config is the bamboohr section of the configuration.
type Config struct {
	// Company is the BambooHR subdomain (company.bamboohr.com).
	Company string `yaml:"company"`
	// APIKeyEnv names the environment variable holding the API key;
	// APIKeyFile a file holding it. Exactly one is needed.
	APIKeyEnv  string `yaml:"api_key_env"`
	APIKeyFile string `yaml:"api_key_file"`
	// APIKey is the key, filled in by the wiring (tests set it directly).
	APIKey targets.Secret `yaml:"-"`
	// BaseURL overrides https://api.bamboohr.com/api/gateway.php/{company}/v1.
	BaseURL string `yaml:"base_url"`
	// EmployeeIDField is the field holding the employee ID (default
	// employeeNumber). BambooHR's own numeric `id` is not the employee ID.
	EmployeeIDField string            `yaml:"employee_id_field"`
	Fields          Fields            `yaml:"fields"`
	StatusMap       sources.StatusMap `yaml:"status_map"`
	// Timeout bounds one HTTP request including reading its body (default 10m).
	Timeout time.Duration `yaml:"timeout"`
	// MaxTries bounds the attempts of a throttled request (default 5).
	MaxTries int `yaml:"max_tries"`
	// MaxRetryWait is the longest Retry-After honoured (default 5m); a longer
	// one fails the collection.
	MaxRetryWait time.Duration `yaml:"max_retry_wait"`
	// Location is the time zone of dates written without one (default
	// UTC). It is not a key of this section: the wiring sets it from the
	// source's or the organisation's timezone.
	Location *time.Location `yaml:"-"`
}

// ErrAuth is wrapped when BambooHR refuses the API key (401/403).
var ErrAuth = errors.New("authentication failed")

// ErrNotFound is wrapped when an internal id names no employee.
var ErrNotFound = errors.New("not found")

// Source reads people from BambooHR.
type Source struct {
	base      string
	key       targets.Secret
	keyName   string
	idField   string
	fields    []mapping
	statusMap sources.StatusMap
	location  *time.Location
	http      *upstream.Client
	maxTries  int
	maxWait   time.Duration
	log       *slog.Logger
}

// mapping binds one canonical attribute to its BambooHR field.
type mapping struct {
	canon string // canonical name, e.g. termination_date
	field string // BambooHR field
}

// New validates cfg and resolves the API key.
func New(cfg Config, log *slog.Logger) (*Source, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Company == "" && cfg.BaseURL == "" {
		return nil, errors.New("bamboohr: company: required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = "https://api.bamboohr.com/api/gateway.php/" + url.PathEscape(cfg.Company) + "/v1"
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("bamboohr: base_url: %q is not an http(s) URL", base)
	}
	key := cfg.APIKey
	if key == "" {
		return nil, errors.New("bamboohr: api_key_env or api_key_file: required")
	}
	keyName := cfg.APIKeyEnv
	if keyName == "" {
		keyName = cfg.APIKeyFile
	}
	idField := strings.TrimSpace(cfg.EmployeeIDField)
	if idField == "" {
		idField = "employeeNumber"
	}
	if idField == "-" {
		return nil, errors.New(`bamboohr: employee_id_field: "-" is not allowed`)
	}
	fields, err := fieldMappings(cfg.Fields)
	if err != nil {
		return nil, err
	}
	sm, err := mergeStatusMap(cfg.StatusMap)
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout < 0 {
		return nil, errors.New("bamboohr: timeout: must not be negative")
	}
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	tries := cfg.MaxTries
	if tries < 0 {
		return nil, errors.New("bamboohr: max_tries: must not be negative")
	}
	if tries == 0 {
		tries = 5
	}
	wait := cfg.MaxRetryWait
	if wait <= 0 {
		wait = 5 * time.Minute
	}
	return &Source{
		base:      strings.TrimRight(base, "/"),
		key:       key,
		keyName:   keyName,
		idField:   idField,
		fields:    fields,
		statusMap: sm,
		location:  cfg.Location,
		http:      httpClient(timeout, tries, wait, targets.NewRedactor(key, key+":x"), log),
		maxTries:  tries,
		maxWait:   wait,
		log:       log,
	}, nil
}

// fieldMappings names the BambooHR field each canonical field is read from:
// the configured one, else DefaultFields; "-" leaves a field out (not the
// status).
func fieldMappings(f Fields) ([]mapping, error) {
	def := DefaultFields()
	pick := func(v, def string) string {
		if v = strings.TrimSpace(v); v == "" {
			return def
		}
		return v
	}
	all := []mapping{
		{"email", pick(f.Email, def.Email)},
		{"first_name", pick(f.FirstName, def.FirstName)},
		{"last_name", pick(f.LastName, def.LastName)},
		{"status", pick(f.Status, def.Status)},
		{"status_effective", pick(f.StatusEffective, def.StatusEffective)},
		{"termination_date", pick(f.TerminationDate, def.TerminationDate)},
		{"hire_date", pick(f.HireDate, def.HireDate)},
		{"department", pick(f.Department, def.Department)},
		{"job_code", pick(f.JobCode, def.JobCode)},
		{"manager_id", pick(f.ManagerID, def.ManagerID)},
		{"worker_type", pick(f.WorkerType, def.WorkerType)},
	}
	var fields []mapping
	for _, m := range all {
		if m.field == "-" {
			if m.canon == "status" {
				return nil, errors.New(`bamboohr: fields.status: "-" is not allowed (the status is required)`)
			}
			continue
		}
		fields = append(fields, m)
	}
	return fields, nil
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
		return nil, fmt.Errorf("bamboohr: %w", err)
	}
	return sm, nil
}

// reportFields is the field list sent to the custom report: id, the employee
// ID field and every mapped field, each once.
func (s *Source) reportFields() []string {
	out := []string{"id"}
	seen := map[string]bool{"id": true}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	add(s.idField)
	for _, m := range s.fields {
		add(m.field)
	}
	return out
}

// People reads everyone, current and terminated, from the custom report.
func (s *Source) People(ctx context.Context) iter.Seq2[sources.Person, error] {
	return func(yield func(sources.Person, error) bool) {
		s.run(ctx, nil, yield)
	}
}

// PeopleByID re-reads the named people. An id matches a person whose
// employee ID equals it (trimmed, case-insensitively) or whose BambooHR
// internal id equals it. It runs the same custom report as People and filters
// client-side (one request, every field mapped exactly as People maps it);
// records that match no id are skipped without validation. Ids that match no
// one are not reported.
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
	err := s.readReport(ctx, want, func(p sources.Person) bool {
		count++
		if !yield(p, nil) {
			stopped = true
			return false
		}
		return true
	})
	if err == nil && want == nil && count == 0 {
		err = errors.New("bamboohr: custom report: no employees (an HR system with nobody in it is never right: check the API user's access)")
	}
	if err != nil && !stopped {
		yield(sources.Person{}, err)
	}
}

func (s *Source) readReport(ctx context.Context, want map[string]bool, emit func(sources.Person) bool) error {
	body, err := json.Marshal(map[string][]string{"fields": s.reportFields()})
	if err != nil {
		return fmt.Errorf("bamboohr: %w", err)
	}
	resp, err := s.do(ctx, http.MethodPost, s.base+"/reports/custom?format=JSON&onlyCurrent=false", body, "custom report")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return s.decodeReport(ctx, resp.Body, want, emit)
}

// Changed returns the BambooHR internal ids of the employees inserted,
// updated or deleted since since (GET /employees/changed), sorted.
func (s *Source) Changed(ctx context.Context, since time.Time) ([]string, error) {
	u := s.base + "/employees/changed?since=" + url.QueryEscape(since.UTC().Format(time.RFC3339))
	resp, err := s.do(ctx, http.MethodGet, u, nil, "changed employees")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Latest    string                     `json:"latest"`
		Employees map[string]json.RawMessage `json:"employees"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bamboohr: changed employees: %w", ctx.Err())
		}
		return nil, fmt.Errorf("bamboohr: changed employees: decode: %w", err)
	}
	ids := make([]string, 0, len(out.Employees))
	for id := range out.Employees {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

// EmployeeIDFor resolves BambooHR's internal id (as webhooks and Changed
// name people) to the employee ID (GET /employees/{id}?fields=<employee_id_field>).
// An unknown id returns an error wrapping ErrNotFound.
func (s *Source) EmployeeIDFor(ctx context.Context, internalID string) (string, error) {
	internalID = strings.TrimSpace(internalID)
	if internalID == "" {
		return "", errors.New("bamboohr: employee id lookup: empty internal id")
	}
	u := s.base + "/employees/" + url.PathEscape(internalID) + "?fields=" + url.QueryEscape(s.idField)
	resp, err := s.do(ctx, http.MethodGet, u, nil, "employee "+internalID)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var rec map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rec); err != nil {
		return "", fmt.Errorf("bamboohr: employee %s: decode: %w", internalID, err)
	}
	v, err := text(rec[s.idField])
	if err != nil {
		return "", fmt.Errorf("bamboohr: employee (id %s): field %s (employee_id): %w", internalID, s.idField, err)
	}
	if v = strings.TrimSpace(v); v == "" {
		return "", fmt.Errorf("bamboohr: employee (id %s): field %s (employee_id): missing employee ID", internalID, s.idField)
	}
	return v, nil
}

var _ sources.Source = (*Source)(nil)
var _ sources.Refresher = (*Source)(nil)
var _ sources.IDResolver = (*Source)(nil)

// SecretFields asks the wiring for the API key.
func (c *Config) SecretFields() []targets.SecretField {
	return []targets.SecretField{{Key: "api_key", Env: c.APIKeyEnv, File: c.APIKeyFile, Value: &c.APIKey}}
}

// SetLocation sets the zone of dates written without one (sources.LocalConfig).
func (c *Config) SetLocation(loc *time.Location) { c.Location = loc }

var _ sources.LocalConfig = (*Config)(nil)
