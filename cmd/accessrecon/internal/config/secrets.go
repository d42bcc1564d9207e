package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/accessrecon/accessrecon/targets"
)

// Prepare readies a decoded connector configuration before the connector is
// built: its file paths are made relative to the configuration file
// (targets.PathConfig), and its secrets are read from the environment or
// from files, also relative to the configuration file (targets.SecretConfig).
// Every secret read is added to red, so that no error text can carry it.
// where names the config block in errors; no error names a secret's value.
func Prepare(c any, dir, where string, red *targets.Redactor) error {
	if pc, ok := c.(targets.PathConfig); ok {
		pc.ResolvePaths(dir)
	}
	sc, ok := c.(targets.SecretConfig)
	if !ok {
		return nil
	}
	for _, f := range sc.SecretFields() {
		v, err := ReadSecret(f, dir)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if v == "" {
			continue
		}
		*f.Value = v
		red.Add(v)
	}
	return nil
}

// ReadSecret reads one secret: from the environment variable f.Env, or from
// the file f.File (relative to dir; a trailing newline trimmed).
func ReadSecret(f targets.SecretField, dir string) (targets.Secret, error) {
	switch {
	case f.Env != "" && f.File != "":
		return "", fmt.Errorf("%s_env and %s_file: set only one", f.Key, f.Key)
	case f.Env != "":
		v, ok := os.LookupEnv(f.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s_env: environment variable %s is not set", f.Key, f.Env)
		}
		return targets.Secret(v), nil
	case f.File != "":
		p := f.File
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", f.Key, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%s_file: %s is empty", f.Key, p)
		}
		return targets.Secret(v), nil
	case f.Optional:
		return "", nil
	}
	return "", errors.New(f.Key + "_env or " + f.Key + "_file: required")
}
