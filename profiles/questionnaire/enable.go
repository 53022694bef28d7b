package questionnaire

import (
	"fmt"
	"strings"

	"github.com/bcbench/bcbench/profiles/fhirpath"
	"github.com/bcbench/bcbench/profiles/outcome"
)

// enabled evaluates an item's enableWhenExpression (SDC, or the Finnish
// Kanta extension) or its enableWhen conditions with enableBehavior. known
// is false when a condition could not be evaluated.
func (c *checker) enabled(q map[string]any) (enabled, known bool) {
	if expr := enableExpression(q); expr != "" {
		return c.evalEnable(expr)
	}
	conds := list(q["enableWhen"])
	if len(conds) == 0 {
		return true, true
	}
	all := str(q, "enableBehavior") == "all"
	anyKnown := true
	for _, cond := range conds {
		cm, _ := cond.(map[string]any)
		ok, k := c.condition(cm)
		if !k {
			anyKnown = false
			continue
		}
		if all && !ok {
			return false, true
		}
		if !all && ok {
			return true, true
		}
	}
	if !anyKnown {
		return true, false
	}
	return all, true
}

// enableExpression returns the FHIRPath expression that decides whether an
// item is enabled, or "".
func enableExpression(q map[string]any) string {
	for _, x := range list(q["extension"]) {
		xm, _ := x.(map[string]any)
		switch str(xm, "url") {
		case extEnableWhenKanta:
			return str(xm, "valueString")
		case extEnableWhenExpr:
			e, _ := xm["valueExpression"].(map[string]any)
			if l := str(e, "language"); l == "" || l == "text/fhirpath" {
				return str(e, "expression")
			}
		}
	}
	return ""
}

func (c *checker) evalEnable(expr string) (bool, bool) {
	x, seen := c.exprs[expr]
	if !seen {
		x, _ = fhirpath.Compile(expr)
		if c.exprs == nil {
			c.exprs = map[string]*fhirpath.Expression{}
		}
		c.exprs[expr] = x
	}
	if x == nil {
		return true, false
	}
	env := &fhirpath.Env{Resource: c.qr, Ctx: c.ctx}
	v, ok, err := x.EvaluateBool(c.qr, env)
	if err != nil {
		return true, false
	}
	if !ok {
		return false, true // an empty result does not enable the item
	}
	return v, true
}

// condition evaluates one enableWhen against every answer to its question.
func (c *checker) condition(cm map[string]any) (bool, bool) {
	answers := c.all[str(cm, "question")]
	if h, ok := cm["hasAnswer"].(bool); ok { // STU3
		return (len(answers) > 0) == h, true
	}
	var want any
	for k, v := range cm {
		if strings.HasPrefix(k, "answer") && len(k) > 6 {
			want = v
		}
	}
	op := str(cm, "operator")
	if op == "exists" {
		b, _ := want.(bool)
		return (len(answers) > 0) == b, true
	}
	if op == "" && !c.stu3 {
		return false, false
	}
	hit := false
	for _, a := range answers {
		_, got := valueOf(a)
		if got == nil {
			continue
		}
		switch op {
		case "=", "": // STU3 answer[x] means equality
			hit = hit || same(got, want)
		case "!=":
			hit = hit || !same(got, want)
		case ">", "<", ">=", "<=":
			r, ok := compare(got, want)
			if !ok {
				return false, false
			}
			hit = hit || op == ">" && r > 0 || op == "<" && r < 0 || op == ">=" && r >= 0 || op == "<=" && r <= 0
		default:
			return false, false
		}
	}
	return hit, true
}

// CheckQuestionnaire checks the structural rules of a Questionnaire the HL7
// validator enforces: an enableWhen question must be an item of the
// questionnaire that is not the item itself nor one of its descendants
// (an item cannot be enabled by its own inner question), and an item with
// more than one enableWhen must say its enableBehavior (que-12 as
// intended; the R4 expression tests "> 2", a known defect). path is the
// FHIRPath location of the Questionnaire ("" means "Questionnaire").
func CheckQuestionnaire(q map[string]any, path string) []Issue {
	if path == "" {
		path = "Questionnaire"
	}
	c := &checker{byLink: map[string]map[string]any{}}
	indexItems(list(q["item"]), c.byLink, 0)
	seen := map[string]bool{}
	for _, id := range linkIDs(list(q["item"]), nil, 0) {
		if seen[id] {
			c.add(outcome.Error, outcome.CodeInvariant, path, "que-2: the linkId %q is used by more than one item; link ids must be unique within the questionnaire", id)
		}
		seen[id] = true
	}
	c.questionnaireItems(list(q["item"]), path, 0)
	return c.out
}

func (c *checker) questionnaireItems(items []any, path string, depth int) {
	if depth > MaxDepth {
		c.add(outcome.Error, outcome.CodeTooCostly, path, "items nested deeper than %d", MaxDepth)
		return
	}
	for i, it := range items {
		if c.stop() {
			return
		}
		m, _ := it.(map[string]any)
		p := fmt.Sprintf("%s.item[%d]", path, i)
		conds := list(m["enableWhen"])
		if len(conds) > 1 && str(m, "enableBehavior") == "" {
			if _, stu3 := m["options"]; !stu3 && !hasSTU3Conditions(conds) {
				c.add(outcome.Error, outcome.CodeInvariant, p, "que-12: if there are more than one enableWhen, enableBehavior must be specified")
			}
		}
		inner := map[string]bool{}
		indexLinks(list(m["item"]), inner, 0)
		for _, cond := range conds {
			cm, _ := cond.(map[string]any)
			qid := str(cm, "question")
			switch {
			case qid == "":
			case qid == str(m, "linkId"):
				c.add(outcome.Error, outcome.CodeBusinessRule, p, "the enableWhen of item %q refers to the item itself", qid)
			case inner[qid]:
				c.add(outcome.Error, outcome.CodeBusinessRule, p, "the item %q has an enableWhen that refers to its inner question %q; questions with an enableWhen cannot refer to an inner question", str(m, "linkId"), qid)
			case c.byLink[qid] == nil:
				c.add(outcome.Error, outcome.CodeNotFound, p, "the enableWhen of item %q refers to question %q, which is not in the questionnaire", str(m, "linkId"), qid)
			}
		}
		c.questionnaireItems(list(m["item"]), p, depth+1)
	}
}

// hasSTU3Conditions reports STU3-style conditions (hasAnswer, no operator),
// which have no enableBehavior.
func hasSTU3Conditions(conds []any) bool {
	for _, cond := range conds {
		cm, _ := cond.(map[string]any)
		if _, ok := cm["hasAnswer"]; ok {
			return true
		}
		if _, ok := cm["operator"]; !ok {
			return true
		}
	}
	return false
}

func indexLinks(items []any, into map[string]bool, depth int) {
	if depth > MaxDepth {
		return
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		into[str(m, "linkId")] = true
		indexLinks(list(m["item"]), into, depth+1)
	}
}

// linkIDs lists every item's linkId in document order.
func linkIDs(items []any, into []string, depth int) []string {
	if depth > MaxDepth {
		return into
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		if id := str(m, "linkId"); id != "" {
			into = append(into, id)
		}
		into = linkIDs(list(m["item"]), into, depth+1)
	}
	return into
}
