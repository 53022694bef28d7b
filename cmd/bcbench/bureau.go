package main

// The programme bureau's commands: certificates from signed runs and the
// public register of certificates and revocations.

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bcbench/bcbench/cert"
	"github.com/bcbench/bcbench/pki"
	certreg "github.com/bcbench/bcbench/register"
	"github.com/bcbench/bcbench/reports"
)

func init() {
	register(newCertCmd)
	register(newRegisterCmd)
}

// rootFlags are the bureau's key and certificate, as flags.
type rootFlags struct{ key, cert string }

func (r *rootFlags) addCert(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.cert, "root", "", "the bureau's root certificate (root.crt)")
	_ = cmd.MarkFlagRequired("root")
}

func (r *rootFlags) addKey(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.key, "root-key", "", "the bureau's root private key (root.key); its certificate root.crt is read from beside it unless --root is given")
	cmd.Flags().StringVar(&r.cert, "root", "", "the bureau's root certificate (default: root.crt beside --root-key)")
	_ = cmd.MarkFlagRequired("root-key")
}

func (r *rootFlags) certificate() (*x509.Certificate, error) {
	p := r.cert
	if p == "" && r.key != "" {
		p = filepath.Join(filepath.Dir(r.key), pki.RootCertFile)
	}
	c, err := pki.ReadCertificate(p)
	if err != nil {
		return nil, withCode(exitSetup, err)
	}
	if !c.IsCA {
		return nil, withCode(exitSetup, fmt.Errorf("%s is not the bureau's root (not a CA certificate)", p))
	}
	return c, nil
}

func (r *rootFlags) issuer() (cert.Issuer, error) {
	c, err := r.certificate()
	if err != nil {
		return cert.Issuer{}, err
	}
	k, err := pki.ReadKey(r.key)
	if err != nil {
		return cert.Issuer{}, withCode(exitSetup, err)
	}
	if !k.Public().(ed25519.PublicKey).Equal(c.PublicKey) {
		return cert.Issuer{}, withCode(exitSetup, fmt.Errorf("%s is not the key of the root certificate", r.key))
	}
	return cert.Issuer{Key: k, Cert: c}, nil
}

// openRegister opens and verifies the register: a folder that cannot be read
// is the operator's problem (2), one that does not verify is a finding (1).
func openRegister(dir string, root *x509.Certificate) (*certreg.Log, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, withCode(exitSetup, fmt.Errorf("register %s is not a folder", dir))
	}
	l, err := certreg.Open(dir, cert.Origin(root), root.PublicKey.(ed25519.PublicKey))
	if err != nil {
		return nil, withCode(exitFail, err)
	}
	return l, nil
}

