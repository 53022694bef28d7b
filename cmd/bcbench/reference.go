package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/validator"
	"github.com/bcbench/bcbench/reference/dvza"
	"github.com/bcbench/bcbench/reference/fhirstore"
	"github.com/bcbench/bcbench/reference/index"
	"github.com/bcbench/bcbench/reference/translator"
	"github.com/bcbench/bcbench/reference/viewer"
	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/testscript"
)

// tokensEnv names the environment variable a reference DVZA reads its
// fixed tokens per client from (BSN=TOKEN,…) when --token is not given.
const tokensEnv = "BCBENCH_DVZA_TOKENS"

func init() { register(newReferenceCmd) }

func newReferenceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reference",
		Short: "Serve the bench's reference implementation of a role, or list its seeded-defect mutants",
	}
	var role, addr, defect, variant, indexURL, viewerURL, viewerLaunch, idp, fixtureDir string
	var delay time.Duration
	var tokens map[string]string
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve a reference role over HTTP (FHIR at /fhir, adapter at /bench)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if role != "xis" && role != "index" && role != "viewer" && role != "dvza" && role != "translator" {
				return withCode(exitSetup, fmt.Errorf("unknown role %q: the reference implements xis, index, viewer, dvza and translator", role))
			}
			if defect == "" {
				defect = os.Getenv("BCBENCH_REFERENCE_DEFECT")
			}
			if delay == 0 {
				if d, err := time.ParseDuration(os.Getenv("BCBENCH_REFERENCE_DELAY")); err == nil {
					delay = d
				}
			}
			if indexURL == "" && (role == "xis" || role == "translator") {
				indexURL = os.Getenv(xis.IndexEnv)
			}
			if viewerURL == "" {
				viewerURL = os.Getenv("BCBENCH_VIEWER_URL")
			}
			if idp == "" {
				idp = os.Getenv(dvza.IdPEnv)
			}
			if len(tokens) == 0 && os.Getenv(tokensEnv) != "" {
				tokens = map[string]string{}
				for _, pair := range strings.Split(os.Getenv(tokensEnv), ",") {
					bsn, tok, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if !ok || bsn == "" || tok == "" {
						return withCode(exitSetup, fmt.Errorf("%s: %q is not BSN=TOKEN", tokensEnv, pair))
					}
					tokens[bsn] = tok
				}
			}
			var srv http.Handler
			var err error
			loaded := 0
			switch {
			case len(tokens) > 0 && role != "dvza":
				return withCode(exitSetup, fmt.Errorf("--token is an option of the dvza role"))
			case viewerLaunch != "" && role != "viewer":
				return withCode(exitSetup, fmt.Errorf("--launch is an option of the viewer role"))
			case fixtureDir != "" && role != "xis":
				return withCode(exitSetup, fmt.Errorf("--fixtures is an option of the xis role"))
			case role == "viewer":
				if variant != "" || indexURL != "" {
					return withCode(exitSetup, fmt.Errorf("--variant and --index are options of the xis role, not of the viewer"))
				}
				srv, err = referenceViewer(viewerURL, defect, viewerLaunch, os.Getenv)
			case fixtureDir != "":
				srv, loaded, err = loadedXIS(fixtureDir, defect, variant, indexURL)
			case role == "dvza":
				if variant != "" || indexURL != "" {
					return withCode(exitSetup, fmt.Errorf("--variant and --index are options of the xis role, not of the dvza"))
				}
				srv, err = dvza.New(dvza.Options{Version: version, Defect: defect, IdP: idp, Tokens: tokens})
			default:
				srv, err = referenceServer(role, defect, variant, indexURL, viewerURL)
			}
			if err != nil {
				return withCode(exitSetup, err)
			}
			var h http.Handler = srv
			if delay > 0 {
				h = slow(srv, delay)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return withCode(exitSetup, fmt.Errorf("listening on %s: %w", addr, err))
			}
			faces := "FHIR /fhir, adapter /bench"
			if role == "dvza" {
				faces += ", OAuth /oauth"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bcbench reference %s listening on http://%s (%s)\n", role, ln.Addr(), faces)
			if fixtureDir != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "serving %d resources loaded from %s (no adapter events)\n", loaded, fixtureDir)
			}
			return serveUntilSignal(cmd.Context(), ln, h)
		},
	}
	serve.Flags().StringVar(&role, "role", "xis", "role to serve (xis, index, viewer, dvza, translator)")
	serve.Flags().StringVar(&viewerURL, "url", "", "viewer: its base URL as the browser reaches it (redirect URI = URL/callback); default: the address of each request; env BCBENCH_VIEWER_URL")
	serve.Flags().StringVar(&viewerLaunch, "launch", "", "viewer: how it is opened, smart (SMART EHR launch, the default) or context-token (a signed context token of the issuer named by "+envAuthIssuer+" and "+envAuthJWKS+"; docs/viewer.md)")
	serve.Flags().StringVar(&idp, "idp", "", "dvza: the issuer URL of the test identity provider clients log in at; env "+dvza.IdPEnv)
	serve.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	serve.Flags().StringVar(&defect, "defect", "", "serve a mutant with this seeded defect (see 'bcbench reference mutants'); env BCBENCH_REFERENCE_DEFECT")
	serve.Flags().StringVar(&variant, "variant", "", "serve a valid variant of the reference (utc, absolute-verwijzingen, medicatie-contained): the bench must accept it")
	serve.Flags().StringVar(&indexURL, "index", "", "xis and translator: the FHIR base of the index to register in after every event or published ADA (ITI-65); env "+xis.IndexEnv)
	serve.Flags().StringVar(&fixtureDir, "fixtures", "", "xis: serve the FHIR R4 resources in this folder (.json and .xml, below it; Bundles left out; Touchstone placeholders such as ${DATE, T, D, -3} filled) instead of adapter events, with create, update, delete and transaction (e.g. the _reference folder of Nictiz's MP9 3.0 TestScripts)")
	serve.Flags().StringToStringVar(&tokens, "token", nil, "dvza: a fixed access token per client, BSN=TOKEN (repeatable), besides the OAuth flow (as Nictiz qualification gives them); env "+tokensEnv+" (BSN=TOKEN,…), which keeps them out of the arguments a run records")
	serve.Flags().DurationVar(&delay, "delay", 0, "answer every FHIR and event request this much later (for fault tests); env BCBENCH_REFERENCE_DELAY")
	mutants := &cobra.Command{
		Use:   "mutants",
		Short: "List the seeded-defect mutants and the requirements each must fail",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			for _, m := range xis.Mutants {
				fmt.Fprintf(cmd.OutOrStdout(), "%-6s %-26s %-14s %s\n", "xis", m.Name, strings.Join(m.Violates, ","), m.Description)
			}
			for _, m := range index.Mutants {
				fmt.Fprintf(cmd.OutOrStdout(), "%-6s %-26s %-14s %s\n", "index", m.Name, strings.Join(m.Violates, ","), m.Description)
			}
			for _, m := range viewer.Mutants {
				fmt.Fprintf(cmd.OutOrStdout(), "%-6s %-26s %-14s %s\n", "viewer", m.Name, strings.Join(m.Violates, ","), m.Description)
			}
			for _, m := range dvza.Mutants {
				fmt.Fprintf(cmd.OutOrStdout(), "%-6s %-26s %-14s %s\n", "dvza", m.Name, strings.Join(m.Violates, ","), m.Description)
			}
			for _, m := range translator.Mutants {
				desc := m.Description
				if len(m.InChain) > 0 {
					desc += fmt.Sprintf(" [als uitgever in %s: %s]", certification.ChainTranslator, strings.Join(m.InChain, ","))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-6s %-26s %-14s %s\n", "translator", m.Name, strings.Join(m.Violates, ","), desc)
			}
		},
	}
	cmd.AddCommand(serve, mutants)
	return cmd
}

