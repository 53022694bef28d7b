// Package register is the programme bureau's public register of certificates
// and revocations: an append-only transparency log (a Merkle tree with signed
// checkpoints, the construction of Go's checksum database) kept as plain files
// in one folder that the bureau publishes as it is (static hosting or a git
// repository).
//
// The folder:
//
//	checkpoint               the latest checkpoint, a signed note
//	checkpoints/<N>          every checkpoint ever written, by tree size N
//	records/<I>.json         entry I, the exact bytes hashed into the tree
//	tile/8/<L>/<NNN>[.p/<W>] the tree's hashes, tiled as sumdb serves them
//
// Anyone holding the bureau's public key can recompute the tree from the
// records and check it against the signed checkpoints: a rewritten, dropped
// or inserted entry, a truncated tile, a checkpoint signed by another key, or
// two checkpoints that disagree (a fork) are each detected and named.
package register

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Entry kinds.
const (
	Issued  = "certificate" // a certificate was issued
	Revoked = "revocation"  // a certificate was revoked
	// OperatorRevoked revokes an operator certificate (by its sha256
	// fingerprint): no run it signed counts for certification any more.
	OperatorRevoked = "operator-revocation"
)

// Limits on what the register reads and writes.
const (
	MaxEntrySize   = 64 << 10 // one record
	MaxEntries     = 1 << 20  // records in one register
	maxCheckpoint  = 16 << 10
	tileHeight     = 8
	checkpointFile = "checkpoint"
	historyDir     = "checkpoints"
	recordDir      = "records"
	lockFile       = ".lock"
)

// Entry is one record of the register.
type Entry struct {
	Kind string `json:"kind"`
	// Certificate is the sha256 (hex) of the certificate envelope it concerns.
	Certificate string `json:"certificate"`
	// Run is the sha256 (hex) of the signed run a certificate was issued
	// from: one run gives at most one certificate.
	Run            string    `json:"run,omitempty"`
	System         string    `json:"system"`
	Vendor         string    `json:"vendor,omitempty"`
	Version        string    `json:"version"`
	Profile        string    `json:"profile"`
	ProfileVersion string    `json:"profileVersion,omitempty"`
	Roles          []string  `json:"roles,omitempty"`
	Requirements   []string  `json:"requirements,omitempty"`
	NotBefore      time.Time `json:"notBefore,omitzero"`
	NotAfter       time.Time `json:"notAfter,omitzero"`
	Reason         string    `json:"reason,omitempty"` // why it was revoked
	Time           time.Time `json:"time"`             // when it was appended
}

func (e Entry) check() error {
	switch e.Kind {
	case Issued:
		if e.System == "" || e.Version == "" || e.Profile == "" {
			return errors.New("a certificate entry needs system, version and profile")
		}
	case Revoked, OperatorRevoked:
		if strings.TrimSpace(e.Reason) == "" {
			return errors.New("a revocation needs a reason")
		}
	default:
		return fmt.Errorf("entry kind %q: want %q, %q or %q", e.Kind, Issued, Revoked, OperatorRevoked)
	}
	if len(e.Certificate) != 64 || strings.Trim(e.Certificate, "0123456789abcdef") != "" {
		return fmt.Errorf("entry certificate %q: want a lowercase hex sha256", e.Certificate)
	}
	return nil
}

// Checkpoint is a signed tree head: the size of the tree and its root hash.
type Checkpoint struct {
	Origin string
	N      int64
	Hash   tlog.Hash
}

// text is the checkpoint body in the C2SP tlog-checkpoint layout.
func (c Checkpoint) text() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.N, base64.StdEncoding.EncodeToString(c.Hash[:]))
}

func parseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) != 4 || lines[3] != "" {
		return Checkpoint{}, errors.New("checkpoint body is not three lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || n > MaxEntries {
		return Checkpoint{}, fmt.Errorf("checkpoint tree size %q is not a size", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("checkpoint hash %q is not a base64 sha256", lines[2])
	}
	c := Checkpoint{Origin: lines[0], N: n}
	copy(c.Hash[:], h)
	return c, nil
}

// Keys of the register: the bureau's Ed25519 key, used through the note
// format of sumdb. The name is the register's origin line.

type noteSigner struct {
	name string
	hash uint32
	priv ed25519.PrivateKey
}

func (s noteSigner) Name() string                    { return s.name }
func (s noteSigner) KeyHash() uint32                 { return s.hash }
func (s noteSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.priv, msg), nil }

