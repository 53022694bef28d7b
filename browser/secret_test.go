package browser

import (
	"slices"
	"testing"
)

func TestWithoutSecrets(t *testing.T) {
	tests := []struct {
		name string
		in   []NameValue
		want []NameValue
	}{
		{name: "credential headers emptied whatever their case",
			in:   []NameValue{{"Authorization", "Bearer abc"}, {"cookie", "sid=1"}, {"Set-Cookie", "sid=2"}, {"Proxy-Authorization", "Basic x"}},
			want: []NameValue{{"Authorization", "(weggelaten)"}, {"cookie", "(weggelaten)"}, {"Set-Cookie", "(weggelaten)"}, {"Proxy-Authorization", "(weggelaten)"}}},
		{name: "other headers kept",
			in:   []NameValue{{"Accept", "text/html"}, {"Referer", "http://127.0.0.1/x"}},
			want: []NameValue{{"Accept", "text/html"}, {"Referer", "http://127.0.0.1/x"}}},
		{name: "nothing", in: nil, want: []NameValue{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			if got := withoutSecrets(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("withoutSecrets = %v, want %v", got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("withoutSecrets changed its input: %v", tc.in)
			}
		})
	}
}

func TestWithoutSecretParams(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "a launch and its iss", in: "http://127.0.0.1:1/launch?iss=http%3A%2F%2Fx%2Ffhir&launch=abc.def",
			want: "http://127.0.0.1:1/launch?iss=http%3A%2F%2Fx%2Ffhir&launch=(weggelaten)"},
		{name: "a return address", in: "http://v/callback?code=c1&state=s1", want: "http://v/callback?code=(weggelaten)&state=(weggelaten)"},
		{name: "a signed context token", in: "http://x/launch?context_token=eyJ.a.b",
			want: "http://x/launch?context_token=(weggelaten)"},
		{name: "a verifier and tokens, other parameters kept in order", in: "http://x/t?b=1&code_verifier=v&a=2&access_token=t&id_token=i",
			want: "http://x/t?b=1&code_verifier=(weggelaten)&a=2&access_token=(weggelaten)&id_token=(weggelaten)"},
		{name: "a token in the fragment", in: "http://v/cb#access_token=t&token_type=bearer", want: "http://v/cb#access_token=(weggelaten)&token_type=bearer"},
		{name: "an encoded name", in: "http://v/cb?%63ode=c", want: "http://v/cb?%63ode=(weggelaten)"},
		{name: "a name without value", in: "http://v/cb?code&x=1", want: "http://v/cb?code&x=1"},
		{name: "nothing secret", in: "http://v/dossier?patient=1", want: "http://v/dossier?patient=1"},
		{name: "no URL", in: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := withoutSecretParams(tc.in); got != tc.want {
				t.Errorf("withoutSecretParams(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestWithoutSecretsInURLHeaders(t *testing.T) {
	in := []NameValue{{"Location", "http://v/callback?code=c&state=s"}, {"Referer", "http://v/launch?launch=l"}, {"Content-Type", "text/html?code=x"}}
	want := []NameValue{{"Location", "http://v/callback?code=(weggelaten)&state=(weggelaten)"}, {"Referer", "http://v/launch?launch=(weggelaten)"}, {"Content-Type", "text/html?code=x"}}
	if got := withoutSecrets(in); !slices.Equal(got, want) {
		t.Errorf("withoutSecrets = %v, want %v", got, want)
	}
	qs := []NameValue{{"code", "c"}, {"iss", "http://x"}}
	if got := withoutSecretValues(qs); !slices.Equal(got, []NameValue{{"code", "(weggelaten)"}, {"iss", "http://x"}}) {
		t.Errorf("withoutSecretValues = %v", got)
	}
}
