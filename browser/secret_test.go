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
