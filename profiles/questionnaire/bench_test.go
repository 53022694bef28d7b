package questionnaire

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkCheck checks a response of 200 groups of 5 answered questions
// (integer with bounds, choice with options, string with maxLength, date,
// a question enabled by another), the size of a long intake form.
func BenchmarkCheck(b *testing.B) {
	var qitems, ritems []any
	for g := 0; g < 200; g++ {
		id := func(s string) string { return fmt.Sprintf("g%d.%s", g, s) }
		qitems = append(qitems, map[string]any{"linkId": fmt.Sprint("g", g), "type": "group", "item": []any{
			map[string]any{"linkId": id("n"), "type": "integer", "required": true, "extension": []any{
				map[string]any{"url": extMinValue, "valueInteger": json.Number("0")},
				map[string]any{"url": extMaxValue, "valueInteger": json.Number("100")}}},
			map[string]any{"linkId": id("c"), "type": "choice", "answerOption": []any{
				map[string]any{"valueCoding": map[string]any{"system": "http://example.org", "code": "a"}},
				map[string]any{"valueCoding": map[string]any{"system": "http://example.org", "code": "b"}}}},
			map[string]any{"linkId": id("s"), "type": "string", "maxLength": json.Number("20")},
			map[string]any{"linkId": id("d"), "type": "date"},
			map[string]any{"linkId": id("e"), "type": "boolean", "enableWhen": []any{
				map[string]any{"question": id("n"), "operator": ">", "answerInteger": json.Number("5")}}},
		}})
		ritems = append(ritems, map[string]any{"linkId": fmt.Sprint("g", g), "item": []any{
			map[string]any{"linkId": id("n"), "answer": []any{map[string]any{"valueInteger": json.Number("42")}}},
			map[string]any{"linkId": id("c"), "answer": []any{map[string]any{"valueCoding": map[string]any{"system": "http://example.org", "code": "b"}}}},
			map[string]any{"linkId": id("s"), "answer": []any{map[string]any{"valueString": "fine"}}},
			map[string]any{"linkId": id("d"), "answer": []any{map[string]any{"valueDate": "2026-11-23"}}},
			map[string]any{"linkId": id("e"), "answer": []any{map[string]any{"valueBoolean": true}}},
		}})
	}
	q := map[string]any{"resourceType": "Questionnaire", "item": qitems}
	qr := map[string]any{"resourceType": "QuestionnaireResponse", "status": "completed", "item": ritems}
	if out := Check(context.Background(), qr, q, Env{}); len(out) > 0 {
		b.Fatalf("the benchmark response should be valid: %+v", out[0])
	}
	b.ReportAllocs()
	for b.Loop() {
		Check(context.Background(), qr, q, Env{})
	}
}
