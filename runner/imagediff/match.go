package imagediff

import (
	"bytes"
	"encoding/binary"
)

// maxYIQDelta is the largest possible YIQ distance between two colours
// (black and white with the weights below); a threshold t accepts distances
// up to maxYIQDelta*t*t.
const maxYIQDelta = 35215

// match is the comparison on packed straight RGBA buffers of w*h pixels. It
// returns the number of differing pixels and, when out is not nil, draws the
// diff image into it (packed RGBA, same size).
func match(a, b, out []uint8, w, h int, o *Options) int {
	if bytes.Equal(a, b) {
		if out != nil && !o.DiffMask {
			for i := 0; i < len(a); i += 4 {
				drawGray(a, out, i, o.Alpha)
			}
		}
		return 0
	}

	maxDelta := maxYIQDelta * o.Threshold * o.Threshold
	diff := 0
	for y := range h {
		for x := range w {
			i := (y*w + x) * 4
			delta := 0.0
			if word(a, i) != word(b, i) {
				delta = colorDelta(a, b, i, i, false)
			}
			if abs(delta) <= maxDelta {
				if out != nil && !o.DiffMask {
					drawGray(a, out, i, o.Alpha)
				}
				continue
			}

			if !o.IncludeAA && (antialiased(a, b, x, y, w, h) || antialiased(b, a, x, y, w, h)) {
				if out != nil && !o.DiffMask {
					drawPixel(out, i, o.AAColor.R, o.AAColor.G, o.AAColor.B)
				}
				continue
			}
			if out != nil {
				c := o.DiffColor
				if delta < 0 && o.DiffColorAlt != nil {
					c = *o.DiffColorAlt
				}
				drawPixel(out, i, c.R, c.G, c.B)
			}
			diff++
		}
	}
	return diff
}

// word is the pixel at byte offset i as one value, to test equality of all
// four channels at once.
func word(p []uint8, i int) uint32 { return binary.LittleEndian.Uint32(p[i : i+4]) }

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// colorDelta is the YIQ distance between the pixel at byte offset k of a and
// the one at byte offset m of b, or only the brightness difference when
// yOnly. The distance is negative when the second pixel is darker, so that
// callers can tell added from removed content.
//
// A pixel that is not opaque is first blended with a background. The
// background depends on the position k so that a change hidden under
// transparency on one background is not hidden on all of them.
//
// The order of the floating-point operations is that of pixelmatch, so that
// results on the threshold's edge agree exactly; the explicit float64
// conversions keep the compiler from fusing multiply-adds, which would round
// differently.
func colorDelta(a, b []uint8, k, m int, yOnly bool) float64 {
	r1, g1, b1, a1 := int(a[k]), int(a[k+1]), int(a[k+2]), int(a[k+3])
	r2, g2, b2, a2 := int(b[m]), int(b[m+1]), int(b[m+2]), int(b[m+3])
	if r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2 {
		return 0
	}

	var dr, dg, db float64
	if a1 < 255 || a2 < 255 {
		rb, gb, bb := background(k)
		da := a1 - a2
		dr = float64(r1*a1-r2*a2-rb*da) / 255
		dg = float64(g1*a1-g2*a2-gb*da) / 255
		db = float64(b1*a1-b2*a2-bb*da) / 255
	} else {
		dr, dg, db = float64(r1-r2), float64(g1-g2), float64(b1-b2)
	}

	y := float64(dr*0.29889531) + float64(dg*0.58662247) + float64(db*0.11448223)
	if yOnly {
		return y
	}
	i := float64(dr*0.59597799) - float64(dg*0.27417610) - float64(db*0.32180189)
	q := float64(dr*0.21147017) - float64(dg*0.52261711) + float64(db*0.31114694)
	delta := float64(0.5053*y*y) + float64(0.299*i*i) + float64(0.1957*q*q)
	if y > 0 {
		return -delta
	}
	return delta
}

// background is the colour that a non-opaque pixel at byte offset k is
// blended with: each channel is 48 or 207, alternating with k at periods
// set by the golden ratio.
func background(k int) (r, g, b int) {
	r = 48 + 159*(k%2)
	g = 48 + 159*(int(float64(k)/1.618033988749895)%2)
	b = 48 + 159*(int(float64(k)/2.618033988749895)%2)
	return r, g, b
}

// drawPixel paints an opaque pixel at byte offset i.
func drawPixel(out []uint8, i int, r, g, b uint8) {
	out[i], out[i+1], out[i+2], out[i+3] = r, g, b, 255
}

// drawGray paints the pixel at byte offset i of img as a grey of its
// brightness, faded towards white by alpha and by the pixel's own opacity.
// The fraction is dropped, as storing into pngjs's byte buffer does.
func drawGray(img, out []uint8, i int, alpha float64) {
	y := float64(float64(img[i])*0.29889531) + float64(float64(img[i+1])*0.58662247) +
		float64(float64(img[i+2])*0.11448223)
	v := 255 + float64(float64(y-255)*alpha)*float64(img[i+3])/255
	g := uint8(v)
	drawPixel(out, i, g, g, g)
}
