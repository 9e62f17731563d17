package geo

import (
	"math"
	"math/big"
)

// ccwErrBound is Shewchuk's error bound for the floating-point orientation
// determinant: when |det| exceeds it, the sign of det is certainly correct.
const ccwErrBound = (3.0 + 16.0*epsilon) * epsilon

const epsilon = 1.0 / (1 << 53)

// orient returns the sign of the orientation of c relative to the directed
// line a->b: +1 if c is to the left, -1 if to the right, 0 if collinear.
// The result is exact: a fast float filter falls back to rational arithmetic
// when the float result might be wrong.
func orient(ax, ay, bx, by, cx, cy float64) int {
	detLeft := (ax - cx) * (by - cy)
	detRight := (ay - cy) * (bx - cx)
	det := detLeft - detRight
	var detSum float64
	switch {
	case detLeft > 0:
		if detRight <= 0 {
			if detRight == 0 && ay != cy && bx != cx {
				return orientExact(ax, ay, bx, by, cx, cy) // detRight underflowed
			}
			return sign(det)
		}
		detSum = detLeft + detRight
	case detLeft < 0:
		if detRight >= 0 {
			if detRight == 0 && ay != cy && bx != cx {
				return orientExact(ax, ay, bx, by, cx, cy) // detRight underflowed
			}
			return sign(det)
		}
		detSum = -detLeft - detRight
	default:
		// detLeft is 0: exact when a factor is 0 (float subtraction is exact
		// at zero), otherwise the product underflowed and only rationals help.
		if (ax == cx || by == cy) && (detRight != 0 || ay == cy || bx == cx) {
			return sign(det)
		}
		return orientExact(ax, ay, bx, by, cx, cy)
	}
	if bound := ccwErrBound * detSum; det >= bound || -det >= bound {
		return sign(det)
	}
	return orientExact(ax, ay, bx, by, cx, cy)
}

func sign(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// orientExact evaluates the orientation determinant with exact rationals.
// Non-finite inputs (which ParseWKT never produces) give 0.
func orientExact(ax, ay, bx, by, cx, cy float64) int {
	for _, v := range [...]float64{ax, ay, bx, by, cx, cy} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
	}
	r := func(v float64) *big.Rat { return new(big.Rat).SetFloat64(v) }
	acx := new(big.Rat).Sub(r(ax), r(cx))
	bcy := new(big.Rat).Sub(r(by), r(cy))
	acy := new(big.Rat).Sub(r(ay), r(cy))
	bcx := new(big.Rat).Sub(r(bx), r(cx))
	left := new(big.Rat).Mul(acx, bcy)
	right := new(big.Rat).Mul(acy, bcx)
	return left.Cmp(right)
}