// keyHash is the sumdb note key hash of an Ed25519 key (algorithm byte 1).
func keyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(append([]byte{1}, pub...))
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// Verifier returns the note verifier of the register named origin for the
// bureau's public key.
func Verifier(origin string, pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := note.NewEd25519VerifierKey(origin, pub)
	if err != nil {
		return nil, fmt.Errorf("making register verifier key: %w", err)
	}
	return note.NewVerifier(vkey)
}

// Log is an opened and fully verified register folder.
type Log struct {
	dir        string
	verifier   note.Verifier
	checkpoint Checkpoint
	records    [][]byte
	hashes     []tlog.Hash // stored hashes of the whole tree
}

// Open reads the register in dir and verifies all of it against the bureau's
// public key: every checkpoint's signature, the tree recomputed from the
// records against every checkpoint, and every tile. A folder with no
// checkpoint is an empty register. Any inconsistency is an error naming it.
func Open(dir, origin string, pub ed25519.PublicKey) (*Log, error) {
	v, err := Verifier(origin, pub)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, verifier: v, checkpoint: Checkpoint{Origin: origin}}
	if err := l.load(); err != nil {
		return nil, fmt.Errorf("register %s: %w", dir, err)
	}
	return l, nil
}

func (l *Log) load() error {
	if fi, err := os.Stat(l.dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("not a folder: %v", err)
	}
	data, err := readLimited(filepath.Join(l.dir, checkpointFile), maxCheckpoint)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if n, _ := countFiles(filepath.Join(l.dir, recordDir)); n > 0 {
			return fmt.Errorf("%d records but no checkpoint: the checkpoint was dropped", n)
		}
		return nil
	case err != nil:
		return err
	}
	cp, err := l.open(data)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	l.checkpoint = cp
	n, err := countFiles(filepath.Join(l.dir, recordDir))
	if err != nil {
		return err
	}
	if int64(n) != cp.N {
		return fmt.Errorf("the checkpoint signs %d entries but records/ holds %d: an entry was dropped or added outside the log", cp.N, n)
	}
	for i := range cp.N {
		rec, err := readLimited(l.recordPath(i), MaxEntrySize)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		hs, err := tlog.StoredHashes(i, rec, l)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		l.records = append(l.records, rec)
		l.hashes = append(l.hashes, hs...)
	}
	if err := l.checkTiles(); err != nil {
		return err
	}
	th, err := tlog.TreeHash(cp.N, l)
	if err != nil {
		return err
	}
	if th != cp.Hash {
		return fmt.Errorf("the records do not hash to the signed checkpoint (tree of %d): an entry was rewritten", cp.N)
	}
	return l.checkHistory()
}

