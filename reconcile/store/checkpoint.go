package store

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"
)

// Signed checkpoints.
//
// The hash chain proves that nothing changed only to someone who trusts the
// last hash: whoever can write the store and the JSON Lines file can edit a
// record and recompute every hash after it. A checkpoint closes that gap: it
// is the chain head (a record's sequence number and hash) signed with an
// Ed25519 key that the store does not hold, appended to the trail as a
// record of its own (CheckpointEvent), sent wherever the trail's records go
// (OnAppend: the syslog sink) and appended to a checkpoint file kept
// elsewhere. Rebuilding the chain after an edit changes the hash of every
// later head, which no checkpoint signed; cutting the trail's end off leaves
// the checkpoint file (or the SIEM) holding signed heads the trail no longer
// reaches. VerifySigned finds both.
//
// A checkpoint names the key it was signed with (its fingerprint), so that
// verification can accept the keys of before and after a rotation. Removing
// a checkpoint record renumbers every record after it: the next signed head
// no longer matches.

// CheckpointEvent is the type of the audit record holding a checkpoint.
const CheckpointEvent = "audit_checkpoint"

// Checkpoint is a signed chain head: the record HeadSeq carries HeadHash.
type Checkpoint struct {
	HeadSeq  int64     `json:"head_seq"`
	HeadHash string    `json:"head_hash"`
	SignedAt time.Time `json:"signed_at"`
	// Reason says what asked for it: "run" (the end of a run), "every"
	// (audit.checkpoint_every records since the last one), or the caller's.
	Reason string `json:"reason"`
	// Key is the signing key's fingerprint (KeyFingerprint).
	Key string `json:"key"`
	// Signature is the Ed25519 signature of Message(), base64.
	Signature string `json:"signature"`
}

// Message is what the signature covers: every field but the signature, in
// a fixed text form.
func (c Checkpoint) Message() []byte {
	return fmt.Appendf(nil, "accessrecon audit checkpoint v1\nhead_seq=%d\nhead_hash=%s\nsigned_at=%s\nreason=%s\nkey=%s\n",
		c.HeadSeq, c.HeadHash, c.SignedAt.UTC().Format(time.RFC3339Nano), c.Reason, c.Key)
}

// SigningKey is an Ed25519 private key. It prints as REDACTED, in fmt and
// in slog, so that it never reaches a log or the trail.
type SigningKey struct{ priv ed25519.PrivateKey }

// NewSigningKey wraps an Ed25519 private key.
func NewSigningKey(priv ed25519.PrivateKey) SigningKey { return SigningKey{priv: priv} }

// ParseSigningKey reads an Ed25519 private key from a key file's content:
// PEM "PRIVATE KEY" (PKCS #8, as `openssl genpkey -algorithm ed25519`
// writes it) or exactly 32 bytes, the raw seed.
func ParseSigningKey(b []byte) (SigningKey, error) {
	if len(b) == ed25519.SeedSize {
		return SigningKey{priv: ed25519.NewKeyFromSeed(b)}, nil
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return SigningKey{}, errors.New("not a PEM PKCS #8 Ed25519 private key, nor a raw 32-byte seed")
	}
	if blk.Type != "PRIVATE KEY" {
		return SigningKey{}, fmt.Errorf("PEM block is %q, want \"PRIVATE KEY\" (PKCS #8)", blk.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return SigningKey{}, errors.New("PEM block is not a PKCS #8 private key")
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return SigningKey{}, fmt.Errorf("the key is %T, not Ed25519", k)
	}
	return SigningKey{priv: priv}, nil
}

// ParsePublicKey reads an Ed25519 public key: PEM "PUBLIC KEY" (PKIX, as
// `openssl pkey -pubout` writes it) or exactly 32 raw bytes.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	if len(b) == ed25519.PublicKeySize {
		return ed25519.PublicKey(bytes.Clone(b)), nil
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("not a PEM Ed25519 public key, nor 32 raw bytes")
	}
	if blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("PEM block is %q, want \"PUBLIC KEY\"", blk.Type)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("PEM block is not a PKIX public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("the key is %T, not Ed25519", k)
	}
	return pub, nil
}

