// Package harness starts, reaches and stops the systems under test, records
// every exchange with them as evidence, and always cleans up.
//
// # Candidate manifest
//
// A candidate is described by a YAML manifest (schema: ManifestSchema, also
// docs/manifest.schema.json and `bcbench candidate schema`):
//
//	name: Voorbeeld XIS
//	vendor: Voorbeeld BV
//	version: 4.2.0
//	roles:                       # index, xis, xis-<suffix>, translator, viewer, dvza
//	  xis:                       # exactly one of image, command, url, builtin
//	    image: {name: voorbeeld/xis:4.2.0, port: 8080, env: {K: v}}
//	    # image: {name: t, port: 8080, dockerfile: Dockerfile, context: .}  (built first, tagged name, kept)
//	    # command: {path: ../bin/xis, args: [--port, "{port}"], env: {}, port: 0, dir: .,
//	    #           passEnv: [LANG], identity: [app.py]}   (self-tests only)
//	    # url: https://xis.test.example
//	    # builtin: true          (the bench's own reference, served in-process)
//	    fhirBase: /fhir          # default
//	    adapter: /bench          # default; health is {adapter}/health
//	    auth: {bearerTokenEnv: XIS_TOKEN}   # or bearerToken: literal
//
// LoadManifest and ParseManifest validate against the schema and return a
// *ManifestError whose Problems name the field (roles.xis.image.port) and
// the line. Relative paths (command.path with a slash, command.dir,
// image.context) are resolved against the manifest's directory; a bare
// command name is looked up in PATH. {port} in args and env is replaced by
// the port, which the bench picks when command.port is 0 (also in $PORT).
//
// Combine joins several manifests (`--candidate a.yaml --candidate b.yaml`)
// into one, each role keeping its own manifest's folder, sha256 and name; a
// role named twice is an error naming both. AddReference adds the bench's
// built-in reference for a role no candidate brings (RoleSpec.Reference).
//
// # Running a candidate
//
// Launch starts every role of a manifest, in the order of Roles (the index
// first, then xis and the further publishers xis-<suffix>), each behind a
// recording Proxy on 127.0.0.1, and returns a *Candidate once every health
// endpoint answers. Every XIS is told the index's FHIR base (Wiring: for a
// built-in XIS through LaunchOptions.Builtin, for a process or container in
// IndexURLEnv; docs/chain.md). Candidate.Watch notices a process or
// container role that dies mid-run:
//
//	ctx, release := harness.InterruptContext(ctx)   // Ctrl-C/SIGTERM end ctx
//	defer release()
//	c, err := harness.Launch(ctx, m, harness.LaunchOptions{
//		Builtin:        func(role string, w harness.Wiring) (http.Handler, error) { … },   // reference handlers
//		StartupTimeout: time.Minute, RequestTimeout: 30 * time.Second,
//		EvidenceDir:    filepath.Join(out, "evidence"),                   // <role>.har, <role>.log
//	})
//	if err != nil { … exit 2 … }                     // nothing is left running
//	defer c.Stop(context.Background())               // idempotent, ignores cancellation
//	xis := c.Role("xis")
//	xis.Adapter().Register(ctx, registration)        // POST {adapter}/events through the proxy
//	xis.Client().Get(xis.FHIRBase() + "/Patient")    // timeouts, bearer token
//	xis.Identity()                                   // for results.json
//	xis.Entries()                                    // what was exchanged (timeliness, logging)
//
// Drivers, each a Target: Container (testcontainers-go, Ryuk off, explicit
// removal; confined: no capabilities, no-new-privileges, memory/pids/CPU
// limits, read-only root; on the run's internal network with the role name
// as alias, reached through a relay container whose port is published on
// 127.0.0.1; logs kept; the image must be present locally: the bench never
// pulls), Process (minimal environment, own process group, killed with its
// children, registered for cleanup, logs kept), Attach (an already running
// URL) and Serve (an in-process handler; identity: the bench binary's
// sha256). Identities: image and image ID (sha256:…); binary path and
// sha256, arguments, the manifest's sha256 and the files under identity; or
// URL. Launch adds the CapabilityStatement's software, read through the
// proxy.
//
// # Faults
//
// A role that stops answering (crashed, killed, hanging past the request
// timeout) makes Role.Client return an *UnreachableError whose Detail says
// why when the target can tell ("container … is exited, exit code 137",
// "process … exited: exit status 3"); Candidate.Alive names every role that
// no longer runs. Launch stops everything it started when it fails or ctx
// ends; Stop removes every container and the run's networks and kills every
// process, also after an interrupt (a final sweep by the run's Docker label,
// LabelRun, catches what a cut-short start left). RemoveLeftovers (every
// run's start, `bcbench candidate cleanup`) removes what a bench killed
// outright left behind, judged by the owner labels (LabelPID, LabelStart,
// LabelHost) and the registry in StateDir; CleanupRun removes one run and
// refuses a live one. Clients of a role stay on its proxy and follow no
// redirect to another host or port (Candidate.Findings).
//
// # Evidence
//
// Every exchange through a proxy is kept as a HAR 1.2 entry (headers,
// bodies up to MaxBody, timings, role, and the error of a failed exchange).
// Secrets are redacted when entries are rendered (Entries, WriteHAR):
// Authorization and cookie values, headers named like tokens or keys, query,
// form and JSON fields such as access_token, client_secret and password,
// bearer tokens in text, and the manifest's own tokens wherever they appear.
//
// # Manual mode
//
// An Operator (NewOperator) is a Registrar like the Adapter: it prints each
// registration step in Dutch for a person at a projectathon and waits for
// "j" (done), "n" (skipped: ErrSkipped) or "stop" (ErrAborted), with a
// timeout per step (ErrOperatorTimeout).
package harness
