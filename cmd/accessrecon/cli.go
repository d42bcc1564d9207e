package main

import (
	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/cmdline"
)

// The command line is the standard library's flag package: one FlagSet per
// command, defined in the command table below, from which the usage text
// (and the README's command list, checked by a test) is generated.

// The command machinery (flags, synopsis, help, parsing) is
// internal/cmdline's; these are its names here.
type (
	action        = cmdline.Action
	command       = cmdline.Command
	usageError    = cmdline.UsageError
	durationValue = cmdline.Duration
	fileList      = cmdline.FileList
)

// commands is the command table: the one definition of the CLI.
func commands() []command {
	return []command{
		{Name: "run", Summary: "one reconciliation run", Required: []string{"config"}, Define: defineRun},
		{Name: "serve", Summary: "the jobs of schedule.yaml, the HR webhooks, health and metrics", Required: []string{"config"}, Define: defineServe},
		{Name: "demo", Summary: "run the bundled demo in a fresh directory", Define: defineDemo},
		{Name: "gen", Summary: "write a reproducible data set for load tests", Required: []string{"out"}, Define: defineGen},
		{Name: "validate", Summary: "check a configuration", Required: []string{"config"}, Define: defineValidate},
		{Name: "findings", Summary: "the findings of the latest run", Required: []string{"config"}, Define: defineFindings},
		{Name: "history", Summary: "the runs with status and counts", Required: []string{"config"}, Define: defineHistory},
		{Name: "sla", Summary: "revocation times against the SLA", Required: []string{"config"}, Define: defineSLA},
		{Name: "report", Summary: "the period workbook over every run of a period, from the store", Required: []string{"config", "from", "to"}, Define: defineReport},
		{Name: "schedule", Summary: "the known leavers' runs serve starts at each termination's effective time", Required: []string{"config"}, Define: defineSchedule},
		{Name: "hold add", Summary: "hold an account: no revocation until the hold ends",
			Required: []string{"config", "target", "account", "reason", "until", "by"}, Define: defineHoldAdd},
		{Name: "hold list", Summary: "the holds", Required: []string{"config"}, Define: defineHoldList},
		{Name: "hold remove", Summary: "end a hold", Required: []string{"config", "id", "by"}, Define: defineHoldRemove},
		{Name: "hold approve", Summary: "approve a hold someone else requested (policy.holds.require_approval): it takes effect", Positional: "id",
			Required: []string{"id", "config", "by"}, Define: defineHoldApprove},
		{Name: "exempt add", Summary: "request an exemption: it applies once someone else approves it",
			Required: []string{"config", "target", "account", "reason", "until", "by"}, Define: defineExemptAdd},
		{Name: "exempt approve", Summary: "approve an exemption someone else requested", Positional: "id",
			Required: []string{"id", "config", "by"}, Define: defineExemptApprove},
		{Name: "exempt list", Summary: "the exemptions added with exempt add", Required: []string{"config"}, Define: defineExemptList},
		{Name: "exempt remove", Summary: "end an exemption or withdraw a request", Required: []string{"config", "id", "by"}, Define: defineExemptRemove},
		{Name: "ack", Summary: "record an open manual step of a finding as done", Positional: "fingerprint",
			Required: []string{"fingerprint", "config", "step", "by"}, Define: defineAck},
		{Name: "audit verify", Summary: "check the audit trail's hash chain against its file", Required: []string{"config"}, Define: defineAuditVerify},
		{Name: "audit export", Summary: "the audit trail as JSON Lines or CEF", Required: []string{"config"}, Define: defineAuditExport},
		{Name: "drill", Summary: "a drill (terminate, suspend or move) of the canaries, measured against the SLA (or --history)", Required: []string{"config"}, Define: defineDrill},
		{Name: "store copy", Summary: "copy a SQLite store (--from) into the new, empty PostgreSQL store of --config: moving to PostgreSQL with nothing lost",
			Required: []string{"config", "from"}, Define: defineStoreCopy},
		{Name: "evidence", Summary: "the evidence pack of a period for an auditor (zip with a SHA-256 manifest)", Required: []string{"config", "from", "to", "out"}, Define: defineEvidence},
	}
}

// lookup finds the command args start with: "hold add" takes two words.
func lookup(args []string) (command, []string, error) { return cmdline.Lookup(commands(), args) }

// usage is the top-level usage text, generated from the command table.
func usage() string { return cmdline.Usage(commands()) }
