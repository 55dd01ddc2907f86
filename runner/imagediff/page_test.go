package imagediff

import (
	"image"
	"image/color"
	"math/rand/v2"
)

// page draws a deterministic page-like screenshot: header, sidebar menu,
// cards of anti-aliased "text", gradient pictures and buttons. changed
// draws the same page after a step changed it: one paragraph re-worded, a
// button recoloured, a picture replaced and a card moved down by a pixel.
func page(w, h int, changed bool) *image.NRGBA {
	p := &painter{img: image.NewNRGBA(image.Rect(0, 0, w, h))}
	p.fill(p.img.Rect, color.NRGBA{245, 246, 248, 255})

	p.fill(image.Rect(0, 0, w, 64), color.NRGBA{31, 58, 95, 255})
	p.text(image.Rect(24, 22, 400, 44), 7, color.NRGBA{255, 255, 255, 255}, 1)
	p.fill(image.Rect(0, 64, 280, h), color.NRGBA{232, 234, 238, 255})
	for i := range 14 {
		p.text(image.Rect(24, 96+i*40, 250, 112+i*40), 11, color.NRGBA{50, 55, 60, 255}, 2)
	}

	cardW, cardH := (w-280-4*32)/3, (h-64-3*32)/2
	for i := range 6 {
		x := 280 + 32 + (i%3)*(cardW+32)
		y := 64 + 32 + (i/3)*(cardH+32)
		if changed && i == 4 {
			y++
		}
		p.card(image.Rect(x, y, x+cardW, y+cardH), i, changed)
	}
	return p.img
}

type painter struct{ img *image.NRGBA }

func (p *painter) fill(r image.Rectangle, c color.NRGBA) {
	r = r.Intersect(p.img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p.img.SetNRGBA(x, y, c)
		}
	}
}

// blend paints c over the pixel at (x, y) with coverage f, as a rasteriser
// does at a glyph's edge.
func (p *painter) blend(x, y int, c color.NRGBA, f float64) {
	o := p.img.NRGBAAt(x, y)
	mix := func(a, b uint8) uint8 { return uint8(float64(a)*(1-f) + float64(b)*f + 0.5) }
	p.img.SetNRGBA(x, y, color.NRGBA{mix(o.R, c.R), mix(o.G, c.G), mix(o.B, c.B), 255})
}

// text fills r with lines of words: glyphs are solid boxes whose left and
// right columns are partly covered, like anti-aliased strokes. seed picks
// the words.
func (p *painter) text(r image.Rectangle, lineH int, c color.NRGBA, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 7))
	for y := r.Min.Y; y+lineH <= r.Max.Y; y += lineH + lineH/2 {
		x := r.Min.X
		for x < r.Max.X-12 {
			gw := 4 + rnd.IntN(6)
			top := y + rnd.IntN(3)
			for gy := top; gy < y+lineH; gy++ {
				p.blend(x, gy, c, 0.35)
				for gx := x + 1; gx < x+gw-1; gx++ {
					p.blend(gx, gy, c, 1)
				}
				p.blend(x+gw-1, gy, c, 0.6)
			}
			x += gw + 1
			if rnd.IntN(6) == 0 {
				x += 6
			}
		}
	}
}

func (p *painter) gradient(r image.Rectangle, from, to color.NRGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			f := float64(x-r.Min.X+y-r.Min.Y) / float64(r.Dx()+r.Dy())
			lerp := func(a, b uint8) uint8 { return uint8(float64(a) + (float64(b)-float64(a))*f) }
			p.img.SetNRGBA(x, y, color.NRGBA{lerp(from.R, to.R), lerp(from.G, to.G), lerp(from.B, to.B), 255})
		}
	}
}

func (p *painter) card(r image.Rectangle, i int, changed bool) {
	p.fill(r, color.NRGBA{221, 224, 230, 255})
	inner := r.Inset(1)
	p.fill(inner, color.NRGBA{255, 255, 255, 255})

	x0, y0 := inner.Min.X+20, inner.Min.Y+20
	p.text(image.Rect(x0, y0, inner.Max.X-20, y0+16), 14, color.NRGBA{20, 24, 28, 255}, uint64(10+i))

	pic := image.Rect(x0, y0+32, inner.Max.X-20, y0+32+inner.Dy()/3)
	from, to := color.NRGBA{90, 140, 200, 255}, color.NRGBA{230, 170, 90, 255}
	if changed && i == 2 {
		from, to = color.NRGBA{60, 160, 120, 255}, color.NRGBA{240, 230, 200, 255}
	}
	p.gradient(pic, from, to)

	body := image.Rect(x0, pic.Max.Y+20, inner.Max.X-20, inner.Max.Y-70)
	seed := uint64(100 + i)
	if changed && i == 0 {
		seed = 999
	}
	p.text(body, 10, color.NRGBA{70, 75, 80, 255}, seed)

	button := color.NRGBA{40, 150, 80, 255}
	if changed && i == 1 {
		button = color.NRGBA{200, 60, 50, 255}
	}
	btn := image.Rect(x0, inner.Max.Y-56, x0+160, inner.Max.Y-20)
	p.fill(btn, button)
	p.text(btn.Inset(10), 12, color.NRGBA{255, 255, 255, 255}, uint64(50+i))
}
