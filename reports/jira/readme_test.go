package jira

import (
	"bytes"
	"os"
	"regexp"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestReadmeConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no ```yaml block")
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(m[1]))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("README config: %v", err)
	}
	if cfg.Project != "SEC" || cfg.TokenEnv != "JIRA_TOKEN" || cfg.SearchAPI != SearchJQL ||
		cfg.PriorityBySeverity["critical"] != "Highest" || cfg.AssigneeByTarget["ldap"] != "5b10ac8d82e05b22cc7d4ef5" ||
		cfg.Timeout != 30*time.Second || cfg.MaxRetryWait != time.Minute || len(cfg.Labels) != 2 {
		t.Fatalf("README config decoded as %+v", cfg)
	}
}
