package harness

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"

	"github.com/bcbench/bcbench/fixtures"
)

// Roles lists the roles of the Babyconnect chain, in the order the bench
// starts them: the index first, so that every XIS can be told where it is;
// the further publishers (xis-<suffix>) follow xis.
var Roles = []string{"index", "xis", "translator", "viewer", "dvza"}

// MaxRoles bounds the roles of a run: of one manifest (the schema's
// maxProperties) and of several combined.
const MaxRoles = 16

// publisherPrefix starts the role key of a further publisher: xis-ziekenhuis.
const publisherPrefix = "xis-"

// IsPublisher reports whether a role key names an XIS: xis or xis-<suffix>.
func IsPublisher(role string) bool {
	return role == "xis" || strings.HasPrefix(role, publisherPrefix)
}

// Adapter contracts of a publisher (RoleSpec.Contract).
const (
	// ContractXIS: the bench sends each event as a registration (JSON) to
	// POST {adapter}/events (docs/adapter.md).
	ContractXIS = "xis"
	// ContractTranslator: the bench sends each event as the ADA instance a
	// legacy XIS exports to POST {adapter}/publish (application/xml); the
	// translator translates, stores and registers it in the index.
	ContractTranslator = "translator"
)

// roleChoice is how messages name the role keys a manifest may use.
const roleChoice = "index, xis, xis-<suffix>, translator, viewer, dvza"

// Default paths under a role's URL.
const (
	DefaultFHIRBase = "/fhir"
	DefaultAdapter  = "/bench"
)

// maxManifest bounds the size of a manifest file.
const maxManifest = 1 << 20

// maxManifestDepth bounds the nesting of a manifest document.
const maxManifestDepth = 32

//go:embed manifest.schema.json
var manifestSchema []byte

// ManifestSchema returns the published JSON Schema of the candidate manifest
// (draft 2020-12). docs/manifest.schema.json is a copy of it.
func ManifestSchema() []byte { return bytes.Clone(manifestSchema) }

// Manifest says which roles a candidate fills and how the bench reaches or
// starts each of them.
type Manifest struct {
	Name    string               `yaml:"name" json:"name"`
	Vendor  string               `yaml:"vendor" json:"vendor,omitempty"`
	Version string               `yaml:"version" json:"version,omitempty"`
	Roles   map[string]*RoleSpec `yaml:"roles" json:"roles"`
	// Dir is the directory relative paths are resolved against: the
	// manifest file's directory, or the working directory for ParseManifest.
	Dir string `yaml:"-" json:"-"`
	// Source names where the manifest came from, for messages.
	Source string `yaml:"-" json:"-"`
	// SHA256 is the hex sha256 of the manifest's bytes: part of a command
	// candidate's identity.
	SHA256 string `yaml:"-" json:"-"`
}

// RoleSpec says how to reach one role: exactly one of Image, Command, URL or
// Builtin is set.
type RoleSpec struct {
	Image   *ImageSpec   `yaml:"image" json:"image,omitempty"`
	Command *CommandSpec `yaml:"command" json:"command,omitempty"`
	URL     string       `yaml:"url" json:"url,omitempty"`
	Builtin bool         `yaml:"builtin" json:"builtin,omitempty"`
	// FHIRBase is the FHIR base path under the role's URL (default /fhir).
	FHIRBase string `yaml:"fhirBase" json:"fhirBase,omitempty"`
	// Adapter is the adapter path under the role's URL (default /bench).
	Adapter string    `yaml:"adapter" json:"adapter,omitempty"`
	Auth    *AuthSpec `yaml:"auth" json:"auth,omitempty"`
	// Tokens are fixed access tokens per client BSN (role dvza only), as
	// Nictiz qualification gives them: the bench sends them instead of
	// running the OAuth flow.
	Tokens map[string]string `yaml:"tokens" json:"tokens,omitempty"`
	// Viewer says how the bench opens a viewer role (docs/viewer.md);
	// only on role viewer, required unless it is builtin.
	Viewer *ViewerSpec `yaml:"viewer" json:"viewer,omitempty"`
	// Contract says which adapter contract a publisher (xis, xis-<suffix>)
	// keeps: ContractXIS (also when empty: POST {adapter}/events with a
	// registration) or ContractTranslator (POST {adapter}/publish with the
	// event's ADA instance: a translator in front of a legacy XIS,
	// docs/translator.md). Only on publisher roles.
	Contract string `yaml:"contract" json:"contract,omitempty"`

	// reference marks a role no candidate brought: the bench plays it.
	reference bool
	// from is the manifest the role was written in: relative paths, the
	// manifest's sha256 and its name are that manifest's, also when
	// several manifests are combined (Combine).
	from *Manifest
}

