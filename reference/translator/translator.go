package translator

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"io"
)

// transactions are the ADA transactions the translator knows, by root.
var transactions = map[string]func(*Node, *builder) error{
	"med_mij_01_beschikbaarstellen_integrale_zwangerschapskaart": pwd32,
	"med_mij_echo_beschikbaarstellen":                            pwd32,
	"med_mij_kraam_beschikbaarstellen":                           pwd32,
	"verloskundig_dossier_23":                                    legacy,
	"kernset_aanleverbericht":                                    legacy,
	"prio1_huidig":                                               legacy,
}

// Transactions lists the root elements the translator accepts.
func Transactions() []string {
	out := make([]string, 0, len(transactions))
	for k := range transactions {
		out = append(out, k)
	}
	return out
}

// ToFHIR is direction B: one ADA instance in, the resources of the FHIR
// STU3 translation out (MedMij Geboortezorg: every BSN is masked). Errors wrap ErrTooLarge, ErrMalformed or ErrUnknown.
func ToFHIR(r io.Reader) ([]map[string]any, error) {
	tx, err := Parse(r)
	if err != nil {
		return nil, fmt.Errorf("translate ADA to FHIR: %w", err)
	}
	return translateTx(tx)
}

// translateTx translates a parsed transaction.
func translateTx(tx *Node) ([]map[string]any, error) {
	f, ok := transactions[tx.Name]
	if !ok {
		return nil, fmt.Errorf("translate ADA to FHIR: %w <%s>", ErrUnknown, tx.Name)
	}
	b := &builder{patients: map[string]string{}, children: map[string]bool{}, refSubj: map[string]string{}, contacts: map[string]string{}}
	if err := f(tx, b); err != nil {
		return nil, fmt.Errorf("translate ADA to FHIR <%s>: %w", tx.Name, err)
	}
	conform(b.out)
	return b.out, nil
}

// Bundle wraps resources in a collection Bundle.
func Bundle(resources []map[string]any) map[string]any {
	entries := make([]any, len(resources))
	for i, r := range resources {
		entries[i] = map[string]any{"fullUrl": "urn:uuid:" + uuidFor(fmt.Sprint(r["resourceType"], "/", r["id"])), "resource": r}
	}
	return map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries}
}

// Translate is ToFHIR on a byte slice, as a Bundle.
func Translate(ada []byte) (map[string]any, error) {
	rs, err := ToFHIR(bytes.NewReader(ada))
	if err != nil {
		return nil, err
	}
	return Bundle(rs), nil
}

// uuidFor is a stable, name-based (not random) UUID: version 5 (SHA-1)
// in a namespace of its own, so distinct names never share a fullUrl.
func uuidFor(name string) string {
	sum := sha1.Sum([]byte("bcbench reference translator\x00" + name))
	h := sum[:16]
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
