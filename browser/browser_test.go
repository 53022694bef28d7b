package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := Find(""); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

// htmlPage serves body as an HTML page.
func htmlPage(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}
}

// hostile serves loopback pages that misbehave in every way a viewer must not.
func hostile(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	page := htmlPage
	mux.HandleFunc("/ok", page(`<!doctype html><html lang="nl"><title>Goed</title><img src="/pixel.gif" alt=""><p>Hallo</p></html>`))
	mux.HandleFunc("/pixel.gif", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>Bijna</title><p>laden")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/spin", page(`<!doctype html><title>Draait</title><script>for(;;){}</script>`))
	mux.HandleFunc("/popup", page(`<!doctype html><title>Venster</title><script>window.open("/ok")</script>`))
	mux.HandleFunc("/dialog", page(`<!doctype html><title>Melding</title><script>alert("hallo")</script>`))
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="dossier.bin"`)
		w.Write(bytes.Repeat([]byte{1}, 4096))
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(100<<20))
		chunk := bytes.Repeat([]byte("<p>groot</p>"), 1<<16)
		for sent := 0; sent < 100<<20; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// A page that navigates to another host: "localhost" is another host than
	// 127.0.0.1 for the page, and still loopback.
	mux.HandleFunc("/away", page(`<!doctype html><title>Weg</title><script>location.href="`+
		strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+`/ok"</script>`))
	return srv
}

func TestHostilePagesAreBoundedAndReported(t *testing.T) {
	needChromium(t)
	srv := hostile(t)
	b, err := Launch(context.Background(), Options{PageTimeout: 20 * time.Second, MaxPageBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	profile := b.Profile()
	defer func() {
		b.Close()
		if left := Processes(profile); len(left) > 0 {
			t.Errorf("processes left running after Close: %v", left)
		}
	}()
	cases := []struct {
		name, path, kind string
	}{
		{"well-behaved page", "/ok", ""},
		{"never finishes loading", "/hang", KindTimeout},
		{"endless script", "/spin", KindTimeout},
		{"opens a pop-up", "/popup", KindPopup},
		{"opens an alert", "/dialog", KindDialog},
		{"navigates to another host", "/away", KindNavigation},
		{"serves a download", "/download", KindDownload},
		{"serves 100 MB", "/huge", KindTooLarge},
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, 3) // a few tabs at a time: the machine has 2 cores
	for _, tc := range cases {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			t.Run(tc.name, func(t *testing.T) {
				p, err := b.Open(context.Background(), srv.URL+tc.path)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				defer p.Close()
				got := p.Findings()
				if tc.kind == "" {
					if len(got) != 0 {
						t.Fatalf("findings on a good page: %v", got)
					}
					shot, err := p.Screenshot(nil)
					if err != nil || !bytes.HasPrefix(shot, []byte("\x89PNG")) {
						t.Fatalf("screenshot: %v (%d bytes)", err, len(shot))
					}
					h := p.HAR()
					if len(h.Log.Entries) < 2 || h.Log.Entries[0].Response.Status != 200 {
						t.Fatalf("HAR does not hold the page and its image: %+v", h.Log.Entries)
					}
					return
				}
				for _, f := range got {
					if f.Kind == tc.kind {
						return
					}
				}
				t.Fatalf("no %s finding; got %v", tc.kind, got)
			})
		})
	}
	wg.Wait()
}

func TestNothingLeftRunning(t *testing.T) {
	needChromium(t)
	srv := hostile(t)
	t.Run("after ctx cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		b, err := Launch(ctx, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(Processes(b.Profile())) == 0 {
			t.Fatal("no chromium process found while the browser runs")
		}
		cancel()
		waitGone(t, b.Profile())
	})
	t.Run("after a panic", func(t *testing.T) {
		var profile string
		func() {
			defer func() { recover() }()
			b, err := Launch(context.Background(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			profile = b.Profile()
			p, err := b.Open(context.Background(), srv.URL+"/spin")
			if err != nil {
				t.Fatal(err)
			}
			_ = p
			panic("check crashed")
		}()
		waitGone(t, profile)
	})
}

// waitGone waits (bounded) until no process of the profile is left.
func waitGone(t *testing.T, profile string) {
	t.Helper()
	for range 100 {
		if len(Processes(profile)) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("processes left running: %v", Processes(profile))
}

func TestBadInput(t *testing.T) {
	needChromium(t)
	b, err := Launch(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, raw := range []string{"", "file:///etc/passwd", "javascript:alert(1)", "http://"} {
		if _, err := b.Open(context.Background(), raw); err == nil {
			t.Errorf("Open(%q): no error", raw)
		}
	}
	if _, err := Find("/nonexistent/chromium"); !errors.Is(err, ErrNoBrowser) {
		t.Errorf("Find of a missing path: %v", err)
	}
}