// Kind says which of image, command, url or builtin the role uses.
func (r *RoleSpec) Kind() string {
	switch {
	case r.Image != nil:
		return "image"
	case r.Command != nil:
		return "command"
	case r.URL != "":
		return "url"
	default:
		return "builtin"
	}
}

// ImageSpec is a container image to start.
type ImageSpec struct {
	Name string  `yaml:"name" json:"name"`
	Port int     `yaml:"port" json:"port"`
	Env  EnvVars `yaml:"env" json:"env,omitempty"`
	// Dockerfile, when set, builds the image first (relative to Context).
	Dockerfile string `yaml:"dockerfile" json:"dockerfile,omitempty"`
	// Context is the build context, relative to the manifest (default its
	// directory). It and the Dockerfile must lie inside the manifest's
	// folder, symbolic links resolved.
	Context string `yaml:"context" json:"context,omitempty"`
	// WritableRoot, when set, says why the image needs a writable root file
	// system; without it the container's root is read-only (with a tmpfs on
	// /tmp).
	WritableRoot string `yaml:"writableRoot" json:"writableRoot,omitempty"`
}

// Pinned reports whether the image reference names its content:
// name@sha256:<64 hex> or an image id sha256:<64 hex>.
func (i *ImageSpec) Pinned() bool {
	_, ok := pinnedDigest(i.Name)
	return ok
}

// CommandSpec is a local program to start.
type CommandSpec struct {
	Path string   `yaml:"path" json:"path"`
	Args []string `yaml:"args" json:"args,omitempty"`
	Env  EnvVars  `yaml:"env" json:"env,omitempty"`
	// Port is where the program listens on 127.0.0.1; 0 picks a free one.
	Port int    `yaml:"port" json:"port,omitempty"`
	Dir  string `yaml:"dir" json:"dir,omitempty"`
	// PassEnv names variables of the operator's environment the program
	// gets; it gets no others beside PATH, HOME, TMPDIR, PORT and Env.
	PassEnv []string `yaml:"passEnv" json:"passEnv,omitempty"`
	// Identity lists files (relative to the manifest) whose sha256 is part
	// of the candidate's identity: for an interpreted program, its scripts.
	Identity []string `yaml:"identity" json:"identity,omitempty"`
}

// EnvVars are a role's environment variables. They are decoded here rather
// than by yaml.v3, which compares every key of a mapping with every other
// (quadratic: a 1 MB manifest of env entries took seconds); parseManifest has
// already refused duplicate keys and non-scalar values.
type EnvVars map[string]string

// UnmarshalYAML keeps each value's text as written ("1.10" stays 1.10).
func (e *EnvVars) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: env must be a mapping", n.Line)
	}
	m := make(EnvVars, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: env %s must be a string, number or boolean", v.Line, k.Value)
		}
		m[k.Value] = v.Value
	}
	*e = m
	return nil
}

// ViewerSpec is how the bench, playing the XIS, opens a viewer — a SMART
// EHR launch or a signed context token: the launch address, the viewer's
// client_id (and redirect URI) at the bench's authorization server, and
// where it logs its views.
type ViewerSpec struct {
	// LaunchMode is how the viewer is opened: ViewerLaunchSMART (the
	// default when empty) or ViewerLaunchContextToken.
	LaunchMode string `yaml:"launchMode" json:"launchMode,omitempty"`
	// Launch is the path of the launch address under the role's URL
	// (default /launch); the bench adds ?iss=…&launch=…, or
	// ?context_token=… with a context token.
	Launch string `yaml:"launch" json:"launch,omitempty"`
	// ClientID is the viewer's OAuth client_id.
	ClientID string `yaml:"clientId" json:"clientId,omitempty"`
	// RedirectURI is the viewer's return address: a path under the role's
	// URL (default /callback) or an absolute URL on the viewer's host; a
	// viewer opened with a context token has none.
	RedirectURI string `yaml:"redirectUri" json:"redirectUri,omitempty"`
	// AuditEvent is the path of the viewer's FHIR AuditEvent search under
	// the role's URL; empty when it names no log (VWR-06 is then not
	// tested).
	AuditEvent string `yaml:"auditEvent" json:"auditEvent,omitempty"`
}

