package terminology

import (
	"fmt"
	"strings"
)

// UCUM atoms (case-sensitive codes) as listed in the UCUM specification's
// table of units. Metric atoms accept a prefix; the others do not.
const ucumMetricAtoms = `
m s g rad K C cd
mol sr Hz N Pa J W A V F Ohm S Wb Cel T H lm lx Bq Gy Sv
l L ar t bar u eV pc
[c] [h] [k] [eps_0] [mu_0] [e] [m_e] [m_p] [G] [g] [ly] gf
Ky Gal dyn erg P Bi St Mx G Oe Gb sb Lmb ph Ci R RAD REM
cal_[15] cal_[20] cal_m cal_IT cal_th cal
m[H2O] m[Hg] eq osm g% kat U [iU] [IU]
Np B B[SPL] B[V] B[mV] B[uV] B[10.nV] B[W] B[kW]
st mho bit By Bd
`

const ucumOtherAtoms = `
10* 10^ [pi] % [ppth] [ppm] [ppb] [pptr]
gon deg ' '' min h d a_t a_j a_g a wk mo_s mo_j mo_g mo
AU atm [lbf_av]
[in_i] [ft_i] [yd_i] [mi_i] [fth_i] [nmi_i] [kn_i] [sin_i] [sft_i] [syd_i] [cin_i] [cft_i] [cyd_i]
[bf_i] [cr_i] [mil_i] [cml_i] [hd_i]
[ft_us] [yd_us] [in_us] [rd_us] [ch_us] [lk_us] [rch_us] [rlk_us] [fth_us] [fur_us] [mi_us]
[acr_us] [srd_us] [smi_us] [sct] [twp] [mil_us]
[in_br] [ft_br] [rd_br] [ch_br] [lk_br] [fth_br] [pc_br] [yd_br] [mi_br] [nmi_br] [kn_br] [acr_br]
[gal_us] [bbl_us] [qt_us] [pt_us] [gil_us] [foz_us] [fdr_us] [min_us] [crd_us] [bu_us] [gal_wi]
[pk_us] [dqt_us] [dpt_us] [tbs_us] [tsp_us] [cup_us] [foz_m] [cup_m] [tsp_m] [tbs_m]
[gal_br] [pk_br] [bu_br] [qt_br] [pt_br] [gil_br] [foz_br] [fdr_br] [min_br]
[gr] [lb_av] [oz_av] [dr_av] [scwt_av] [lcwt_av] [ston_av] [lton_av] [stone_av]
[pwt_tr] [oz_tr] [lb_tr] [sc_ap] [dr_ap] [oz_ap] [lb_ap] [oz_m]
[lne] [pnt] [pca] [pnt_pr] [pca_pr] [pied] [pouce] [ligne] [didot] [cicero]
[degF] [degR] [degRe] [Cal] [Btu_39] [Btu_59] [Btu_60] [Btu_m] [Btu_IT] [Btu_th] [Btu] [HP]
[den] [in_i'H2O] [in_i'Hg] [PRU] [wood'U] [diop] [p'diop] %[slope] [mesh_i] [Ch] [drp]
[hnsf'U] [MET] [hp_X] [hp_C] [hp_M] [hp_Q] [kp_X] [kp_C] [kp_M] [kp_Q]
[pH] [S] [HPF] [LPF] [arb'U] [USP'U] [GPL'U] [MPL'U] [APL'U] [beth'U] [anti'Xa'U] [todd'U]
[dye'U] [smgy'U] [bdsk'U] [ka'U] [knk'U] [mclg'U] [tb'U] [CCID_50] [TCID_50] [EID_50]
[PFU] [FFU] [CFU] [IR] [BAU] [AU] [Amb'a'1'U] [PNU] [Lf] [D'ag'U] [FEU] [ELU] [EU]
Ao b att [psi] circ sph [car_m] [car_Au] [smoot] [m/s2/Hz^(1/2)] bit_s
`

var (
	ucumAtoms    = map[string]bool{} // atom -> metric
	ucumPrefixes = strings.Fields("Y Z E P T G M k h da d c m u n p f a z y Ki Mi Gi Ti")
)

func init() {
	for _, a := range strings.Fields(ucumMetricAtoms) {
		ucumAtoms[a] = true
	}
	for _, a := range strings.Fields(ucumOtherAtoms) {
		ucumAtoms[a] = false
	}
}

// maxUCUMLength bounds the expressions the parser looks at.
const maxUCUMLength = 1024

