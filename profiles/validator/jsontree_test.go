package validator

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// sameTree says whether parseTree reads data as encoding/json does: the
// same tree when it reads it, and never a tree where encoding/json fails.
func sameTree(t *testing.T, data []byte) (read bool) {
	t.Helper()
	want, wantErr := decodeStdJSON(data)
	got, ok := parseTree(data)
	switch {
	case ok && wantErr != nil:
		t.Fatalf("parseTree read %q, encoding/json refuses it: %v", data, wantErr)
	case ok && !reflect.DeepEqual(got, want):
		t.Fatalf("parseTree read %q as\n%#v\nencoding/json as\n%#v", data, got, want)
	}
	viaDecode, err := decodeJSON(data)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() || !reflect.DeepEqual(viaDecode, want) {
		t.Fatalf("decodeJSON(%q) = %#v, %v; encoding/json: %#v, %v", data, viaDecode, err, want, wantErr)
	}
	return ok
}

func TestParseTreeReadsAsEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		json string
		read bool // parseTree reads it itself (else encoding/json does)
	}{
		{"empty object", `{}`, true},
		{"white space around", " \t\r\n{ \"a\" : 1 }\n ", true},
		{"numbers kept as text", `{"a":[0,-0,12,-3.50,1e5,1E+2,2.5e-3]}`, true},
		{"literals", `{"t":true,"f":false,"n":null}`, true},
		{"empty array and object", `{"a":[],"o":{}}`, true},
		{"nested", `{"a":[{"b":[[{"c":"d"}]]}]}`, true},
		{"duplicate names: the last wins", `{"a":1,"a":2}`, true},
		{"escapes", `{"a":"q\"b\\s\/\b\f\n\r\t\u00e9\u20AC"}`, true},
		{"escaped name", `{"a\u0062":1}`, true},
		{"utf-8", `{"a":"één €"}`, true},
		{"escaped surrogate pair", `{"a":"\ud83d\ude00"}`, false},
		{"lone surrogate", `{"a":"\ud83d"}`, false},
		{"invalid utf-8", "{\"a\":\"\xff\"}", false},
		{"invalid utf-8 with an escape", "{\"a\":\"\\n\xff\"}", false},
		{"control character in a string", "{\"a\":\"\x01\"}", false},
		{"unknown escape", `{"a":"\x"}`, false},
		{"short unicode escape", `{"a":"\u12"}`, false},
		{"leading zero", `{"a":01}`, false},
		{"bare minus", `{"a":-}`, false},
		{"dot without digits", `{"a":1.}`, false},
		{"exponent without digits", `{"a":1e}`, false},
		{"trailing comma in an object", `{"a":1,}`, false},
		{"trailing comma in an array", `{"a":[1,]}`, false},
		{"missing colon", `{"a" 1}`, false},
		{"unquoted name", `{a:1}`, false},
		{"misspelt literal", `{"a":tru}`, false},
		{"literal run on", `{"a":truex}`, false},
		{"unclosed", `{"a":[1,2`, false},
		{"data after the resource", `{} {}`, false},
		{"text after the resource", `{}x`, false},
		{"not an object", `[1]`, false},
		{"a string", `"a"`, false},
		{"empty", ``, false},
		{"too deep", `{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, false},
		{"as deep as allowed", `{"a":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if read := sameTree(t, []byte(tc.json)); read != tc.read {
				t.Errorf("parseTree read it itself: %v, want %v", read, tc.read)
			}
		})
	}
}

// TestParseTreeReadsNictizExamples: the real resources are read by
// parseTree itself, exactly as encoding/json reads them.
func TestParseTreeReadsNictizExamples(t *testing.T) {
	for _, d := range nictizJSON(t) {
		if !sameTree(t, d) {
			t.Fatalf("parseTree gave up on a Nictiz example:\n%.300s", d)
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, d, "", "  "); err != nil {
			t.Fatal(err)
		}
		if !sameTree(t, indented.Bytes()) {
			t.Fatalf("parseTree gave up on an indented Nictiz example")
		}
	}
}

func FuzzParseTree(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,-2.5e3,"x\u00e9",true,null,{}]}`, `{"a":"\ud83d\ude00"}`, "{\"a\":\"\xff\"}", `{"a":01}`, `{} x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		sameTree(t, data)
	})
}
