package wcag

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/domsnapshot"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// DOM node types the rules look at.
const (
	elementNode  = 1
	textNode     = 3
	documentNode = 9
)

// Snapshot is what the rules read: the DOM of every document of the page
// (shadow trees flattened, same-process iframes included), layout boxes and
// computed styles from DOMSnapshot, and Chrome's own accessibility tree
// (role, accessible name, ignored, focusable) joined by backend node id.
type Snapshot struct {
	Nodes  []*Node
	Docs   []*Doc
	Width  float64 // viewport width in CSS px
	Height float64 // viewport height in CSS px
}

// Doc is one document of the page; Docs[0] is the top-level one.
type Doc struct {
	URL, Title, ContentType string
	Root                    int // index of the document node
	Top                     bool
}

// Node is one DOM node.
type Node struct {
	Index     int
	Parent    int // -1 for a document root
	Children  []int
	Type      int
	Tag       string // lower-case element name; "#text" etc. for others
	Text      string // a text node's value
	Attrs     []Attr
	Backend   cdp.BackendNodeID
	Doc       int
	Rendered  bool    // has a layout box
	Box       Rect    // border box in CSS px, page coordinates
	Style     Style   // computed styles (only for rendered nodes)
	Blended   string  // blended background colour behind the node (rendered nodes)
	Opacity   float64 // text colour opacity after ancestors' opacity
	Value     string  // value of input / textarea
	Clickable bool    // DOMSnapshot: responds to clicks
	Content   int     // index of the document an iframe/object shows, -1 if none
	Shadow    string  // type of the shadow root the node is in ("" in the document tree)
	AX        *AXNode // nil when Chrome has no AX node for it
	textBoxes []Rect  // post-layout text boxes of a text node
}

// Attr is one attribute as written (lower-case name).
type Attr struct{ Name, Value string }

// Rect is a box in CSS pixels.
type Rect struct{ X, Y, W, H float64 }

// Style is a node's computed style, by property name.
type Style map[string]string

// AXNode is what Chrome's accessibility tree says about a node.
type AXNode struct {
	Role      string
	Name      string
	Ignored   bool
	Focusable bool
	Hidden    bool
	Props     map[string]string
	Reasons   []string // why Chrome ignores it (notRendered, activeModalDialog, inertElement, …)
	// ParentRole is the role of its parent in the accessibility tree: the
	// nearest ancestor that is not ignored, after aria-owns ("" at the root).
	ParentRole string
}

// computed lists the computed style properties the rules read.
var computed = []string{
	"display", "visibility", "opacity", "color", "background-color", "background-image",
	"font-size", "font-weight", "letter-spacing", "word-spacing", "line-height",
	"position", "clip", "clip-path", "overflow-x", "overflow-y", "text-shadow", "transform",
	"outline-style", "outline-width", "outline-color", "box-shadow", "text-decoration-line",
	"border-top-width", "border-top-style", "border-top-color", "white-space", "text-indent",
	"width", "height", "z-index", "content-visibility", "text-overflow", "filter", "mix-blend-mode",
}

// Capture takes a snapshot of the page behind ctx (a chromedp context).
func Capture(ctx context.Context) (*Snapshot, error) {
	snap, err := chromedp.Call(ctx, domsnapshot.CaptureSnapshot, domsnapshot.CaptureSnapshotParams{
		ComputedStyles:                 computed,
		IncludeDOMRects:                new(true),
		IncludeBlendedBackgroundColors: new(true),
		IncludeTextColorOpacities:      new(true),
	})
	if err != nil {
		return nil, fmt.Errorf("capturing the DOM snapshot: %w", err)
	}
	s := build(snap)
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		return nil, fmt.Errorf("reading the frame tree: %w", err)
	}
	byBackend := map[cdp.BackendNodeID]*Node{}
	for _, n := range s.Nodes {
		byBackend[n.Backend] = n
	}
	var walk func(ft *page.FrameTree) error
	walk = func(ft *page.FrameTree) error {
		ax, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{FrameID: ft.Frame.ID})
		if err == nil { // a cross-process frame has no tree here; its nodes stay without AX
			byID := map[accessibility.NodeID]*accessibility.Node{}
			for _, a := range ax.Nodes {
				byID[a.NodeID] = a
			}
			for _, a := range ax.Nodes {
				if n := byBackend[a.BackendDOMNodeID]; n != nil && a.BackendDOMNodeID != 0 {
					n.AX = convertAX(a)
					p := byID[a.ParentID]
					for p != nil && p.Ignored {
						p = byID[p.ParentID]
					}
					if p != nil {
						n.AX.ParentRole = axString(p.Role)
					}
				}
			}
		}
		for _, c := range ft.ChildFrames {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(tree.FrameTree); err != nil {
		return nil, err
	}
	// Content types: the top document's from the page, frames' assumed the
	// same kind (DOMSnapshot does not tell).
	ct, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.contentType"))
	if err != nil {
		return nil, fmt.Errorf("reading the content type: %w", err)
	}
	for _, d := range s.Docs {
		d.ContentType = "text/html"
		if d.Top {
			d.ContentType = ct
		}
	}
	m, err := chromedp.Call(ctx, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, fmt.Errorf("measuring the viewport: %w", err)
	}
	if m.CSSLayoutViewport != nil {
		s.Width, s.Height = float64(m.CSSLayoutViewport.ClientWidth), float64(m.CSSLayoutViewport.ClientHeight)
	}
	return s, nil
}

