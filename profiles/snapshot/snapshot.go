// Package snapshot generates StructureDefinition snapshots from a
// differential and the snapshot of its base definition, the way FHIR profiles
// without snapshots (all Nictiz zib, nl-core, MP9 and bc-* profiles) must be
// read before instances can be validated against them.
//
// The generator walks the differential in order. Each differential element is
// found in the base snapshot by its element id; when it is not there yet it is
// made: a child of a complex element is created by copying the children of the
// element's type (or of the type's profile, when the element names one, or of
// the element a contentReference points to), a slice is created by copying the
// sliced element and its children, and a choice element named by its type
// (valueQuantity, or value[x]:valueQuantity) is the choice element narrowed to
// that type. The differential element's properties then replace those of the
// snapshot element, except constraints and conditions, which are added.
//
// Element trees returned by the generator are new maps; the definitions read
// through the Resolver are never modified.
package snapshot

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
)

// Resolver finds conformance resources by canonical URL ("url" or "url|version").
type Resolver interface {
	Resource(canonical string) (map[string]any, bool)
}

// Element is one element definition of a snapshot (a JSON-shaped map).
type Element = map[string]any

// Generator makes and caches snapshots. It is safe for concurrent use: a
// snapshot is generated without holding a lock (two goroutines may both make
// it; the first result is kept), so cyclic definitions end in an error, never
// in a deadlock.
type Generator struct {
	r     Resolver
	mu    sync.Mutex
	cache map[string]*result
}

type result struct {
	elems []Element
	err   error
}

// New returns a Generator reading definitions from r.
func New(r Resolver) *Generator {
	return &Generator{r: r, cache: map[string]*result{}}
}

// maxChain bounds the base-definition chain (and recursion through type profiles).
const maxChain = 32

// Snapshot returns the snapshot elements of the StructureDefinition with the
// given canonical URL: its own snapshot when it has one, else one generated
// from its differential and its base chain.
func (g *Generator) Snapshot(canonical string) ([]Element, error) {
	return g.snapshot(canonical, nil)
}

// snapshot returns a cached snapshot or makes one; chain lists the
// canonicals being generated on this call path.
func (g *Generator) snapshot(canonical string, chain []string) ([]Element, error) {
	g.mu.Lock()
	res, ok := g.cache[canonical]
	g.mu.Unlock()
	if ok {
		return res.elems, res.err
	}
	for _, c := range chain {
		if c == canonical {
			return nil, fmt.Errorf("snapshot %s: definitions refer to each other in a cycle (%s)", canonical, strings.Join(append(chain, canonical), " → "))
		}
	}
	if len(chain) >= maxChain {
		return nil, fmt.Errorf("snapshot %s: base or type-profile chain deeper than %d", canonical, maxChain)
	}
	elems, err := g.generate(canonical, append(chain[:len(chain):len(chain)], canonical))
	g.mu.Lock()
	if prev, ok := g.cache[canonical]; ok {
		elems, err = prev.elems, prev.err // another goroutine was first
	} else {
		g.cache[canonical] = &result{elems: elems, err: err}
	}
	g.mu.Unlock()
	return elems, err
}

func (g *Generator) generate(canonical string, chain []string) ([]Element, error) {
	sd, ok := g.r.Resource(canonical)
	if !ok {
		return nil, fmt.Errorf("snapshot %s: StructureDefinition not found", canonical)
	}
	if snap := elements(sd, "snapshot"); len(snap) > 0 {
		out := make([]Element, len(snap))
		for i, e := range snap {
			out[i] = e
		}
		return out, nil
	}
	baseURL, _ := sd["baseDefinition"].(string)
	if baseURL == "" {
		return nil, fmt.Errorf("snapshot %s: no snapshot and no baseDefinition", canonical)
	}
	base, err := g.snapshot(baseURL, chain)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: base: %w", canonical, err)
	}
	b := &builder{g: g, chain: chain, elems: make([]Element, len(base))}
	for i, e := range base {
		b.elems[i] = clone(e)
	}
	b.reindex()
	for _, d := range withIDs(elements(sd, "differential")) {
		if err := b.apply(d); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", canonical, err)
		}
	}
	return b.elems, nil
}

