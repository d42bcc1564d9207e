package entra

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/accessrecon/accessrecon/targets/entra/entrafake"
)

// fakeConfig is a client_secret configuration for the fake, with the secret
// set the way the wiring sets it (through SecretFields).
func fakeConfig(t testing.TB, f *entrafake.Graph) Config {
	cfg := Config{TenantID: f.Tenant, ClientID: f.Client, Auth: AuthClientSecret, ClientSecretEnv: "ENTRA_SECRET",
		AuthorityHost: f.Base() + "/", GraphURL: f.Base(), CAFile: f.CAFile(t)}
	for _, sf := range cfg.SecretFields() {
		if sf.Key == "client_secret" {
			*sf.Value = "fake-client-secret-Zq8~x"
		}
	}
	return cfg
}

// sleepLog records waits instead of sleeping.
type sleepLog struct {
	Mu    sync.Mutex
	Waits []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.Mu.Lock()
	s.Waits = append(s.Waits, d)
	s.Mu.Unlock()
	return ctx.Err()
}

func (s *sleepLog) all() []time.Duration {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	return slices.Clone(s.Waits)
}

// certificatePEM makes a self-signed certificate with its key, PEM.
func certificatePEM(t testing.TB, key *rsa.PrivateKey) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	tmpl.Subject.CommonName = "accessrecon-test"
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})...)
}

// TestFakeServesConnectorRoutes ties the connector's path templates to the
// fake's: every request shape the connector sends is one the fake serves
// (and whose route TestFakeMatchesCSDL checks against the CSDL).
func TestFakeServesConnectorRoutes(t *testing.T) {
	for _, p := range []string{pathUsers, pathUser, pathRevokeSessions, pathUserMemberOf, pathGroups, pathGroup, pathGroupMembers, pathGroupMemberRef, pathRoleAssignments} {
		if !slices.ContainsFunc(entrafake.Routes, func(r [2]string) bool { return r[1] == p }) {
			t.Errorf("the connector uses %s, which the fake does not serve", p)
		}
	}
}
