package terminology

import (
	"fmt"
	"strings"
)

// Top-level media types registered with IANA (RFC 6838 and later).
var mimeTopLevel = set(strings.Fields("application audio font example haptics image message model multipart text video"), strings.ToLower)

// checkMIME checks a MIME type: type "/" subtype, both restricted names
// (RFC 6838 §4.2), the type one of the registered top-level types, optionally
// followed by "; name=value" parameters. Registration of the subtype is not
// checked; the result says so.
func checkMIME(code string) Result {
	bad := func(why string) Result {
		return Result{Outcome: NotMember, Message: fmt.Sprintf("%q is not a valid MIME type: %s", code, why)}
	}
	if len(code) > 512 {
		return bad("longer than 512 characters")
	}
	media, params, hasParams := strings.Cut(code, ";")
	typ, sub, ok := strings.Cut(media, "/")
	if !ok {
		return bad("missing '/'")
	}
	if !restrictedName(typ) {
		return bad(fmt.Sprintf("type %q is not a valid name", typ))
	}
	if !restrictedName(sub) {
		return bad(fmt.Sprintf("subtype %q is not a valid name", sub))
	}
	if hasParams {
		for _, p := range strings.Split(params, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !restrictedName(name) || value == "" || strings.ContainsAny(value, " \t\r\n") && !(strings.HasPrefix(value, `"`) && strings.HasSuffix(value, `"`)) {
				return bad(fmt.Sprintf("parameter %q is not name=value", strings.TrimSpace(p)))
			}
		}
	}
	lt := strings.ToLower(typ)
	if !mimeTopLevel[lt] {
		if strings.HasPrefix(lt, "x-") {
			return Result{Outcome: Unknown, Message: fmt.Sprintf("MIME type %q uses the unregistered top-level type %q; it could not be checked", code, typ)}
		}
		return bad(fmt.Sprintf("%q is not a registered top-level type", typ))
	}
	return Result{Outcome: Member, Message: "MIME type checked for syntax and top-level type only"}
}

// restrictedName is RFC 6838's restricted-name: 1 to 127 characters, first a
// letter or digit, then letters, digits and ! # $ & - ^ _ . +
func restrictedName(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if alnum {
			continue
		}
		if i == 0 || !strings.ContainsRune("!#$&-^_.+", rune(c)) {
			return false
		}
	}
	return true
}
