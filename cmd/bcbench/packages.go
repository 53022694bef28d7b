package main

import (
	"context"
	"fmt"
	"io"
	"os"
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
		Short: "Show the packages given with --package (what validate would load) and those in the cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPackagesList(cmd.OutOrStdout(), pkgs, cacheDir)
		},
	}
	list.Flags().StringArrayVar(&pkgs, "package", nil, "FHIR package: folder, .tgz, or name#version from the cache (repeatable)")
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
	if len(pkgs) > 0 {
		reg, err := loadRegistry(pkgs, cacheDir)
		if err != nil {
			return withCode(exitSetup, err)
		}
		fmt.Fprintln(out, "loaded:")
		for _, p := range reg.Packages() {
			fhir := strings.Join(p.FHIRVersions, ",")
			if fhir == "" {
				fhir = "-"
			}
			fmt.Fprintf(out, "  %s#%s  FHIR %s  %d resources  (%s)\n", p.Name, p.Version, fhir, p.Resources, p.Source)
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
