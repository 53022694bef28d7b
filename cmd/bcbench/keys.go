package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/bcbench/bcbench/reports"
)

func init() { register(newKeysCmd) }

func newKeysCmd() *cobra.Command {
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Manage the keys that sign reports",
	}
	var out string
	var ca bool
	var caName string
	var caValidity time.Duration
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Make an Ed25519 key pair and a self-signed certificate",
		Long: `Make an Ed25519 key pair and a self-signed X.509 certificate (CN bcbench, valid one year):
  DIR/bcbench.key  private key, PKCS#8 PEM, mode 0600 — keep it secret; pass it to 'bcbench run --key'
  DIR/bcbench.pub  public key, PKIX PEM — give it to whoever verifies a report
  DIR/bcbench.crt  self-signed certificate of the public key
An existing key is never overwritten.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ca {
				return initRoot(cmd, out, caName, caValidity)
			}
			if err := reports.InitKeys(out); err != nil {
				return withCode(exitSetup, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s, %s and %s\n",
				filepath.Join(out, reports.KeyFile), filepath.Join(out, reports.PubFile), filepath.Join(out, reports.CertFile))
			return nil
		},
	}
	initCmd.Flags().StringVar(&out, "out", ".", "folder to write the key, public key and certificate to")
	initCmd.Flags().BoolVar(&ca, "ca", false, "make the programme bureau's root instead (root.key, root.crt): keep it offline; it issues operator certificates ('keys issue') and certificates ('cert issue')")
	initCmd.Flags().StringVar(&caName, "name", "Programmabureau Geboortezorg", "with --ca: the bureau's name in the root certificate")
	initCmd.Flags().DurationVar(&caValidity, "validity", 10*365*24*time.Hour, "with --ca: how long the root is valid")
	keys.AddCommand(initCmd, newKeysIssueCmd())
	return keys
}
