package screenshots_test

import (
	"context"
	"image"
	"image/color"
	"os"
	"testing"
	"time"

	"github.com/cometa-es/cometa/internal/benchreport"
	"github.com/cometa-es/cometa/runner/screenshots"
)

// pageLike draws a 1920x1080 picture with the traits of a page screenshot:
// flat backgrounds, bars of "text" and a coloured banner.
func pageLike() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 1920, 1080))
	for y := range 1080 {
		for x := range 1920 {
			c := color.NRGBA{R: 250, G: 250, B: 250, A: 255}
			switch {
			case y < 90:
				c = color.NRGBA{R: 30, G: 60, B: uint8(120 + x%100), A: 255}
			case y%28 < 14 && x > 200 && x < 1700 && (x/9+y/28)%7 != 0:
				c = color.NRGBA{R: 40, G: 40, B: 40, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// BenchmarkRendition puts a 1080p screenshot in the store and reports, per
// format, a served rendition found on disk (ms) beside converting it
// (decode and encode at quality 70, what every request would cost without
// the cache), and the rendition's size beside the PNG original's (KB).
func BenchmarkRendition(b *testing.B) {
	ctx := context.Background()
	s, err := screenshots.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	data := encodePNG(b, pageLike())
	name, err := s.Put(ctx, data)
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range []screenshots.Format{screenshots.WebP, screenshots.JPEG} {
		b.Run(f.String(), func(b *testing.B) {
			var convert, cached time.Duration
			var size int64
			for range b.N {
				r, err := s.Rendition(ctx, name, f)
				if err != nil {
					b.Fatal(err)
				}
				if err := os.Remove(r.Path); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				r, err = s.Rendition(ctx, name, f)
				convert += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				start = time.Now()
				if _, err := s.Rendition(ctx, name, f); err != nil {
					b.Fatal(err)
				}
				cached += time.Since(start)
				size = r.Size
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(b.N) / float64(time.Millisecond) }
			benchreport.Record(b, ms(cached), ms(convert), "ms-"+f.String())
			benchreport.Record(b, float64(size)/1024, float64(len(data))/1024, "KB-"+f.String())
		})
	}
}
