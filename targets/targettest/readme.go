package targettest

import (
	"bytes"
	"os"
	"regexp"
	"testing"

	"go.yaml.in/yaml/v3"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// READMEYAML returns the bodies of the ```yaml blocks of the file at path
// (a connector's README.md), failing tb when it cannot be read or holds
// other than want blocks (want < 0: any number).
func READMEYAML(tb testing.TB, path string, want int) []string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, m := range yamlBlock.FindAllSubmatch(b, -1) {
		out = append(out, string(m[1]))
	}
	if want >= 0 && len(out) != want {
		tb.Fatalf("%s has %d yaml blocks, want %d", path, len(out), want)
	}
	return out
}

// DecodeStrict decodes a YAML document into v, refusing keys v does not
// know: a README example cannot drift from the connector's Config.
func DecodeStrict(doc string, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.KnownFields(true)
	return dec.Decode(v)
}
