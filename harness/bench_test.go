package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

// patientJSON is a small FHIR resource, the typical size of a read.
var patientJSON = `{"resourceType":"Patient","id":"p1","meta":{"profile":["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"]},` +
	`"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999901023"}],"name":[{"family":"Dijk","given":["Fleur"]}],` +
	`"gender":"female","birthDate":"1989-09-03","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` + strings.Repeat("Fleur van Dijk ", 60) + `</div>"}}`

// reportMedian adds the median duration of the measured operations.
func reportMedian(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "median-ns/op")
}

// BenchmarkExchange compares a GET of a FHIR resource on loopback, direct
// and through the recording proxy; the difference of the medians is the
// proxy's overhead per exchange.
func BenchmarkExchange(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		io.WriteString(w, patientJSON)
	}))
	defer up.Close()
	p, err := NewProxy(up.URL, ProxyOptions{Role: "xis", MaxEntries: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	for _, tc := range []struct{ name, base string }{{"direct", up.URL}, {"proxied", p.URL()}} {
		b.Run(tc.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
			url := tc.base + "/fhir/Patient/p1"
			durations := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				durations = append(durations, time.Since(start))
			}
			reportMedian(b, durations)
		})
	}
}

// BenchmarkLaunchImage launches a whole image candidate until its health
// endpoint answers: the run's two networks, the confined container, its
// relay, the proxy and the identity (CapabilityStatement). Stop is not timed.
func BenchmarkLaunchImage(b *testing.B) {
	requireDocker(b)
	image := "bcbench-test/fakecandidate:bench-" + newRunID()
	if out, err := exec.Command("docker", "build", "-q", "-t", image, fakeImageContext(b)).CombinedOutput(); err != nil {
		b.Fatalf("docker build: %v\n%s", err, out)
	}
	defer exec.Command("docker", "rmi", "-f", image).Run()
	m, err := ParseManifest([]byte(fmt.Sprintf("name: bench\nroles:\n  xis:\n    image: {name: %q, port: 8080}\n", image)))
	if err != nil {
		b.Fatal(err)
	}
	relay := buildBench(b)
	if _, err := relayImage(context.Background(), relay); err != nil {
		b.Fatal(err)
	}
	durations := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	for b.Loop() {
		start := time.Now()
		c, err := Launch(ctx, m, LaunchOptions{RelayBinary: relay})
		if err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
		b.StopTimer()
		if err := c.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	reportMedian(b, durations)
}

// BenchmarkRenderEntry measures what the proxy defers off the exchange
// path: turning one recorded exchange (a FHIR read with a bearer token)
// into a redacted HAR entry, paid once when Entries or WriteHAR first sees it.
func BenchmarkRenderEntry(b *testing.B) {
	p := &Proxy{opts: ProxyOptions{Secrets: []string{"tok-0123456789"}}}
	u, _ := url.Parse("http://127.0.0.1:8080/fhir/Patient?identifier=999901023&_count=10")
	reqHeader := http.Header{"Authorization": {"Bearer tok-0123456789"}, "Accept": {"application/fhir+json"}}
	respHeader := http.Header{"Content-Type": {"application/fhir+json"}, "Date": {"Mon, 23 Nov 2026 13:00:00 GMT"}}
	body := &capture{max: DefaultMaxBody}
	body.buf.WriteString(patientJSON)
	body.n = int64(len(patientJSON))
	b.ReportAllocs()
	for b.Loop() {
		pe := &pending{req: &reqInfo{method: "GET", proto: "HTTP/1.1", url: u, header: reqHeader}, resp: &respInfo{status: 200, proto: "HTTP/1.1", header: respHeader, body: body}}
		p.render(pe)
		if pe.e.Response.Content.Size == 0 {
			b.Fatal("nothing rendered")
		}
	}
}