// KeyFingerprint names a public key: "ed25519:" and the first 16 bytes of
// its SHA-256, in hex.
func KeyFingerprint(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return "ed25519:" + hex.EncodeToString(h[:16])
}

// Valid says whether the key is set.
func (k SigningKey) Valid() bool { return len(k.priv) == ed25519.PrivateKeySize }

// Public is the key's public half.
func (k SigningKey) Public() ed25519.PublicKey {
	if !k.Valid() {
		return nil
	}
	return k.priv.Public().(ed25519.PublicKey)
}

// Fingerprint is KeyFingerprint of the public half.
func (k SigningKey) Fingerprint() string { return KeyFingerprint(k.Public()) }

// String hides the key.
func (SigningKey) String() string { return "REDACTED" }

// GoString hides the key from %#v.
func (SigningKey) GoString() string { return "REDACTED" }

// LogValue hides the key from slog.
func (SigningKey) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// MarshalJSON hides the key.
func (SigningKey) MarshalJSON() ([]byte, error) { return []byte(`"REDACTED"`), nil }

// SignCheckpoint sets c's key and signature.
func SignCheckpoint(key SigningKey, c Checkpoint) (Checkpoint, error) {
	if !key.Valid() {
		return c, errors.New("no signing key")
	}
	c.Key = key.Fingerprint()
	c.SignedAt = c.SignedAt.UTC()
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key.priv, c.Message()))
	return c, nil
}

// VerifyCheckpoint checks c's signature with the key it names, which must
// be one of keys.
func VerifyCheckpoint(c Checkpoint, keys []ed25519.PublicKey) error {
	for _, k := range keys {
		if KeyFingerprint(k) != c.Key {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(c.Signature)
		if err != nil || !ed25519.Verify(k, c.Message(), sig) {
			return fmt.Errorf("signature by key %s does not verify (the checkpoint was altered)", c.Key)
		}
		return nil
	}
	return fmt.Errorf("signed by key %s, which is not among the public keys given", c.Key)
}

// ReadCheckpoints reads a checkpoint file: one checkpoint as JSON per line.
// Lines that are no checkpoint (a write cut short by a crash, or an edit)
// are skipped and their numbers returned, for the caller to show: skipping
// one loses no more than deleting it would, and whoever can edit the file
// can do that.
func ReadCheckpoints(r io.Reader) (cps []Checkpoint, unreadable []int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var c Checkpoint
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			unreadable = append(unreadable, line)
			continue
		}
		cps = append(cps, c)
	}
	return cps, unreadable, sc.Err()
}

// CheckpointPolicy is how a trail signs its head.
type CheckpointPolicy struct {
	// Key signs checkpoints; the zero key signs none.
	Key SigningKey
	// Every appends a checkpoint once this many records followed the last
	// one (0: only when asked, by Checkpoint).
	Every int
	// File, when set, receives every checkpoint as a JSON line, appended:
	// a copy kept away from the store and the trail's own file.
	File string
}

// Checkpoint signs the chain head and appends the checkpoint to the trail
// (and to the checkpoint file, and OnAppend), under the trail's lock: the
// head is the record just before it.
func (a *AuditTrail) Checkpoint(ctx context.Context, reason string) (Checkpoint, error) {
	if !a.Checkpoints.Key.Valid() {
		return Checkpoint{}, errors.New("audit: checkpoint: no signing key")
	}
	unlock, err := a.lock(ctx)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: %w", err)
	}
	defer unlock()
	repair, err := a.reconcile(ctx)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: reconcile %s with the store: %w", a.path, err)
	}
	if repair != nil {
		detail, _ := json.Marshal(repair)
		if _, err := a.appendLocked(ctx, AuditRecord{At: time.Now(), Type: RepairEvent, Actor: "accessrecon", Detail: detail}); err != nil {
			return Checkpoint{}, fmt.Errorf("audit: checkpoint: %w", err)
		}
	}
	return a.checkpointLocked(ctx, reason)
}

