package ldap

// PagesRequested is how many paged-search requests t has sent.
func (t *Target) PagesRequested() int64 { return t.pages.Load() }

// SearchAttributes is the attribute list a user search asks for.
func (t *Target) SearchAttributes() []string { return t.attributes() }

// FirstRDNValue is the name people write for the group whose DN is dn.
func FirstRDNValue(dn string) string { return firstRDNValue(dn) }
