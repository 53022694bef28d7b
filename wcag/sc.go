package wcag

// levels holds the 50 WCAG 2.1 success criteria at level A and AA (4.1.1
// included: WCAG 2.1 still lists it, a 2023 note treats it as satisfied).
var levels = map[string]string{
	"1.1.1": "A", "1.2.1": "A", "1.2.2": "A", "1.2.3": "A", "1.2.4": "AA", "1.2.5": "AA",
	"1.3.1": "A", "1.3.2": "A", "1.3.3": "A", "1.3.4": "AA", "1.3.5": "AA",
	"1.4.1": "A", "1.4.2": "A", "1.4.3": "AA", "1.4.4": "AA", "1.4.5": "AA", "1.4.10": "AA",
	"1.4.11": "AA", "1.4.12": "AA", "1.4.13": "AA",
	"2.1.1": "A", "2.1.2": "A", "2.1.4": "A", "2.2.1": "A", "2.2.2": "A", "2.3.1": "A",
	"2.4.1": "A", "2.4.2": "A", "2.4.3": "A", "2.4.4": "A", "2.4.5": "AA", "2.4.6": "AA", "2.4.7": "AA",
	"2.5.1": "A", "2.5.2": "A", "2.5.3": "A", "2.5.4": "A",
	"3.1.1": "A", "3.1.2": "AA", "3.2.1": "A", "3.2.2": "A", "3.2.3": "AA", "3.2.4": "AA",
	"3.3.1": "A", "3.3.2": "A", "3.3.3": "AA", "3.3.4": "AA",
	"4.1.1": "A", "4.1.2": "A", "4.1.3": "AA",
}

// Level returns the WCAG 2.1 level of a success criterion ("" when it is
// not an A or AA criterion).
func Level(sc string) string { return levels[sc] }