func newCertCmd() *cobra.Command {
	c := &cobra.Command{Use: "cert", Short: "The bureau's certificates: issue one from a signed run, verify one"}
	var root rootFlags
	var out, reg, verifier string
	var validity, maxAge time.Duration
	issue := &cobra.Command{
		Use:   "issue --root-key root.key RUN/results.dsse.json",
		Short: "Turn a passing, certifying, verified run into a certificate (and enter it in the register)",
		Long: `Verify a run (its signature with the operator certificate signer.crt beside it, that
certificate's chain to the bureau's root when the run ended, every file of the run), check that it
was a certification run with verdict pass and recent enough, and write certificaat.dsse.json (an
in-toto statement with an SLSA verification summary, signed with the root key) and certificaat.html
into --out. With --register, the certificate is entered in the register too.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			is, err := root.issuer()
			if err != nil {
				return err
			}
			is.ID = verifier
			if reg != "" {
				l, err := openRegister(reg, is.Cert)
				if err != nil {
					return err
				}
				is.Register = l
			}
			pol := cert.Policy{MaxRunAge: maxAge, Validity: validity}
			digest, err := cert.Issue(args[0], out, is, pol, time.Now())
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return withCode(exitSetup, err)
				}
				return withCode(exitFail, err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "certificaat %s\n  %s\n  %s\n", digest, filepath.Join(out, cert.EnvelopeFile), filepath.Join(out, cert.PageFile))
			if reg == "" {
				return nil
			}
			return addToRegister(cmd, reg, is, filepath.Join(out, cert.EnvelopeFile))
		},
	}
	root.addKey(issue)
	issue.Flags().StringVar(&out, "out", ".", "folder to write certificaat.dsse.json and certificaat.html to")
	issue.Flags().StringVar(&reg, "register", "", "also enter the certificate in this register folder")
	issue.Flags().StringVar(&verifier, "verifier", "", "the bureau's verifier id in the certificate (default: urn:bcbench:bureau:<root name>)")
	issue.Flags().DurationVar(&validity, "validity", cert.DefaultPolicy.Validity, "how long the certificate is valid")
	issue.Flags().DurationVar(&maxAge, "max-run-age", cert.DefaultPolicy.MaxRunAge, "refuse a run that ended longer ago than this")

	var vroot rootFlags
	var vreg string
	verify := &cobra.Command{
		Use:   "verify --root root.crt --register DIR certificaat.dsse.json",
		Short: "Check a certificate: signed by the bureau, valid today, in the register and not revoked",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, err := vroot.certificate()
			if err != nil {
				return err
			}
			l, err := openRegister(vreg, rc)
			if err != nil {
				return err
			}
			s, err := cert.Verify(args[0], rc, l, time.Now())
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return withCode(exitSetup, err)
				}
				return withCode(exitFail, err)
			}
			d := s.Statement.Predicate.Details
			fmt.Fprintf(cmd.OutOrStdout(), "geldig certificaat: %s %s (%s)\n  profiel %s %s, rollen %s\n  geldig %s tot en met %s\n  register: vermelding %d van %d, niet ingetrokken\n",
				plainText(d.System), plainText(d.Version), plainText(d.Vendor), d.Profile, d.ProfileVersion, strings.Join(d.Roles, ", "),
				d.NotBefore.Format(time.DateOnly), d.NotAfter.Format(time.DateOnly), s.Entry, s.Tree)
			return nil
		},
	}
	vroot.addCert(verify)
	verify.Flags().StringVar(&vreg, "register", "", "the register folder")
	_ = verify.MarkFlagRequired("register")
	c.AddCommand(issue, verify)
	return c
}

func addToRegister(cmd *cobra.Command, dir string, is cert.Issuer, certPath string) error {
	st, digest, err := cert.Read(certPath, is.Cert)
	if err != nil {
		return withCode(exitFail, err)
	}
	i, err := certreg.Append(dir, cert.Origin(is.Cert), is.Key, cert.Entry(st, digest))
	if err != nil {
		return withCode(exitFail, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "in het register: vermelding %d (%s)\n", i, dir)
	return nil
}

func newRegisterCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "register",
		Short: "The bureau's public register of certificates and revocations (a transparency log in a folder)",
	}
	var dir string
	addDir := func(cmd *cobra.Command) {
		cmd.Flags().StringVar(&dir, "register", "", "the register folder")
		_ = cmd.MarkFlagRequired("register")
	}

	var root rootFlags
	add := &cobra.Command{
		Use:   "add --root-key root.key --register DIR certificaat.dsse.json",
		Short: "Enter an issued certificate in the register",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			is, err := root.issuer()
			if err != nil {
				return err
			}
			return addToRegister(cmd, dir, is, args[0])
		},
	}
	root.addKey(add)
	addDir(add)

	var rroot rootFlags
	var reason string
	revoke := &cobra.Command{
		Use:   "revoke --root-key root.key --register DIR --reason TEXT certificaat.dsse.json|SHA256|OPERATOR.crt",
		Short: "Revoke a certificate, or an operator certificate (no run it signed counts any more): append a revocation with its reason",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			is, err := rroot.issuer()
			if err != nil {
				return err
			}
			kind, digest := certreg.Revoked, args[0]
			if _, err := os.Stat(digest); err == nil {
				if op, err := pki.ReadCertificate(digest); err == nil {
					// An operator certificate: revoke the operator.
					kind, digest = certreg.OperatorRevoked, pki.Fingerprint(op)
				} else {
					_, d, err := cert.Read(digest, is.Cert)
					if err != nil {
						return withCode(exitFail, err)
					}
					digest = d
				}
			}
			i, err := certreg.Append(dir, cert.Origin(is.Cert), is.Key, certreg.Entry{Kind: kind, Certificate: digest, Reason: reason})
			if err != nil {
				return withCode(exitFail, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ingetrokken: vermelding %d (%s)\n", i, dir)
			return nil
		},
	}
	rroot.addKey(revoke)
	addDir(revoke)
	revoke.Flags().StringVar(&reason, "reason", "", "why the certificate is revoked (required)")
	_ = revoke.MarkFlagRequired("reason")

	var vroot rootFlags
	var since string
	verify := &cobra.Command{
		Use:   "verify --root root.crt --register DIR [--since CHECKPOINT]",
		Short: "Verify the whole register: signatures, every entry, every tile, every checkpoint",
		Long: `Recompute the Merkle tree from every entry and check it against every signed checkpoint and
tile. With --since, also prove that the register extends a checkpoint you saved earlier (a copy
of its file 'checkpoint'): a register rewritten since then is a fork. Exit 1 names what is wrong.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rc, err := vroot.certificate()
			if err != nil {
				return err
			}
			l, err := openRegister(dir, rc)
			if err != nil {
				return err
			}
			if since != "" {
				data, err := os.ReadFile(since)
				if err != nil {
					return withCode(exitSetup, err)
				}
				old, err := l.OpenCheckpoint(data)
				if err != nil {
					return withCode(exitFail, fmt.Errorf("saved checkpoint %s: %w", since, err))
				}
				if err := l.Consistent(old); err != nil {
					return withCode(exitFail, err)
				}
			}
			cp := l.Checkpoint()
			fmt.Fprintf(cmd.OutOrStdout(), "register intact: %s, %d vermeldingen, boomhash %s\n", cp.Origin, cp.N, cp.Hash)
			return nil
		},
	}
	vroot.addCert(verify)
	addDir(verify)
	verify.Flags().StringVar(&since, "since", "", "a checkpoint saved earlier that the register must extend")

	var lroot rootFlags
	list := &cobra.Command{
		Use:   "list --root root.crt --register DIR",
		Short: "List the register's entries after verifying it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rc, err := lroot.certificate()
			if err != nil {
				return err
			}
			l, err := openRegister(dir, rc)
			if err != nil {
				return err
			}
			es, err := l.Entries()
			if err != nil {
				return withCode(exitFail, err)
			}
			w := cmd.OutOrStdout()
			for i, e := range es {
				switch e.Kind {
				case certreg.Issued:
					fmt.Fprintf(w, "%d\t%s\tcertificaat\t%s %s\t%s %s\t%s tot %s\n", i, e.Time.Format(time.DateOnly), plainText(e.System), plainText(e.Version),
						e.Profile, e.ProfileVersion, e.NotBefore.Format(time.DateOnly), e.NotAfter.Format(time.DateOnly))
				case certreg.OperatorRevoked:
					fmt.Fprintf(w, "%d\t%s\tintrekking operator\t%s\t%s\n", i, e.Time.Format(time.DateOnly), e.Certificate[:16], plainText(e.Reason))
				default:
					fmt.Fprintf(w, "%d\t%s\tintrekking\t%s\t%s\n", i, e.Time.Format(time.DateOnly), e.Certificate[:16], plainText(e.Reason))
				}
			}
			return nil
		},
	}
	lroot.addCert(list)
	addDir(list)

	var sroot rootFlags
	var out string
	site := &cobra.Command{
		Use:   "site --root root.crt --register DIR --out SITE",
		Short: "Render the register as static pages (one per system, and a table of all systems × roles × status)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rc, err := sroot.certificate()
			if err != nil {
				return err
			}
			l, err := openRegister(dir, rc)
			if err != nil {
				return err
			}
			if err := l.Site(out, time.Now()); err != nil {
				return withCode(exitSetup, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "site: %s\n", filepath.Join(out, "index.html"))
			return nil
		},
	}
	sroot.addCert(site)
	addDir(site)
	site.Flags().StringVar(&out, "out", "register-site", "folder to write the pages to")
	_ = site.MarkFlagRequired("out")

	c.AddCommand(add, revoke, verify, list, site)
	return c
}