// Launch modes of a viewer (ViewerSpec.LaunchMode, docs/viewer.md).
const (
	ViewerLaunchSMART        = "smart"
	ViewerLaunchContextToken = "context-token"
)

// ContextToken tells whether the viewer is opened with a signed context
// token; nil-safe.
func (v *ViewerSpec) ContextToken() bool { return v != nil && v.LaunchMode == ViewerLaunchContextToken }

// AuthSpec holds the credentials the bench sends to a role.
type AuthSpec struct {
	BearerToken    string `yaml:"bearerToken" json:"bearerToken,omitempty"`
	BearerTokenEnv string `yaml:"bearerTokenEnv" json:"bearerTokenEnv,omitempty"`
	// Bench says the role trusts the bench's own authorization server: the
	// bench reads it as named professionals with tokens it signs, and tells
	// a started role the issuer and its keys (docs/logging.md).
	Bench bool `yaml:"bench" json:"bench,omitempty"`
}

// Token returns the bearer token to send, reading the environment variable
// when the manifest names one.
func (a *AuthSpec) Token() (string, error) {
	if a == nil || a.Bench {
		return "", nil
	}
	if a.BearerTokenEnv != "" {
		v, ok := os.LookupEnv(a.BearerTokenEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("auth.bearerTokenEnv: environment variable %s is not set", a.BearerTokenEnv)
		}
		return v, nil
	}
	return a.BearerToken, nil
}

// Problem is one thing wrong with a manifest.
type Problem struct {
	// Line is the 1-based line in the manifest (0 when unknown).
	Line int
	// Field is the dotted path of the field, e.g. roles.xis.image.port.
	Field string
	// Message says what is wrong.
	Message string
}

func (p Problem) String() string {
	field := p.Field
	if field == "" {
		field = "(document)"
	}
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, field, p.Message)
	}
	return fmt.Sprintf("%s: %s", field, p.Message)
}

// ManifestError lists everything wrong with a manifest.
type ManifestError struct {
	Source   string
	Problems []Problem
}

func (e *ManifestError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	src := e.Source
	if src == "" {
		src = "manifest"
	}
	return fmt.Sprintf("invalid candidate manifest %s: %s", src, strings.Join(parts, "; "))
}

// LoadManifest reads and validates a manifest file. Relative paths in it are
// resolved against the file's directory.
func LoadManifest(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading candidate manifest: %w", err)
	}
	defer f.Close()
	data, err := readBounded(f, maxManifest)
	if err != nil {
		return nil, fmt.Errorf("reading candidate manifest %s: %w", path, err)
	}
	m, err := parseManifest(data, path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("resolving manifest directory: %w", err)
	}
	m.Dir = abs
	if ps := m.pathProblems(); len(ps) > 0 {
		return nil, &ManifestError{Source: path, Problems: ps}
	}
	return m, nil
}

// ParseManifest validates a manifest given as YAML (or JSON). Relative paths
// are resolved against the working directory; set Dir to change that.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > maxManifest {
		return nil, fmt.Errorf("candidate manifest: larger than %d bytes", maxManifest)
	}
	m, err := parseManifest(data, "")
	if err != nil {
		return nil, err
	}
	if wd, err := os.Getwd(); err == nil {
		m.Dir = wd
	}
	if ps := m.pathProblems(); len(ps) > 0 {
		return nil, &ManifestError{Problems: ps}
	}
	return m, nil
}