// checkpointDue appends a checkpoint when the policy's Every records
// followed the last one (seq is the record just appended). The caller holds
// the lock.
func (a *AuditTrail) checkpointDue(ctx context.Context, seq int64) error {
	p := a.Checkpoints
	if !p.Key.Valid() || p.Every <= 0 || seq < int64(p.Every) {
		return nil
	}
	n, err := a.db.AuditCount(ctx, CheckpointEvent, seq-int64(p.Every))
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if n > 0 {
		return nil
	}
	_, err = a.checkpointLocked(ctx, "every")
	return err
}

func (a *AuditTrail) checkpointLocked(ctx context.Context, reason string) (Checkpoint, error) {
	var cp Checkpoint
	_, err := a.appendWith(ctx, AuditRecord{At: time.Now(), Type: CheckpointEvent, Actor: "accessrecon"}, func(tx AuditTx, r *AuditRecord) error {
		seq, hash, err := tx.Head(ctx)
		if err != nil {
			return err
		}
		c := Checkpoint{HeadSeq: seq, HeadHash: Genesis, SignedAt: r.At, Reason: reason}
		if seq > 0 {
			c.HeadHash = hash
		}
		signed, err := SignCheckpoint(a.Checkpoints.Key, c)
		if err != nil {
			return err
		}
		cp = signed
		r.Detail, err = json.Marshal(cp)
		return err
	})
	if err != nil {
		return cp, fmt.Errorf("audit: checkpoint: %w", err)
	}
	if a.Checkpoints.File != "" {
		line, err := json.Marshal(cp)
		if err != nil {
			return cp, err
		}
		line = append(line, '\n')
		// A line cut short by a crash stays a line of its own.
		if f, err := os.Open(a.Checkpoints.File); err == nil {
			last := make([]byte, 1)
			if st, err := f.Stat(); err == nil && st.Size() > 0 {
				if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
					line = append([]byte{'\n'}, line...)
				}
			}
			f.Close()
		}
		if err := appendFile(a.Checkpoints.File, line); err != nil {
			return cp, fmt.Errorf("audit: checkpoint %d: in the trail, but %w", cp.HeadSeq, err)
		}
	}
	return cp, nil
}

// CheckpointError says where the chain stops matching what was signed.
type CheckpointError struct {
	Where string // "store", the trail's file name, or "checkpoint file"
	// Seq is the checkpoint's record in the trail (0 for one only in the
	// checkpoint file); Line its line in the trail's file.
	Seq     int64
	Line    int
	Key     string // the key the checkpoint names
	HeadSeq int64  // the head it signed
	// GoodThrough is the last record the chain still matches a signed
	// head at: the first record after which it no longer does (-1: the
	// checkpoint itself did not verify, before the chain was read).
	GoodThrough int64
	Reason      string
}

func (e *CheckpointError) Error() string {
	at := fmt.Sprintf("checkpoint at record %d in %s", e.Seq, e.Where)
	if e.Line > 0 {
		at = fmt.Sprintf("checkpoint at record %d (line %d) in %s", e.Seq, e.Line, e.Where)
	}
	if e.Seq == 0 {
		at = "checkpoint in the checkpoint file"
	}
	if e.GoodThrough < 0 {
		return fmt.Sprintf("audit checkpoint does not verify: %s (key %s, signed head record %d): %s", at, e.Key, e.HeadSeq, e.Reason)
	}
	return fmt.Sprintf("audit chain does not match a signed head: %s (key %s, signed head record %d): %s; the chain matches signed heads only through record %d",
		at, e.Key, e.HeadSeq, e.Reason, e.GoodThrough)
}