// referenceViewer builds the reference viewer; opened with a context token
// it trusts the issuer of BCBENCH_AUTH_ISSUER and BCBENCH_AUTH_JWKS.
func referenceViewer(url, defect, launch string, getenv func(string) string) (http.Handler, error) {
	opts := viewer.Options{URL: url, Defect: defect, Launch: launch}
	if m, ok := viewer.LookupMutant(defect); ok && launch == "" {
		opts.Launch = m.LaunchMode()
	}
	if opts.Launch == viewer.LaunchContextToken {
		trust, err := trustFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		if trust == nil {
			return nil, fmt.Errorf("a viewer opened with a context token needs the issuer it trusts: set %s and %s", envAuthIssuer, envAuthJWKS)
		}
		opts.Trust = trust
	}
	return viewer.New(opts)
}

// referenceServer builds the reference of a role: the XIS (registering in
// the index at indexURL when set), the index, the viewer or the translator.
func referenceServer(role, defect, variant, indexURL, viewerURL string) (http.Handler, error) {
	if role == "translator" {
		if variant != "" || viewerURL != "" {
			return nil, fmt.Errorf("--variant and --url are not options of the translator")
		}
		return translator.New(translator.ServerOptions{Version: version, Defect: defect, Index: indexURL})
	}
	if viewerURL != "" {
		return nil, fmt.Errorf("--url is an option of the viewer role")
	}
	// The bench's authorization server, when it started this process.
	trust, err := trustFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	if role == "index" {
		if variant != "" || indexURL != "" {
			return nil, fmt.Errorf("--variant and --index are options of the xis role, not of the index")
		}
		return index.New(index.Options{Version: version, Defect: defect, Trust: trust})
	}
	return xis.New(xis.Options{Version: version, Defect: defect, Variant: variant, Index: indexURL, Trust: trust})
}

// loadedXIS is the reference XIS serving the resources of a folder
// (docs/testscript.md), with the number of resources loaded.
func loadedXIS(dir, defect, variant, indexURL string) (http.Handler, int, error) {
	if defect != "" || variant != "" || indexURL != "" {
		return nil, 0, fmt.Errorf("--fixtures is served as it is: not with --defect, --variant or --index")
	}
	pkgs, err := registry.Defaults(testscript.R4)
	if err != nil {
		return nil, 0, fmt.Errorf("loading fixtures: %w", err)
	}
	vx, err := validator.New(validator.Options{FHIRVersion: testscript.R4, Packages: pkgs})
	if err != nil {
		return nil, 0, fmt.Errorf("loading fixtures: %w", err)
	}
	st, err := fhirstore.New(fhirstore.Options{FHIRVersion: testscript.R4, Registry: vx.Registry(), Model: vx.Model(), Prefix: xis.Prefix})
	if err != nil {
		return nil, 0, fmt.Errorf("loading fixtures: %w", err)
	}
	n, err := st.LoadDir(dir, validator.FillPlaceholders)
	if err != nil {
		return nil, 0, fmt.Errorf("loading fixtures: %w", err)
	}
	if n == 0 {
		return nil, 0, fmt.Errorf("loading fixtures: no FHIR resource (.json or .xml, not a Bundle) in %s", dir)
	}
	x, err := xis.New(xis.Options{Version: version, Resources: st})
	return x, n, err
}

// serveUntilSignal serves h on ln until SIGINT/SIGTERM or ctx ends, then
// shuts down within a few seconds.
func serveUntilSignal(ctx context.Context, ln net.Listener, h http.Handler) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

// slow delays every request except the health check.
func slow(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/health") {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