func parseManifest(data []byte, source string) (*Manifest, error) {
	fail := func(ps ...Problem) error { return &ManifestError{Source: source, Problems: ps} }
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fail(Problem{Line: yamlErrorLine(err), Message: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, fail(Problem{Line: 1, Message: "empty manifest"})
	}
	lines := map[string]int{}
	value, err := nodeValue(doc.Content[0], "", lines, 0)
	if err != nil {
		return nil, fail(*err)
	}
	problems := checkRoles(doc.Content[0], value)
	problems = append(problems, envKeyProblems(value, lines)...)
	problems = append(problems, tokenProblems(value, lines)...)
	problems = append(problems, schemaProblems(value, lines)...)
	if len(problems) > 0 {
		return nil, fail(sortProblems(problems)...)
	}
	var m Manifest
	if err := doc.Content[0].Decode(&m); err != nil {
		return nil, fail(Problem{Line: yamlErrorLine(err), Message: err.Error()})
	}
	m.Source = source
	sum := sha256.Sum256(data)
	m.SHA256 = hex.EncodeToString(sum[:])
	for _, r := range m.Roles {
		r.from = &m
		if r.FHIRBase == "" {
			r.FHIRBase = DefaultFHIRBase
		}
		if r.Adapter == "" {
			r.Adapter = DefaultAdapter
		}
		r.FHIRBase = strings.TrimSuffix(r.FHIRBase, "/")
		r.Adapter = strings.TrimSuffix(r.Adapter, "/")
	}
	return &m, nil
}

// RoleNames returns the roles the manifest names, in the bench's order
// (Roles; the further publishers xis-<suffix> after xis, by name).
func (m *Manifest) RoleNames() []string {
	var out []string
	for _, r := range Roles {
		if _, ok := m.Roles[r]; ok {
			out = append(out, r)
		}
		if r == "xis" {
			var more []string
			for name := range m.Roles {
				if strings.HasPrefix(name, publisherPrefix) {
					more = append(more, name)
				}
			}
			sort.Strings(more)
			out = append(out, more...)
		}
	}
	return out
}

// home is the manifest a role was written in (m itself for a role built in
// code).
func (m *Manifest) home(r *RoleSpec) *Manifest {
	if r != nil && r.from != nil {
		return r.from
	}
	return m
}

// Origin names the manifest a role was written in: its source (file) and
// its name.
func (m *Manifest) Origin(role string) (source, name string) {
	h := m.home(m.Roles[role])
	return h.Source, h.Name
}

// Combine joins the manifests given with several --candidate flags into one:
// each role keeps the folder, sha256 and name of the manifest it was written
// in. A role named in two manifests is an error naming both.
func Combine(ms ...*Manifest) (*Manifest, error) {
	switch len(ms) {
	case 0:
		return nil, errors.New("combining candidate manifests: none given")
	case 1:
		return ms[0], nil
	}
	out := &Manifest{Roles: map[string]*RoleSpec{}}
	var names, vendors, versions, sources, sums []string
	for i, m := range ms {
		if i > 0 && m.Source != "" && slices.Contains(sources, m.Source) {
			return nil, fmt.Errorf("combining candidate manifests: %s is given twice", m.Source)
		}
		for _, name := range m.RoleNames() {
			r := m.Roles[name]
			if prev, ok := out.Roles[name]; ok {
				return nil, fmt.Errorf("combining candidate manifests: role %s is in both %s and %s", name, describeSource(out.home(prev)), describeSource(m))
			}
			if r.from == nil {
				r.from = m
			}
			out.Roles[name] = r
		}
		if len(out.Roles) > MaxRoles {
			return nil, fmt.Errorf("combining candidate manifests: they name more than %d roles together", MaxRoles)
		}
		names = append(names, m.Name)
		if m.Vendor != "" && !slices.Contains(vendors, m.Vendor) {
			vendors = append(vendors, m.Vendor)
		}
		versions = append(versions, m.Version)
		sources = append(sources, m.Source)
		sums = append(sums, m.SHA256)
	}
	out.Name = strings.Join(names, " + ")
	out.Vendor = strings.Join(vendors, " + ")
	out.Version = strings.Join(versions, " + ")
	out.Source = strings.Join(sources, " + ")
	sum := sha256.Sum256([]byte(strings.Join(sums, "\n")))
	out.SHA256 = hex.EncodeToString(sum[:])
	out.Dir = ms[0].Dir
	return out, nil
}

// describeSource names a manifest in a message: its file, else its name.
func describeSource(m *Manifest) string {
	if m.Source != "" {
		return m.Source
	}
	return "manifest " + strconv.Quote(m.Name)
}

// AddReference adds the bench's built-in reference for a role no manifest
// names; it reports whether it did (false: the role is the candidate's).
func (m *Manifest) AddReference(role string) bool {
	if _, ok := m.Roles[role]; ok {
		return false
	}
	if m.Roles == nil {
		m.Roles = map[string]*RoleSpec{}
	}
	m.Roles[role] = &RoleSpec{Builtin: true, FHIRBase: DefaultFHIRBase, Adapter: DefaultAdapter, reference: true}
	return true
}

// Reference reports whether the bench added the role with AddReference
// because no candidate brought it (results.json: "source": "reference").
func (r *RoleSpec) Reference() bool { return r != nil && r.reference }

// CommandPath returns the program a command role runs: a path with a slash
// resolved against the manifest's directory, a bare name as given (looked
// up in PATH when started). It is empty for other kinds of role.
func (m *Manifest) CommandPath(r *RoleSpec) string {
	if r == nil || r.Command == nil {
		return ""
	}
	p := r.Command.Path
	if strings.ContainsRune(p, '/') || strings.ContainsRune(p, filepath.Separator) {
		return m.home(r).resolve(p)
	}
	return p
}

// resolve makes a manifest-relative path absolute.
func (m *Manifest) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(m.Dir, p)
}

