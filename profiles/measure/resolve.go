package measure

import "strings"

// Resolver returns a resolve function for Check over resources already
// loaded (such as a test case's supporting files, or the entries of a
// Bundle). A canonical resolves by url, url|version (the version must match
// when given), or a literal Type/id reference. next, when not nil, is asked
// when none of the resources match (for example registry.Registry.Resource).
func Resolver(next func(string) (map[string]any, bool), resources ...map[string]any) func(string) (map[string]any, bool) {
	byURL := map[string][]map[string]any{}
	byID := map[string]map[string]any{}
	for _, r := range resources {
		if r == nil {
			continue
		}
		if u := str(r, "url"); u != "" {
			byURL[u] = append(byURL[u], r)
		}
		if rt, id := str(r, "resourceType"), str(r, "id"); rt != "" && id != "" {
			byID[rt+"/"+id] = r
		}
	}
	return func(canonical string) (map[string]any, bool) {
		url, version, _ := strings.Cut(canonical, "|")
		for _, r := range byURL[url] {
			if version == "" || str(r, "version") == version {
				return r, true
			}
		}
		if r, ok := byID[url]; ok && version == "" {
			return r, true
		}
		if next != nil {
			return next(canonical)
		}
		return nil, false
	}
}
