package pgstore_test

import (
	"reflect"
	"testing"

	"github.com/accessrecon/accessrecon/reconcile/pgstore"
	"github.com/accessrecon/accessrecon/reconcile/store"
)

// TestSameMethodsAsSQLite: every method of reconcile/store's Store is a
// method of this Store with the same signature (the same Go types), so that
// the commands can use either through one interface. Path, the SQLite
// file's name, is the one a database server's store has no use for.
func TestSameMethodsAsSQLite(t *testing.T) {
	onlySQLite := map[string]bool{"Path": true}
	sq, pg := reflect.TypeOf((*store.Store)(nil)), reflect.TypeOf((*pgstore.Store)(nil))
	for i := range sq.NumMethod() {
		m := sq.Method(i)
		if onlySQLite[m.Name] {
			continue
		}
		p, ok := pg.MethodByName(m.Name)
		if !ok {
			t.Errorf("pgstore.Store has no method %s%s", m.Name, m.Type.String()[len("func(*store.Store"):])
			continue
		}
		// Compare without the receiver.
		if !sameSignature(m.Type, p.Type) {
			t.Errorf("%s: pgstore has %v, reconcile/store %v", m.Name, p.Type, m.Type)
		}
	}
}

func sameSignature(a, b reflect.Type) bool {
	if a.NumIn() != b.NumIn() || a.NumOut() != b.NumOut() || a.IsVariadic() != b.IsVariadic() {
		return false
	}
	for i := 1; i < a.NumIn(); i++ {
		if a.In(i) != b.In(i) {
			return false
		}
	}
	for i := range a.NumOut() {
		if a.Out(i) != b.Out(i) {
			return false
		}
	}
	return true
}
