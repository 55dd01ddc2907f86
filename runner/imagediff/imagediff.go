// Package imagediff counts the pixels that differ between a step's
// screenshot and its baseline, with the semantics of pixelmatch 7.2.0 (the
// comparison behind Playwright's toHaveScreenshot): a perceptual YIQ colour
// distance against a threshold, semi-transparent pixels blended with a
// background before comparing, and anti-aliased pixels left out of the count
// unless asked for.
//
// Counts are exact: for the same straight (non-premultiplied) RGBA pixels and
// options, DiffPixels equals what pixelmatch returns. Images of different
// sizes are an error, never resized.
package imagediff

import (
	"errors"
	"fmt"
	"image"
	"image/color"
)

// Error categories; test with errors.Is.
var (
	// ErrSizeMismatch: the two images do not have the same width and height.
	// The error is a *SizeMismatchError.
	ErrSizeMismatch = errors.New("image sizes differ")
	// ErrInvalidOptions: a threshold or alpha outside 0..1.
	ErrInvalidOptions = errors.New("invalid comparison options")
	// ErrDecode: the bytes are not a PNG, JPEG or WebP image that can be read.
	ErrDecode = errors.New("undecodable image")
)

// SizeMismatchError names the sizes of two images that cannot be compared.
type SizeMismatchError struct {
	A, B image.Point // width and height of each image
}

func (e *SizeMismatchError) Error() string {
	return fmt.Sprintf("%v: %dx%d and %dx%d", ErrSizeMismatch, e.A.X, e.A.Y, e.B.X, e.B.Y)
}

// Is makes errors.Is(err, ErrSizeMismatch) true for a *SizeMismatchError.
func (e *SizeMismatchError) Is(target error) bool { return target == ErrSizeMismatch }

// Options are the knobs of a comparison, named as pixelmatch names them.
// Start from DefaultOptions: the zero value means threshold 0 (any change
// counts), alpha 0 and black marker colours.
type Options struct {
	// Threshold is the matching threshold, 0..1; smaller is more sensitive.
	// Two pixels differ when their YIQ distance exceeds 35215*Threshold².
	Threshold float64
	// IncludeAA counts pixels detected as anti-aliasing as different.
	IncludeAA bool
	// Alpha is the opacity, 0..1, of the faded grey copy of the first image
	// drawn where pixels match.
	Alpha float64
	// AAColor marks anti-aliased pixels in the diff image (alpha ignored).
	AAColor color.RGBA
	// DiffColor marks differing pixels in the diff image (alpha ignored).
	DiffColor color.RGBA
	// DiffColorAlt, when set, marks differing pixels that are darker in the
	// second image, to tell added from removed content.
	DiffColorAlt *color.RGBA
	// DiffMask draws only the marks on a transparent background instead of
	// over the faded first image.
	DiffMask bool
}

// DefaultOptions returns pixelmatch's defaults: threshold 0.1, anti-aliased
// pixels excluded, alpha 0.1, yellow for anti-aliasing and red for
// differences.
func DefaultOptions() Options {
	return Options{
		Threshold: 0.1,
		Alpha:     0.1,
		AAColor:   color.RGBA{R: 255, G: 255, A: 255},
		DiffColor: color.RGBA{R: 255, A: 255},
	}
}

// Validate reports a threshold or alpha outside 0..1 (or NaN).
func (o Options) Validate() error {
	if !(o.Threshold >= 0 && o.Threshold <= 1) {
		return fmt.Errorf("threshold %v not in 0..1: %w", o.Threshold, ErrInvalidOptions)
	}
	if !(o.Alpha >= 0 && o.Alpha <= 1) {
		return fmt.Errorf("alpha %v not in 0..1: %w", o.Alpha, ErrInvalidOptions)
	}
	return nil
}

// Result is the outcome of a comparison.
type Result struct {
	// DiffPixels is the number of differing pixels, anti-aliased ones
	// excluded unless Options.IncludeAA.
	DiffPixels int
	// Width and Height are the size of both images.
	Width, Height int
	// Diff is the diff image, or nil when it was not asked for. Its origin
	// is (0, 0) whatever the bounds of the inputs.
	Diff *image.RGBA
}

// Compare counts the pixels that differ between a and b, and draws the diff
// image when wantDiff is set. Both images are read as straight RGBA with
// 8 bits a channel, as pixelmatch reads what pngjs decodes. Large images are
// compared by up to GOMAXPROCS goroutines; the result is the same.
func Compare(a, b image.Image, opts Options, wantDiff bool) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	sa, sb := a.Bounds().Size(), b.Bounds().Size()
	if sa != sb {
		return Result{}, &SizeMismatchError{A: sa, B: sb}
	}

	pa, pb := straightRGBA(a), straightRGBA(b)
	res := Result{Width: sa.X, Height: sa.Y}
	var out []uint8
	if wantDiff {
		res.Diff = image.NewRGBA(image.Rect(0, 0, sa.X, sa.Y))
		out = res.Diff.Pix
	}
	res.DiffPixels = match(pa, pb, out, sa.X, sa.Y, &opts)
	return res, nil
}