// nodeValue turns a YAML node into plain values (map[string]any, []any,
// string, int64, float64, bool, nil) and records the line of every field
// under its JSON pointer.
func nodeValue(n *yaml.Node, ptr string, lines map[string]int, depth int) (any, *Problem) {
	if depth > maxManifestDepth {
		return nil, &Problem{Line: n.Line, Field: pointerField(ptr), Message: "nested too deeply"}
	}
	if _, seen := lines[ptr]; !seen {
		lines[ptr] = n.Line
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0], ptr, lines, depth+1)
	case yaml.AliasNode:
		return nil, &Problem{Line: n.Line, Field: pointerField(ptr), Message: "YAML aliases are not allowed in a manifest"}
	case yaml.MappingNode:
		obj := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, &Problem{Line: k.Line, Field: pointerField(ptr), Message: "keys must be plain strings"}
			}
			if k.Value == "<<" {
				return nil, &Problem{Line: k.Line, Field: pointerField(ptr), Message: "YAML merge keys are not allowed in a manifest"}
			}
			if _, dup := obj[k.Value]; dup {
				return nil, &Problem{Line: k.Line, Field: pointerField(ptr + "/" + escapePointer(k.Value)), Message: "field given twice"}
			}
			child := ptr + "/" + escapePointer(k.Value)
			lines[child] = k.Line
			val, p := nodeValue(v, child, lines, depth+1)
			if p != nil {
				return nil, p
			}
			obj[k.Value] = val
		}
		return obj, nil
	case yaml.SequenceNode:
		arr := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			val, p := nodeValue(c, ptr+"/"+strconv.Itoa(i), lines, depth+1)
			if p != nil {
				return nil, p
			}
			arr = append(arr, val)
		}
		return arr, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, &Problem{Line: n.Line, Field: pointerField(ptr), Message: err.Error()}
			}
			return b, nil
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				return nil, &Problem{Line: n.Line, Field: pointerField(ptr), Message: "number out of range"}
			}
			return i, nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, &Problem{Line: n.Line, Field: pointerField(ptr), Message: err.Error()}
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
		default:
			return n.Value, nil
		}
	}
	return nil, &Problem{Line: n.Line, Field: pointerField(ptr), Message: "unsupported YAML node"}
}

// envName is what an environment variable's name may be: a key like "" or
// "A=B" would corrupt the environment the candidate is started with.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// envKeyProblems reports env keys of image and command roles that are no
// variable names (the schema's propertyNames, with the key's line).
func envKeyProblems(value any, lines map[string]int) []Problem {
	obj, _ := value.(map[string]any)
	roles, _ := obj["roles"].(map[string]any)
	var out []Problem
	for role, spec := range roles {
		r, _ := spec.(map[string]any)
		for _, kind := range []string{"image", "command"} {
			k, _ := r[kind].(map[string]any)
			env, _ := k["env"].(map[string]any)
			for key := range env {
				if envName.MatchString(key) {
					continue
				}
				ptr := "/roles/" + escapePointer(role) + "/" + kind + "/env"
				out = append(out, Problem{Line: lines[ptr+"/"+escapePointer(key)], Field: pointerField(ptr),
					Message: fmt.Sprintf("%q is not an environment variable name (letters, digits and _, not starting with a digit)", key)})
			}
		}
	}
	return out
}