// SignedResult is what the checkpoints vouch for.
type SignedResult struct {
	Checkpoints int            // checkpoint records in the trail, all verified
	Keys        map[string]int // checkpoints per key fingerprint
	Through     int64          // the last signed head: records up to here are vouched for
	LastRecord  int64          // the trail's last record
	Unsigned    int64          // records after the last checkpoint (not signed yet)
	Anchors     int            // checkpoints of the checkpoint file found in the trail
	Trimmed     int            // checkpoints of the checkpoint file older than the trail's first record
}

// signedCheck follows one chain (store or file), checking its checkpoint
// records and the checkpoint file's heads.
type signedCheck struct {
	keys    []ed25519.PublicKey
	anchors []Checkpoint // signature-checked, by HeadSeq

	nextAnchor int         // the next anchor to meet
	expect     *Checkpoint // an anchor whose own record must come next
	lastCp     int64       // the last checkpoint record seen
	through    int64       // the last signed head matched
	res        SignedResult
}

// fresh is a new check with the same keys and anchors (nil stays nil).
func (s *signedCheck) fresh() *signedCheck {
	if s == nil {
		return nil
	}
	return &signedCheck{keys: s.keys, anchors: s.anchors, res: SignedResult{Keys: map[string]int{}}}
}

func (s *signedCheck) fail(c *chain, r AuditRecord, line int, cp Checkpoint, reason string) error {
	return &CheckpointError{Where: c.where, Seq: r.Seq, Line: line, Key: cp.Key, HeadSeq: cp.HeadSeq, GoodThrough: s.through, Reason: reason}
}

func (s *signedCheck) failAnchor(cp Checkpoint, reason string) error {
	return &CheckpointError{Where: "checkpoint file", Key: cp.Key, HeadSeq: cp.HeadSeq, GoodThrough: s.through, Reason: reason}
}

// next is called with each record of the chain once its hash and link
// were checked (c.prev is the record before it).
func (s *signedCheck) next(c *chain, r AuditRecord, line int) error {
	first := c.prev == nil
	// The checkpoint file's checkpoint whose record must be this one.
	if s.expect != nil {
		var got Checkpoint
		if r.Type != CheckpointEvent || json.Unmarshal(r.Detail, &got) != nil || got.Signature != s.expect.Signature {
			return s.failAnchor(*s.expect, fmt.Sprintf("its checkpoint record should be record %d, which is a %s record (the checkpoint was removed from the trail)", r.Seq, r.Type))
		}
		s.expect = nil
	}
	if first {
		// Heads before a trimmed trail's first record are out of reach,
		// but the one just before it is its PrevHash.
		for s.nextAnchor < len(s.anchors) && s.anchors[s.nextAnchor].HeadSeq < r.Seq {
			a := s.anchors[s.nextAnchor]
			if a.HeadSeq == r.Seq-1 && a.HeadHash != r.PrevHash {
				return s.failAnchor(a, fmt.Sprintf("record %d does not follow the signed head", r.Seq))
			}
			s.res.Trimmed++
			s.nextAnchor++
		}
	}
	if r.Type == CheckpointEvent {
		var cp Checkpoint
		if err := json.Unmarshal(r.Detail, &cp); err != nil {
			return s.fail(c, r, line, cp, "not a readable checkpoint: "+err.Error())
		}
		if err := VerifyCheckpoint(cp, s.keys); err != nil {
			return s.fail(c, r, line, cp, err.Error())
		}
		if cp.HeadSeq != r.Seq-1 || cp.HeadHash != r.PrevHash {
			return s.fail(c, r, line, cp, fmt.Sprintf("the chain's record %d is not the signed head (a record up to it was changed and the chain rebuilt)", r.Seq-1))
		}
		s.lastCp, s.through = r.Seq, cp.HeadSeq
		s.res.Checkpoints++
		s.res.Keys[cp.Key]++
	}
	for s.nextAnchor < len(s.anchors) && s.anchors[s.nextAnchor].HeadSeq == r.Seq {
		a := s.anchors[s.nextAnchor]
		if a.HeadHash != r.Hash {
			return s.failAnchor(a, fmt.Sprintf("the trail's record %d is not the signed head (a record up to it was changed and the chain rebuilt)", r.Seq))
		}
		s.through = max(s.through, a.HeadSeq)
		s.res.Anchors++
		s.expect = &s.anchors[s.nextAnchor]
		s.nextAnchor++
	}
	return nil
}