func initRoot(cmd *cobra.Command, out, name string, validity time.Duration) error {
	if err := pki.InitCA(out, name, validity); err != nil {
		return withCode(exitSetup, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (keep it offline) and %s (publish it)\n",
		filepath.Join(out, pki.RootKeyFile), filepath.Join(out, pki.RootCertFile))
	return nil
}

func newKeysIssueCmd() *cobra.Command {
	var root rootFlags
	var name, out string
	var days int
	cmd := &cobra.Command{
		Use:   "issue --root-key root.key --name OPERATOR --out DIR",
		Short: "Issue an operator certificate under the bureau's root: the key a certifying bench signs with",
		Long: `Make an operator key pair and a certificate for it signed by the bureau's root:
  DIR/bcbench.key  the operator's private key (mode 0600): 'bcbench run --key DIR/bcbench.key'
  DIR/bcbench.pub  its public key
  DIR/bcbench.crt  its certificate, issued by the root; a run signed with the key carries it as signer.crt
'report verify --root root.crt' and 'cert issue' accept a run only when this certificate chains to the
root and was valid when the run ended.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := root.issuer(); err != nil {
				return err
			}
			rc := root.cert
			if rc == "" {
				rc = filepath.Join(filepath.Dir(root.key), pki.RootCertFile)
			}
			now := time.Now().UTC()
			op := pki.Operator{Name: name, NotBefore: now.Add(-5 * time.Minute), NotAfter: now.AddDate(0, 0, days)}
			if err := pki.Issue(root.key, rc, op, out); err != nil {
				return withCode(exitSetup, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s, %s and %s for operator %q, valid until %s\n",
				filepath.Join(out, pki.OperatorKeyFile), filepath.Join(out, pki.OperatorPubFile), filepath.Join(out, pki.OperatorCertFile),
				plainText(name), op.NotAfter.Format(time.DateOnly))
			return nil
		},
	}
	root.addKey(cmd)
	cmd.Flags().StringVar(&name, "name", "", "the operator (the test lab or bench) the certificate is for")
	cmd.Flags().StringVar(&out, "out", ".", "folder to write the operator's key and certificate to")
	cmd.Flags().IntVar(&days, "days", 365, "validity in days")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

// signerCertificate returns the certificate beside the signing key
// (bcbench.crt, as 'keys init' and 'keys issue' write it) when it is the
// key's own, so that the run can leave it beside its envelope as signer.crt:
// 'report verify --root' and 'cert issue' check its chain to the bureau's
// root. Nil for the development key or without a matching certificate.
func signerCertificate(keyPath string, s reports.Signer) []byte {
	if keyPath == "" || s == nil || s.Development() {
		return nil
	}
	p := filepath.Join(filepath.Dir(keyPath), pki.OperatorCertFile)
	c, err := pki.ReadCertificate(p)
	if err != nil {
		return nil
	}
	if pub, ok := s.Public().(ed25519.PublicKey); !ok || !pub.Equal(c.PublicKey) {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
