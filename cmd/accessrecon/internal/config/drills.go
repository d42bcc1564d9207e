package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/accessrecon/accessrecon/sources"
)

// DrillsConfig is drills: the canaries `accessrecon drill` exercises.
type DrillsConfig struct {
	Canaries []CanaryConfig `yaml:"canaries"`
}

// CanaryConfig is one test identity: an employee ID that exists in no HR
// file, the synthetic HR record the drill gives it, and its account on each
// target to exercise.
type CanaryConfig struct {
	EmployeeID string `yaml:"employee_id"`
	FirstName  string `yaml:"first_name"`
	LastName   string `yaml:"last_name"`
	Email      string `yaml:"email"`
	JobCode    string `yaml:"job_code"`
	// MoveTo is the job code a move drill gives the canary (its job_code
	// being the old role): policy.roles must name groups for both on the
	// canary's targets.
	MoveTo string `yaml:"move_to"`
	// Accounts maps a target's name to the canary's account there (ID,
	// username, email or DN, resolved like every other reference).
	Accounts map[string]string `yaml:"accounts"`
}

// Person is the canary's synthetic HR record, active.
func (c CanaryConfig) Person() sources.Person {
	return sources.Person{EmployeeID: c.EmployeeID, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email,
		JobCode: c.JobCode, Status: sources.Active, WorkerType: "canary"}
}

// SHA256 is the hex SHA-256 of the configuration file's bytes as read.
func (c *Config) SHA256() string { return c.sum }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// validateDrills checks drills.canaries: each has an employee ID, used once,
// and accounts on configured targets only.
func (c *Config) validateDrills() error {
	targetNames := map[string]bool{}
	for _, t := range c.Targets {
		targetNames[t.Name] = true
	}
	seen := map[string]bool{}
	for i, k := range c.Drills.Canaries {
		where := fmt.Sprintf("drills.canaries[%d]", i)
		id := strings.ToLower(strings.TrimSpace(k.EmployeeID))
		switch {
		case id == "":
			return fmt.Errorf("%s.employee_id: required", where)
		case seen[id]:
			return fmt.Errorf("%s.employee_id: %q is used twice", where, k.EmployeeID)
		case len(k.Accounts) == 0:
			return fmt.Errorf("%s (%s).accounts: at least one target's account is required", where, k.EmployeeID)
		}
		seen[id] = true
		if k.MoveTo != "" && strings.TrimSpace(k.MoveTo) == strings.TrimSpace(k.JobCode) {
			return fmt.Errorf("%s (%s).move_to: %q is the canary's job_code: a move needs another role", where, k.EmployeeID, k.MoveTo)
		}
		for t, ref := range k.Accounts {
			if !targetNames[t] {
				return fmt.Errorf("%s (%s).accounts: target %q is not configured", where, k.EmployeeID, t)
			}
			if strings.TrimSpace(ref) == "" {
				return fmt.Errorf("%s (%s).accounts.%s: empty account reference", where, k.EmployeeID, t)
			}
		}
	}
	for i, j := range c.Jobs {
		where := fmt.Sprintf("jobs[%d] (%s)", i, j.Name)
		switch j.Kind {
		case "", "run":
			if j.Scenario != "" {
				return fmt.Errorf("%s.scenario: only a job of kind drill has a scenario", where)
			}
		case "drill":
			if len(c.Drills.Canaries) == 0 {
				return fmt.Errorf("%s.kind: drill needs drills.canaries", where)
			}
			switch j.Scenario {
			case "", "terminate", "suspend":
			case "move":
				for _, k := range c.Drills.Canaries {
					if k.JobCode == "" || k.MoveTo == "" {
						return fmt.Errorf("%s.scenario: move needs job_code and move_to on every canary (%s has not)", where, k.EmployeeID)
					}
				}
			default:
				return fmt.Errorf("%s.scenario: %q is not terminate, suspend or move", where, j.Scenario)
			}
		default:
			return fmt.Errorf("%s.kind: %q is not run or drill", where, j.Kind)
		}
	}
	return nil
}
