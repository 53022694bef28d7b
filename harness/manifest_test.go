package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseManifestGood(t *testing.T) {
	m, err := ParseManifest([]byte(`name: Voorbeeld XIS
vendor: Voorbeeld BV
version: "2.1"
roles:
  xis:
    image:
      name: example/xis:2.1
      port: 8080
      env:
        LOG_LEVEL: debug
        WORKERS: 4
  index:
    command:
      path: ./bin/index
      args: [serve, --port, "{port}", 7]
    fhirBase: /r4/
    adapter: /test-adapter
    auth:
      bearerTokenEnv: INDEX_TOKEN
  viewer:
    url: https://viewer.test.example:8443/base
    viewer:
      clientId: voorbeeld-viewer
      redirectUri: /base/terug
      auditEvent: /base/fhir/AuditEvent
  xis-ziekenhuis:
    builtin: true
    contract: translator
  dvza:
    builtin: true
    tokens:
      "999901011": patient-token-a
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.RoleNames(), ","); got != "index,xis,xis-ziekenhuis,viewer,dvza" {
		t.Errorf("roles = %s", got)
	}
	xis := m.Roles["xis"]
	if xis.Kind() != "image" || xis.Image.Port != 8080 || xis.Image.Env["WORKERS"] != "4" || xis.FHIRBase != "/fhir" || xis.Adapter != "/bench" {
		t.Errorf("xis = %+v image %+v", xis, xis.Image)
	}
	idx := m.Roles["index"]
	if idx.Kind() != "command" || idx.FHIRBase != "/r4" || idx.Adapter != "/test-adapter" || idx.Command.Args[2] != "{port}" || idx.Command.Args[3] != "7" {
		t.Errorf("index = %+v command %+v", idx, idx.Command)
	}
	if idx.Auth.BearerTokenEnv != "INDEX_TOKEN" {
		t.Errorf("auth = %+v", idx.Auth)
	}
	if c := m.Roles["xis-ziekenhuis"].Contract; c != ContractTranslator || m.Roles["xis"].Contract != "" {
		t.Errorf("contracts %q, %q", c, m.Roles["xis"].Contract)
	}
	if got := m.Roles["dvza"].Tokens; len(got) != 1 || got["999901011"] != "patient-token-a" {
		t.Errorf("dvza tokens = %v", got)
	}
	if m.Roles["viewer"].Kind() != "url" || m.Roles["dvza"].Kind() != "builtin" {
		t.Errorf("viewer %s dvza %s", m.Roles["viewer"].Kind(), m.Roles["dvza"].Kind())
	}
	if v := m.Roles["viewer"].Viewer; v == nil || v.ClientID != "voorbeeld-viewer" || v.RedirectURI != "/base/terug" || v.AuditEvent != "/base/fhir/AuditEvent" || v.Launch != "" {
		t.Errorf("viewer spec = %+v", v)
	}
}

func TestParseManifestBad(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		field string
		line  int
		msg   string
	}{
		{"no roles", "name: x\n", "roles", 1, "missing"},
		{"empty roles", "name: x\nroles: {}\n", "roles", 2, "names no role"},
		{"no name", "roles:\n  xis:\n    builtin: true\n", "name", 1, "missing"},
		{"role names nothing", "name: x\nroles:\n  xis:\n    fhirBase: /fhir\n", "roles.xis", 3, "found none"},
		{"image and command", "name: x\nroles:\n  xis:\n    image: {name: a, port: 80}\n    command: {path: b}\n", "roles.xis", 3, "found image and command"},
		{"url and builtin", "name: x\nroles:\n  index:\n    url: http://a\n    builtin: true\n", "roles.index", 3, "found url and builtin"},
		{"port wrong type", "name: x\nroles:\n  xis:\n    image:\n      name: a\n      port: eighty\n", "roles.xis.image.port", 6, "must be integer, not string"},
		{"port out of range", "name: x\nroles:\n  xis:\n    image:\n      name: a\n      port: 70000\n", "roles.xis.image.port", 6, "at most 65535, not 70000"},
		{"image without port", "name: x\nroles:\n  xis:\n    image:\n      name: a\n", "roles.xis.image.port", 4, "missing"},
		{"name wrong type", "name: [a, b]\nroles:\n  xis: {builtin: true}\n", "name", 1, "must be string, not array"},
		{"args wrong type", "name: x\nroles:\n  xis:\n    command:\n      path: a\n      args: serve\n", "roles.xis.command.args", 6, "must be array, not string"},
		{"env value is a map", "name: x\nroles:\n  xis:\n    command:\n      path: a\n      env:\n        A:\n          b: c\n", "roles.xis.command.env.A", 7, "not object"},
		{"unknown role", "name: x\nroles:\n  lab:\n    builtin: true\n", "roles.lab", 3, "unknown role"},
		{"typo field", "name: x\nroles:\n  xis:\n    builtin: true\n    fhirbase: /fhir\n", "roles.xis.fhirbase", 5, "unknown field"},
		{"top-level typo", "name: x\nvendr: y\nroles:\n  xis: {builtin: true}\n", "vendr", 2, "unknown field"},
		{"builtin false", "name: x\nroles:\n  xis:\n    builtin: false\n", "roles.xis.builtin", 4, "must be true"},
		{"bad url", "name: x\nroles:\n  xis:\n    url: ftp://example\n", "roles.xis.url", 4, "expected form"},
		{"fhirBase without slash", "name: x\nroles:\n  xis:\n    builtin: true\n    fhirBase: fhir\n", "roles.xis.fhirBase", 5, "expected form"},
		{"auth both", "name: x\nroles:\n  xis:\n    builtin: true\n    auth:\n      bearerToken: abcd\n      bearerTokenEnv: TOKEN\n", "roles.xis.auth", 5, "not both"},
		{"viewer without viewer spec", "name: x\nroles:\n  viewer:\n    url: http://a\n", "roles.viewer", 3, "needs viewer.clientId"},
		{"viewer spec on xis", "name: x\nroles:\n  xis:\n    builtin: true\n    viewer: {clientId: a}\n", "roles.xis.viewer", 3, "only role viewer"},
		{"context-token viewer with a redirect URI", "name: x\nroles:\n  viewer:\n    command: {path: a}\n    viewer: {clientId: a, launchMode: context-token, redirectUri: /cb}\n", "roles.viewer.viewer.redirectUri", 3, "no redirectUri"},
		{"context-token viewer at a url", "name: x\nroles:\n  viewer:\n    url: http://a\n    viewer: {clientId: a, launchMode: context-token}\n", "roles.viewer.viewer.launchMode", 3, "must be a command or builtin role"},
		{"unknown launch mode", "name: x\nroles:\n  viewer:\n    command: {path: a}\n    viewer: {clientId: a, launchMode: saml}\n", "roles.viewer.viewer.launchMode", 5, "must be one of 'smart', 'context-token'"},
		{"contract on the index", "name: x\nroles:\n  index:\n    builtin: true\n    contract: translator\n", "roles.index.contract", 3, "only xis and xis-<suffix>"},
		{"unknown contract", "name: x\nroles:\n  xis-ziekenhuis:\n    builtin: true\n    contract: vertaler\n", "roles.xis-ziekenhuis.contract", 5, "must be one of"},
		{"viewer without client id", "name: x\nroles:\n  viewer:\n    url: http://a\n    viewer: {launch: /start}\n", "roles.viewer.viewer.clientId", 5, "missing"},
		{"role is a string", "name: x\nroles:\n  xis: docker\n", "roles.xis", 3, "must be object, not string"},
		{"not a mapping", "- a\n- b\n", "", 1, "must be object, not array"},
		{"malformed yaml", "name: x\nroles:\n  xis: [\n", "", 3, "not valid YAML"},
		{"tab indentation", "name: x\nroles:\n\txis: {}\n", "", 3, "not valid YAML"},
		{"empty document", "", "", 1, "empty manifest"},
		{"alias", "name: &n x\nvendor: *n\nroles:\n  xis: {builtin: true}\n", "vendor", 2, "aliases are not allowed"},
		{"duplicate key", "name: x\nname: y\nroles:\n  xis: {builtin: true}\n", "name", 2, "given twice"},
		{"image name with capitals", "name: x\nroles:\n  xis:\n    image:\n      name: MijnVIS:4.2\n      port: 80\n", "roles.xis.image.name", 5, "not an image reference Docker accepts"},
		{"image name with a space", "name: x\nroles:\n  xis:\n    image:\n      name: mijn vis\n      port: 80\n", "roles.xis.image.name", 5, "not an image reference Docker accepts"},
		{"image tag too long", "name: x\nroles:\n  xis:\n    image:\n      name: vis:" + strings.Repeat("a", 129) + "\n      port: 80\n", "roles.xis.image.name", 5, "not an image reference"},
		{"image digest too short", "name: x\nroles:\n  xis:\n    image:\n      name: voorbeeld/xis@sha256:abcd\n      port: 80\n", "roles.xis.image.name", 5, "not an image reference"},
		{"image digest not hex", "name: x\nroles:\n  xis:\n    image:\n      name: vis@sha256:xyz\n      port: 80\n", "roles.xis.image.name", 5, "not an image reference"},
		{"image name ends in a separator", "name: x\nroles:\n  xis:\n    image:\n      name: vis-\n      port: 80\n", "roles.xis.image.name", 5, "not an image reference"},
		{"env key empty", "name: x\nroles:\n  xis:\n    command:\n      path: a\n      env:\n        \"\": b\n", "roles.xis.command.env", 7, "not an environment variable name"},
		{"env key with =", "name: x\nroles:\n  xis:\n    image:\n      name: a\n      port: 80\n      env:\n        A=B: c\n", "roles.xis.image.env", 8, "not an environment variable name"},
		{"tokens on the xis", "name: x\nroles:\n  xis:\n    builtin: true\n    tokens:\n      \"999901011\": t\n", "roles.xis.tokens", 5, "dvza role only"},
		{"token of a real-range BSN", "name: x\nroles:\n  dvza:\n    builtin: true\n    tokens:\n      \"111222333\": t\n", "roles.dvza.tokens", 6, "not a BSN of the test range"},
		{"token of a test BSN failing the elfproef", "name: x\nroles:\n  dvza:\n    builtin: true\n    tokens:\n      \"999901012\": t\n", "roles.dvza.tokens", 6, "not a BSN of the test range"},
		{"empty token", "name: x\nroles:\n  dvza:\n    builtin: true\n    tokens:\n      \"999901011\": \"\"\n", "roles.dvza.tokens[999901011]", 6, "minLength"},
		{"no tokens", "name: x\nroles:\n  dvza:\n    builtin: true\n    tokens: {}\n", "roles.dvza.tokens", 5, ""},
		{"env key starts with a digit", "name: x\nroles:\n  xis:\n    command:\n      path: a\n      env:\n        1A: b\n", "roles.xis.command.env", 7, "not an environment variable name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tc.yaml))
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("want a *ManifestError, got %v", err)
			}
			for _, p := range me.Problems {
				if p.Field == tc.field && p.Line == tc.line && strings.Contains(p.Message, tc.msg) {
					return
				}
			}
			t.Errorf("no problem with field %q, line %d, message containing %q; got:\n%s", tc.field, tc.line, tc.msg, err)
		})
	}
}

// TestImageReferencesDockerAccepts: the forms Docker's reference grammar
// allows pass candidate check.
func TestImageReferencesDockerAccepts(t *testing.T) {
	digest := strings.Repeat("ab", 32)
	for _, name := range []string{
		"a", "bcbench/reference-xis:dev", "registry.example.nl:5000/vis/xis:4.2.0", "localhost/vis", "localhost:5000/vis:1",
		"vis__x/a.b-c:TAG_1.0", "vis@sha256:" + digest, "vis:1.0@sha256:" + digest, "sha256:" + digest, "Registry.Example.NL/vis",
	} {
		t.Run(name, func(t *testing.T) {
			m, err := ParseManifest([]byte("name: x\nroles:\n  xis:\n    image:\n      name: " + name + "\n      port: 80\n"))
			if err != nil || m.Roles["xis"].Image.Name != name {
				t.Fatalf("ParseManifest: %v", err)
			}
		})
	}
}

// envManifest is a manifest with n env entries (32,000 is near the 1 MB bound).
func envManifest(n int) []byte {
	var b strings.Builder
	b.WriteString("name: x\nroles:\n  xis:\n    image:\n      name: a:b\n      port: 8080\n      env:\n")
	for i := range n {
		fmt.Fprintf(&b, "        K%d: 1.10\n", i)
	}
	return []byte(b.String())
}

// TestLargeManifest: a manifest near the 1 MB bound with tens of thousands
// of env entries is read whole, each value as written. Its speed is
// BenchmarkParseManifestEnv's.
func TestLargeManifest(t *testing.T) {
	data := envManifest(32000)
	if len(data) > maxManifest {
		t.Fatalf("the manifest is %d bytes, beyond the bound", len(data))
	}
	m, err := ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	env := m.Roles["xis"].Image.Env
	if len(env) != 32000 || env["K0"] != "1.10" || env["K31999"] != "1.10" {
		t.Errorf("%d env entries, K0=%q", len(env), env["K0"])
	}
}

// BenchmarkParseManifestEnv checks manifests of 8,000 and 32,000 env
// entries: linear decoding takes about 4 times as long for the second,
// yaml.v3's pairwise key check took 16 times as long (7.9 s for 1 MB).
func BenchmarkParseManifestEnv(b *testing.B) {
	for _, n := range []int{8000, 32000} {
		data := envManifest(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseManifest(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestManifestErrorNamesFileFieldAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cand.yaml")
	if err := os.WriteFile(path, []byte("name: x\nroles:\n  xis:\n    image: {name: a, port: 80}\n    url: http://a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadManifest(path)
	if err == nil {
		t.Fatal("want an error")
	}
	want := "cand.yaml: line 3: roles.xis: needs exactly one of image, command, url or builtin; found image and url"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
}

func TestLoadManifestResolvesAgainstItsDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(path, []byte("name: x\nroles:\n  xis:\n    command: {path: ../bin/bcbench}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.resolve(m.Roles["xis"].Command.Path), filepath.Join(filepath.Dir(dir), "bin", "bcbench"); got != want {
		t.Errorf("resolved %q, want %q", got, want)
	}
}

func TestLoadManifestBounds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(path, bytes.Repeat([]byte("#"), maxManifest+10), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadManifest(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge manifest: %v", err)
	}
	deep := "name: x\nroles:\n  xis: {builtin: true}\nvendor: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n"
	if _, err := ParseManifest([]byte(deep)); err == nil {
		t.Error("deeply nested manifest accepted")
	}
	if _, err := LoadManifest(filepath.Join(t.TempDir(), "absent.yaml")); err == nil {
		t.Error("absent manifest accepted")
	}
}

func TestExampleManifestsValidate(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if len(files) == 0 {
		t.Skip("no examples/*.yaml in this checkout")
	}
	for _, f := range files {
		if _, err := LoadManifest(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestPublishedSchemaIsTheEmbeddedOne(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "docs", "manifest.schema.json"))
	if err != nil {
		t.Skipf("docs/manifest.schema.json not in this checkout: %v", err)
	}
	if !bytes.Equal(docs, ManifestSchema()) {
		t.Error("docs/manifest.schema.json differs from harness/manifest.schema.json; run: bcbench candidate schema > docs/manifest.schema.json")
	}
}

// FuzzParseManifest: any input gives a manifest or an error, never a panic,
// and every problem of an error names a line within the input.
func FuzzParseManifest(f *testing.F) {
	for _, seed := range []string{
		"name: x\nroles:\n  xis: {builtin: true}\n",
		"name: x\nroles:\n  xis:\n    image: {name: a, port: 80, env: {A: 1}}\n",
		"name: x\nroles:\n  xis:\n    command: {path: a, args: [b, 1, true]}\n    auth: {bearerToken: t}\n",
		"name: &a x\nroles: *a\n", "[", "{}", "null", "name: x\nroles:\n  xis: {url: 'http://a', url: b}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err == nil {
			if len(m.Roles) == 0 {
				t.Fatal("a valid manifest without roles")
			}
			for name, r := range m.Roles {
				kinds := 0
				if r.Image != nil {
					kinds++
				}
				if r.Command != nil {
					kinds++
				}
				if r.URL != "" {
					kinds++
				}
				if r.Builtin {
					kinds++
				}
				if kinds != 1 {
					t.Fatalf("role %s valid with %d kinds", name, kinds)
				}
			}
			return
		}
		var me *ManifestError
		if errors.As(err, &me) {
			lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 2
			for _, p := range me.Problems {
				if p.Line < 0 || p.Line > lines {
					t.Fatalf("problem on line %d of a %d-line input: %v", p.Line, lines, p)
				}
			}
		}
	})
}
