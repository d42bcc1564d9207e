package reconcile

import (
	"strconv"
	"time"
)

// appendJSON appends f's JSON to b: byte for byte what encoding/json's
// Marshal writes for it (the stored format: the bytes are hashed, and a
// finding whose bytes changed is a changed finding), without reflection
// or an allocation of its own. Marshalling the findings was a tenth of a
// nightly run's CPU. TestFindingAppendJSONIsMarshal holds the two equal
// for findings with every field set, through reflection: a field added to
// Finding and not here fails it.
func (f *Finding) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"fingerprint":`...)
	b = appendJSONString(b, f.Fingerprint)
	b = appendField(b, "kind", string(f.Kind))
	b = appendField(b, "severity", string(f.Severity))
	b = appendField(b, "target", f.Target)
	b = appendField(b, "account_id", f.AccountID)
	b = appendOmitEmpty(b, "username", f.Username)
	b = appendOmitEmpty(b, "display_name", f.DisplayName)
	b = appendOmitEmpty(b, "employee_id", f.EmployeeID)
	if p := f.Person; p != nil {
		b = append(b, `,"person":{"employee_id":`...)
		b = appendJSONString(b, p.EmployeeID)
		b = appendOmitEmpty(b, "name", p.Name)
		b = appendOmitEmpty(b, "email", p.Email)
		b = appendField(b, "status", string(p.Status))
		b = appendOmitEmpty(b, "job_code", p.JobCode)
		b = appendOmitEmpty(b, "department", p.Department)
		if b, err = appendTimeField(b, "termination_date", p.TerminationDate); err != nil {
			return nil, err
		}
		b = append(b, '}')
	}
	b = appendField(b, "disposition", string(f.Disposition))
	b = append(b, `,"actions":`...)
	if f.Actions == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range f.Actions {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"op":`...)
			b = appendJSONString(b, string(s.Op))
			b = appendOmitEmpty(b, "arg", s.Arg)
			b = appendOmitEmpty(b, "name", s.Name)
			b = append(b, `,"auto":`...)
			b = strconv.AppendBool(b, s.Auto)
			b = appendOmitEmpty(b, "manual", s.Manual)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendField(b, "reason", f.Reason)
	b = append(b, `,"evidence":`...)
	b = f.Evidence.appendJSON(b)
	if b, err = appendTimeField(b, "first_seen", &f.FirstSeen); err != nil {
		return nil, err
	}
	b = appendOmitEmpty(b, "match", f.Match)
	if b, err = appendTimeField(b, "effective_at", f.EffectiveAt); err != nil {
		return nil, err
	}
	b = appendOmitEmpty(b, "tier", f.Tier)
	if x := f.Exemption; x != nil {
		b = append(b, `,"exemption":{"target":`...)
		b = appendJSONString(b, x.Target)
		b = appendField(b, "account_id", x.AccountID)
		b = appendField(b, "owner", x.Owner)
		b = appendField(b, "reason", x.Reason)
		b = appendField(b, "approver", x.Approver)
		if b, err = appendTimeField(b, "expires", &x.Expires.Time); err != nil {
			return nil, err
		}
		b = append(b, '}')
	}
	if b, err = appendTimeField(b, "revoked_at", f.RevokedAt); err != nil {
		return nil, err
	}
	b = appendOmitEmpty(b, "elapsed", f.Elapsed)
	if f.WithinSLA != nil {
		b = strconv.AppendBool(append(b, `,"within_sla":`...), *f.WithinSLA)
	}
	b = appendOmitEmpty(b, "outcome", string(f.Outcome))
	b = appendOmitEmpty(b, "jira_key", f.JiraKey)
	return append(b, '}'), nil
}

// appendField appends ,"name":value.
func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// appendOmitEmpty appends ,"name":value unless value is empty.
func appendOmitEmpty(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	return appendField(b, name, value)
}

// appendTimeField appends ,"name":t as time.Time's MarshalJSON writes t,
// failing as it does (a year outside 0–9999); nothing when t is nil (the
// fields that are pointers are omitempty).
func appendTimeField(b []byte, name string, t *time.Time) ([]byte, error) {
	if t == nil {
		return b, nil
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b, err := t.AppendText(append(b, '"', ':', '"'))
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}
