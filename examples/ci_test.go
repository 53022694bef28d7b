// Package examples_test checks the ready-to-use pipeline files of
// examples/ci: GitHub Actions workflows with actionlint (the linter GitHub
// users run), GitLab CI files and Kubernetes manifests with structural checks
// of our own (no Go linter exists for those).
package examples_test

import (
	"fmt"
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

// TestGitHubMatrixWorkflow: the bureau's matrix workflow plans, runs one job
// per entry of the plan (the plan job's output as the job matrix) and merges
// after every entry, also when some failed.
func TestGitHubMatrixWorkflow(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("ci", "github", "bcbench-matrix.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Needs    any               `yaml:"needs"`
			If       string            `yaml:"if"`
			Outputs  map[string]string `yaml:"outputs"`
			Strategy struct {
				FailFast *bool `yaml:"fail-fast"`
				Matrix   any   `yaml:"matrix"`
			} `yaml:"strategy"`
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	runs := func(job, text string) bool {
		for _, s := range wf.Jobs[job].Steps {
			if strings.Contains(s.Run, text) {
				return true
			}
		}
		return false
	}
	if !runs("plan", "bcbench matrix plan") || !strings.Contains(wf.Jobs["plan"].Outputs["matrix"], "steps.plan.outputs.matrix") {
		t.Error("the plan job does not plan, or does not give the plan as its output")
	}
	chain := wf.Jobs["chain"]
	if m, _ := chain.Strategy.Matrix.(string); m != "${{ fromJSON(needs.plan.outputs.matrix) }}" {
		t.Errorf("chain's matrix is %v, want the plan job's output", chain.Strategy.Matrix)
	}
	if chain.Strategy.FailFast == nil || *chain.Strategy.FailFast {
		t.Error("chain must not cancel the other entries when one pair fails (fail-fast: false)")
	}
	if !runs("chain", "--matrix plan.json --matrix-entry \"$ENTRY\"") {
		t.Error("chain does not run its entry of the plan")
	}
	if !runs("merge", "bcbench matrix merge --plan plan.json --root") || !strings.Contains(wf.Jobs["merge"].If, "!cancelled()") {
		t.Error("merge does not verify the runs against the root, or does not run after failed entries")
	}
}

// TestGitLabMatrixPipeline: the GitLab pipeline deals the runs into as many
// shards as it runs jobs in parallel, and job CI_NODE_INDEX runs entry
// CI_NODE_INDEX-1.
func TestGitLabMatrixPipeline(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("ci", "gitlab", "bcbench-matrix.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Variables map[string]string `yaml:"variables"`
		Plan      struct {
			Script []string `yaml:"script"`
		} `yaml:"plan"`
		Chain struct {
			Parallel int      `yaml:"parallel"`
			Needs    []string `yaml:"needs"`
			Script   []string `yaml:"script"`
		} `yaml:"chain"`
		Matrix struct {
			When   string   `yaml:"when"`
			Needs  []string `yaml:"needs"`
			Script []string `yaml:"script"`
		} `yaml:"matrix"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(doc.Chain.Parallel) != doc.Variables["SHARDS"] || doc.Chain.Parallel < 2 {
		t.Errorf("parallel %d, SHARDS %q: the plan must have one entry per parallel job", doc.Chain.Parallel, doc.Variables["SHARDS"])
	}
	joined := func(s []string) string { return strings.Join(s, "\n") }
	if !strings.Contains(joined(doc.Plan.Script), `--shards "$SHARDS"`) {
		t.Error("plan does not deal the runs into SHARDS entries")
	}
	if !strings.Contains(joined(doc.Chain.Script), "entry=$((CI_NODE_INDEX - 1))") || !strings.Contains(joined(doc.Chain.Script), `--matrix-entry "$entry"`) {
		t.Error("chain does not run entry CI_NODE_INDEX-1")
	}
	if doc.Matrix.When != "always" || !slices.Contains(doc.Matrix.Needs, "chain") || !strings.Contains(joined(doc.Matrix.Script), "bcbench matrix merge --plan plan.json --root") {
		t.Error("the matrix job does not merge every chain job's runs against the root")
	}
}

// TestKubernetesMatrixJob: the Job is Indexed, and each pod runs the entry
// of its completion index.
func TestKubernetesMatrixJob(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("k8s", "matrix-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    *int   `yaml:"completions"`
			Parallelism    *int   `yaml:"parallelism"`
			Template       struct {
				Spec struct {
					RestartPolicy string `yaml:"restartPolicy"`
					Containers    []struct {
						Name  string   `yaml:"name"`
						Image string   `yaml:"image"`
						Args  []string `yaml:"args"`
						Env   []struct {
							Name      string `yaml:"name"`
							ValueFrom struct {
								FieldRef struct {
									FieldPath string `yaml:"fieldPath"`
								} `yaml:"fieldRef"`
							} `yaml:"valueFrom"`
						} `yaml:"env"`
						VolumeMounts []struct {
							Name string `yaml:"name"`
						} `yaml:"volumeMounts"`
					} `yaml:"containers"`
					Volumes []struct {
						Name string `yaml:"name"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(false)
	if err := dec.Decode(&job); err != nil {
		t.Fatal(err)
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" || job.Metadata.Name == "" {
		t.Fatalf("not a named batch/v1 Job: %s %s %q", job.APIVersion, job.Kind, job.Metadata.Name)
	}
	if job.Spec.CompletionMode != "Indexed" || job.Spec.Completions == nil || *job.Spec.Completions < 1 || job.Spec.Parallelism == nil {
		t.Errorf("completionMode %q, completions %v: want an Indexed Job with completions", job.Spec.CompletionMode, job.Spec.Completions)
	}
	if rp := job.Spec.Template.Spec.RestartPolicy; rp != "Never" && rp != "OnFailure" {
		t.Errorf("restartPolicy %q: a Job needs Never or OnFailure", rp)
	}
	cs := job.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Image == "" {
		t.Fatalf("want one container with an image: %+v", cs)
	}
	entryVar := ""
	for _, e := range cs[0].Env {
		if e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			entryVar = e.Name
		}
	}
	i := slices.Index(cs[0].Args, "--matrix-entry")
	if entryVar == "" || i < 0 || i+1 >= len(cs[0].Args) || cs[0].Args[i+1] != "$("+entryVar+")" {
		t.Errorf("--matrix-entry is not the pod's completion index (env %q, args %v)", entryVar, cs[0].Args)
	}
	if cs[0].Args[0] != "run" || !slices.Contains(cs[0].Args, "--matrix") {
		t.Errorf("args %v: want bcbench run --matrix PLAN", cs[0].Args)
	}
	volumes := map[string]bool{}
	for _, v := range job.Spec.Template.Spec.Volumes {
		volumes[v.Name] = true
	}
	for _, m := range cs[0].VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("mount %s has no volume", m.Name)
		}
	}
}