// end is called once the whole chain was read.
func (s *signedCheck) end(c *chain) error {
	last := int64(0)
	if c.prev != nil {
		last = c.prev.Seq
	}
	if s.expect != nil {
		return s.failAnchor(*s.expect, fmt.Sprintf("the trail ends at record %d, the signed head, without the checkpoint record that followed it (the trail was cut after a signed head)", last))
	}
	if s.nextAnchor < len(s.anchors) {
		a := s.anchors[s.nextAnchor]
		return s.failAnchor(a, fmt.Sprintf("the trail ends at record %d, before the signed head (the trail was cut after a signed head)", last))
	}
	if c.n > 0 && s.res.Checkpoints == 0 {
		return &CheckpointError{Where: c.where, GoodThrough: s.through, Reason: fmt.Sprintf("the trail holds %d records and no signed checkpoint (checkpoints were removed, or never written)", c.n)}
	}
	return nil
}

func (s *signedCheck) result(c *chain) *SignedResult {
	r := s.res
	r.Through = s.through
	if c.prev != nil {
		r.LastRecord = c.prev.Seq
		r.Unsigned = c.prev.Seq - s.lastCp
		if s.lastCp == 0 {
			r.Unsigned = int64(c.n)
		}
	}
	return &r
}

// VerifySigned is Verify, and also checks every checkpoint record of the
// store and the file: its signature, by one of keys (several: the keys of
// before and after a rotation), and that the chain's record before it is
// the head it signed. anchors are the checkpoints kept elsewhere (the
// checkpoint file, ReadCheckpoints): each must be signed by one of keys,
// and the trail must still hold its head, followed by its record. The
// error is a *BrokenError (the chain itself is broken) or a
// *CheckpointError naming the checkpoint the chain no longer matches and
// the last record it still does.
func (a *AuditTrail) VerifySigned(ctx context.Context, keys []ed25519.PublicKey, anchors []Checkpoint) (VerifyResult, error) {
	if len(keys) == 0 {
		return VerifyResult{}, errors.New("audit: verify: no public key")
	}
	for _, cp := range anchors {
		if err := VerifyCheckpoint(cp, keys); err != nil {
			return VerifyResult{}, &CheckpointError{Where: "checkpoint file", Key: cp.Key, HeadSeq: cp.HeadSeq, GoodThrough: -1, Reason: err.Error()}
		}
	}
	sorted := slices.Clone(anchors)
	slices.SortStableFunc(sorted, func(x, y Checkpoint) int { return cmp.Compare(x.HeadSeq, y.HeadSeq) })
	return a.verify(ctx, &signedCheck{keys: keys, anchors: sorted})
}

// Describe is a one-line summary of a signed verification.
func (r *SignedResult) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d signed checkpoints verified", r.Checkpoints)
	keys := make([]string, 0, len(r.Keys))
	for k := range r.Keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d by %s", r.Keys[k], k)
	}
	if len(keys) > 0 {
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; the chain matches its signed heads through record %d of %d", r.Through, r.LastRecord)
	if r.Unsigned > 0 {
		fmt.Fprintf(&b, "; %d records after the last checkpoint are not signed yet", r.Unsigned)
	}
	if r.Anchors > 0 || r.Trimmed > 0 {
		fmt.Fprintf(&b, "; %d checkpoints of the checkpoint file found in the trail", r.Anchors)
		if r.Trimmed > 0 {
			fmt.Fprintf(&b, " (%d older than the trail's first record)", r.Trimmed)
		}
	}
	return b.String()
}