// open verifies a signed checkpoint note and parses it.
func (l *Log) open(data []byte) (Checkpoint, error) {
	n, err := note.Open(data, note.VerifierList(l.verifier))
	if err != nil {
		var unv *note.UnverifiedNoteError
		if errors.As(err, &unv) {
			return Checkpoint{}, errors.New("not signed by the bureau's key for this register (signed by another key)")
		}
		return Checkpoint{}, fmt.Errorf("signature: %w", err)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if cp.Origin != l.checkpoint.Origin {
		return Checkpoint{}, fmt.Errorf("checkpoint of register %q, want %q", cp.Origin, l.checkpoint.Origin)
	}
	return cp, nil
}

// checkTiles compares every tile file with the tiles of the recomputed tree,
// so that a truncated or altered tile is named.
func (l *Log) checkTiles() error {
	for _, t := range tlog.NewTiles(tileHeight, 0, l.checkpoint.N) {
		want, err := tlog.ReadTileData(t, l)
		if err != nil {
			return err
		}
		got, err := readLimited(filepath.Join(l.dir, filepath.FromSlash(t.Path())), int64(len(want))+1)
		if err != nil {
			return fmt.Errorf("tile %s: %w", t.Path(), err)
		}
		switch {
		case len(got) != len(want):
			return fmt.Errorf("tile %s: %d bytes, want %d (truncated or padded)", t.Path(), len(got), len(want))
		case !bytes.Equal(got, want):
			return fmt.Errorf("tile %s does not match the records: a tile or an entry was altered", t.Path())
		}
	}
	return nil
}

// checkHistory verifies every earlier checkpoint: signed by the key, and
// consistent with the tree now (its hash is the hash of the first N records).
func (l *Log) checkHistory() error {
	dir := filepath.Join(l.dir, historyDir)
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	latest := false
	for _, e := range ents {
		data, err := readLimited(filepath.Join(dir, e.Name()), maxCheckpoint)
		if err != nil {
			return fmt.Errorf("checkpoint history %s: %w", e.Name(), err)
		}
		cp, err := l.open(data)
		if err != nil {
			return fmt.Errorf("checkpoint history %s: %w", e.Name(), err)
		}
		if e.Name() != strconv.FormatInt(cp.N, 10) {
			return fmt.Errorf("checkpoint history %s holds a tree of %d", e.Name(), cp.N)
		}
		if err := l.Consistent(cp); err != nil {
			return fmt.Errorf("checkpoint history %s: %w", e.Name(), err)
		}
		latest = latest || cp.N == l.checkpoint.N
	}
	if l.checkpoint.N > 0 && !latest {
		return fmt.Errorf("the latest checkpoint (tree of %d) is missing from %s/", l.checkpoint.N, historyDir)
	}
	return nil
}

// Consistent checks that an earlier checkpoint (for example one a verifier
// saved last week) is a prefix of the tree now, with a consistency proof. A
// checkpoint that disagrees is a fork: the register was rewritten.
func (l *Log) Consistent(old Checkpoint) error {
	if old.N > l.checkpoint.N {
		return fmt.Errorf("checkpoint of %d entries is newer than the register's %d: entries were dropped", old.N, l.checkpoint.N)
	}
	if old.N == 0 {
		return nil
	}
	proof, err := tlog.ProveTree(l.checkpoint.N, old.N, l)
	if err != nil {
		return err
	}
	if err := tlog.CheckTree(proof, l.checkpoint.N, l.checkpoint.Hash, old.N, old.Hash); err != nil {
		return fmt.Errorf("fork: checkpoint of %d entries disagrees with the register (%v)", old.N, err)
	}
	return nil
}

// OpenCheckpoint verifies a checkpoint note saved elsewhere against the
// register's key.
func (l *Log) OpenCheckpoint(data []byte) (Checkpoint, error) { return l.open(data) }

// ReadHashes implements tlog.HashReader over the recomputed tree.
func (l *Log) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("hash %d not in the tree", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

// Checkpoint returns the verified latest checkpoint.
func (l *Log) Checkpoint() Checkpoint { return l.checkpoint }

// Len is the number of entries.
func (l *Log) Len() int64 { return l.checkpoint.N }

// Entry returns entry i as written and decoded.
func (l *Log) Entry(i int64) (Entry, []byte, error) {
	if i < 0 || i >= l.checkpoint.N {
		return Entry{}, nil, fmt.Errorf("entry %d not in the register of %d", i, l.checkpoint.N)
	}
	var e Entry
	if err := json.Unmarshal(l.records[i], &e); err != nil {
		return Entry{}, nil, fmt.Errorf("entry %d: %w", i, err)
	}
	return e, l.records[i], nil
}

// Entries returns every entry in order.
func (l *Log) Entries() ([]Entry, error) {
	out := make([]Entry, 0, l.checkpoint.N)
	for i := range l.checkpoint.N {
		e, _, err := l.Entry(i)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Proof is an inclusion proof of one entry in a signed checkpoint.
type Proof struct {
	Index      int64     `json:"index"`
	Entry      []byte    `json:"entry"`
	Hashes     []string  `json:"hashes"`
	Checkpoint string    `json:"checkpoint"` // the signed note
	Tree       tlog.Hash `json:"-"`
}

// Prove returns the inclusion proof of entry i in the latest checkpoint.
func (l *Log) Prove(i int64) (Proof, error) {
	if i < 0 || i >= l.checkpoint.N {
		return Proof{}, fmt.Errorf("entry %d not in the register of %d", i, l.checkpoint.N)
	}
	rp, err := tlog.ProveRecord(l.checkpoint.N, i, l)
	if err != nil {
		return Proof{}, err
	}
	cp, err := readLimited(filepath.Join(l.dir, checkpointFile), maxCheckpoint)
	if err != nil {
		return Proof{}, err
	}
	p := Proof{Index: i, Entry: l.records[i], Checkpoint: string(cp)}
	for _, h := range rp {
		p.Hashes = append(p.Hashes, h.String())
	}
	return p, nil
}

// CheckProof verifies an inclusion proof on its own, against the bureau's
// key: the checkpoint is signed and the entry is in its tree.
func CheckProof(p Proof, origin string, pub ed25519.PublicKey) (Checkpoint, error) {
	v, err := Verifier(origin, pub)
	if err != nil {
		return Checkpoint{}, err
	}
	l := &Log{verifier: v, checkpoint: Checkpoint{Origin: origin}}
	cp, err := l.open([]byte(p.Checkpoint))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("inclusion proof: %w", err)
	}
	var rp tlog.RecordProof
	for _, s := range p.Hashes {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("inclusion proof: %w", err)
		}
		rp = append(rp, h)
	}
	if err := tlog.CheckRecord(rp, cp.N, cp.Hash, p.Index, tlog.RecordHash(p.Entry)); err != nil {
		return Checkpoint{}, fmt.Errorf("inclusion proof: entry %d is not in the signed tree of %d: %w", p.Index, cp.N, err)
	}
	return cp, nil
}

// OperatorRevocation returns the revocation of an operator certificate with
// this fingerprint, if any.
func (l *Log) OperatorRevocation(fingerprint string) (*Entry, error) {
	es, err := l.Entries()
	if err != nil {
		return nil, err
	}
	for i := range es {
		if es[i].Kind == OperatorRevoked && es[i].Certificate == fingerprint {
			return &es[i], nil
		}
	}
	return nil, nil
}

// CertifiedRun returns the index of the certificate issued from a run (by
// the sha256 of its signed envelope), or -1.
func (l *Log) CertifiedRun(run string) (int64, error) {
	es, err := l.Entries()
	if err != nil {
		return -1, err
	}
	for i, e := range es {
		if run != "" && e.Kind == Issued && e.Run == run {
			return int64(i), nil
		}
	}
	return -1, nil
}

// Find returns the index of the certificate entry for a certificate digest
// and the revocation of it, if any (-1 when absent).
func (l *Log) Find(certificate string) (issued, revoked int64, err error) {
	issued, revoked = -1, -1
	es, err := l.Entries()
	if err != nil {
		return -1, -1, err
	}
	for i, e := range es {
		if e.Certificate != certificate {
			continue
		}
		switch {
		case e.Kind == Issued && issued < 0:
			issued = int64(i)
		case e.Kind == Revoked && revoked < 0:
			revoked = int64(i)
		}
	}
	return issued, revoked, nil
}

// Append verifies the whole register, then adds one entry, writes the new
// tiles and a new signed checkpoint. When verification fails nothing is
// written. priv is the bureau's key; its public half must be the register's.
func Append(dir, origin string, priv ed25519.PrivateKey, e Entry) (int64, error) {
	e, rec, err := encode(e)
	if err != nil {
		return -1, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return -1, fmt.Errorf("adding to register: %w", err)
	}
	unlock, err := lock(dir)
	if err != nil {
		return -1, err
	}
	defer unlock()
	pub := priv.Public().(ed25519.PublicKey)
	l, err := Open(dir, origin, pub)
	if err != nil {
		return -1, fmt.Errorf("adding to register: refusing to append: %w", err)
	}
	return l.append(e, rec, priv)
}

// encode checks an entry and returns the bytes the log hashes.
func encode(e Entry) (Entry, []byte, error) {
	if err := e.check(); err != nil {
		return e, nil, fmt.Errorf("adding to register: %w", err)
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC().Truncate(time.Second)
	}
	rec, err := json.Marshal(e)
	if err != nil {
		return e, nil, fmt.Errorf("adding to register: %w", err)
	}
	if len(rec) > MaxEntrySize {
		return e, nil, fmt.Errorf("adding to register: entry of %d bytes exceeds %d", len(rec), MaxEntrySize)
	}
	return e, rec, nil
}

// append adds one verified-new entry to an opened log and writes it.
func (l *Log) append(e Entry, rec []byte, priv ed25519.PrivateKey) (int64, error) {
	dir, origin := l.dir, l.checkpoint.Origin
	pub := priv.Public().(ed25519.PublicKey)
	if l.checkpoint.N >= MaxEntries {
		return -1, fmt.Errorf("adding to register: full (%d entries)", MaxEntries)
	}
	if e.Kind == Issued {
		if i, _, err := l.Find(e.Certificate); err == nil && i >= 0 {
			return -1, fmt.Errorf("adding to register: certificate %s is entry %d already", e.Certificate, i)
		}
		if i, err := l.CertifiedRun(e.Run); err != nil || i >= 0 {
			return -1, fmt.Errorf("adding to register: run %s was certified already (entry %d)", e.Run, i)
		}
	}
	if e.Kind == OperatorRevoked {
		if r, err := l.OperatorRevocation(e.Certificate); err != nil || r != nil {
			return -1, fmt.Errorf("adding to register: operator certificate %s was revoked already", e.Certificate)
		}
	}
	if e.Kind == Revoked {
		i, r, err := l.Find(e.Certificate)
		switch {
		case err != nil:
			return -1, err
		case i < 0:
			return -1, fmt.Errorf("adding to register: certificate %s is not in the register", e.Certificate)
		case r >= 0:
			return -1, fmt.Errorf("adding to register: certificate %s was revoked in entry %d already", e.Certificate, r)
		}
	}
	n := l.checkpoint.N
	hs, err := tlog.StoredHashes(n, rec, l)
	if err != nil {
		return -1, err
	}
	l.records = append(l.records, rec)
	l.hashes = append(l.hashes, hs...)
	th, err := tlog.TreeHash(n+1, l)
	if err != nil {
		return -1, err
	}
	cp := Checkpoint{Origin: origin, N: n + 1, Hash: th}
	signed, err := note.Sign(&note.Note{Text: cp.text()}, noteSigner{name: origin, hash: keyHash(origin, pub), priv: priv})
	if err != nil {
		return -1, fmt.Errorf("signing checkpoint: %w", err)
	}
	// Record first, then tiles, then the history, and the checkpoint last:
	// a crash in between leaves a register that verify names as unfinished.
	if err := os.MkdirAll(filepath.Join(dir, recordDir), 0o755); err != nil {
		return -1, err
	}
	if err := writeNew(l.recordPath(n), rec); err != nil {
		return -1, err
	}
	for _, t := range tlog.NewTiles(tileHeight, n, n+1) {
		data, err := tlog.ReadTileData(t, l)
		if err != nil {
			return -1, err
		}
		if err := writeAtomic(filepath.Join(dir, filepath.FromSlash(t.Path())), data); err != nil {
			return -1, err
		}
	}
	if err := writeAtomic(filepath.Join(dir, historyDir, strconv.FormatInt(n+1, 10)), signed); err != nil {
		return -1, err
	}
	if err := writeAtomic(filepath.Join(dir, checkpointFile), signed); err != nil {
		return -1, err
	}
	l.checkpoint = cp
	return n, nil
}

func (l *Log) recordPath(i int64) string {
	return filepath.Join(l.dir, recordDir, fmt.Sprintf("%010d.json", i))
}

func countFiles(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return len(slices.DeleteFunc(ents, func(e fs.DirEntry) bool { return e.IsDir() })), nil
}

// readLimited reads a regular file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", filepath.Base(path))
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes exceeds the limit of %d", filepath.Base(path), fi.Size(), limit)
	}
	return os.ReadFile(path)
}

func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// lock takes the register's lock file; a second writer is refused rather
// than interleaved.
func lock(dir string) (func(), error) {
	p := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("register %s is being written by another process (remove %s if none is): %w", dir, p, err)
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	f.Close()
	return func() { os.Remove(p) }, nil
}