// tokenProblems reports fixed tokens on a role other than dvza, and keys
// that are no BSN of the test range (9999…, elfproef): the bench logs in
// synthetic clients only.
func tokenProblems(value any, lines map[string]int) []Problem {
	obj, _ := value.(map[string]any)
	roles, _ := obj["roles"].(map[string]any)
	var out []Problem
	for role, spec := range roles {
		r, _ := spec.(map[string]any)
		tokens, has := r["tokens"]
		if !has {
			continue
		}
		ptr := "/roles/" + escapePointer(role) + "/tokens"
		if role != "dvza" {
			out = append(out, Problem{Line: lines[ptr], Field: pointerField(ptr), Message: "fixed tokens per client are for the dvza role only"})
			continue
		}
		m, _ := tokens.(map[string]any)
		for bsn := range m {
			if !strings.HasPrefix(bsn, "9999") || !fixtures.ValidBSN(bsn) {
				out = append(out, Problem{Line: lines[ptr+"/"+escapePointer(bsn)], Field: pointerField(ptr),
					Message: fmt.Sprintf("%q is not a BSN of the test range (9999…, passing the elfproef): only synthetic clients log in", bsn)})
			}
		}
	}
	return out
}

// checkRoles reports roles that name none or several of image, command, url
// and builtin, with a message that says which.
func checkRoles(root *yaml.Node, value any) []Problem {
	obj, ok := value.(map[string]any)
	if !ok {
		return nil
	}
	roles, ok := obj["roles"].(map[string]any)
	if !ok {
		return nil
	}
	var out []Problem
	rolesNode := mappingChild(root, "roles")
	for name, v := range roles {
		spec, ok := v.(map[string]any)
		if !ok {
			continue // the schema reports the type
		}
		var found []string
		for _, k := range []string{"image", "command", "url", "builtin"} {
			if _, ok := spec[k]; ok {
				found = append(found, k)
			}
		}
		line := 0
		if rolesNode != nil {
			if k := mappingKey(rolesNode, name); k != nil {
				line = k.Line
			}
		}
		if _, ok := spec["contract"]; ok && !IsPublisher(name) {
			out = append(out, Problem{Line: line, Field: "roles." + name + ".contract", Message: "contract says how the bench sends a publisher its events: only xis and xis-<suffix> have it"})
		}
		if _, ok := spec["viewer"]; ok && name != "viewer" {
			out = append(out, Problem{Line: line, Field: "roles." + name + ".viewer", Message: "viewer says how to open a viewer: only role viewer has it"})
		}
		if _, ok := spec["viewer"]; !ok && name == "viewer" && len(found) == 1 && found[0] != "builtin" {
			out = append(out, Problem{Line: line, Field: "roles.viewer", Message: "a viewer needs viewer.clientId (and its launch and redirectUri paths when not /launch and /callback)"})
		}
		if v, ok := spec["viewer"].(map[string]any); ok && v["launchMode"] == ViewerLaunchContextToken {
			if _, ok := v["redirectUri"]; ok {
				out = append(out, Problem{Line: line, Field: "roles." + name + ".viewer.redirectUri", Message: "a viewer opened with a context token has no redirectUri (it takes part in no authorization-code flow)"})
			}
			_, url := spec["url"]
			_, image := spec["image"]
			if url || image {
				out = append(out, Problem{Line: line, Field: "roles." + name + ".viewer.launchMode", Message: "a viewer opened with a context token must be a command or builtin role: it learns the keys of the bench's issuer, made for each run, when it starts, and reads the bench's XIS on loopback"})
			}
		}
		if len(found) == 1 {
			continue
		}
		msg := "needs exactly one of image, command, url or builtin; found none"
		if len(found) > 1 {
			msg = "needs exactly one of image, command, url or builtin; found " + strings.Join(found, " and ")
		}
		out = append(out, Problem{Line: line, Field: "roles." + name, Message: msg})
	}
	return out
}

var (
	compiledSchema *jsonschema.Schema
	schemaErr      error
	schemaPrinter  = message.NewPrinter(language.English)
)

func init() {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(manifestSchema))
	if err != nil {
		schemaErr = fmt.Errorf("reading embedded manifest schema: %w", err)
		return
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("manifest.schema.json", doc); err != nil {
		schemaErr = fmt.Errorf("loading embedded manifest schema: %w", err)
		return
	}
	compiledSchema, schemaErr = c.Compile("manifest.schema.json")
}

