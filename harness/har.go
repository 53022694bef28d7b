package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// HAR is an HTTP Archive 1.2 document (http://www.softwareishard.com/blog/har-12-spec/).
type HAR struct {
	Log HARLog `json:"log"`
}

// HARLog is the root of a HAR document.
type HARLog struct {
	Version string     `json:"version"`
	Creator HARCreator `json:"creator"`
	Comment string     `json:"comment,omitempty"`
	Entries []Entry    `json:"entries"`
}

// HARCreator names the program that wrote the archive.
type HARCreator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Entry is one recorded exchange (a HAR 1.2 entry).
type Entry struct {
	// StartedDateTime is when the request reached the proxy (RFC 3339 with
	// milliseconds in JSON).
	StartedDateTime string `json:"startedDateTime"`
	// Time is the whole exchange in milliseconds.
	Time     float64     `json:"time"`
	Request  HARRequest  `json:"request"`
	Response HARResponse `json:"response"`
	Cache    struct{}    `json:"cache"`
	Timings  HARTimings  `json:"timings"`
	// ServerIPAddress is the upstream the proxy forwarded to.
	ServerIPAddress string `json:"serverIPAddress,omitempty"`
	Comment         string `json:"comment,omitempty"`
	// Role is the candidate role this exchange went to (custom field).
	Role string `json:"_role,omitempty"`
	// Error says why the exchange failed, when it did (custom field).
	Error string `json:"_error,omitempty"`
	// Started is StartedDateTime as a time, for the suites.
	Started time.Time `json:"-"`
}

// HARRequest is the request of an entry.
type HARRequest struct {
	Method      string         `json:"method"`
	URL         string         `json:"url"`
	HTTPVersion string         `json:"httpVersion"`
	Cookies     []HARCookie    `json:"cookies"`
	Headers     []HARNameValue `json:"headers"`
	QueryString []HARNameValue `json:"queryString"`
	PostData    *HARPostData   `json:"postData,omitempty"`
	HeadersSize int            `json:"headersSize"`
	BodySize    int64          `json:"bodySize"`
}

// HARResponse is the response of an entry.
type HARResponse struct {
	Status      int            `json:"status"`
	StatusText  string         `json:"statusText"`
	HTTPVersion string         `json:"httpVersion"`
	Cookies     []HARCookie    `json:"cookies"`
	Headers     []HARNameValue `json:"headers"`
	Content     HARContent     `json:"content"`
	RedirectURL string         `json:"redirectURL"`
	HeadersSize int            `json:"headersSize"`
	BodySize    int64          `json:"bodySize"`
}

// HARNameValue is a header or query parameter.
type HARNameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HARCookie is a cookie; the proxy keeps only its name (values are secrets).
type HARCookie struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HARPostData is a request body.
type HARPostData struct {
	MimeType string `json:"mimeType"`
	Text     string `json:"text"`
	Comment  string `json:"comment,omitempty"`
}

// HARContent is a response body.
type HARContent struct {
	Size     int64  `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	Comment  string `json:"comment,omitempty"`
}

// HARTimings splits an entry's time in milliseconds; -1 means not applicable.
type HARTimings struct {
	Blocked float64 `json:"blocked"`
	DNS     float64 `json:"dns"`
	Connect float64 `json:"connect"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
	SSL     float64 `json:"ssl"`
}

// Truncated reports whether the request or response body was cut at the
// capture bound.
func (e Entry) Truncated() bool {
	return (e.Request.PostData != nil && e.Request.PostData.Comment != "") || e.Response.Content.Comment != ""
}

// WriteHARFile writes entries as a HAR 1.2 document to path; benchVersion
// names the bench in the archive's creator.
func WriteHARFile(path string, entries []Entry, benchVersion, comment string) error {
	if entries == nil {
		entries = []Entry{}
	}
	doc := HAR{Log: HARLog{Version: "1.2", Creator: HARCreator{Name: "bcbench", Version: benchVersion}, Comment: comment, Entries: entries}}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing HAR: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing HAR: %w", err)
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(true)
	if err := enc.Encode(doc); err != nil {
		f.Close()
		return fmt.Errorf("writing HAR %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing HAR %s: %w", path, err)
	}
	return nil
}

// writeHARStream writes a HAR 1.2 document of n entries to path, asking
// entry for each one's JSON in turn; the file reads as WriteHARFile's.
func writeHARStream(path, benchVersion, comment string, n int, entry func(i int) ([]byte, error)) (err error) {
	head, err := json.MarshalIndent(HAR{Log: HARLog{Version: "1.2", Creator: HARCreator{Name: "bcbench", Version: benchVersion}, Comment: comment, Entries: []Entry{}}}, "", " ")
	if err != nil {
		return fmt.Errorf("writing HAR: %w", err)
	}
	open := []byte(`"entries": [`)
	cut := bytes.LastIndex(head, open)
	if cut < 0 {
		return errors.New("writing HAR: no entries in the document")
	}
	cut += len(open)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing HAR: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing HAR: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing HAR %s: %w", path, cerr)
		}
	}()
	w := bufio.NewWriterSize(f, 256<<10)
	w.Write(head[:cut])
	var buf bytes.Buffer
	for i := range n {
		data, err := entry(i)
		if err != nil {
			return fmt.Errorf("writing HAR %s: entry %d: %w", path, i, err)
		}
		buf.Reset()
		if err := json.Indent(&buf, data, "   ", " "); err != nil {
			return fmt.Errorf("writing HAR %s: entry %d: %w", path, i, err)
		}
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n   ")
		w.Write(buf.Bytes())
	}
	if n > 0 {
		w.WriteString("\n  ")
	}
	w.Write(head[cut:])
	w.WriteByte('\n')
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing HAR %s: %w", path, err)
	}
	return nil
}

// ReadHARFile reads a HAR document (for tests and report tools).
func ReadHARFile(path string) (*HAR, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading HAR: %w", err)
	}
	defer f.Close()
	var h HAR
	if err := json.NewDecoder(io.LimitReader(f, 1<<30)).Decode(&h); err != nil {
		return nil, fmt.Errorf("reading HAR %s: %w", path, err)
	}
	for i := range h.Log.Entries {
		e := &h.Log.Entries[i]
		if t, err := time.Parse(time.RFC3339Nano, e.StartedDateTime); err == nil {
			e.Started = t
		}
	}
	return &h, nil
}