func elements(sd map[string]any, part string) []map[string]any {
	p, _ := sd[part].(map[string]any)
	list, _ := p["element"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func clone(e Element) Element {
	c := make(Element, len(e))
	for k, v := range e {
		c[k] = v
	}
	return c
}

type builder struct {
	g     *Generator
	chain []string // canonicals being generated on this call path
	elems []Element
	ids   map[string]int
	alias map[string]string // id as written in a differential → snapshot id
}

// canon rewrites the leading part of id that names a narrowed choice element
// (valueQuantity, value[x]:valueQuantity) to the snapshot id (value[x]).
func (b *builder) canon(id string) string {
	if len(b.alias) == 0 {
		return id
	}
	for p := 0; p <= len(id); p++ {
		if p < len(id) && id[p] != '.' {
			continue
		}
		if r, ok := b.alias[id[:p]]; ok {
			id = r + id[p:]
			p = len(r)
		}
	}
	return id
}

func (b *builder) reindex() {
	b.ids = make(map[string]int, len(b.elems))
	for i, e := range b.elems {
		b.ids[ID(e)] = i
	}
}

// ID returns an element's id, derived from path and sliceName when absent.
func ID(e Element) string {
	if id, ok := e["id"].(string); ok && id != "" {
		return id
	}
	p, _ := e["path"].(string)
	if s, ok := e["sliceName"].(string); ok && s != "" {
		return p + ":" + s
	}
	return p
}

func str(e Element, k string) string { s, _ := e[k].(string); return s }

// apply merges one differential element into the snapshot.
func (b *builder) apply(d Element) error {
	id := ID(d)
	if id == "" {
		return errors.New("differential element without id or path")
	}
	i, narrowed, err := b.find(id)
	if err != nil {
		return err
	}
	merge(b.elems[i], d, narrowed)
	if ts, _ := d["type"].([]any); len(ts) == 1 {
		if tm, _ := ts[0].(map[string]any); ProfileElement(tm) != "" {
			b.rechild(i)
		}
	}
	return nil
}

// rechild replaces the children of element i with those its type now
// gives it (a profile-element names the element to follow).
func (b *builder) rechild(i int) {
	id := ID(b.elems[i])
	j := i + 1
	for j < len(b.elems) && strings.HasPrefix(ID(b.elems[j]), id+".") {
		j++
	}
	b.elems = append(b.elems[:i+1], b.elems[j:]...)
	b.reindex()
	b.expand(i)
}

// find returns the index of the element with the given id, creating it from
// type children or as a new slice when needed. narrowed is the type a choice
// element was narrowed to by its name ("" when not).
func (b *builder) find(id string) (int, string, error) {

	id = b.canon(id)
	if i, ok := b.ids[id]; ok {
		return i, "", nil
	}
	// Root of the differential may name a different root (never in practice).
	cut := strings.LastIndexAny(id, ".")
	for cut > 0 {
		if _, ok := b.ids[id[:cut]]; ok {
			break
		}
		// Maybe the parent itself must be created first.
		if _, _, err := b.findQuiet(id[:cut]); err == nil {
			break
		}
		cut = strings.LastIndexAny(id[:cut], ".")
	}
	if cut <= 0 {
		return 0, "", fmt.Errorf("element %s: no parent in the base", id)
	}
	parentID, last := b.canon(id[:cut]), id[cut+1:]
	pi := b.ids[parentID]
	name, slice, isSlice := strings.Cut(last, ":")
	// Choice element named by its type: valueQuantity or value[x]:valueQuantity.
	if !strings.HasSuffix(name, "[x]") {
		b.expand(pi)
		if j, ok := b.ids[parentID+"."+name]; ok && isSlice && slice == name && renamedChoice(b.elems[j], name) {
			b.setAlias(id, parentID+"."+name) // STU3: valueQuantity:valueQuantity
			return j, "", nil
		}
		if _, ok := b.ids[parentID+"."+name]; !ok {
			if base, typ, ok := b.choiceFor(parentID, name); ok {
				if !isSlice || slice == name {
					// STU3 style: the renamed choice narrows the element to one type.
					b.setAlias(id, base)
					j := b.ids[base]
					b.elems[j]["type"] = onlyType(b.elems[j], typ)
					return j, typ, nil
				}
				name = base[len(parentID)+1:]
			}
		}
	} else if isSlice && strings.HasPrefix(slice, strings.TrimSuffix(name, "[x]")) {
		// value[x]:valueQuantity is the R4 way of narrowing a choice by type.
		b.expand(pi)
		if j, ok := b.ids[parentID+"."+slice]; ok {
			// The base snapshot already renamed the choice (STU3: valueReference).
			b.setAlias(id, parentID+"."+slice)
			return j, "", nil
		}
		if j, ok := b.ids[parentID+"."+name]; ok {
			typ := slice[len(name)-3:]
			if t := typeNamed(b.elems[j], typ); t != "" {
				if _, exists := b.ids[id]; !exists {
					// A type slice: constraints that apply when the value has that type.
					k := b.addSlice(j, parentID+"."+name, slice)
					b.elems[k]["type"] = []any{map[string]any{"code": t}}
					return k, "", nil
				}
			}
		}
	}
	b.expand(pi)
	baseID := parentID + "." + name
	bi, ok := b.ids[baseID]
	if !ok {
		return 0, "", fmt.Errorf("element %s: %s has no child %q", id, parentID, name)
	}
	if !isSlice {
		return bi, "", nil
	}
	if j, ok := b.ids[baseID+":"+slice]; ok {
		return j, "", nil // the slice came with the parent's type profile
	}
	return b.addSlice(bi, baseID, slice), "", nil
}

// renamedChoice says whether element e, found under name, is a choice
// element renamed to one of its types (STU3 valueQuantity, whose base is
// value[x]), so that name:name is that element and not a slice of it: a
// slice may carry its element's name (zib-LaboratoryTestResult slices
// Observation.performer into performer:performer).
func renamedChoice(e Element, name string) bool {
	if bm, ok := e["base"].(map[string]any); ok {
		if bp := str(bm, "path"); bp != "" {
			return strings.HasSuffix(bp, "[x]")
		}
	}
	for i := 1; i < len(name); i++ {
		if unicode.IsUpper(rune(name[i])) {
			return true
		}
	}
	return false
}

func (b *builder) setAlias(from, to string) {
	if b.alias == nil {
		b.alias = map[string]string{}
	}
	b.alias[from] = to
}

// findQuiet is find for a parent id; it creates the parent when possible.
func (b *builder) findQuiet(id string) (int, string, error) {
	if i, ok := b.ids[id]; ok {
		return i, "", nil
	}
	if !strings.Contains(id, ".") {
		return 0, "", errors.New("no parent")
	}
	i, _, err := b.find(id)
	return i, "", err
}

// choiceFor finds the choice element under parentID whose name plus a type
// gives name (value[x] for valueQuantity).
func (b *builder) choiceFor(parentID, name string) (string, string, bool) {
	for i := 1; i < len(name); i++ {
		if !unicode.IsUpper(rune(name[i])) {
			continue
		}
		cid := parentID + "." + name[:i] + "[x]"
		j, ok := b.ids[cid]
		if !ok {
			continue
		}
		if t := typeNamed(b.elems[j], name[i:]); t != "" {
			return cid, t, true
		}
	}
	return "", "", false
}

// typeNamed returns the type code of e matching a capitalised type suffix.
func typeNamed(e Element, suffix string) string {
	types, _ := e["type"].([]any)
	for _, t := range types {
		tm, _ := t.(map[string]any)
		code := str(tm, "code")
		if strings.EqualFold(code, suffix) {
			return code
		}
	}
	if len(types) == 0 && suffix != "" {
		return suffix
	}
	return ""
}

// end returns the index after the subtree (children and slices) of element i.
func (b *builder) end(i int) int {
	id := ID(b.elems[i])
	j := i + 1
	for j < len(b.elems) {
		o := ID(b.elems[j])
		if !strings.HasPrefix(o, id+".") && !strings.HasPrefix(o, id+":") {
			break
		}
		j++
	}
	return j
}

// hasChildren reports whether element i is followed by children in the list.
func (b *builder) hasChildren(i int) bool {
	if i+1 >= len(b.elems) {
		return false
	}
	return strings.HasPrefix(ID(b.elems[i+1]), ID(b.elems[i])+".")
}

func (b *builder) insert(at int, es []Element) {
	b.elems = append(b.elems[:at], append(es, b.elems[at:]...)...)
	b.reindex()
}

// expand gives element i its children from its type when it has none yet.
func (b *builder) expand(i int) {
	if b.hasChildren(i) {
		return
	}
	e := b.elems[i]
	id, path := ID(e), str(e, "path")
	var src []Element
	var srcRoot string
	if ref := str(e, "contentReference"); ref != "" {
		// The content as the type defines it: the profile's own
		// constraints and slices of the referenced element (a Parameters
		// profile's named parameter) do not apply to the elements that
		// reuse its content (parameter.part).
		target := ref[strings.Index(ref, "#")+1:]
		srcRoot = target
		typ, _, _ := strings.Cut(target, ".")
		if base, err := b.g.snapshot(TypeURL(typ), b.chain); err == nil {
			for _, x := range base {
				if strings.HasPrefix(ID(x), target+".") {
					src = append(src, x)
				}
			}
		}
		if len(src) == 0 {
			ti, ok := b.ids[target]
			if !ok {
				return
			}
			for j := ti + 1; j < b.end(ti); j++ {
				if strings.HasPrefix(ID(b.elems[j]), target+".") {
					src = append(src, b.elems[j])
				}
			}
		}
	} else {
		types, _ := e["type"].([]any)
		if len(types) == 0 {
			return
		}
		tm, _ := types[0].(map[string]any)
		code := str(tm, "code")
		for _, t := range types[1:] {
			if m, _ := t.(map[string]any); str(m, "code") != code {
				code, types = "Element", nil // a choice: only the children all types share
				break
			}
		}
		canon, elementID := "", ""
		if len(types) == 1 {
			tm, _ := types[0].(map[string]any)
			if profs, _ := tm["profile"].([]any); len(profs) == 1 {
				canon, _ = profs[0].(string)
				elementID = ProfileElement(tm)
			} else if p, ok := tm["profile"].(string); ok && code != "Reference" { // STU3
				canon = p
			}
		}
		if canon == "" && code != "" {
			canon = TypeURL(code)
		}
		if canon == "" {
			return
		}
		snap, err := b.g.snapshot(canon, b.chain)
		if err != nil || len(snap) == 0 {
			if code == "" {
				return
			}
			if snap, err = b.g.snapshot(TypeURL(code), b.chain); err != nil || len(snap) == 0 {
				return
			}
		}
		srcRoot = ID(snap[0])
		src = snap[1:]
		if elementID != "" {
			// The profile names one of its elements (profile-element):
			// the content is that element's children.
			srcRoot, src = elementID, nil
			for _, x := range snap {
				if strings.HasPrefix(ID(x), elementID+".") {
					src = append(src, x)
				}
			}
		}
	}
	var add []Element
	for _, s := range src {
		sid := ID(s)
		c := clone(s)
		c["id"] = id + strings.TrimPrefix(sid, srcRoot)
		c["path"] = path + strings.TrimPrefix(str(s, "path"), pathOf(srcRoot))
		add = append(add, c)
	}
	b.insert(i+1, add)
}

// profileElementURL is the extension on a type's profile that names the
// element of that profile the type's content follows.
const profileElementURL = "http://hl7.org/fhir/StructureDefinition/elementdefinition-profile-element"

// ProfileElement returns the element id that the profile-element extension
// on the (single) profile of an ElementDefinition.type names, or "".
func ProfileElement(typ map[string]any) string {
	ext, _ := typ["_profile"].([]any)
	if len(ext) == 0 {
		return ""
	}
	m, _ := ext[0].(map[string]any)
	xs, _ := m["extension"].([]any)
	for _, x := range xs {
		if xm, _ := x.(map[string]any); str(xm, "url") == profileElementURL {
			return str(xm, "valueString")
		}
	}
	return ""
}

// pathOf strips slice names from an id.
func pathOf(id string) string {
	if !strings.Contains(id, ":") {
		return id
	}
	parts := strings.Split(id, ".")
	for k, p := range parts {
		if n, _, ok := strings.Cut(p, ":"); ok {
			parts[k] = n
		}
	}
	return strings.Join(parts, ".")
}

// addSlice creates slice name of the element at bi (id baseID) by copying the
// element and its children, placed after the existing slices.
func (b *builder) addSlice(bi int, baseID, name string) int {
	end := b.end(bi)
	var add []Element
	for j := bi; j < end; j++ {
		o := ID(b.elems[j])
		if j > bi && !strings.HasPrefix(o, baseID+".") {
			continue // other slices and their children
		}
		c := clone(b.elems[j])
		if j == bi {
			c["id"] = baseID + ":" + name
			c["sliceName"] = name
			c["min"] = 0 // a slice is optional unless its differential says otherwise
			delete(c, "slicing")
		} else {
			c["id"] = baseID + ":" + name + strings.TrimPrefix(o, baseID)
		}
		add = append(add, c)
	}
	b.insert(end, add)
	return end
}

// merge applies a differential element to a snapshot element.
func merge(s, d Element, narrowed string) {
	if _, has := s["base"]; !has && d["max"] != nil && s["max"] != nil {
		// The element's base cardinality, before the profile narrows it
		// (STU3 core snapshots carry no base): whether an element is an
		// array in JSON follows the base, not the profile (a profile's
		// max 1 on EpisodeOfCare.diagnosis leaves it an array).
		s["base"] = map[string]any{"path": s["path"], "min": s["min"], "max": s["max"]}
	}
	for k, v := range d {
		switch k {
		case "id", "path":
		case "extension":
			// Element extensions (minLength, translatable, ...): the
			// differential's replace the base's with the same url.
			add, _ := v.([]any)
			urls := map[string]bool{}
			for _, x := range add {
				if xm, ok := x.(map[string]any); ok {
					urls[str(xm, "url")] = true
				}
			}
			var out []any
			old, _ := s[k].([]any)
			for _, x := range old {
				if xm, ok := x.(map[string]any); ok && urls[str(xm, "url")] {
					continue
				}
				out = append(out, x)
			}
			s[k] = append(out, add...)
		case "sliceName":
			if narrowed == "" {
				s[k] = v
			}
		case "constraint", "condition":
			old, _ := s[k].([]any)
			add, _ := v.([]any)
			s[k] = append(append([]any{}, old...), add...)
		default:
			s[k] = v
		}
	}
	if narrowed != "" {
		if _, ok := d["type"]; !ok {
			s["type"] = []any{map[string]any{"code": narrowed}}
		}
	}
}

// TypeURL returns the canonical URL of a base FHIR type.
func TypeURL(code string) string {
	if strings.Contains(code, "/") {
		return code
	}
	if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
		return ""
	}
	return "http://hl7.org/fhir/StructureDefinition/" + code
}

// onlyType keeps the type entries of e with the given code.
func onlyType(e Element, code string) []any {
	var out []any
	types, _ := e["type"].([]any)
	for _, t := range types {
		if tm, _ := t.(map[string]any); str(tm, "code") == code {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		out = []any{map[string]any{"code": code}}
	}
	return out
}

// withIDs gives differential elements without an id (older and hand-written
// profiles) the id their position implies: an element belongs to the slice
// most recently opened on its ancestor path.
func withIDs(diff []map[string]any) []map[string]any {
	ctx := map[string]string{} // path → id of the element that path currently means
	out := make([]map[string]any, len(diff))
	for i, d := range diff {
		path := str(d, "path")
		if id := str(d, "id"); id != "" || path == "" {
			out[i] = d
			if id != "" && path != "" {
				ctx[path] = id
			}
			continue
		}
		id := path
		for q := path; ; {
			dot := strings.LastIndexByte(q, '.')
			if dot < 0 {
				break
			}
			q = q[:dot]
			if cid, ok := ctx[q]; ok {
				id = cid + path[len(q):]
				break
			}
		}
		if sn := str(d, "sliceName"); sn != "" {
			id += ":" + sn
		}
		for k := range ctx {
			if strings.HasPrefix(k, path+".") {
				delete(ctx, k)
			}
		}
		ctx[path] = id
		c := clone(d)
		c["id"] = id
		out[i] = c
	}
	return out
}
