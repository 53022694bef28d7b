package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"os"
	"path"
	"strings"
)

// Bounds of the screenshots report.html shows inline: larger files, and
// those past the page's budget, are listed as evidence only.
const (
	maxInlineImage = 4 << 20
	maxInlineTotal = 32 << 20
)

// pngMagic starts every PNG file.
var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// htmlImage is a screenshot shown beside a requirement. The report's
// Content-Security-Policy allows only data: images and the page stays one
// file: each screenshot is inlined once, beside the first requirement that
// names it; later ones link to it on the page.
type htmlImage struct {
	Path string
	ID   string
	Data template.URL // empty: shown above, link to ID
}

// HTMLWith renders results like HTML and shows each PNG evidence file of a
// requirement beside it, read from dir (the output folder) and only when
// its bytes are a PNG with the digest results.json records for it.
func HTMLWith(res *Results, dir string) ([]byte, error) {
	return renderHTML(res, inlineImages(res, dir))
}

// inlineImages reads the PNG evidence of res from dir as data URIs, by path.
func inlineImages(res *Results, dir string) map[string]template.URL {
	out := map[string]template.URL{}
	if dir == "" {
		return out
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return out
	}
	defer root.Close()
	total := 0
	for _, e := range res.Evidence {
		if !strings.EqualFold(path.Ext(e.Path), ".png") || e.SHA256 == "" || checkRelative(e.Path) != nil {
			continue
		}
		data, err := readBounded(root, e.Path, maxInlineImage)
		if err != nil || !bytes.HasPrefix(data, pngMagic) || total+len(data) > maxInlineTotal {
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != e.SHA256 {
			continue
		}
		total += len(data)
		out[e.Path] = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(data))
	}
	return out
}

// readBounded reads a file of root that is at most limit bytes.
func readBounded(root *os.Root, name string, limit int64) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return data, nil
}

// placeImages gives each requirement (in the order shown) its screenshots:
// inline the first time one is shown, a link to it after.
func placeImages(reqs []htmlRequirement, images map[string]template.URL) {
	ids := map[string]string{}
	for i := range reqs {
		for _, p := range reqs[i].Evidence {
			data, ok := images[p]
			if !ok {
				continue
			}
			img := htmlImage{Path: p}
			if id, shown := ids[p]; shown {
				img.ID = id
			} else {
				img.ID = fmt.Sprintf("schermafbeelding-%d", len(ids)+1)
				img.Data = data
				ids[p] = img.ID
			}
			reqs[i].Images = append(reqs[i].Images, img)
		}
	}
}
