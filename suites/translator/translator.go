package translator

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/profile"
	"github.com/bcbench/bcbench/suites/spec"
)

var _ = Describe("Vertaler", func() {
	spec.It("VRT-01", "elk gegeven van de ADA-invoer MOET de vertaler met dezelfde code, waarde, eenheid en datum over dezelfde persoon in de FHIR-uitvoer leveren, een onbekende waarde blijft onbekend", func(ctx SpecContext) {
		tr, regs := translatorOf()
		f := contentOf(ctx, tr, regs)
		problems, err := Unknown(ctx, tr, regs)
		if err != nil {
			spec.Broke(err)
		}
		problems = append(f.Carried, problems...)
		spec.Remark(coverageText(f))
		Expect(problems).To(match.HaveNoProblems())
	})
	spec.It("VRT-02", "de vertaler MOET niets toevoegen: elk gegeven van de FHIR-uitvoer komt uit de ADA-invoer", func(ctx SpecContext) {
		tr, regs := translatorOf()
		Expect(contentOf(ctx, tr, regs).Invented).To(match.HaveNoProblems())
	})
	spec.It("VRT-03", "een vertaling voor MedMij Geboortezorg MOET geen BSN bevatten", func(ctx SpecContext) {
		tr, regs := translatorOf()
		Expect(contentOf(ctx, tr, regs).BSN).To(match.HaveNoProblems())
	})
	spec.It("VRT-06", "elke resource van de FHIR-uitvoer MOET het STU3-profiel (bc-, zib2017, nl-core) claimen dat de transactie voor haar vraagt, en MOET voldoen aan elk profiel dat zij claimt", func(ctx SpecContext) {
		tr, regs := translatorOf()
		env := spec.Current()
		if env.STU3Validator == nil {
			spec.NotTestable("geen STU3-profielvalidatie: " + env.STU3ValidatorProblem)
		}
		ts := translationsOf(ctx, tr, regs)
		if len(ts) == 0 {
			spec.NotTestable("geen vertaling om te valideren: de scenario's sturen de vertaler niets")
		}
		problems, undecided, err := Conformance(ctx, env.STU3Validator, ts)
		if err != nil {
			spec.Broke(err)
		}
		Expect(problems).To(match.HaveNoProblems())
		profile.Decide(undecided)
	})
	spec.It("VRT-04", "de vertaler (D) MOET een FHIR-Bundle zonder verlies terugvertalen naar de ADA-vorm van het verloskundig dossier, met de elementen, nesting, volgorde en waardeattributen van die transactie", func(ctx SpecContext) {
		tr, regs := translatorOf()
		problems, err := Back(ctx, tr, regs)
		if err != nil {
			spec.Broke(err)
		}
		Expect(problems).To(match.HaveNoProblems())
	})
	spec.It("VRT-05", "onjuiste invoer (niet well-formed, onbekende transactie, te groot, entiteiten) MOET de vertaler weigeren met een 4xx-antwoord, zonder iets op te halen", func(ctx SpecContext) {
		tr, _ := translatorOf()
		var hits atomic.Int64
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			spec.Broke(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			hits.Add(1)
			_, _ = w.Write([]byte("geheim"))
		})}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		problems, err := BadInput(ctx, tr, "http://"+ln.Addr().String()+"/geheim", func() int { return int(hits.Load()) })
		if err != nil {
			spec.Broke(err)
		}
		Expect(problems).To(match.HaveNoProblems())
	})
})

// translatorOf is the run's translator and every registration of its
// scenarios; without a translator the spec skips.
func translatorOf() (*harness.Adapter, []fixtures.Registration) {
	GinkgoHelper()
	env := spec.Current()
	if env.Translator == nil {
		spec.NotTestable("geen vertaler in deze run: niets te vertalen")
	}
	var regs []fixtures.Registration
	for _, s := range env.Scenarios {
		rs, err := s.Registrations(env.Reference)
		if err != nil {
			spec.Broke(err)
		}
		regs = append(regs, rs...)
	}
	return env.Translator, regs
}

// translations are asked once per run and shared by VRT-01 to VRT-03
// and VRT-06.
var (
	cacheMu sync.Mutex
	cache   = map[*harness.Adapter][]Translated{}
	content = map[*harness.Adapter]Findings{}
)

func translationsOf(ctx SpecContext, tr *harness.Adapter, regs []fixtures.Registration) []Translated {
	GinkgoHelper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if ts, ok := cache[tr]; ok {
		return ts
	}
	ts, err := TranslateAll(ctx, tr, regs)
	if err != nil {
		spec.Broke(err)
	}
	cache[tr] = ts
	return ts
}

func contentOf(ctx SpecContext, tr *harness.Adapter, regs []fixtures.Registration) Findings {
	GinkgoHelper()
	ts := translationsOf(ctx, tr, regs)
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if f, ok := content[tr]; ok {
		return f
	}
	f, err := Content(ts)
	if err != nil {
		spec.Broke(err)
	}
	content[tr] = f
	return f
}

func coverageText(f Findings) string {
	if f.Facts == 0 {
		return "geen gegevens"
	}
	return fmt.Sprintf("gegevens vertaald: %d van %d (%.1f %%)", f.Covered, f.Facts, 100*float64(f.Covered)/float64(f.Facts))
}
