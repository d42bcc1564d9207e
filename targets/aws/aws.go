// Package aws is the AWS IAM target: the IAM users of one AWS account, with
// their console password (login profile), their access keys and when each was
// last used, their groups, whether they are privileged (AdministratorAccess,
// iam:* or *:* granted directly or through a group) and an employee ID from a
// tag.
//
// It talks to IAM through the official SDK (github.com/aws/aws-sdk-go-v2),
// with credentials from the SDK's standard chain (environment, shared
// profile, web identity / IRSA, instance role), or from static keys the
// wiring resolves, and an optional role to assume. Throttling (Throttling,
// LimitExceeded, EntityTemporarilyUnmodifiable) is retried by the SDK's
// standard retryer, bounded by max_attempts and max_backoff.
//
// Disable deletes the user's login profile (console password) and
// deactivates every active access key; it never deletes a key or a user.
// RevokeCredential deactivates one access key; RemoveFromGroup removes the
// user from one IAM group, where the configuration allows it; RevokeSessions
// (opt-in) denies the user's session tokens issued before now.
package aws

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/accessrecon/accessrecon/targets"
)

// Config configures an AWS IAM target: one AWS account. The keys are the
// yaml tags.
type Config struct {
	// Profile is a shared-config profile (~/.aws/config) to start the
	// credential chain from; empty: the SDK's default chain (AWS_* variables,
	// the default profile, web identity / IRSA, container or instance role).
	Profile string `yaml:"profile"`
	// Region signs the requests (IAM is global; default us-east-1; use
	// cn-north-1 or us-gov-west-1 for those partitions).
	Region string `yaml:"region"`
	// AccessKeyID*/SecretAccessKey*/SessionToken* name static credentials
	// (env var or file), resolved by the wiring. Optional: without them the
	// standard chain is used.
	AccessKeyIDEnv      string `yaml:"access_key_id_env"`
	AccessKeyIDFile     string `yaml:"access_key_id_file"`
	SecretAccessKeyEnv  string `yaml:"secret_access_key_env"`
	SecretAccessKeyFile string `yaml:"secret_access_key_file"`
	SessionTokenEnv     string `yaml:"session_token_env"`
	SessionTokenFile    string `yaml:"session_token_file"`
	// AssumeRoleARN, when set, is assumed (sts:AssumeRole) with the chain's
	// credentials, and every IAM call uses the role's.
	AssumeRoleARN string `yaml:"assume_role_arn"`
	// ExternalID is passed to AssumeRole when the role's trust policy
	// requires one.
	ExternalID string `yaml:"external_id"`
	// Endpoint overrides the IAM endpoint (a VPC endpoint, a FIPS endpoint,
	// or a test fake); STSEndpoint the STS one used for assume_role_arn.
	Endpoint    string `yaml:"endpoint"`
	STSEndpoint string `yaml:"sts_endpoint"`
	// TagEmployeeID names the user tag holding the employee ID (default:
	// none, accounts carry no employee ID). TagEmail likewise for an email.
	TagEmployeeID string `yaml:"tag_employee_id"`
	TagEmail      string `yaml:"tag_email"`
	// AllowGroupRemoval enables RemoveFromGroup (default true; false makes
	// every group removal a manual step).
	AllowGroupRemoval *bool `yaml:"allow_group_removal"`
	// Listing is "bulk" (default: GetAccountAuthorizationDetails, the
	// credential report, and two calls per user) or "per_user" (about eight
	// calls per user, nothing older than the call).
	Listing string `yaml:"listing"`
	// ReportWait bounds the wait for IAM to generate the credential report
	// (default 2m); without a report, bulk listing asks per user.
	ReportWait time.Duration `yaml:"report_wait"`
	// RevokeSessions enables RevokeSessions (default false): an inline
	// policy denying everything to credentials issued before the call.
	RevokeSessions bool `yaml:"revoke_sessions"`
	// PageSize is MaxItems for every listing call (1–1000, default 1000).
	PageSize int `yaml:"page_size"`
	// Concurrency is how many users are read at once (default 4).
	Concurrency int `yaml:"concurrency"`
	// MaxAttempts bounds the SDK's tries of one call (default 8);
	// MaxBackoff one wait between them (default 20s).
	MaxAttempts int           `yaml:"max_attempts"`
	MaxBackoff  time.Duration `yaml:"max_backoff"`

	accessKeyID, secretAccessKey, sessionToken targets.Secret
}

