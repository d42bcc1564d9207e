package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Data printed for people cannot drive the terminal or forge a line: an
// account ID holding a newline and ESC[2J reaches the dry-run plan, the
// summary and `findings` escaped (issue 11 item 13).
func TestControlCharactersEscaped(t *testing.T) {
	dir, config := smallSetup(t, "")
	hostile := "v3\n  AUTO vpn u-ceo disable\x1b[2J"
	vpn := "account_id,username,email,employee_id,display_name,enabled,privileged,groups\n" +
		"v1,a,a@example.com,E1,A One,true,false,\nv2,b,b@example.com,E2,B Two,true,false,\n" +
		"\"" + hostile + "\",c\x07,c@example.com,E3,\"C\x1b]0;pwned\x07 Three\",true,false,\n"
	if err := os.WriteFile(filepath.Join(dir, "vpn.csv"), []byte(vpn), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"run", "--config", config, "--out", dir, "--dry-run"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr.String())
	}
	var fout, ferr bytes.Buffer
	if code := run(context.Background(), []string{"findings", "--config", config, "--all"}, &fout, &ferr); code != exitOK {
		t.Fatalf("findings: exit %d: %s", code, ferr.String())
	}
	for name, out := range map[string]string{"plan": stdout.String(), "summary": stderr.String(), "findings": fout.String()} {
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("%s carries a control character: %q", name, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "AUTO vpn u-ceo") {
				t.Errorf("%s has a forged line: %q", name, line)
			}
		}
	}
	if !strings.Contains(stdout.String(), `v3\n AUTO vpn u-ceo disable\x1b[2J`) {
		t.Errorf("the plan does not show the account ID escaped:\n%s", stdout.String())
	}
}
