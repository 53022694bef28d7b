package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func testPNG(t *testing.T, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for x := range 3 {
		for y := range 2 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestHTMLShowsScreenshotsBesideTheirRequirement: a PNG evidence file is
// shown inline (a data: URI, the only images the report's policy allows)
// beside the first requirement that names it and linked from the others;
// a file that is no PNG, differs from its recorded digest or is too large
// is only listed.
func TestHTMLShowsScreenshotsBesideTheirRequirement(t *testing.T) {
	good := testPNG(t, color.RGBA{R: 200, A: 255})
	tests := []struct {
		name   string
		data   []byte
		digest func([]byte) string
		inline bool
	}{
		{name: "a PNG with its digest", data: good, digest: hexSum, inline: true},
		{name: "script in a .png file", data: []byte(`<script>alert(1)</script>`), digest: hexSum},
		{name: "a PNG changed after it was hashed", data: testPNG(t, color.RGBA{B: 200, A: 255}), digest: func([]byte) string { return hexSum(good) }},
		{name: "a PNG above the inline bound", data: append(bytes.Clone(good), make([]byte, maxInlineImage)...), digest: hexSum},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "evidence"), 0o755); err != nil {
				t.Fatal(err)
			}
			p := "evidence/viewer-test.png"
			if err := os.WriteFile(filepath.Join(dir, p), tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			res := richResults(t)
			res.Evidence = append(res.Evidence, Evidence{Path: p, SHA256: tc.digest(tc.data), Kind: "png"})
			res.Requirements[0].Evidence = append(res.Requirements[0].Evidence, p)
			res.Requirements[1].Evidence = append(res.Requirements[1].Evidence, p)
			out, err := HTMLWith(res, dir)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := html.Parse(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			var srcs, links []string
			var walk func(n *html.Node)
			walk = func(n *html.Node) {
				for _, a := range n.Attr {
					switch {
					case n.Data == "img" && a.Key == "src":
						srcs = append(srcs, a.Val)
					case n.Data == "a" && a.Key == "href" && strings.HasPrefix(a.Val, "#schermafbeelding-"):
						links = append(links, a.Val)
					}
				}
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
			}
			walk(doc)
			if !tc.inline {
				if len(srcs)+len(links) > 0 {
					t.Fatalf("shown inline: %d images, %d links", len(srcs), len(links))
				}
				if !strings.Contains(string(out), p) {
					t.Errorf("%s is not even listed", p)
				}
				return
			}
			if len(srcs) != 1 || len(links) != 1 {
				t.Fatalf("%d images and %d links, want the image once and a link from the other requirement", len(srcs), len(links))
			}
			data, ok := strings.CutPrefix(srcs[0], "data:image/png;base64,")
			if !ok {
				t.Fatalf("img src %.40q is no PNG data URI", srcs[0])
			}
			if got, err := base64.StdEncoding.DecodeString(data); err != nil || !bytes.Equal(got, tc.data) {
				t.Errorf("the inlined image is not the evidence file (%v)", err)
			}
		})
	}
}
