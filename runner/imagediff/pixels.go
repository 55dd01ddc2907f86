package imagediff

import (
	"image"
	"image/color"
)

// straightRGBA returns img's pixels as tightly packed straight
// (non-premultiplied) RGBA bytes, row by row from the top-left corner. The
// result may share memory with img; it is only read.
//
// The common decoder outputs are converted without a call per pixel through
// an interface; anything else goes through color.NRGBAModel.
func straightRGBA(img image.Image) []uint8 {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	switch m := img.(type) {
	case *image.NRGBA:
		return packRows(m.Pix, m.Stride, m.PixOffset(r.Min.X, r.Min.Y), w, h)
	case *image.RGBA:
		return unpremultiply(m, w, h)
	case *image.YCbCr:
		return fromYCbCr(m, nil, w, h)
	case *image.NYCbCrA:
		return fromYCbCr(&m.YCbCr, m, w, h)
	case *image.Gray:
		return fromGray(m, w, h)
	case *image.Paletted:
		return fromPaletted(m, w, h)
	case *image.NRGBA64:
		return fromNRGBA64(m, w, h)
	case *image.RGBA64:
		return fromRGBA64(m, w, h)
	case *image.Gray16:
		return fromGray16(m, w, h)
	}
	return fromAny(img, w, h)
}

// packRows returns the w*h*4 bytes starting at off, dropping row padding.
func packRows(pix []uint8, stride, off, w, h int) []uint8 {
	n := w * 4
	if stride == n {
		return pix[off : off+n*h]
	}
	out := make([]uint8, n*h)
	for y := range h {
		copy(out[y*n:(y+1)*n], pix[off+y*stride:])
	}
	return out
}

// unpremultiply converts premultiplied RGBA to straight RGBA the way
// color.NRGBAModel does, so a *image.RGBA and its At values agree.
func unpremultiply(m *image.RGBA, w, h int) []uint8 {
	src := packRows(m.Pix, m.Stride, m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y), w, h)
	out := make([]uint8, len(src))
	for i := 0; i < len(src); i += 4 {
		a := uint32(src[i+3])
		switch a {
		case 0xff:
			copy(out[i:i+4], src[i:i+4])
		case 0:
			// Fully transparent: NRGBAModel gives transparent black.
		default:
			for c := range 3 {
				out[i+c] = uint8((uint32(src[i+c]) * 0xffff / a) >> 8)
			}
			out[i+3] = uint8(a)
		}
	}
	return out
}

// fromYCbCr converts a YCbCr image (with straight alpha when alpha is not
// nil) as color.YCbCrToRGB does.
func fromYCbCr(m *image.YCbCr, alpha *image.NYCbCrA, w, h int) []uint8 {
	out := make([]uint8, w*h*4)
	x0, y0 := m.Rect.Min.X, m.Rect.Min.Y
	i := 0
	for y := y0; y < y0+h; y++ {
		for x := x0; x < x0+w; x++ {
			yi, ci := m.YOffset(x, y), m.COffset(x, y)
			r, g, b := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			a := uint8(0xff)
			if alpha != nil {
				a = alpha.A[alpha.AOffset(x, y)]
			}
			out[i], out[i+1], out[i+2], out[i+3] = r, g, b, a
			i += 4
		}
	}
	return out
}

func fromGray(m *image.Gray, w, h int) []uint8 {
	out := make([]uint8, w*h*4)
	i := 0
	for y := range h {
		row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
		for x := range w {
			v := row[x]
			out[i], out[i+1], out[i+2], out[i+3] = v, v, v, 0xff
			i += 4
		}
	}
	return out
}

// fromPaletted converts the palette once. An index past the palette's end
// (which image/png never produces) reads as transparent black.
func fromPaletted(m *image.Paletted, w, h int) []uint8 {
	pal := make([][4]uint8, 256)
	for i, c := range m.Palette {
		if i == len(pal) {
			break
		}
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		pal[i] = [4]uint8{n.R, n.G, n.B, n.A}
	}
	out := make([]uint8, w*h*4)
	i := 0
	for y := range h {
		row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
		for x := range w {
			p := row[x]
			if int(p) < len(m.Palette) {
				copy(out[i:i+4], pal[p][:])
			}
			i += 4
		}
	}
	return out
}

// to8 rescales a 16-bit sample to 8 bits with rounding, as pngjs does when
// it decodes a 16-bit PNG (Go's own conversions drop the low byte instead).
func to8(v uint32) uint8 { return uint8((v*255 + 32767) / 65535) }

func fromNRGBA64(m *image.NRGBA64, w, h int) []uint8 {
	out := make([]uint8, w*h*4)
	i := 0
	for y := range h {
		row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
		for x := range w * 4 {
			out[i] = to8(uint32(row[2*x])<<8 | uint32(row[2*x+1]))
			i++
		}
	}
	return out
}

// fromRGBA64 takes premultiplied 16-bit samples (opaque ones when they come
// from a PNG) back to straight ones before rescaling.
func fromRGBA64(m *image.RGBA64, w, h int) []uint8 {
	out := make([]uint8, w*h*4)
	i := 0
	for y := range h {
		row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
		for x := range w {
			var s [4]uint32
			for c := range 4 {
				s[c] = uint32(row[8*x+2*c])<<8 | uint32(row[8*x+2*c+1])
			}
			if a := s[3]; a != 0xffff {
				for c := range 3 {
					if a == 0 {
						s[c] = 0
					} else {
						s[c] = s[c] * 0xffff / a
					}
				}
			}
			for c := range 4 {
				out[i+c] = to8(s[c])
			}
			i += 4
		}
	}
	return out
}

func fromGray16(m *image.Gray16, w, h int) []uint8 {
	out := make([]uint8, w*h*4)
	i := 0
	for y := range h {
		row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
		for x := range w {
			v := to8(uint32(row[2*x])<<8 | uint32(row[2*x+1]))
			out[i], out[i+1], out[i+2], out[i+3] = v, v, v, 0xff
			i += 4
		}
	}
	return out
}

func fromAny(img image.Image, w, h int) []uint8 {
	r := img.Bounds()
	out := make([]uint8, w*h*4)
	i := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out[i], out[i+1], out[i+2], out[i+3] = c.R, c.G, c.B, c.A
			i += 4
		}
	}
	return out
}
