package imagediff

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// fill returns a w x h opaque image of one colour.
func fill(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func clone(img *image.NRGBA) *image.NRGBA {
	c := *img
	c.Pix = append([]uint8(nil), img.Pix...)
	return &c
}

func pixel(img *image.RGBA, x, y int) color.RGBA {
	i := img.PixOffset(x, y)
	return color.RGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3]}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCompareErrors(t *testing.T) {
	t.Parallel()
	png1a := readFile(t, "1a.png")
	truncated := png1a[:len(png1a)/2]
	missing := filepath.Join(t.TempDir(), "missing.png")
	garbage := filepath.Join(t.TempDir(), "garbage.png")
	if err := os.WriteFile(garbage, []byte("not an image at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	withThreshold := func(v float64) Options { o := DefaultOptions(); o.Threshold = v; return o }
	withAlpha := func(v float64) Options { o := DefaultOptions(); o.Alpha = v; return o }
	fixture := func(name string) string { return filepath.Join("testdata", name) }

	tests := []struct {
		name string
		run  func() (Result, error)
		want error
	}{
		{"sizes differ", func() (Result, error) {
			return Compare(fill(3, 2, color.NRGBA{A: 255}), fill(2, 3, color.NRGBA{A: 255}), DefaultOptions(), false)
		}, ErrSizeMismatch},
		{"file sizes differ", func() (Result, error) {
			return CompareFiles(fixture("1a.png"), fixture("2a.png"), DefaultOptions())
		}, ErrSizeMismatch},
		{"missing file", func() (Result, error) {
			return CompareFiles(missing, fixture("1a.png"), DefaultOptions())
		}, fs.ErrNotExist},
		{"not an image", func() (Result, error) {
			return CompareFiles(fixture("1a.png"), garbage, DefaultOptions())
		}, ErrDecode},
		{"truncated png", func() (Result, error) {
			return CompareBytes(png1a, truncated, DefaultOptions(), false)
		}, ErrDecode},
		{"empty bytes", func() (Result, error) {
			return CompareBytes(nil, png1a, DefaultOptions(), false)
		}, ErrDecode},
		{"threshold below 0", func() (Result, error) {
			return CompareFiles(fixture("1a.png"), fixture("1b.png"), withThreshold(-0.01))
		}, ErrInvalidOptions},
		{"threshold above 1", func() (Result, error) {
			return CompareBytes(png1a, png1a, withThreshold(1.5), false)
		}, ErrInvalidOptions},
		{"threshold NaN", func() (Result, error) {
			return Compare(fill(1, 1, color.NRGBA{}), fill(1, 1, color.NRGBA{}), withThreshold(math.NaN()), false)
		}, ErrInvalidOptions},
		{"alpha above 1", func() (Result, error) {
			return Compare(fill(1, 1, color.NRGBA{}), fill(1, 1, color.NRGBA{}), withAlpha(2), true)
		}, ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := tt.run()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if res != (Result{}) {
				t.Errorf("result = %+v beside an error, want zero", res)
			}
		})
	}
}

func TestSizeMismatchErrorNamesBothSizes(t *testing.T) {
	t.Parallel()
	_, err := Compare(fill(4, 3, color.NRGBA{}), fill(5, 6, color.NRGBA{}), DefaultOptions(), false)
	var sm *SizeMismatchError
	if !errors.As(err, &sm) {
		t.Fatalf("err = %v, want a *SizeMismatchError", err)
	}
	if sm.A != image.Pt(4, 3) || sm.B != image.Pt(5, 6) {
		t.Errorf("sizes = %v and %v, want (4,3) and (5,6)", sm.A, sm.B)
	}
	if got, want := err.Error(), "image sizes differ: 4x3 and 5x6"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestIdenticalImagesAreZero(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"1a.png", "2a.png", "8a.png", "bar.webp"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := readFile(t, name)
			opts := DefaultOptions()
			opts.Threshold = 0
			opts.IncludeAA = true
			res, err := CompareBytes(data, bytes.Clone(data), opts, true)
			if err != nil {
				t.Fatal(err)
			}
			if res.DiffPixels != 0 {
				t.Errorf("DiffPixels = %d, want 0", res.DiffPixels)
			}
			if res.Diff == nil || res.Diff.Rect.Size() != image.Pt(res.Width, res.Height) {
				t.Errorf("diff image missing or of the wrong size")
			}
		})
	}
}

