package reconcile

// The internal tests' helpers, for the external tests (package
// reconcile_test), which run the engine against the SQLite store where what
// they test is that store's own behaviour (crash recovery, the lock, a
// failing audit trail).
var (
	TestAsOf         = asOf
	TestSpec         = spec
	TestHR           = hr
	TestFakeAccounts = fakeAccounts
	TestEnabled      = enabled
	TestFindKind     = findKind
	TestKinds        = resKinds
)

// NewMemStore is the in-memory Store the internal tests run against.
func NewMemStore() Store { return newMemStore() }