// SecretFields lists the optional static credentials for the wiring.
func (c *Config) SecretFields() []targets.SecretField {
	return []targets.SecretField{
		{Key: "access_key_id", Env: c.AccessKeyIDEnv, File: c.AccessKeyIDFile, Value: &c.accessKeyID, Optional: true},
		{Key: "secret_access_key", Env: c.SecretAccessKeyEnv, File: c.SecretAccessKeyFile, Value: &c.secretAccessKey, Optional: true},
		{Key: "session_token", Env: c.SessionTokenEnv, File: c.SessionTokenFile, Value: &c.sessionToken, Optional: true},
	}
}

// Target is the IAM users of one AWS account.
type Target struct {
	cfg    Config
	log    *slog.Logger
	client *iam.Client
	creds  aws.CredentialsProvider
	static *targets.Redactor

	// now is the clock of RevokeSessions' cut-off.
	now func() time.Time
	// sleep waits between credential-report polls; tests shorten it.
	sleep func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	names map[string]string // user ID -> user name, learned while listing
}

var (
	_ targets.Target            = (*Target)(nil)
	_ targets.Getter            = (*Target)(nil)
	_ targets.Disabler          = (*Target)(nil)
	_ targets.CredentialRevoker = (*Target)(nil)
	_ targets.GroupRemover      = (*Target)(nil)
	_ targets.SessionRevoker    = (*Target)(nil)
	_ targets.Configurable      = (*Target)(nil)
	_ targets.SecretConfig      = (*Config)(nil)
)