func build(snap domsnapshot.CaptureSnapshotResult) *Snapshot {
	str := func(i int64) string {
		if i < 0 || int(i) >= len(snap.Strings) {
			return ""
		}
		return snap.Strings[i]
	}
	s := &Snapshot{}
	for di, d := range snap.Documents {
		base := len(s.Nodes)
		nt := d.Nodes
		doc := &Doc{URL: str(int64(d.DocumentURL)), Title: str(int64(d.Title)), Root: base, Top: di == 0}
		s.Docs = append(s.Docs, doc)
		for i := range nt.NodeType {
			n := &Node{Index: base + i, Parent: -1, Type: int(nt.NodeType[i]), Doc: di, Content: -1, Opacity: 1}
			if i < len(nt.ParentIndex) && nt.ParentIndex[i] >= 0 {
				n.Parent = base + int(nt.ParentIndex[i])
			}
			if i < len(nt.NodeName) {
				n.Tag = strings.ToLower(str(int64(nt.NodeName[i])))
			}
			if i < len(nt.BackendNodeID) {
				n.Backend = nt.BackendNodeID[i]
			}
			if n.Type == textNode && i < len(nt.NodeValue) {
				n.Text = str(int64(nt.NodeValue[i]))
			}
			if i < len(nt.Attributes) {
				a := nt.Attributes[i]
				for j := 0; j+1 < len(a); j += 2 {
					n.Attrs = append(n.Attrs, Attr{Name: strings.ToLower(str(a[j])), Value: str(a[j+1])})
				}
			}
			s.Nodes = append(s.Nodes, n)
		}
		rareStr(nt.ShadowRootType, func(i int, v int64) { s.Nodes[base+i].Shadow = str(v) })
		rareStr(nt.InputValue, func(i int, v int64) { s.Nodes[base+i].Value = str(v) })
		rareStr(nt.TextValue, func(i int, v int64) { s.Nodes[base+i].Value = str(v) })
		if nt.IsClickable != nil {
			for _, i := range nt.IsClickable.Index {
				s.Nodes[base+int(i)].Clickable = true
			}
		}
		if nt.ContentDocumentIndex != nil {
			for k, i := range nt.ContentDocumentIndex.Index {
				s.Nodes[base+int(i)].Content = int(nt.ContentDocumentIndex.Value[k])
			}
		}
		if l := d.Layout; l != nil {
			layoutOf := map[int]int{}
			for li, ni := range l.NodeIndex {
				n := s.Nodes[base+int(ni)]
				layoutOf[li] = n.Index
				n.Rendered = true
				if li < len(l.Bounds) && len(l.Bounds[li]) == 4 {
					b := l.Bounds[li]
					n.Box = Rect{b[0], b[1], b[2], b[3]}
				}
				if li < len(l.Styles) {
					n.Style = Style{}
					for k, si := range l.Styles[li] {
						if k < len(computed) {
							n.Style[computed[k]] = str(si)
						}
					}
				}
				if li < len(l.BlendedBackgroundColors) {
					n.Blended = str(int64(l.BlendedBackgroundColors[li]))
				}
				if li < len(l.TextColorOpacities) {
					n.Opacity = l.TextColorOpacities[li]
				}
			}
			if tb := d.TextBoxes; tb != nil {
				for k, li := range tb.LayoutIndex {
					if ni, ok := layoutOf[int(li)]; ok && k < len(tb.Bounds) && len(tb.Bounds[k]) == 4 {
						b := tb.Bounds[k]
						s.Nodes[ni].textBoxes = append(s.Nodes[ni].textBoxes, Rect{b[0], b[1], b[2], b[3]})
					}
				}
			}
		}
	}
	for _, n := range s.Nodes {
		if n.Parent >= 0 {
			p := s.Nodes[n.Parent]
			p.Children = append(p.Children, n.Index)
		}
	}
	// An iframe's document hangs below the iframe element.
	for _, n := range s.Nodes {
		if n.Content > 0 && n.Content < len(s.Docs) {
			root := s.Nodes[s.Docs[n.Content].Root]
			root.Parent = n.Index
			n.Children = append(n.Children, root.Index)
		}
	}
	return s
}

func rareStr(r *domsnapshot.RareStringData, set func(i int, v int64)) {
	if r == nil {
		return
	}
	for k, i := range r.Index {
		if k < len(r.Value) {
			set(int(i), int64(r.Value[k]))
		}
	}
}

func convertAX(a *accessibility.Node) *AXNode {
	n := &AXNode{Ignored: a.Ignored, Role: axString(a.Role), Name: axString(a.Name), Props: map[string]string{}}
	for _, p := range a.Properties {
		v := axString(p.Value)
		n.Props[string(p.Name)] = v
		switch string(p.Name) {
		case "focusable":
			n.Focusable = v == "true"
		case "hidden":
			n.Hidden = v == "true"
		}
	}
	for _, r := range a.IgnoredReasons {
		n.Reasons = append(n.Reasons, string(r.Name))
		if string(r.Name) == "ariaHiddenElement" || string(r.Name) == "ariaHiddenSubtree" {
			n.Hidden = true
		}
	}
	return n
}

func axString(v *accessibility.Value) string {
	if v == nil || len(v.Value) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(v.Value, &s); err == nil {
		return s
	}
	return string(v.Value)
}
