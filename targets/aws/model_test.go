package aws

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/accessrecon/accessrecon/targets/aws/awsfake"
)

// TestFakeHeldToModel: every action the fake implements is an IAM operation
// of service-2.json, and a session that makes the fake answer each of them
// (through the official SDK, which parses every answer) passes the model
// checks: every element the fake wrote is a member of its shape there.
func TestFakeHeldToModel(t *testing.T) {
	spec := awsfake.LoadSpec(t)
	for op := range awsfake.Ops {
		if _, ok := spec.Operations[op]; !ok {
			t.Errorf("the fake implements %s, which service-2.json does not describe", op)
		}
	}

	h := newHarness(t, seedStandard)
	ctx := t.Context()
	c := h.target.client
	if _, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{}); err == nil {
		t.Error("GetCredentialReport before any GenerateCredentialReport succeeded")
	}
	as := listAll(t, h.target) // bulk
	pcfg := Config{Endpoint: h.srv.URL, Listing: ListingPerUser, TagEmployeeID: "EmployeeID"}
	pcfg.accessKeyID, pcfg.secretAccessKey = testKeyID, testSecret
	perUser, err := newTarget(ctx, pcfg, testLogger(t), options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(listAll(t, perUser)); n != len(as) {
		t.Fatalf("per_user listed %d, bulk %d", n, len(as))
	}
	carol := byName(t, as, "carol")
	bob := byName(t, as, "bob")
	if err := h.target.RevokeCredential(ctx, carol, carol.Credentials[0]); err != nil {
		t.Fatal(err)
	}
	if err := h.target.RemoveFromGroup(ctx, bob, bob.Groups[0]); err != nil {
		t.Fatal(err)
	}
	h.target.cfg.RevokeSessions = true
	if err := h.target.RevokeSessions(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if err := h.target.Disable(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if _, err := h.target.Account(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	// The credential report, as an administrator's script would read it.
	for {
		r, err := c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if err != nil {
			t.Fatal(err)
		}
		if r.State == types.ReportStateTypeComplete {
			break
		}
		if _, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{}); err == nil {
			t.Error("GetCredentialReport of a report in progress succeeded")
		}
	}
	rep, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(rep.Content)).ReadAll()
	if err != nil || len(rows) != 6 || rows[0][0] != "user" || rows[1][0] != "alice" {
		t.Fatalf("credential report: %v, %d rows", err, len(rows))
	}

	h.fake.Mu.Lock()
	defer h.fake.Mu.Unlock()
	for op := range awsfake.Ops {
		if !h.fake.Served[op] {
			t.Errorf("the session never had the fake answer %s: it went unchecked", op)
		}
	}
	if len(h.fake.Seen) < 40 {
		t.Errorf("only %d members checked: %v", len(h.fake.Seen), awsfake.SortedKeys(h.fake.Seen))
	}
	for m := range h.fake.Seen {
		shape, member, _ := strings.Cut(m, ".")
		if _, ok := spec.Shapes[shape].Members[member]; !ok {
			t.Errorf("%s written but not in service-2.json", m)
		}
	}
	t.Logf("%d actions, %d shape members checked against service-2.json", len(h.fake.Served), len(h.fake.Seen))
}

// TestModelChecksCatchMistakes: the checks fail on the mistakes a fake could
// make, so a passing fake means something.
func TestModelChecksCatchMistakes(t *testing.T) {
	spec := awsfake.LoadSpec(t)
	meta := `<ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>`
	user := func(extra string) string {
		return `<ListUsersResponse><ListUsersResult><Users><member><Path>/</Path><UserName>a</UserName><UserId>AIDA0000000000000001</UserId>` +
			`<Arn>arn:aws:iam::123456789012:user/a</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate>` + extra + `</member></Users>` +
			`<IsTruncated>false</IsTruncated></ListUsersResult>` + meta + `</ListUsersResponse>`
	}
	if v := spec.CheckResponse("ListUsers", 200, []byte(user("")), map[string]bool{}); len(v) > 0 {
		t.Fatalf("a valid answer was refused: %v", v)
	}
	for name, c := range map[string]struct {
		op     string
		status int
		body   string
	}{
		"unknown member":   {"ListUsers", 200, user("<Email>a@example.com</Email>")},
		"bad timestamp":    {"ListUsers", 200, user("<PasswordLastUsed>yesterday</PasswordLastUsed>")},
		"missing required": {"ListUsers", 200, `<ListUsersResponse><ListUsersResult><IsTruncated>false</IsTruncated></ListUsersResult>` + meta + `</ListUsersResponse>`},
		"bad boolean":      {"ListUsers", 200, `<ListUsersResponse><ListUsersResult><Users/><IsTruncated>yes</IsTruncated></ListUsersResult>` + meta + `</ListUsersResponse>`},
		"list item name":   {"ListUserPolicies", 200, `<ListUserPoliciesResponse><ListUserPoliciesResult><PolicyNames><item>p</item></PolicyNames></ListUserPoliciesResult>` + meta + `</ListUserPoliciesResponse>`},
		"bad enum":         {"ListAccessKeys", 200, `<ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata><member><Status>Revoked</Status></member></AccessKeyMetadata></ListAccessKeysResult>` + meta + `</ListAccessKeysResponse>`},
		"wrong wrapper":    {"GetUser", 200, `<GetUserResponse><ListUsersResult/>` + meta + `</GetUserResponse>`},
		"no request id":    {"DeleteLoginProfile", 200, `<DeleteLoginProfileResponse/>`},
		"unlisted error":   {"GetUser", 409, `<ErrorResponse><Error><Type>Sender</Type><Code>DeleteConflict</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>`},
		"error status":     {"GetUser", 400, `<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>`},
		"not xml":          {"GetUser", 200, `{"User":{}}`},
		"pattern":          {"GetUser", 200, `<GetUserResponse><GetUserResult><User><Path>no-slash</Path><UserName>a</UserName><UserId>AIDA0000000000000001</UserId><Arn>arn:aws:iam::123456789012:user/a</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate></User></GetUserResult>` + meta + `</GetUserResponse>`},
	} {
		if v := spec.CheckResponse(c.op, c.status, []byte(c.body), map[string]bool{}); len(v) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
	for name, form := range map[string]url.Values{
		"unknown action":   {"Action": {"ListUsersEverywhere"}, "Version": {"2010-05-08"}},
		"bad version":      {"Action": {"ListUsers"}, "Version": {"2011-01-01"}},
		"unknown param":    {"Action": {"ListUsers"}, "Version": {"2010-05-08"}, "Limit": {"10"}},
		"missing required": {"Action": {"UpdateAccessKey"}, "Version": {"2010-05-08"}, "AccessKeyId": {"AKIA0000000000000001"}},
		"bad enum":         {"Action": {"UpdateAccessKey"}, "Version": {"2010-05-08"}, "AccessKeyId": {"AKIA0000000000000001"}, "Status": {"Disabled"}},
		"out of range":     {"Action": {"ListUsers"}, "Version": {"2010-05-08"}, "MaxItems": {"5000"}},
	} {
		if _, v := spec.CheckRequest(form); len(v) == 0 {
			t.Errorf("request %s: not caught", name)
		}
	}
}

// TestMalformedAnswerFailsTheSDK: the SDK parses what the fake writes, so a
// fake writing the wrong type cannot pass silently, and the listing fails
// rather than yielding a partial result.
func TestMalformedAnswerFailsTheSDK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<ListUsersResponse><ListUsersResult><Users><member><UserName>a</UserName>` +
			`<CreateDate>last tuesday</CreateDate></member></Users><IsTruncated>false</IsTruncated></ListUsersResult>` +
			`<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></ListUsersResponse>`))
	}))
	defer srv.Close()
	isolateAWSEnv(t)
	cfg := Config{Endpoint: srv.URL}
	cfg.accessKeyID, cfg.secretAccessKey = testKeyID, testSecret
	tg, err := newTarget(t.Context(), cfg, testLogger(t), options{backoff: &recordingBackoff{}})
	if err != nil {
		t.Fatal(err)
	}
	var last error
	n := 0
	for _, err := range tg.Accounts(t.Context()) {
		last = err
		n++
	}
	if last == nil || n != 1 {
		t.Fatalf("listing a malformed answer: %d items, last error %v", n, last)
	}
}
