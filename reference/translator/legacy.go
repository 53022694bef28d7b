package translator

// legacy translates the PWD 2.x forms: the bench's verloskundig dossier
// (fixtures/truth ADA), the kernset aanleverbericht and Babyconnect prio 1.
func legacy(tx *Node, b *builder) error {
	v := tx.Child("vrouw")
	p := map[string]any{"resourceType": "Patient", "meta": profileMeta("nl-core-patient")}
	if bsn := v.Child("burgerservicenummer").Get("value"); bsn != "" {
		p["identifier"] = []any{map[string]any{"system": bsnURI, "value": bsn}}
	}
	if d := v.Child("geboortedatum").Get("value"); d != "" {
		p["birthDate"] = fhirDate(d)
	}
	b.add(p)
	b.mother = p["id"].(string)
	return nil
}
