// Command testsum reads `go test -json` on stdin, prints the output of every
// failing test and the package results, and ends with the plain line
// "N passed, N failed, N skipped" that CI reads. It exits 1 when any test or
// package failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	var passed, failed, skipped int
	output := map[string][]string{} // package/test → lines
	var failures, pkgFailures []string
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Println(string(line)) // build errors and other plain text
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if len(output[key]) < 400 {
				output[key] = append(output[key], e.Output)
			}
			if e.Test == "" && strings.HasPrefix(e.Output, "FAIL") {
				fmt.Print(e.Output)
			}
		case "pass":
			if e.Test != "" {
				passed++
			} else {
				fmt.Printf("ok   %s (%.1fs)\n", e.Package, e.Elapsed)
			}
			delete(output, key)
		case "skip":
			if e.Test != "" {
				skipped++
			} else {
				fmt.Printf("--   %s (no tests)\n", e.Package)
			}
			delete(output, key)
		case "fail":
			if e.Test != "" {
				failed++
				failures = append(failures, key)
				fmt.Printf("FAIL %s %s\n%s", e.Package, e.Test, strings.Join(output[key], ""))
			} else {
				pkgFailures = append(pkgFailures, e.Package)
				fmt.Printf("FAIL %s (%.1fs)\n%s", e.Package, e.Elapsed, strings.Join(output[key], ""))
			}
			delete(output, key)
		}
	}
	sort.Strings(failures)
	if len(failures) > 0 {
		fmt.Println("\nfailed tests:")
		for _, f := range failures {
			fmt.Println("  " + f)
		}
	}
	if failed == 0 && len(pkgFailures) > 0 {
		failed = len(pkgFailures) // a package that did not build counts as a failure
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || len(pkgFailures) > 0 {
		os.Exit(1)
	}
}
