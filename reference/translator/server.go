package translator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/bcbench/bcbench/reference/rest"
	"github.com/bcbench/bcbench/reference/xis"
)

// ServerOptions configure the reference translator's HTTP face.
type ServerOptions struct {
	Version string
	// Defect names a seeded-defect mutant (Mutants); empty is the reference.
	Defect string
	// Index, when set, is the FHIR base of the chain's index: what the
	// translator publishes (POST /bench/publish) it registers there
	// (ITI-65), as an XIS does. `reference serve --role translator` reads
	// it from --index or BCBENCH_INDEX_URL.
	Index string
	// Logf reports what went wrong with the index (log.Printf when nil).
	Logf func(format string, args ...any)
}

// Server is the translator's HTTP face (docs/translator.md): GET
// /bench/health, POST /bench/translate (ADA → FHIR Bundle, or a Bundle →
// ADA), and in a chain POST /bench/publish (ADA in, published as R4 on
// its FHIR base /fhir and registered in the index).
type Server struct {
	opt    ServerOptions
	mutant *Mutant
	mux    *http.ServeMux
	// xis is the reference XIS the translator publishes through: its R4
	// rendering, store, FHIR API and index registration.
	xis *xis.Server
}

// New builds the reference translator, or one of its mutants.
func New(opt ServerOptions) (*Server, error) {
	s := &Server{opt: opt, mux: http.NewServeMux()}
	if opt.Defect != "" {
		m, ok := mutantByName(opt.Defect)
		if !ok {
			return nil, fmt.Errorf("unknown translator defect %q (see 'bcbench reference mutants')", opt.Defect)
		}
		s.mutant = &m
	}
	s.mux.HandleFunc("GET /bench/health", func(w http.ResponseWriter, _ *http.Request) {
		rest.JSON(w, http.StatusOK, "application/json", map[string]any{"status": "ok", "role": "translator", "software": "bcbench reference translator", "version": opt.Version})
	})
	s.mux.HandleFunc("POST /bench/translate", s.translate)
	x, err := xis.New(xis.Options{Version: opt.Version, Index: opt.Index, Logf: opt.Logf})
	if err != nil {
		return nil, fmt.Errorf("starting the translator's publishing XIS: %w", err)
	}
	s.xis = x
	s.mux.HandleFunc("POST /bench/publish", s.publish)
	s.mux.Handle("/fhir/", x)
	s.mux.Handle("/fhir", x)
	return s, nil
}

// publish translates one ADA instance and publishes it: the facts it
// tells go to the embedded reference XIS as a registration, which renders
// them as R4 (zib2020/nl-core), stores them, serves them on /fhir and
// registers the client's records in the index. It answers what the XIS
// answers: 201 with the receipt once stored and registered.
func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/xml" && ct != "text/xml" {
		rest.Problem(w, http.StatusUnsupportedMediaType, "not-supported", fmt.Sprintf("Content-Type %q: send application/xml (an ADA instance)", r.Header.Get("Content-Type")))
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxInput+1))
	if err != nil {
		s.problem(w, ErrTooLarge)
		return
	}
	tx, err := Parse(bytes.NewReader(raw))
	if err != nil {
		s.problem(w, err)
		return
	}
	reg, err := registration(tx, raw)
	if err != nil {
		s.problem(w, err)
		return
	}
	if s.mutant != nil && s.mutant.publish != nil {
		s.mutant.publish(&reg)
	}
	body, err := json.Marshal(reg)
	if err != nil {
		rest.Problem(w, http.StatusInternalServerError, "exception", fmt.Sprintf("encoding the registration: %v", err))
		return
	}
	in := r.Clone(r.Context())
	in.URL.Path, in.RequestURI = "/bench/events", ""
	in.Body, in.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	in.Header.Set("Content-Type", "application/json")
	s.xis.ServeHTTP(w, in)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) translate(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body := http.MaxBytesReader(w, r.Body, MaxInput+1)
	switch ct {
	case "application/xml", "text/xml":
		tx, err := Parse(body)
		if err != nil {
			s.problem(w, err)
			return
		}
		rs, err := translateTx(tx)
		if err != nil {
			if s.mutant != nil && s.mutant.accepts != nil && s.mutant.accepts(err) {
				rest.FHIR(w, http.StatusOK, Bundle(nil))
				return
			}
			s.problem(w, err)
			return
		}
		if s.mutant != nil && s.mutant.apply != nil {
			rs = s.mutant.apply(rs, tx)
		}
		rest.FHIR(w, http.StatusOK, Bundle(rs))
	case "application/fhir+json", "application/json":
		data, err := io.ReadAll(body)
		if err != nil {
			s.problem(w, ErrTooLarge)
			return
		}
		ada, err := toADA(bytes.NewReader(data), s.mutant)
		if err != nil {
			s.problem(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		_, _ = w.Write(ada)
	default:
		rest.Problem(w, http.StatusUnsupportedMediaType, "not-supported", fmt.Sprintf("Content-Type %q: send application/xml (ADA) or application/fhir+json (a Bundle)", r.Header.Get("Content-Type")))
	}
}

func (s *Server) problem(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, ErrTooLarge) || errors.As(err, &tooBig):
		rest.Problem(w, http.StatusRequestEntityTooLarge, "too-costly", "input larger than 16 MiB")
	case errors.Is(err, ErrUnknown):
		rest.Problem(w, http.StatusUnprocessableEntity, "not-supported", err.Error())
	default:
		rest.Problem(w, http.StatusBadRequest, "invalid", err.Error())
	}
}
