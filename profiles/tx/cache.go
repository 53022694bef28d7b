package tx

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// cached is one stored answer.
type cached struct {
	Key    string          `json:"key"`
	Stored time.Time       `json:"stored"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// cachePath is where the answer to a request is stored: the SHA-256 of the
// request (server URL, operation and Parameters sent).
func (c *Client) cachePath(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.opts.CacheDir, h[:2], h+".json")
}

// cacheGet returns a stored answer younger than CacheAge.
func (c *Client) cacheGet(key string) (int, []byte, time.Time, bool) {
	if c.opts.CacheDir == "off" {
		return 0, nil, time.Time{}, false
	}
	f, err := os.Open(c.cachePath(key))
	if err != nil {
		return 0, nil, time.Time{}, false
	}
	defer f.Close()
	var e cached
	if err := json.NewDecoder(limited(f)).Decode(&e); err != nil || e.Key != key || time.Since(e.Stored) > c.opts.CacheAge || e.Stored.After(time.Now().Add(time.Minute)) {
		return 0, nil, time.Time{}, false
	}
	return e.Status, e.Body, e.Stored, true
}

// cachePut stores a decisive answer, then keeps the cache within CacheMax
// by removing the oldest answers. Failures to store are ignored: the cache
// only saves time.
func (c *Client) cachePut(key string, status int, body []byte) {
	if c.opts.CacheDir == "off" || !json.Valid(body) {
		return
	}
	data, err := json.Marshal(cached{Key: key, Stored: time.Now().UTC(), Status: status, Body: body})
	if err != nil {
		return
	}
	p := c.cachePath(key)
	if os.MkdirAll(filepath.Dir(p), 0o700) != nil {
		return
	}
	tmp := p + ".tmp"
	if os.WriteFile(tmp, data, 0o600) != nil || os.Rename(tmp, p) != nil {
		_ = os.Remove(tmp)
		return
	}
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	if c.cacheSize < 0 || c.cacheSize+int64(len(data)) > c.opts.CacheMax {
		c.cacheSize = c.trimCache() // walks the folder: once, and when full
	} else {
		c.cacheSize += int64(len(data))
	}
}

// trimCache removes the oldest answers while the cache is larger than
// CacheMax (down to three quarters of it), and returns its size.
func (c *Client) trimCache() int64 {
	type file struct {
		path string
		size int64
		mod  time.Time
	}
	var files []file
	var total int64
	_ = filepath.WalkDir(c.opts.CacheDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			files = append(files, file{p, info.Size(), info.ModTime()})
			total += info.Size()
		}
		return nil
	})
	if total <= c.opts.CacheMax {
		return total
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.Before(files[j].mod) })
	for _, f := range files {
		if total <= c.opts.CacheMax*3/4 {
			break
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
	return total
}

// limited bounds what is read of one cache file.
func limited(f *os.File) *io.LimitedReader { return &io.LimitedReader{R: f, N: 2 * MaxAnswer} }
