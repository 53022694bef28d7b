package fact

import (
	"strings"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
)

func TestOverview(t *testing.T) {
	insulin := []map[string]any{{"system": "g", "code": "insuline"}}
	labetalol := []map[string]any{{"system": "g", "code": "labetalol"}}
	cases := []struct {
		name   string
		list   []Agreement
		moment string
		want   []string // product codes in effect
	}{
		{"open agreement", []Agreement{{IDs: []string{"a"}, Product: labetalol, Start: "2026-01-01"}}, "2026-02-01", []string{"labetalol"}},
		{"not begun yet", []Agreement{{IDs: []string{"a"}, Product: labetalol, Start: "2026-03-01"}}, "2026-02-01", nil},
		{"ended", []Agreement{{IDs: []string{"a"}, Product: labetalol, Start: "2026-01-01", End: "2026-01-15"}}, "2026-02-01", nil},
		{"ends on the day: still in force", []Agreement{{IDs: []string{"a"}, Product: labetalol, Start: "2026-01-01", End: "2026-02-01"}}, "2026-02-01", []string{"labetalol"}},
		{"stopped by a stop agreement", []Agreement{
			{IDs: []string{"a"}, Product: insulin, Start: "2026-01-01"},
			{IDs: []string{"a-stop"}, Prior: []string{"a"}, StopType: "410546004", Product: insulin, Start: "2026-01-01", End: "2026-01-20"},
		}, "2026-02-01", nil},
		{"stop takes effect at its end date", []Agreement{
			{IDs: []string{"a"}, Product: insulin, Start: "2026-01-01"},
			{IDs: []string{"a-stop"}, Prior: []string{"a"}, StopType: "410546004", Product: insulin, Start: "2026-01-01", End: "2026-02-10"},
		}, "2026-02-01", []string{"insuline"}},
		{"cancelled: neither applies", []Agreement{
			{IDs: []string{"a"}, Product: insulin, Start: "2026-01-01", End: "2026-03-01"},
			{IDs: []string{"a-x"}, Prior: []string{"a"}, StopType: "89925002", Product: insulin, Start: "2026-01-01", End: "2026-03-01"},
		}, "2026-02-01", nil},
		{"changed: the new agreement ends the old one", []Agreement{
			{IDs: []string{"a"}, Product: insulin, Start: "2026-01-01"},
			{IDs: []string{"b"}, Prior: []string{"a"}, Product: labetalol, Start: "2026-01-20"},
		}, "2026-02-01", []string{"labetalol"}},
		{"a stop without a reference stops nothing else", []Agreement{
			{IDs: []string{"a"}, Product: insulin, Start: "2026-01-01"},
			{IDs: []string{"x"}, StopType: "410546004", Product: insulin},
		}, "2026-02-01", []string{"insuline"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range Overview(tc.list, tc.moment) {
				got = append(got, a.Product[0]["code"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("Overview() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCompareOverviews(t *testing.T) {
	one := &fixtures.Quantity{Value: "1", Unit: "1"}
	ins := Agreement{Treatment: "mbh1", Dose: &fixtures.Quantity{Value: "4", Unit: "[iU]"}, Product: []map[string]any{{"system": "g", "code": "insuline"}}}
	lab := Agreement{Treatment: "mbh2", Dose: one, Product: []map[string]any{{"system": "g", "code": "labetalol"}}}
	labWithATC := Agreement{Treatment: "mbh2", Dose: &fixtures.Quantity{Value: "1.0", Unit: "1"}, Product: []map[string]any{{"system": "atc", "code": "C07AG01"}, {"system": "g", "code": "labetalol"}}}
	insTenfold := ins
	insTenfold.Dose = &fixtures.Quantity{Value: "40", Unit: "[iU]"}
	labOtherMBH := lab
	labOtherMBH.Treatment = "mbh9"
	cases := []struct {
		name               string
		registered, shown  []Agreement
		wantProblems       int
		wantProblemMention string
	}{
		{"equal", []Agreement{ins, lab}, []Agreement{lab, ins}, 0, ""},
		{"another coding of the same product", []Agreement{lab}, []Agreement{labWithATC}, 0, ""},
		{"missing", []Agreement{ins, lab}, []Agreement{lab}, 1, "insuline"},
		{"shown but stopped", []Agreement{lab}, []Agreement{lab, ins}, 1, "insuline"},
		{"tenfold dose", []Agreement{ins}, []Agreement{insTenfold}, 1, "40 [iU]"},
		{"another MBH", []Agreement{lab}, []Agreement{labOtherMBH}, 1, "mbh9"},
		{"a duplicate agreement", []Agreement{lab}, []Agreement{lab, lab}, 1, "dubbele afspraak"},
		{"both empty", nil, nil, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := CompareOverviews(tc.registered, tc.shown, "2026-02-01")
			if len(got) != tc.wantProblems || tc.wantProblemMention != "" && !strings.Contains(strings.Join(got, " "), tc.wantProblemMention) {
				t.Fatalf("CompareOverviews() = %v, want %d problem(s) mentioning %q", got, tc.wantProblems, tc.wantProblemMention)
			}
		})
	}
}
