// Command othervis runs the independent XIS of package othervis.
//
//	othervis --addr 127.0.0.1:8080 [--utc=true] [--absolute=true] [--page-size 8]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bcbench/bcbench/internal/othervis"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "othervis:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("othervis", flag.ContinueOnError)
	addr := fs.String("addr", "", "listen address (default 127.0.0.1:$PORT or 127.0.0.1:8080)")
	utc := fs.Bool("utc", true, "write instants in UTC instead of with the Amsterdam offset")
	abs := fs.Bool("absolute", true, "write absolute references on the FHIR base")
	page := fs.Int("page-size", 8, "search page size")
	contained := fs.Bool("contained", false, "put an MP9 block's product in the block as a contained Medication")
	narr := fs.Bool("narrative", false, "give every resource a generated narrative")
	bareRefs := fs.Bool("bare-references", false, "leave Reference.type out")
	noTotal := fs.Bool("no-total", false, "leave Bundle.total out of searchsets")
	millis := fs.Bool("millis", false, "write instants with milliseconds")
	duration := fs.Bool("duration", false, "write an MP9 period of use as start + duration")
	ownOIDs := fs.Bool("own-oids", false, "identify MP9 building blocks under this XIS's own OID root")
	labRole := fs.Bool("lab-role", false, "a lab result's performer is the professional's PractitionerRole, not the laboratory")
	defect := fs.String("defect", "", "seed one realistic defect: "+strings.Join(othervis.DefectNames(), ", "))
	fhirBase := fs.String("fhir-base", "/fhir", "FHIR base path")
	adapter := fs.String("adapter", "/bench", "adapter base path")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" {
		port := os.Getenv("PORT")
		if port == "" {
			port = "8080"
		}
		*addr = "127.0.0.1:" + port
	}
	if err := othervis.CheckDefect(*defect); err != nil {
		return err
	}
	if *page <= 0 || *page > 500 {
		return fmt.Errorf("--page-size must be 1..500, got %d", *page)
	}
	logger := log.New(os.Stderr, "othervis ", log.LstdFlags|log.LUTC)
	xis := othervis.New(othervis.Options{FHIRBase: *fhirBase, Adapter: *adapter, UTC: *utc, Absolute: *abs, PageSize: *page, Contained: *contained, Narrative: *narr, BareReferences: *bareRefs, NoTotal: *noTotal, Defect: *defect, Millis: *millis, Duration: *duration, OwnOIDs: *ownOIDs, LabRole: *labRole, Log: logger})
	srv := &http.Server{Addr: *addr, Handler: xis, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Printf("listening on %s (utc=%v absolute=%v page-size=%d contained=%v narrative=%v)", *addr, *utc, *abs, *page, *contained, *narr)
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping: %w", err)
	}
	return nil
}
