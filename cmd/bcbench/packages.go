package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bcbench/bcbench/profiles/registry"
)

func init() { register(newPackagesCmd) }

func newPackagesCmd() *cobra.Command {
	var cacheDir, registryURL string
	var pkgs []string
	cmd := &cobra.Command{
		Use:   "packages",
		Short: "List loaded FHIR packages, or install one into the package cache",
	}
	cmd.PersistentFlags().StringVar(&cacheDir, "cache-dir", "", "FHIR package cache (default ~/.fhir/packages)")
	list := &cobra.Command{
		Use:   "list",
		Short: "Show the embedded FHIR packages, those given with --package or BCBENCH_PACKAGES, and those in the cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPackagesList(cmd.OutOrStdout(), pkgs, cacheDir)
		},
	}
	list.Flags().StringArrayVar(&pkgs, "package", nil, "FHIR package: folder, .tgz, or name#version from the cache (repeatable; added to the embedded ones)")
	install := &cobra.Command{
		Use:   "install NAME#VERSION",
		Short: "Fetch a package from a FHIR package registry into the cache",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPackagesInstall(cmd.Context(), cmd.OutOrStdout(), args[0], registryURL, cacheDir)
		},
	}
	install.Flags().StringVar(&registryURL, "registry", registryFromEnv(), "FHIR package registry URL (env BCBENCH_FHIR_REGISTRY)")
	cmd.AddCommand(list, install)
	return cmd
}

func registryFromEnv() string {
	if u := os.Getenv("BCBENCH_FHIR_REGISTRY"); u != "" {
		return u
	}
	return registry.DefaultRegistryURL
}

func runPackagesList(out io.Writer, pkgs []string, cacheDir string) error {
	shipped, err := registry.Embedded()
	if err != nil {
		return withCode(exitSetup, err)
	}
	fmt.Fprintln(out, "embedded (loaded by run and validate unless replaced):")
	for _, s := range shipped {
		fmt.Fprintf(out, "  %s#%s  FHIR %s  %d resources  sha256 %s\n", s.ID, s.Version, s.FHIRVersion, s.Resources, s.SHA256)
	}
	var extra []string
	for _, e := range filepath.SplitList(os.Getenv(packagesEnv)) {
		if strings.TrimSpace(e) != "" {
			extra = append(extra, e)
		}
	}
	extra = append(extra, pkgs...)
	if i := slices.Index(extra, registry.None); i >= 0 {
		fmt.Fprintln(out, "none: the embedded packages are left out")
		extra = slices.Delete(extra, i, i+1)
	}
	if len(extra) > 0 {
		if _, err := registry.Sources(nil, extra, cacheDir); err != nil {
			return withCode(exitSetup, err)
		}
		reg, err := loadRegistry(extra, cacheDir)
		if err != nil {
			return withCode(exitSetup, err)
		}
		fmt.Fprintf(out, "given (--package, %s):\n", packagesEnv)
		for _, p := range reg.Packages() {
			fhir := strings.Join(p.FHIRVersions, ",")
			if fhir == "" {
				fhir = "-"
			}
			fmt.Fprintf(out, "  %s#%s  FHIR %s  %d resources  (%s)", p.Name, p.Version, fhir, p.Resources, p.Source)
			if i := slices.IndexFunc(shipped, func(s registry.Shipped) bool { return s.ID == p.Name }); i >= 0 && !p.Embedded {
				fmt.Fprintf(out, "  replaces the embedded %s", shipped[i].Source())
			}
			fmt.Fprintln(out)
			for _, s := range p.Skipped {
				fmt.Fprintf(out, "    skipped %s\n", s)
			}
		}
	}
	cached, err := registry.Cached(cacheDir)
	if err != nil {
		return withCode(exitSetup, err)
	}
	dir := cacheDir
	if dir == "" {
		dir = registry.DefaultCacheDir()
	}
	fmt.Fprintf(out, "cache %s: %d package(s)\n", dir, len(cached))
	for _, c := range cached {
		fmt.Fprintf(out, "  %s\n", c)
	}
	return nil
}

func runPackagesInstall(ctx context.Context, out io.Writer, spec, registryURL, cacheDir string) error {
	name, version, ok := strings.Cut(spec, "#")
	if !ok || name == "" || version == "" {
		return withCode(exitSetup, fmt.Errorf("install %q: give the package as NAME#VERSION", spec))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	dir, err := registry.Install(ctx, nil, registryURL, name, version, cacheDir)
	if err != nil {
		return withCode(exitSetup, err)
	}
	fmt.Fprintf(out, "installed %s#%s in %s\n", name, version, dir)
	return nil
}