// checkUCUM checks a UCUM expression: its syntax (terms joined by "." and
// "/", a leading "/", parentheses, exponents, integer factors, annotations in
// braces) and each unit atom against the UCUM table (with a prefix only for
// metric atoms). A well-formed expression whose bracketed atom is not in the
// table is Unknown (UCUM keeps adding such units); anything else that does not
// parse or names no unit is NotMember.
func checkUCUM(code string) Result {
	p := ucumParser{s: code}
	if code == "" {
		return Result{Outcome: NotMember, Message: "empty UCUM unit"}
	}
	if len(code) > maxUCUMLength {
		return Result{Outcome: NotMember, Message: fmt.Sprintf("UCUM unit longer than %d characters", maxUCUMLength)}
	}
	if p.peek() == '/' {
		p.i++
	}
	p.term(0)
	if p.err == "" && p.i < len(p.s) {
		p.fail(fmt.Sprintf("unexpected %q", p.s[p.i]))
	}
	if p.err != "" {
		return Result{Outcome: NotMember, Message: fmt.Sprintf("%q is not a valid UCUM unit: %s", code, p.err)}
	}
	if p.unknown != "" {
		return Result{Outcome: Unknown, Message: fmt.Sprintf("UCUM unit %q is well formed, but its atom %s is not in bcbench's UCUM unit table; it could not be checked", code, p.unknown)}
	}
	return Result{Outcome: Member}
}

type ucumParser struct {
	s       string
	i       int
	err     string
	unknown string
}

func (p *ucumParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *ucumParser) fail(msg string) {
	if p.err == "" {
		p.err = fmt.Sprintf("%s at character %d", msg, p.i+1)
	}
}

func (p *ucumParser) term(depth int) {
	if depth > 32 {
		p.fail("parentheses nested too deep")
		return
	}
	p.component(depth)
	for p.err == "" {
		switch p.peek() {
		case '.', '/':
			p.i++
			p.component(depth)
		default:
			return
		}
	}
}

func (p *ucumParser) component(depth int) {
	switch c := p.peek(); {
	case c == 0:
		p.fail("missing unit")
	case c == '(':
		p.i++
		p.term(depth + 1)
		if p.err != "" {
			return
		}
		if p.peek() != ')' {
			p.fail("missing ')'")
			return
		}
		p.i++
		p.annotation()
	case c == '{':
		p.annotation()
	case c == ')' || c == '.' || c == '/' || c == '}':
		p.fail(fmt.Sprintf("unexpected %q", c))
	default:
		p.simpleUnit()
		p.annotation()
	}
}

// annotation consumes an optional {annotation}.
func (p *ucumParser) annotation() {
	if p.err != "" || p.peek() != '{' {
		return
	}
	end := strings.IndexByte(p.s[p.i:], '}')
	if end < 0 {
		p.fail("unclosed '{'")
		return
	}
	for j := p.i + 1; j < p.i+end; j++ {
		// Printable ASCII, spaces included (as the UCUM reference library
		// accepts them; real Nictiz data uses "{eenheden per dag}").
		if c := p.s[j]; c < 32 || c > 126 {
			p.i = j
			p.fail(fmt.Sprintf("character %q not allowed in an annotation", c))
			return
		}
	}
	p.i += end + 1
}

// simpleUnit reads a symbol (an atom with optional prefix and exponent, or an
// integer factor).
func (p *ucumParser) simpleUnit() {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '[' {
			end := strings.IndexByte(p.s[p.i:], ']')
			if end < 0 {
				p.fail("unclosed '['")
				return
			}
			p.i += end + 1
			continue
		}
		if c == '.' || c == '/' || c == '(' || c == ')' || c == '{' || c == '}' {
			break
		}
		if c < 33 || c > 126 {
			p.fail(fmt.Sprintf("character %q not allowed", c))
			return
		}
		p.i++
	}
	sym := p.s[start:p.i]
	if sym == "" {
		p.fail("missing unit")
		return
	}
	// Trailing exponent (digits after the last ']'), with an optional sign.
	lastBracket := strings.LastIndexByte(sym, ']')
	j := len(sym)
	for j > lastBracket+1 && sym[j-1] >= '0' && sym[j-1] <= '9' {
		j--
	}
	atom := sym[:j]
	if j < len(sym) && j > 0 && (sym[j-1] == '+' || sym[j-1] == '-') {
		atom = sym[:j-1]
	}
	if atom == "" {
		if j == 0 { // an integer factor
			return
		}
		p.fail(fmt.Sprintf("%q is not a unit", sym))
		return
	}
	if _, ok := ucumAtoms[atom]; ok {
		return
	}
	noPrefix := ""
	for _, pre := range ucumPrefixes {
		if rest, ok := strings.CutPrefix(atom, pre); ok && rest != "" {
			if metric, known := ucumAtoms[rest]; known {
				if metric {
					return
				}
				noPrefix = fmt.Sprintf("unit %q takes no prefix (%q)", rest, pre)
			}
		}
	}
	if noPrefix != "" {
		p.i = start
		p.fail(noPrefix)
		return
	}
	if strings.HasPrefix(atom, "[") && strings.HasSuffix(atom, "]") {
		if p.unknown == "" {
			p.unknown = fmt.Sprintf("%q", atom)
		}
		return
	}
	p.i = start
	p.fail(fmt.Sprintf("unknown unit %q", atom))
}
