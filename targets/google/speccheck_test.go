package google

import (
	"strings"
	"testing"

	"github.com/accessrecon/accessrecon/targets/google/googlefake"
)

// TestSpecCheckerCatches makes sure the checker is not a checker that
// cannot fail: hand-made exchanges that break the document are reported.
func TestSpecCheckerCatches(t *testing.T) {
	d := googlefake.LoadDiscovery(t)
	q := func(s string) map[string][]string {
		m := map[string][]string{}
		for kv := range strings.SplitSeq(s, "&") {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = append(m[k], v)
		}
		return m
	}
	bad := []googlefake.Exchange{
		{Method: "GET", Path: "/admin/directory/v1/users/42/frobnicate", Status: 200, RespBody: []byte(`{}`)},
		{Method: "POST", Path: "/admin/directory/v1/users/42", Status: 200, RespBody: []byte(`{}`)},
		{Method: "GET", Path: "/admin/directory/v1/users", Query: q("customer=my_customer&maxResults=501"), Status: 200, RespBody: []byte(`{}`)},
		{Method: "GET", Path: "/admin/directory/v1/users", Query: q("customer=my_customer&projection=everything"), Status: 200, RespBody: []byte(`{}`)},
		{Method: "GET", Path: "/admin/directory/v1/users", Query: q("customer=my_customer&top=5"), Status: 200, RespBody: []byte(`{}`)},
		{Method: "GET", Path: "/admin/directory/v1/users", Query: q("customer=my_customer&fields=users(id,employeeId)"), Status: 200, RespBody: []byte(`{}`)},
		{Method: "GET", Path: "/admin/directory/v1/users", Query: q("customer=my_customer"), Status: 200, RespBody: []byte(`{"users":[{"id":"1","enabled":true}]}`)},
		{Method: "GET", Path: "/admin/directory/v1/users", Query: q("customer=my_customer"), Status: 200, RespBody: []byte(`{"users":[{"id":"1","suspended":"false"}]}`)},
		{Method: "GET", Path: "/admin/directory/v1/users", Query: q("customer=my_customer"), Status: 200, RespBody: []byte(`{"users":[{"id":"1","externalIds":[{"type":"organization","val":"E1"}]}]}`)},
		{Method: "GET", Path: "/admin/directory/v1/users/1/asps", Status: 200, RespBody: []byte(`{"items":[{"codeId":1,"creationTime":1700000000000}]}`)},
		{Method: "POST", Path: "/admin/directory/v1/users/1/signOut", Status: 200, RespBody: []byte(`{"ok":true}`)},
		{Method: "PATCH", Path: "/admin/directory/v1/users/1", ReqBody: []byte(`{"enabled":false}`), Status: 200, RespBody: []byte(`{"id":"1"}`)},
		{Method: "GET", Path: "/admin/directory/v1/users/1", Status: 404, RespBody: []byte(`{"message":"not found"}`)},
	}
	for _, x := range bad {
		if errs := d.CheckExchange(x); len(errs) == 0 {
			t.Errorf("%s %s %v %s %s: no violation reported", x.Method, x.Path, x.Query, x.ReqBody, x.RespBody)
		}
	}
	good := googlefake.Exchange{Method: "GET", Path: "/admin/directory/v1/users", Query: q("customer=my_customer&maxResults=500&alt=json&prettyPrint=false&fields=nextPageToken,users(id,name/fullName,externalIds(type,value))"),
		Status: 200, RespBody: []byte(`{"users":[{"id":"1","name":{"fullName":"A B"},"externalIds":[{"type":"organization","value":"E1"}],"creationTime":"2020-01-02T03:04:05.000Z"}],"nextPageToken":"x"}`)}
	if errs := d.CheckExchange(good); len(errs) > 0 {
		t.Errorf("a valid exchange was reported: %v", errs)
	}
}
