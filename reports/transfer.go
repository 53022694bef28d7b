package reports

// Transfer is the structured coverage of one transfer of the seeds (the
// acute referral, the transfer to the JGZ): how many items of its data set
// the bench, playing the receiving organisation, found through the index
// as a coded resource on the right record with the registered value. The
// seed's proof of concept reached 80 % (seed 002); it is a figure, not a
// threshold: OVD-* judge the items. Since v2; absent when no transfer spec
// ran.
type Transfer struct {
	Scenario string `json:"scenario"`
	Transfer string `json:"transfer"`
	Title    string `json:"title"`
	// Receiver is the organisation the bench played, with its professional.
	Receiver   string `json:"receiver"`
	Items      int    `json:"items"`
	Structured int    `json:"structured"`
	// Percent is Structured / Items × 100, rounded down to one decimal.
	Percent float64 `json:"percent"`
	// Missing names each item that did not arrive structured, and why.
	Missing []string `json:"missing,omitempty"`
}

// Coverage returns the percentage of items that arrived structured,
// rounded down to one decimal (0 for an empty set).
func Coverage(structured, items int) float64 {
	if items <= 0 {
		return 0
	}
	return float64(structured*1000/items) / 10
}