// options are test hooks: the retryer's backoff.
type options struct {
	backoff retry.BackoffDelayer
	sleep   func(ctx context.Context, d time.Duration) error
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// New validates cfg and builds the SDK client. It talks to no server:
// credentials are fetched (and a role assumed) at the first call.
func New(cfg Config, log *slog.Logger) (*Target, error) {
	return newTarget(context.Background(), cfg, log, options{})
}

func newTarget(ctx context.Context, cfg Config, log *slog.Logger, o options) (*Target, error) {
	if log == nil {
		return nil, errors.New("aws: nil logger")
	}
	if err := cfg.resolve(); err != nil {
		return nil, err
	}
	awsCfg, err := loadAWSConfig(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	t := &Target{
		cfg:    cfg,
		log:    log,
		creds:  awsCfg.Credentials,
		static: targets.NewRedactor(cfg.secretAccessKey, cfg.sessionToken),
		names:  map[string]string{},
		sleep:  sleepCtx,
		now:    time.Now,
	}
	if o.sleep != nil {
		t.sleep = o.sleep
	}
	t.client = iam.NewFromConfig(awsCfg, func(io *iam.Options) {
		if cfg.Endpoint != "" {
			io.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return t, nil
}

// resolve fills in the defaults the configuration leaves unset and checks
// the rest.
func (c *Config) resolve() error {
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.PageSize == 0 {
		c.PageSize = 1000
	}
	if c.PageSize < 1 || c.PageSize > 1000 {
		return fmt.Errorf("aws: page_size: %d is outside 1–1000", c.PageSize)
	}
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		return fmt.Errorf("aws: concurrency: %d is outside 1–64", c.Concurrency)
	}
	switch c.Listing {
	case "":
		c.Listing = ListingBulk
	case ListingBulk, ListingPerUser:
	default:
		return fmt.Errorf("aws: listing: %q is not bulk or per_user", c.Listing)
	}
	if c.ReportWait == 0 {
		c.ReportWait = 2 * time.Minute
	}
	if c.ReportWait < 0 {
		return fmt.Errorf("aws: report_wait: %v is negative", c.ReportWait)
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 8
	}
	if c.MaxAttempts < 1 {
		return fmt.Errorf("aws: max_attempts: %d is less than 1", c.MaxAttempts)
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 20 * time.Second
	}
	if c.MaxBackoff < 0 {
		return fmt.Errorf("aws: max_backoff: %v is negative", c.MaxBackoff)
	}
	if (c.accessKeyID == "") != (c.secretAccessKey == "") {
		return errors.New("aws: access_key_id and secret_access_key: set both or neither")
	}
	if c.sessionToken != "" && c.accessKeyID == "" {
		return errors.New("aws: session_token: needs access_key_id and secret_access_key")
	}
	if c.ExternalID != "" && c.AssumeRoleARN == "" {
		return errors.New("aws: external_id: needs assume_role_arn")
	}
	if c.AssumeRoleARN != "" && !strings.HasPrefix(c.AssumeRoleARN, "arn:") {
		return fmt.Errorf("aws: assume_role_arn: %q is not an ARN", c.AssumeRoleARN)
	}
	return nil
}

// loadAWSConfig builds the SDK configuration: IAM's retry policy, the
// profile or static keys cfg names, and the assumed role on top.
func loadAWSConfig(ctx context.Context, cfg Config, o options) (aws.Config, error) {
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = cfg.MaxAttempts
			so.MaxBackoff = cfg.MaxBackoff
			if o.backoff != nil {
				so.Backoff = o.backoff
			}
			// A nightly batch waits out throttling instead of failing fast
			// once the client-side retry quota is spent.
			so.RateLimiter = ratelimit.None
			// IAM's own throttling codes besides the SDK's defaults.
			extra := retry.RetryableErrorCode{Codes: map[string]struct{}{
				"LimitExceeded": {}, "EntityTemporarilyUnmodifiable": {}, "ServiceFailure": {},
			}}
			so.Retryables = append(so.Retryables, extra)
			so.Throttles = append(so.Throttles, retry.ThrottleErrorCode{Codes: map[string]struct{}{"LimitExceeded": {}}})
		})
	}
	loadOpts := []func(*config.LoadOptions) error{
		config.WithRegion(cfg.Region),
		config.WithRetryer(retryer),
	}
	if cfg.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.accessKeyID != "" {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			cfg.accessKeyID.Reveal(), cfg.secretAccessKey.Reveal(), cfg.sessionToken.Reveal())))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws: load configuration: %w", err)
	}
	if cfg.AssumeRoleARN != "" {
		stsClient := sts.NewFromConfig(awsCfg, func(so *sts.Options) {
			if cfg.STSEndpoint != "" {
				so.BaseEndpoint = aws.String(cfg.STSEndpoint)
			}
		})
		awsCfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, cfg.AssumeRoleARN, func(ao *stscreds.AssumeRoleOptions) {
			ao.RoleSessionName = "accessrecon"
			if cfg.ExternalID != "" {
				ao.ExternalID = aws.String(cfg.ExternalID)
			}
		}))
	}
	return awsCfg, nil
}

// Capabilities narrows the methods to what the configuration allows.
func (t *Target) Capabilities() []targets.Capability {
	c := []targets.Capability{targets.CanGet, targets.CanDisable, targets.CanRevokeCredential}
	if t.groupRemovalAllowed() {
		c = append(c, targets.CanRemoveFromGroup)
	}
	if t.cfg.RevokeSessions {
		c = append(c, targets.CanRevokeSessions)
	}
	return c
}

func (t *Target) groupRemovalAllowed() bool {
	return t.cfg.AllowGroupRemoval == nil || *t.cfg.AllowGroupRemoval
}

// maxErrorText bounds the upstream text in an error (bytes): enough for the
// SDK's prefix, the error code and IAM's message.
const maxErrorText = 600

// upstreamError is an IAM failure with its text redacted; it unwraps to the
// sentinel that classifies it, never to the SDK's error (whose text may carry
// what was redacted).
type upstreamError struct {
	msg  string
	kind error
}

func (e *upstreamError) Error() string { return e.msg }
func (e *upstreamError) Unwrap() error { return e.kind }

