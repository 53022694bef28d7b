package terminology

// Code systems the service knows by rule rather than from a package.
const (
	// SystemUCUM is the Unified Code for Units of Measure.
	SystemUCUM = "http://unitsofmeasure.org"
	// SystemBCP47 is IETF BCP-47 language tags.
	SystemBCP47 = "urn:ietf:bcp:47"
	// SystemMIME is IETF BCP-13 MIME types.
	SystemMIME = "urn:ietf:bcp:13"
)

// builtinSystem checks codes of a code system by rule.
type builtinSystem struct {
	label string
	rule  func(code string) Result
}

func (b *builtinSystem) name() string             { return b.label }
func (b *builtinSystem) check(code string) Result { return b.rule(code) }

var builtins = map[string]*builtinSystem{
	SystemUCUM:  {label: "UCUM expression syntax and unit table", rule: checkUCUM},
	SystemBCP47: {label: "BCP-47 tag syntax, ISO 639-1 languages and ISO 3166-1 regions", rule: checkBCP47},
	SystemMIME:  {label: "MIME type syntax and registered top-level types", rule: checkMIME},
}

// builtinFor returns the rule-based checker for a system, or nil.
func builtinFor(system string) *builtinSystem { return builtins[system] }