func TestDiffImageColours(t *testing.T) {
	t.Parallel()
	// Grey of (100,150,200) faded to alpha 0.1: brightness 140.78, so
	// 255 + (140.78-255)*0.1 = 243.58, stored as 243.
	bg := color.NRGBA{100, 150, 200, 255}
	faded := color.RGBA{243, 243, 243, 255}
	red := color.RGBA{255, 0, 0, 255}
	green := color.RGBA{0, 255, 0, 255}

	a := fill(4, 4, bg)
	b := clone(a)
	b.SetNRGBA(1, 1, color.NRGBA{0, 0, 0, 255})       // darker in b
	b.SetNRGBA(2, 3, color.NRGBA{255, 255, 255, 255}) // brighter in b

	tests := []struct {
		name       string
		alt        *color.RGBA
		mask       bool
		dark, lite color.RGBA
		other      color.RGBA
	}{
		{"defaults", nil, false, red, red, faded},
		{"alt colour for darker", &green, false, green, red, faded},
		{"mask", nil, true, red, red, color.RGBA{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := DefaultOptions()
			opts.DiffColorAlt = tt.alt
			opts.DiffMask = tt.mask
			res, err := Compare(a, b, opts, true)
			if err != nil {
				t.Fatal(err)
			}
			if res.DiffPixels != 2 {
				t.Errorf("DiffPixels = %d, want 2", res.DiffPixels)
			}
			for y := range 4 {
				for x := range 4 {
					want := tt.other
					switch image.Pt(x, y) {
					case image.Pt(1, 1):
						want = tt.dark
					case image.Pt(2, 3):
						want = tt.lite
					}
					if got := pixel(res.Diff, x, y); got != want {
						t.Errorf("pixel (%d,%d) = %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
}

// TestAntialiasing softens a black/white edge by one grey column: the grey
// pixels sit between two flat regions, so they count only with IncludeAA and
// are drawn yellow otherwise.
func TestAntialiasing(t *testing.T) {
	t.Parallel()
	a := fill(6, 5, color.NRGBA{255, 255, 255, 255})
	for y := range 5 {
		for x := range 3 {
			a.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 255})
		}
	}
	b := clone(a)
	for y := range 5 {
		b.SetNRGBA(3, y, color.NRGBA{128, 128, 128, 255})
	}

	for _, includeAA := range []bool{false, true} {
		opts := DefaultOptions()
		opts.IncludeAA = includeAA
		res, err := Compare(a, b, opts, true)
		if err != nil {
			t.Fatal(err)
		}
		want, mark := 0, opts.AAColor
		if includeAA {
			want, mark = 5, opts.DiffColor
		}
		if res.DiffPixels != want {
			t.Errorf("IncludeAA %v: DiffPixels = %d, want %d", includeAA, res.DiffPixels, want)
		}
		for y := range 5 {
			if got := pixel(res.Diff, 3, y); got != mark {
				t.Errorf("IncludeAA %v: pixel (3,%d) = %v, want %v", includeAA, y, got, mark)
			}
		}
	}
}

// TestInputForms checks that the same pixels give the same count whatever
// form they come in: premultiplied RGBA, a sub-image with a non-zero origin,
// a JPEG.
func TestInputForms(t *testing.T) {
	t.Parallel()
	a := fill(8, 8, color.NRGBA{10, 200, 30, 255})
	a.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 128})
	b := clone(a)
	b.SetNRGBA(5, 5, color.NRGBA{250, 0, 0, 255})

	premul := image.NewRGBA(a.Rect)
	for y := range 8 {
		for x := range 8 {
			premul.Set(x, y, a.At(x, y))
		}
	}
	big := fill(20, 20, color.NRGBA{1, 2, 3, 255})
	for y := range 8 {
		for x := range 8 {
			big.SetNRGBA(x+7, y+9, b.NRGBAAt(x, y))
		}
	}
	sub := big.SubImage(image.Rect(7, 9, 15, 17))

	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, fill(16, 16, color.NRGBA{90, 90, 90, 255}), nil); err != nil {
		t.Fatal(err)
	}
	jpg := buf.Bytes()
	buf = bytes.Buffer{}
	if err := png.Encode(&buf, fill(16, 16, color.NRGBA{90, 90, 90, 255})); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		run  func() (Result, error)
		want int
	}{
		{"premultiplied equals straight", func() (Result, error) {
			return Compare(premul, a, DefaultOptions(), false)
		}, 0},
		{"premultiplied beside changed", func() (Result, error) {
			return Compare(premul, b, DefaultOptions(), false)
		}, 1},
		{"sub-image", func() (Result, error) { return Compare(a, sub, DefaultOptions(), false) }, 1},
		{"jpeg of a flat grey beside png", func() (Result, error) {
			return CompareBytes(jpg, buf.Bytes(), DefaultOptions(), false)
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := tt.run()
			if err != nil {
				t.Fatal(err)
			}
			if res.DiffPixels != tt.want {
				t.Errorf("DiffPixels = %d, want %d", res.DiffPixels, tt.want)
			}
		})
	}
}

// TestWebP compares two lossy (quality 70) WebP screenshots in which a dark
// bar grows by 12x6 pixels at (40,30): the differing pixels must all lie in
// that rectangle, compression noise elsewhere staying under the threshold.
func TestWebP(t *testing.T) {
	t.Parallel()
	res, err := CompareBytes(readFile(t, "bar.webp"), readFile(t, "bar-longer.webp"), DefaultOptions(), true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Width != 64 || res.Height != 48 {
		t.Fatalf("size = %dx%d, want 64x48", res.Width, res.Height)
	}
	if res.DiffPixels == 0 || res.DiffPixels > 72 {
		t.Errorf("DiffPixels = %d, want 1..72", res.DiffPixels)
	}
	changed := image.Rect(40, 30, 52, 36)
	red := DefaultOptions().DiffColor
	marked := 0
	for y := range res.Height {
		for x := range res.Width {
			if pixel(res.Diff, x, y) != red {
				continue
			}
			marked++
			if !image.Pt(x, y).In(changed) {
				t.Errorf("pixel (%d,%d) marked outside the change %v", x, y, changed)
			}
		}
	}
	if marked != res.DiffPixels {
		t.Errorf("%d pixels marked red, DiffPixels = %d", marked, res.DiffPixels)
	}
}

// TestStripsAgreeWithOnePass checks that sharing the rows out among
// goroutines gives the count and diff image of a single pass.
func TestStripsAgreeWithOnePass(t *testing.T) {
	t.Parallel()
	before, after := page(640, 480, false), page(640, 480, true)
	opts := DefaultOptions()
	got, err := Compare(before, after, opts, true)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]uint8, len(before.Pix))
	n := matchRows(before.Pix, after.Pix, want, 640, 480, 0, 480, false, &opts)
	if got.DiffPixels != n || n == 0 {
		t.Errorf("DiffPixels = %d, one pass counts %d (want equal and non-zero)", got.DiffPixels, n)
	}
	if !bytes.Equal(got.Diff.Pix, want) {
		t.Error("diff image differs from the one-pass diff image")
	}
}
