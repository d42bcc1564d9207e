package entra

import (
	"net/url"
	"strconv"
	"strings"
)

// The Microsoft Graph v1.0 requests this connector sends, in one place. Every
// entity set, property, navigation property, type cast and action named here
// is checked against Microsoft's CSDL ($metadata) by csdl_test.go, so no
// request shape is guessed.

// Path templates: "{id}" stands for an object ID (a key segment).
const (
	pathUsers           = "/users"
	pathUser            = "/users/{id}"
	pathRevokeSessions  = "/users/{id}/revokeSignInSessions"
	pathUserMemberOf    = "/users/{id}/memberOf/microsoft.graph.group"
	pathGroups          = "/groups"
	pathGroup           = "/groups/{id}"
	pathGroupMembers    = "/groups/{id}/members/microsoft.graph.user"
	pathGroupMemberRef  = "/groups/{id}/members/{id}/$ref"
	pathRoleAssignments = "/roleManagement/directory/roleAssignments"
)

// Properties selected ($select), per request.
var (
	// userSelect is what a listing reads of each user: exactly what Account
	// is built from.
	userSelect = []string{"id", "userPrincipalName", "mail", "employeeId", "accountEnabled",
		"createdDateTime", "signInActivity", "userType", "onPremisesSamAccountName", "onPremisesSyncEnabled"}
	// userStateSelect is what Disable reads before writing.
	userStateSelect = []string{"id", "accountEnabled", "onPremisesSyncEnabled"}
	// groupSelect is what is read of a group: its name, and whether its
	// membership can be edited through Graph.
	groupSelect  = []string{"id", "displayName", "groupTypes", "isAssignableToRole", "onPremisesSyncEnabled", "membershipRule"}
	memberSelect = []string{"id"}
	// roleAssignmentSelect and roleDefinitionSelect: active directory role
	// assignments, each with its role's name ($expand=roleDefinition).
	roleAssignmentSelect = []string{"id", "principalId", "roleDefinitionId", "directoryScopeId"}
	roleDefinitionSelect = []string{"id", "displayName", "templateId"}
)

// Bodies sent: PATCH /users/{id} sets only accountEnabled.
const disableProperty = "accountEnabled"

// graphRequest describes one request shape for the CSDL test.
type graphRequest struct {
	Method string
	Path   string
	Select []string
	// Expand is a navigation property expanded inline, with its own $select.
	Expand       string
	ExpandSelect []string
	// Body names the properties of the path's entity type written (PATCH).
	Body []string
}

// graphRequests is every request shape the connector sends.
var graphRequests = []graphRequest{
	{Method: "GET", Path: pathUsers, Select: userSelect},
	{Method: "GET", Path: pathUser, Select: userSelect},
	{Method: "GET", Path: pathUser, Select: userStateSelect},
	{Method: "GET", Path: pathUser, Select: []string{"id"}},
	{Method: "PATCH", Path: pathUser, Body: []string{disableProperty}},
	{Method: "POST", Path: pathRevokeSessions},
	{Method: "GET", Path: pathUserMemberOf, Select: groupSelect},
	{Method: "GET", Path: pathGroups, Select: groupSelect},
	{Method: "GET", Path: pathGroup, Select: groupSelect},
	{Method: "GET", Path: pathGroupMembers, Select: memberSelect},
	{Method: "DELETE", Path: pathGroupMemberRef},
	{Method: "GET", Path: pathRoleAssignments, Select: roleAssignmentSelect, Expand: "roleDefinition", ExpandSelect: roleDefinitionSelect},
}

// fill replaces the {id} segments of a template with escaped ids, in order.
func fill(template string, ids ...string) string {
	var b strings.Builder
	rest := template
	for _, id := range ids {
		before, after, ok := strings.Cut(rest, "{id}")
		if !ok {
			panic("entra: too many ids for " + template)
		}
		b.WriteString(before)
		b.WriteString(url.PathEscape(id))
		rest = after
	}
	if strings.Contains(rest, "{id}") {
		panic("entra: too few ids for " + template)
	}
	b.WriteString(rest)
	return b.String()
}

// query builds an OData query. Graph takes $select/$top/$expand with their
// dollar signs unescaped and commas as they are.
func query(sel []string, top int, expand string, expandSel []string) string {
	var parts []string
	if len(sel) > 0 {
		parts = append(parts, "$select="+strings.Join(sel, ","))
	}
	if expand != "" {
		e := "$expand=" + expand
		if len(expandSel) > 0 {
			e += "($select=" + strings.Join(expandSel, ",") + ")"
		}
		parts = append(parts, e)
	}
	if top > 0 {
		parts = append(parts, "$top="+strconv.Itoa(top))
	}
	if len(parts) == 0 {
		return ""
	}
	return "?" + strings.Join(parts, "&")
}
