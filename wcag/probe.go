package wcag

import (
	"encoding/json"
	"fmt"

	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// call runs a JavaScript function with the element n as this, and decodes
// its JSON result into out. The rules compute in Go; the page is only asked
// what only it knows after an interaction (where focus went).
func (a *Audit) call(n *Node, fn string, out any) error {
	if a.Ctx == nil {
		return fmt.Errorf("no page to probe")
	}
	obj, err := chromedp.Call(a.Ctx, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: n.Backend})
	if err != nil || obj.Object == nil {
		return fmt.Errorf("resolving %s: %v", n.Tag, err)
	}
	defer chromedp.Call(a.Ctx, runtime.ReleaseObject, runtime.ReleaseObjectParams{ObjectID: obj.Object.ObjectID})
	res, err := chromedp.Call(a.Ctx, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
		FunctionDeclaration: fn, ObjectID: obj.Object.ObjectID, ReturnByValue: new(true), Silent: new(true),
	})
	if err != nil {
		return fmt.Errorf("probing %s: %w", n.Tag, err)
	}
	if res.ExceptionDetails != nil || res.Result == nil {
		return fmt.Errorf("probing %s: the script failed", n.Tag)
	}
	return json.Unmarshal(res.Result.Value, out)
}

// focusStays focuses n and reports whether it keeps focus once its focus
// handlers ran (a "focus sentinel" passes focus on at once). When the page
// cannot be asked, it assumes the element keeps focus.
func (a *Audit) focusStays(n *Node) bool {
	var stays bool
	err := a.call(n, `function(){ this.focus(); const r = this.getRootNode(); const s = r.activeElement === this; this.blur(); return s }`, &stays)
	return err != nil || stays
}
