package main

import "github.com/accessrecon/accessrecon/reconcile"

// The audit events the commands record (the engine's own are reconcile's).
const (
	auditHoldAdded              reconcile.AuditType = "hold_added"
	auditHoldRemoved            reconcile.AuditType = "hold_removed"
	auditHoldRequested          reconcile.AuditType = "hold_requested" // a two-person hold awaiting approval
	auditHoldApproved           reconcile.AuditType = "hold_approved"  // by someone other than the requester
	auditExemptionRequested     reconcile.AuditType = "exemption_requested"
	auditExemptionApproved      reconcile.AuditType = "exemption_approved"
	auditExemptionRemoved       reconcile.AuditType = "exemption_removed"
	auditManualStepAcknowledged reconcile.AuditType = "manual_step_acknowledged" // accessrecon ack
)
