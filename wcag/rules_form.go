package wcag

import (
	"strings"
)

// Rules on form input purpose (1.3.5).

func init() {
	register(Rule{ID: "73f2c2", ACT: true, Name: "Autocomplete attribute has valid value", SC: []string{"1.3.5"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				v, ok := n.Attr("autocomplete")
				if !ok || !n.is("input", "select", "textarea") || a.Snap.inSVG(n) {
					continue
				}
				toks := lowerFields(v)
				if len(toks) == 0 || len(toks) == 1 && (toks[0] == "on" || toks[0] == "off") {
					continue
				}
				if n.has("disabled") || a.Snap.inDisabledFieldset(n) || strings.EqualFold(n.attr("aria-disabled"), "true") {
					continue
				}
				switch strings.ToLower(strings.TrimSpace(n.attr("type"))) {
				case "button", "checkbox", "file", "image", "radio", "reset", "submit", "hidden":
					if n.is("input") {
						continue
					}
				}
				if !a.Snap.visible(n) && !a.Snap.included(n) {
					continue
				}
				if !a.Snap.sequentiallyFocusable(n) && !widgetRoles[semanticRole(n)] {
					continue
				}
				if !validAutocomplete(toks) {
					out = append(out, fail(n, "autocomplete %q is not a valid autofill detail", v))
				}
			}
			return out
		}})
}

var widgetRoles = set(`button checkbox gridcell link menuitem menuitemcheckbox menuitemradio option progressbar
radio scrollbar searchbox separator slider spinbutton switch tab tabpanel textbox treeitem combobox grid listbox
menu menubar radiogroup tablist tree treegrid`)

// autofill field names (HTML "autofill detail tokens").
var autofillFields = set(`name honorific-prefix given-name additional-name family-name honorific-suffix nickname
username new-password current-password one-time-code organization-title organization street-address address-line1
address-line2 address-line3 address-level4 address-level3 address-level2 address-level1 country country-name
postal-code cc-name cc-given-name cc-additional-name cc-family-name cc-number cc-exp cc-exp-month cc-exp-year
cc-csc cc-type transaction-currency transaction-amount language bday bday-day bday-month bday-year sex url photo`)

var contactFields = set(`tel tel-country-code tel-national tel-area-code tel-local tel-local-prefix
tel-local-suffix tel-extension email impp`)

// validAutocomplete checks the order: [section-*] [shipping|billing]
// [home|work|mobile|fax|pager before a contact field] field [webauthn].
func validAutocomplete(toks []string) bool {
	i := 0
	if i < len(toks) && strings.HasPrefix(toks[i], "section-") {
		i++
	}
	if i < len(toks) && (toks[i] == "shipping" || toks[i] == "billing") {
		i++
	}
	if i < len(toks) {
		switch toks[i] {
		case "home", "work", "mobile", "fax", "pager":
			i++
			if i >= len(toks) || !contactFields[toks[i]] {
				return false
			}
		}
	}
	if i >= len(toks) || !(autofillFields[toks[i]] || contactFields[toks[i]]) {
		return false
	}
	i++
	if i < len(toks) && toks[i] == "webauthn" {
		i++
	}
	return i == len(toks)
}