// schemaProblems validates value against the published schema and turns
// every leaf error into a Problem with its field and line.
func schemaProblems(value any, lines map[string]int) []Problem {
	if schemaErr != nil {
		return []Problem{{Message: schemaErr.Error()}}
	}
	err := compiledSchema.Validate(value)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Problem{{Message: err.Error()}}
	}
	var out []Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if _, ok := e.ErrorKind.(*kind.OneOf); ok {
			return // checkRoles says it better
		}
		if _, ok := e.ErrorKind.(*kind.PropertyNames); ok {
			return // envKeyProblems says it with the field and line
		}
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		out = append(out, leafProblems(e, lines)...)
	}
	walk(ve)
	return out
}

func leafProblems(e *jsonschema.ValidationError, lines map[string]int) []Problem {
	ptr := ""
	for _, s := range e.InstanceLocation {
		ptr += "/" + escapePointer(s)
	}
	field := pointerField(ptr)
	line := lines[ptr]
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		var out []Problem
		for _, m := range k.Missing {
			out = append(out, Problem{Line: line, Field: joinField(field, m), Message: "missing (required)"})
		}
		return out
	case *kind.AdditionalProperties:
		var out []Problem
		for _, p := range k.Properties {
			msg := "unknown field"
			if field == "roles" {
				msg = "unknown role (want one of " + roleChoice + ")"
			}
			out = append(out, Problem{Line: lines[ptr+"/"+escapePointer(p)], Field: joinField(field, p), Message: msg})
		}
		return out
	case *kind.Type:
		return []Problem{{Line: line, Field: field, Message: fmt.Sprintf("must be %s, not %s", strings.Join(k.Want, " or "), k.Got)}}
	case *kind.MinProperties:
		if field == "roles" {
			return []Problem{{Line: line, Field: field, Message: "names no role; give at least one of " + roleChoice}}
		}
	case *kind.Const:
		return []Problem{{Line: line, Field: field, Message: "must be true (leave the role out to use the bench's reference)"}}
	case *kind.MaxProperties:
		if field == "roles" {
			return []Problem{{Line: line, Field: field, Message: fmt.Sprintf("names %d roles; a chain has at most %d", k.Got, k.Want)}}
		}
		if strings.HasSuffix(field, ".auth") {
			return []Problem{{Line: line, Field: field, Message: "give either bearerToken or bearerTokenEnv, not both"}}
		}
	case *kind.Maximum:
		return []Problem{{Line: line, Field: field, Message: fmt.Sprintf("must be at most %s, not %s", k.Want.RatString(), k.Got.RatString())}}
	case *kind.Minimum:
		return []Problem{{Line: line, Field: field, Message: fmt.Sprintf("must be at least %s, not %s", k.Want.RatString(), k.Got.RatString())}}
	case *kind.Pattern:
		switch {
		case strings.HasSuffix(field, ".image.name"):
			return []Problem{{Line: line, Field: field, Message: fmt.Sprintf("%q is not an image reference Docker accepts: [registry/]path[:tag][@sha256:digest], the path in lower case letters, digits and . _ -", k.Got)}}
		}
		return []Problem{{Line: line, Field: field, Message: fmt.Sprintf("%q is not of the expected form (%s)", k.Got, k.Want)}}
	}
	return []Problem{{Line: line, Field: field, Message: e.ErrorKind.LocalizedString(schemaPrinter)}}
}

func joinField(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// pointerField turns a JSON pointer into a dotted field name.
func pointerField(ptr string) string {
	if ptr == "" {
		return ""
	}
	var b strings.Builder
	for i, seg := range strings.Split(ptr[1:], "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(seg); err == nil && i > 0 {
			b.WriteString("[" + seg + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func sortProblems(ps []Problem) []Problem {
	seen := map[Problem]bool{}
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Field < out[j].Field
	})
	return out
}

func mappingKey(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

func mappingChild(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// yamlErrorLine finds "line N" in a yaml.v3 error.
func yamlErrorLine(err error) int {
	s := err.Error()
	i := strings.Index(s, "line ")
	if i < 0 {
		return 0
	}
	j := i + len("line ")
	k := j
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	n, _ := strconv.Atoi(s[j:k])
	return n
}
