package imagediff

// antialiased reports whether the pixel at (x1, y1) of img looks like
// anti-aliasing, judged from its 3x3 neighbourhood (cut at the edges):
//
//   - more than two neighbours of exactly its colour (an edge of the image
//     counts as one) means it sits in a flat area: not anti-aliasing;
//   - otherwise it must have both a darker and a brighter neighbour, and the
//     darkest or the brightest of them must lie in a flat area (more than two
//     equal siblings) in both img and other: the pixel is then a blend
//     between two solid regions.
//
// When several neighbours share the extreme brightness, the first one met
// (column by column, top to bottom) is the one examined, as in pixelmatch.
func antialiased(img, other []uint8, x1, y1, w, h int) bool {
	x0, x2 := max(x1-1, 0), min(x1+1, w-1)
	y0, y2 := max(y1-1, 0), min(y1+1, h-1)
	center := (y1*w + x1) * 4
	c := img[center : center+4 : center+4]
	cr, cg, cb, opaque := int(c[0]), int(c[1]), int(c[2]), c[3] == 255

	zeroes := 0
	if x1 == x0 || x1 == x2 || y1 == y0 || y1 == y2 {
		zeroes = 1
	}
	var lo, hi float64
	var loX, loY, hiX, hiY int
	for x := x0; x <= x2; x++ {
		for y := y0; y <= y2; y++ {
			if x == x1 && y == y1 {
				continue
			}
			// colorDelta(img, img, center, n, true), with two opaque
			// pixels done inline.
			var d float64
			n := (y*w + x) * 4
			if q := img[n : n+4 : n+4]; opaque && q[3] == 255 {
				dr, dg, db := float64(cr-int(q[0])), float64(cg-int(q[1])), float64(cb-int(q[2]))
				d = float64(dr*0.29889531) + float64(dg*0.58662247) + float64(db*0.11448223)
			} else {
				d = colorDelta(img, img, center, n, true)
			}
			switch {
			case d == 0:
				zeroes++
				if zeroes > 2 {
					return false
				}
			case d < lo:
				lo, loX, loY = d, x, y
			case d > hi:
				hi, hiX, hiY = d, x, y
			}
		}
	}
	if lo == 0 || hi == 0 {
		return false
	}

	return (manySiblings(img, loX, loY, w, h) && manySiblings(other, loX, loY, w, h)) ||
		(manySiblings(img, hiX, hiY, w, h) && manySiblings(other, hiX, hiY, w, h))
}

// manySiblings reports whether more than two neighbours of (x1, y1) have
// exactly its RGBA value, an edge of the image counting as one.
func manySiblings(img []uint8, x1, y1, w, h int) bool {
	x0, x2 := max(x1-1, 0), min(x1+1, w-1)
	y0, y2 := max(y1-1, 0), min(y1+1, h-1)
	v := word(img, (y1*w+x1)*4)

	zeroes := 0
	if x1 == x0 || x1 == x2 || y1 == y0 || y1 == y2 {
		zeroes = 1
	}
	for x := x0; x <= x2; x++ {
		for y := y0; y <= y2; y++ {
			if x == x1 && y == y1 {
				continue
			}
			if word(img, (y*w+x)*4) == v {
				zeroes++
				if zeroes > 2 {
					return true
				}
			}
		}
	}
	return false
}