// wrap turns an SDK error into the connector's: "aws: <what>: <redacted
// text>", wrapping ErrNotFound (NoSuchEntity), ErrPermission (AccessDenied,
// 401/403), the context's error, or a *targets.TransientError (throttling,
// 5xx, network) once the SDK's retries are spent.
func (t *Target) wrap(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	// The SDK's text ("operation error IAM: <Op>, …, <Code>: <IAM's
	// message>") is redacted, then made printable and cut: it ends up in
	// evidence kept for years.
	msg := "aws: " + what + ": " + targets.Printable(t.redact(ctx, err.Error()), maxErrorText)
	var kind error
	var api smithy.APIError
	var resp interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &resp) {
		status = resp.HTTPStatusCode()
	}
	switch {
	case errors.Is(err, errNoMarker):
		return &upstreamError{msg: msg}
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		kind = ctx.Err()
	case errors.As(err, &api) && api.ErrorCode() == "NoSuchEntity":
		kind = targets.ErrNotFound
	case errors.As(err, &api) && (api.ErrorCode() == "AccessDenied" || api.ErrorCode() == "AccessDeniedException") || status == 401 || status == 403:
		kind = targets.ErrPermission
	case status == 0 && !errors.As(err, &api), status >= 500, status == 429,
		errors.As(err, &api) && isThrottle(api.ErrorCode()):
		return targets.Transient(&upstreamError{msg: msg}, 0)
	default:
		return &upstreamError{msg: msg}
	}
	return &upstreamError{msg: msg, kind: kind}
}

func isThrottle(code string) bool {
	if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
		return true
	}
	return code == "LimitExceeded" || code == "EntityTemporarilyUnmodifiable"
}

// redact removes the configured secrets and the chain's current secret key
// and session token (an assumed role's included) from upstream text.
func (t *Target) redact(ctx context.Context, s string) string {
	s = t.static.Redact(s)
	if t.creds == nil {
		return s
	}
	c, err := t.creds.Retrieve(context.WithoutCancel(ctx))
	if err != nil {
		return s
	}
	return targets.NewRedactor(targets.Secret(c.SecretAccessKey), targets.Secret(c.SessionToken)).Redact(s)
}

// Accounts lists every IAM user, page by page (following Marker while
// IsTruncated), reading up to concurrency users of a page at once and
// yielding them in listing order. See Config.Listing for the calls.
func (t *Target) Accounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	if t.cfg.Listing == ListingBulk {
		return t.bulkAccounts(ctx)
	}
	return t.perUserAccounts(ctx)
}

// perUserAccounts is the listing with ListingPerUser.
func (t *Target) perUserAccounts(ctx context.Context) iter.Seq2[targets.Account, error] {
	return func(yield func(targets.Account, error) bool) {
		pc := newPolicyCache(t)
		var marker *string
		for {
			if err := ctx.Err(); err != nil {
				yield(targets.Account{}, fmt.Errorf("aws: list users: %w", err))
				return
			}
			page, err := t.client.ListUsers(ctx, &iam.ListUsersInput{Marker: marker, MaxItems: aws.Int32(int32(t.cfg.PageSize))})
			if err != nil {
				yield(targets.Account{}, t.wrap(ctx, "list users", err))
				return
			}
			accts, err := t.readUsers(ctx, page.Users, pc)
			if err != nil {
				yield(targets.Account{}, err)
				return
			}
			for _, a := range accts {
				if !yield(a, nil) {
					return
				}
			}
			if !page.IsTruncated {
				return
			}
			if page.Marker == nil || *page.Marker == "" {
				yield(targets.Account{}, errors.New("aws: list users: IsTruncated without a Marker"))
				return
			}
			marker = page.Marker
		}
	}
}

// Account re-reads one user by user ID (the account's ID). The name is known
// from the last listing, or found by walking ListUsers.
func (t *Target) Account(ctx context.Context, id string) (targets.Account, error) {
	u, err := t.userByID(ctx, id)
	if err != nil {
		return targets.Account{}, err
	}
	accts, err := t.readUsers(ctx, []types.User{u}, newPolicyCache(t))
	if err != nil {
		return targets.Account{}, err
	}
	if len(accts) == 0 { // deleted while being read
		return targets.Account{}, fmt.Errorf("aws: user ID %s: %w", id, targets.ErrNotFound)
	}
	return accts[0], nil
}
