package harness

import (
	"context"
)

// Target is one role of a candidate that the bench can start, reach and stop.
type Target interface {
	// Start brings the target up and returns once it is ready (its health
	// endpoint answers) or ctx ends.
	Start(ctx context.Context) error
	// Stop ends the target and releases everything it holds. It is
	// idempotent and safe to call on a target that never started.
	Stop(ctx context.Context) error
	// Identity says exactly what runs, for the report.
	Identity() Identity
	// BaseURL is where the bench reaches the target once started (for
	// instance http://127.0.0.1:PORT), without a trailing slash.
	BaseURL() string
}

// Logger is implemented by targets that keep logs (containers, processes).
type Logger interface {
	// Logs returns what the target wrote to stdout and stderr so far.
	Logs(ctx context.Context) ([]byte, error)
}

// Identity says exactly what ran in one role.
type Identity struct {
	Role     string `json:"role"`
	Kind     string `json:"kind"` // image, command, url, builtin
	Image    string `json:"image,omitempty"`
	Digest   string `json:"digest,omitempty"`
	Binary   string `json:"binary,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	URL      string `json:"url,omitempty"`
	Software string `json:"software,omitempty"`
	// Args are a command candidate's arguments ({port} as written).
	Args []string `json:"args,omitempty"`
	// Manifest is the hex sha256 of the manifest a command candidate was
	// started from.
	Manifest string `json:"manifest,omitempty"`
	// Files are the files the manifest lists under identity (the scripts
	// of an interpreted program), each with its sha256.
	Files []FileDigest `json:"files,omitempty"`
}

// FileDigest is one file of a candidate's identity.
type FileDigest struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}
