package quickjs

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// Number formatting. QuickJS 2021-03-27 formats numbers with printf and
// switches the FPU rounding mode (FE_UPWARD/FE_DOWNWARD) to round ties away
// from zero; WebAssembly has no such modes, so runlet's patch detects exact
// ties from the exact decimal expansion instead, and replaces the radix
// conversion (which printed fractions in base 10). These tests compare the
// module with values node printed on the development machine
// (formatCases) and with ECMAScript's algorithms implemented in Go on exact
// rationals (TestNumberFormattingRandom).

// formatCases: expression -> String(result) under node v20 (V8).
var formatCases = []struct{ expr, want string }{
	{"(1.005).toFixed(2)", "1.00"},
	{"(1.45).toFixed(1)", "1.4"},
	{"(0.5).toFixed(0)", "1"},
	{"(1.5).toFixed(0)", "2"},
	{"(2.5).toFixed(0)", "3"},
	{"(-2.5).toFixed(0)", "-3"},
	{"(-0.5).toFixed(0)", "-1"},
	{"(-0.4).toFixed(0)", "-0"},
	{"(-1.005).toFixed(2)", "-1.00"},
	{"(1e21).toFixed(2)", "1e+21"},
	{"(-1e21).toFixed(2)", "-1e+21"},
	{"(1.23e20).toFixed(2)", "123000000000000000000.00"},
	{"(-0).toFixed(2)", "0.00"},
	{"(0).toFixed(0)", "0"},
	{"(0.000001).toFixed(7)", "0.0000010"},
	{"(123.456).toFixed(10)", "123.4560000000"},
	{"(0.1).toFixed(20)", "0.10000000000000000555"},
	{"(1.255).toFixed(2)", "1.25"},
	{"(8.345).toFixed(2)", "8.35"},
	{"(10.235).toFixed(2)", "10.23"},
	{"(0.125).toFixed(2)", "0.13"},
	{"(0.375).toFixed(2)", "0.38"},
	{"(-0.125).toFixed(2)", "-0.13"},
	{"(999.995).toFixed(2)", "1000.00"},
	{"(9.5).toFixed(0)", "10"},
	{"(99.5).toFixed(0)", "100"},
	{"(-99.5).toFixed(0)", "-100"},
	{"(1e-10).toFixed(3)", "0.000"},
	{"(-1e-10).toFixed(3)", "-0.000"},
	{"(5e-324).toFixed(100)", "0.0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
	{"(4.35).toFixed(1)", "4.3"},
	{"(1.45).toFixed(20)", "1.44999999999999995559"},
	{"(2**53).toFixed(1)", "9007199254740992.0"},
	{"(0.5).toFixed(100)", "0.5000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
	{"(123.456).toPrecision(4)", "123.5"},
	{"(0.00001).toPrecision(1)", "0.00001"},
	{"(1.25).toPrecision(2)", "1.3"},
	{"(1.35).toPrecision(2)", "1.4"},
	{"(2.5).toPrecision(1)", "3"},
	{"(-2.5).toPrecision(1)", "-3"},
	{"(123456).toPrecision(2)", "1.2e+5"},
	{"(0.000001234).toPrecision(2)", "0.0000012"},
	{"(0.0000001234).toPrecision(2)", "1.2e-7"},
	{"(1e21).toPrecision(3)", "1.00e+21"},
	{"(99.99).toPrecision(3)", "100"},
	{"(9.995).toPrecision(3)", "9.99"},
	{"(0).toPrecision(5)", "0.0000"},
	{"(-0).toPrecision(3)", "0.00"},
	{"(1/3).toPrecision(100)", "0.3333333333333333148296162562473909929394721984863281250000000000000000000000000000000000000000000000"},
	{"(5e-324).toPrecision(3)", "4.94e-324"},
	{"(1.7976931348623157e308).toPrecision(5)", "1.7977e+308"},
	{"(0.5).toPrecision(1)", "0.5"},
	{"(15).toPrecision(1)", "2e+1"},
	{"(25).toPrecision(1)", "3e+1"},
	{"(123.456).toExponential(2)", "1.23e+2"},
	{"(0).toExponential()", "0e+0"},
	{"(0).toExponential(2)", "0.00e+0"},
	{"(-0).toExponential(1)", "0.0e+0"},
	{"(1.5).toExponential(0)", "2e+0"},
	{"(2.5).toExponential(0)", "3e+0"},
	{"(1.25e-7).toExponential(1)", "1.2e-7"},
	{"(123456789).toExponential()", "1.23456789e+8"},
	{"(5e-324).toExponential()", "5e-324"},
	{"(1.7976931348623157e308).toExponential()", "1.7976931348623157e+308"},
	{"(0.000123).toExponential(1)", "1.2e-4"},
	{"(-1.45).toExponential(1)", "-1.4e+0"},
	{"(1e21).toExponential(3)", "1.000e+21"},
	{"(3).toExponential(5)", "3.00000e+0"},
	{"(255).toString(16)", "ff"},
	{"(255.5).toString(16)", "ff.8"},
	{"(0.5).toString(2)", "0.1"},
	{"(0.1).toString(2)", "0.0001100110011001100110011001100110011001100110011001101"},
	{"(0.1).toString(3)", "0.0022002200220022002200220022002201"},
	{"(-255.5).toString(2)", "-11111111.1"},
	{"(3.14159).toString(36)", "3.53i0tuycp"},
	{"(2**60).toString(2)", "1000000000000000000000000000000000000000000000000000000000000"},
	{"(2**64+2**20).toString(16)", "10000000000100000"},
	{"(1e21).toString(36)", "5v1j4f4ds7c000"},
	{"(1e300).toString(36)", "fhgyjdfcg7s00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
	{"(-1e-7).toString(2)", "-0.0000000000000000000000011010110101111111001010011010101111001010111101001"},
	{"(123.456).toString(8)", "173.3513615237574734"},
	{"(5e-324).toString(2).length", "1076"},
	{"(Number.MAX_VALUE).toString(16)", "fffffffffffff800000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
	{"(0.000001).toString(7)", "0.00000005523220033662416625"},
	{"(-0).toString(2)", "0"},
	{"(NaN).toString(16)", "NaN"},
	{"(-Infinity).toString(2)", "-Infinity"},
	{"(2**53+2).toString(36)", "2gosa7pa2gy"},
	{"String(0.1+0.2)", "0.30000000000000004"},
	{"String(1e-7)", "1e-7"},
	{"String(123e20)", "1.23e+22"},
	{"String(1e21)", "1e+21"},
	{"String(-0)", "0"},
	{"String(0.000001)", "0.000001"},
	{"String(1.7976931348623157e308)", "1.7976931348623157e+308"},
	{"String(5e-324)", "5e-324"},
	{"String(2**53)", "9007199254740992"},
	{"String(123456789012345680000)", "123456789012345680000"},
	{"String(1/3)", "0.3333333333333333"},
	{"String(-1.5e-9)", "-1.5e-9"},
	{"String(100)", "100"},
	{"String(1e100)", "1e+100"},
	{"String(0.1)", "0.1"},
	{"String(4.35)", "4.35"},
	{"String(2**-1074*3)", "1.5e-323"},
	{"JSON.stringify([0.1, 1e21, -0, 1e-7])", "[0.1,1e+21,0,1e-7]"},
	{"(1234.5678).toFixed(2)", "1234.57"},
	{"(-1234.5678).toFixed(3)", "-1234.568"},
	{"(1.0000000000000002).toString()", "1.0000000000000002"},
	{"(0.30000000000000004).toPrecision(17)", "0.30000000000000004"},
	{"(0.30000000000000004).toPrecision(21)", "0.300000000000000044409"},
	{"(1e-6).toFixed(6)", "0.000001"},
	{"(1e-7).toFixed(6)", "0.000000"},
}

const evalScript = `
export function main(exprs) {
  return exprs.map((e) => {
    try { return String((0, eval)(e)); } catch (err) { return "threw " + err; }
  });
}`

func TestNumberFormattingTable(t *testing.T) {
	t.Parallel()
	g := newGuest(t, evalScript)
	exprs := make([]string, len(formatCases))
	for i, c := range formatCases {
		exprs[i] = c.expr
	}
	var got []string
	if err := json.Unmarshal([]byte(g.run(t, exprs)), &got); err != nil {
		t.Fatal(err)
	}
	for i, c := range formatCases {
		if got[i] != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got[i], c.want)
		}
	}
}

// TestNumberFormattingRandom checks toFixed, toExponential, toPrecision
// and String on thousands of doubles chosen to hit ties (dyadic
// fractions), near-ties (short decimals), and arbitrary bit patterns.
func TestNumberFormattingRandom(t *testing.T) {
	t.Parallel()
	const seed = 20210327
	r := rand.New(rand.NewPCG(seed, 1))
	var xs []float64
	var fs, ps []int
	add := func(x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		xs = append(xs, x)
		f := r.IntN(21)
		if r.IntN(10) == 0 {
			f = r.IntN(101)
		}
		p := 1 + r.IntN(21)
		if r.IntN(10) == 0 {
			p = 1 + r.IntN(100)
		}
		fs = append(fs, f)
		ps = append(ps, p)
	}
	sign := func() float64 {
		if r.IntN(2) == 0 {
			return -1
		}
		return 1
	}
	for range 1500 {
		// Dyadic rationals m/2^j: exact decimal ties for toFixed and
		// toPrecision at many positions.
		add(sign() * float64(r.IntN(1<<20)) / float64(uint64(1)<<r.IntN(12)))
		// Short decimals such as 1.005 or 8.345: ties in decimal, not in
		// binary.
		d := strconv.Itoa(r.IntN(100000)) + "." + strconv.Itoa(r.IntN(1000)) + "5"
		x, _ := strconv.ParseFloat(d, 64)
		add(sign() * x)
		// Arbitrary bit patterns (any magnitude, subnormals included).
		add(math.Float64frombits(r.Uint64()))
		// Arbitrary values of moderate magnitude.
		add(sign() * r.Float64() * math.Pow(10, float64(r.IntN(30)-10)))
	}
	add(0)
	add(math.Copysign(0, -1))
	add(5e-324)
	add(math.MaxFloat64)

	g := newGuest(t, `
export function main(xs, fs, ps) {
  return xs.map((x, i) => [
    Math.abs(x) < 1e21 ? x.toFixed(fs[i]) : "",
    x.toExponential(fs[i]),
    x.toPrecision(ps[i]),
    String(x),
    x.toExponential(),
  ]);
}`)
	var got [][5]string
	if err := json.Unmarshal([]byte(g.run(t, xs, fs, ps)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(xs) {
		t.Fatalf("%d results for %d numbers", len(got), len(xs))
	}
	fails := 0
	check := func(what string, x float64, got, want string) {
		if got != want {
			fails++
			if fails <= 40 {
				t.Errorf("(%s).%s = %q, want %q", strconv.FormatFloat(x, 'g', -1, 64), what, got, want)
			}
		}
	}
	for i, x := range xs {
		if math.Abs(x) < 1e21 {
			check(fmt.Sprintf("toFixed(%d)", fs[i]), x, got[i][0], toFixed(x, fs[i]))
		}
		check(fmt.Sprintf("toExponential(%d)", fs[i]), x, got[i][1], toExponential(x, fs[i]))
		check(fmt.Sprintf("toPrecision(%d)", ps[i]), x, got[i][2], toPrecision(x, ps[i]))
		check("toString()", x, got[i][3], numberToString(x))
		check("toExponential()", x, got[i][4], toExponentialShortest(x))
	}
	if fails > 0 {
		t.Errorf("%d of %d conversions wrong (seed %d)", fails, 5*len(xs), seed)
	}
}

// The ECMAScript algorithms (ECMA-262, Number.prototype.toFixed,
// toExponential, toPrecision and Number::toString), on exact rationals.

// roundHalfUp returns floor(r + 1/2) for r >= 0.
func roundHalfUp(r *big.Rat) *big.Int {
	h := new(big.Rat).Add(r, big.NewRat(1, 2))
	return new(big.Int).Quo(h.Num(), h.Denom())
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// ratPow10 is 10^n as a rational, for any sign of n.
func ratPow10(n int) *big.Rat {
	if n >= 0 {
		return new(big.Rat).SetInt(pow10(n))
	}
	return new(big.Rat).SetFrac(big.NewInt(1), pow10(-n))
}

func signOf(x float64) string {
	if x < 0 {
		return "-"
	}
	return ""
}

func toFixed(x float64, f int) string {
	r := new(big.Rat).SetFloat64(math.Abs(x))
	n := roundHalfUp(r.Mul(r, ratPow10(f))).String()
	if f > 0 {
		if len(n) <= f {
			n = strings.Repeat("0", f+1-len(n)) + n
		}
		n = n[:len(n)-f] + "." + n[len(n)-f:]
	}
	return signOf(x) + n
}

// expDigits returns the f+1 digits n and exponent e with n*10^(e-f)
// closest to |x| (ties: the larger n); x != 0.
func expDigits(x float64, f int) (string, int) {
	r := new(big.Rat).SetFloat64(math.Abs(x))
	// e = floor(log10(r)), found from an estimate and corrected exactly.
	e := int(math.Floor(math.Log10(math.Abs(x))))
	for r.Cmp(ratPow10(e)) < 0 {
		e--
	}
	for r.Cmp(ratPow10(e+1)) >= 0 {
		e++
	}
	n := roundHalfUp(new(big.Rat).Mul(r, ratPow10(f-e)))
	if n.Cmp(pow10(f+1)) >= 0 {
		n.Quo(n, big.NewInt(10))
		e++
	}
	return n.String(), e
}

func expString(digits string, e int) string {
	s := digits[:1]
	if len(digits) > 1 {
		s += "." + digits[1:]
	}
	if e >= 0 {
		return s + "e+" + strconv.Itoa(e)
	}
	return s + "e-" + strconv.Itoa(-e)
}

func toExponential(x float64, f int) string {
	if x == 0 {
		return expString(strings.Repeat("0", f+1), 0)
	}
	d, e := expDigits(x, f)
	return signOf(x) + expString(d, e)
}

func toPrecision(x float64, p int) string {
	if x == 0 {
		s := "0"
		if p > 1 {
			s += "." + strings.Repeat("0", p-1)
		}
		return s
	}
	d, e := expDigits(x, p-1)
	switch {
	case e < -6 || e >= p:
		return signOf(x) + expString(d, e)
	case e == p-1:
		return signOf(x) + d
	case e >= 0:
		return signOf(x) + d[:e+1] + "." + d[e+1:]
	default:
		return signOf(x) + "0." + strings.Repeat("0", -(e+1)) + d
	}
}

// shortest returns the shortest digits that read back as x (the closest
// of them) and the decimal exponent of the first digit.
func shortest(x float64) (string, int) {
	s := strconv.FormatFloat(math.Abs(x), 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	e, _ := strconv.Atoi(exp)
	return strings.Replace(mant, ".", "", 1), e
}

func numberToString(x float64) string {
	if x == 0 {
		return "0"
	}
	d, e := shortest(x)
	k, n := len(d), e+1
	switch {
	case k <= n && n <= 21:
		return signOf(x) + d + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return signOf(x) + d[:n] + "." + d[n:]
	case -6 < n && n <= 0:
		return signOf(x) + "0." + strings.Repeat("0", -n) + d
	default:
		return signOf(x) + expString(d, n-1)
	}
}

func toExponentialShortest(x float64) string {
	if x == 0 {
		return "0e+0"
	}
	d, e := shortest(x)
	return signOf(x) + expString(d, e)
}

// TestReferenceFormatters checks the Go reference implementations above
// against values node printed, so that the random test compares against
// something trustworthy.
func TestReferenceFormatters(t *testing.T) {
	t.Parallel()
	pointOne, pointTwo := 0.1, 0.2 // variables: constants would add exactly
	for _, c := range []struct {
		got, want string
	}{
		{toFixed(1.005, 2), "1.00"},
		{toFixed(1.45, 1), "1.4"},
		{toFixed(0.5, 0), "1"},
		{toFixed(-2.5, 0), "-3"},
		{toFixed(-0.4, 0), "-0"},
		{toFixed(math.Copysign(0, -1), 2), "0.00"},
		{toFixed(0.000001, 7), "0.0000010"},
		{toFixed(999.995, 2), "1000.00"},
		{toFixed(0.1, 20), "0.10000000000000000555"},
		{toPrecision(123.456, 4), "123.5"},
		{toPrecision(0.00001, 1), "0.00001"},
		{toPrecision(0.0000001234, 2), "1.2e-7"},
		{toPrecision(1e21, 3), "1.00e+21"},
		{toPrecision(9.995, 3), "9.99"},
		{toPrecision(25, 1), "3e+1"},
		{toPrecision(0, 5), "0.0000"},
		{toExponential(123.456, 2), "1.23e+2"},
		{toExponential(0, 2), "0.00e+0"},
		{toExponential(2.5, 0), "3e+0"},
		{toExponential(-1.45, 1), "-1.4e+0"},
		{numberToString(pointOne + pointTwo), "0.30000000000000004"},
		{numberToString(1e-7), "1e-7"},
		{numberToString(123e20), "1.23e+22"},
		{numberToString(123456789012345680000), "123456789012345680000"},
		{numberToString(1e21), "1e+21"},
		{numberToString(0.000001), "0.000001"},
		{numberToString(5e-324), "5e-324"},
		{toExponentialShortest(123456789), "1.23456789e+8"},
		{toExponentialShortest(5e-324), "5e-324"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
