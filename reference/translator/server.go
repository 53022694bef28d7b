package translator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/bcbench/bcbench/reference/rest"
)

// ServerOptions configure the reference translator's HTTP face.
type ServerOptions struct {
	Version string
	// Defect names a seeded-defect mutant (Mutants); empty is the reference.
	Defect string
}

// Server is the translator's HTTP face (docs/translator.md): GET
// /bench/health, POST /bench/translate (ADA → FHIR Bundle, or a Bundle →
// ADA).
type Server struct {
	opt    ServerOptions
	mutant *Mutant
	mux    *http.ServeMux
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
	return s, nil
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
