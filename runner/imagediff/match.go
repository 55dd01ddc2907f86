package imagediff

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
)

// maxYIQDelta is the largest possible YIQ distance between two colours
// (black and white with the weights below); a threshold t accepts distances
// up to maxYIQDelta*t*t.
const maxYIQDelta = 35215

// match is the comparison on packed straight RGBA buffers of w*h pixels. It
// returns the number of differing pixels and, when out is not nil, draws the
// diff image into it (packed RGBA, same size).
//
// Large images are cut into strips of rows that up to GOMAXPROCS goroutines
// take in turn (changes cluster, so fixed halves would leave one goroutine
// idle). A strip only writes its own pixels of out and only reads a and b,
// so strips need no coordination and the count does not depend on the cut.
func match(a, b, out []uint8, w, h int, o *Options) int {
	faded := !o.DiffMask && out != nil
	equal := bytes.Equal(a, b)
	if equal && !faded {
		return 0
	}

	strips := (h + stripRows - 1) / stripRows
	workers := min(runtime.GOMAXPROCS(0), maxWorkers, strips)
	if workers <= 1 {
		return matchRows(a, b, out, w, h, 0, h, equal, o)
	}
	var next, total atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			n := 0
			for k := int(next.Add(1)) - 1; k < strips; k = int(next.Add(1)) - 1 {
				n += matchRows(a, b, out, w, h, k*stripRows, min(h, (k+1)*stripRows), equal, o)
			}
			total.Add(int64(n))
		})
	}
	wg.Wait()
	return int(total.Load())
}

// stripRows is the height of the strips match shares out: small enough to
// balance clustered changes, large enough that taking one costs nothing.
// Past maxWorkers goroutines, memory bandwidth is the limit.
const (
	stripRows  = 32
	maxWorkers = 8
)

// matchRows compares rows y0 to y1 (excluded). equal says that a and b are
// known to be identical, leaving only the faded copy to draw.
func matchRows(a, b, out []uint8, w, h, y0, y1 int, equal bool, o *Options) int {
	faded := !o.DiffMask && out != nil
	start, end := y0*w*4, y1*w*4
	if equal {
		fade(a, out, start, end, o.Alpha)
		return 0
	}

	maxDelta := maxYIQDelta * o.Threshold * o.Threshold
	fadedFrom := start // pixels from here to the current one still need fading
	diff := 0
	for i := start; i+4 <= end; i += 4 {
		if word(a, i) == word(b, i) {
			continue
		}
		delta := colorDelta(a, b, i, i, false)
		if abs(delta) <= maxDelta {
			continue
		}

		if faded {
			fade(a, out, fadedFrom, i, o.Alpha)
			fadedFrom = i + 4
		}
		x, y := (i/4)%w, (i/4)/w
		if !o.IncludeAA && (antialiased(a, b, x, y, w, h) || antialiased(b, a, x, y, w, h)) {
			if faded {
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
	if faded {
		fade(a, out, fadedFrom, end, o.Alpha)
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

// fade paints the pixels of img from byte offset from up to to into out as
// greys of their brightness, faded towards white by alpha and by each
// pixel's own opacity.
//
// Screenshots are mostly runs of one colour and the conversion is the
// costly part, so the last colour converted is remembered, and pixels are
// taken two at a time so that a run costs one load and one store a pair.
func fade(img, out []uint8, from, to int, alpha float64) {
	var src, dst uint32
	valid := false
	i := from
	for ; i+8 <= to; i += 8 {
		p := img[i : i+8 : i+8]
		pair := binary.LittleEndian.Uint64(p)
		first, second := uint32(pair), uint32(pair>>32)
		if !valid || first != src {
			src, dst, valid = first, grey(p[:4], alpha), true
		}
		d := uint64(dst)
		if second != src {
			src, dst = second, grey(p[4:], alpha)
		}
		binary.LittleEndian.PutUint64(out[i:i+8:i+8], d|uint64(dst)<<32)
	}
	if i < to {
		binary.LittleEndian.PutUint32(out[i:i+4:i+4], grey(img[i:i+4:i+4], alpha))
	}
}

// grey is the faded grey of one straight RGBA pixel p as an opaque pixel
// (little-endian RGBA). The fraction is dropped, as storing into pngjs's
// byte buffer does.
func grey(p []uint8, alpha float64) uint32 {
	y := float64(float64(p[0])*0.29889531) + float64(float64(p[1])*0.58662247) +
		float64(float64(p[2])*0.11448223)
	g := uint32(uint8(255 + float64(float64(y-255)*alpha)*float64(p[3])/255))
	return g | g<<8 | g<<16 | 0xff<<24
}
