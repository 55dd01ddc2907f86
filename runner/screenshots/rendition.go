package screenshots

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	_ "image/png" // decodes PNG originals
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/gen2brain/webp" // encodes renditions; decodes WebP originals

	"github.com/cometa-es/cometa/domain"
)

// Quality is the quality of the compressed renditions, Cometa's 70.
const Quality = 70

// webpMethod is libwebp's speed/size trade-off (0 fast .. 6 small). 2
// costs about half the time of the default 4 for a few percent more bytes
// on page screenshots, which matters when gen2brain/webp runs libwebp as
// WebAssembly (it does unless the system's libwebp.so and libwebpdemux.so,
// Debian's libwebp-dev, can be loaded).
const webpMethod = 2

// Format is an image format of originals and renditions.
type Format int

// The formats the store knows.
const (
	PNG Format = iota + 1
	JPEG
	WebP
)

func (f Format) ext() string {
	switch f {
	case PNG:
		return "png"
	case JPEG:
		return "jpg"
	case WebP:
		return "webp"
	}
	return ""
}

// ContentType returns the format's media type.
func (f Format) ContentType() string {
	switch f {
	case PNG:
		return "image/png"
	case JPEG:
		return "image/jpeg"
	case WebP:
		return "image/webp"
	}
	return "application/octet-stream"
}

// String returns the format's extension.
func (f Format) String() string { return f.ext() }

// Negotiate picks a rendition's format from a request's Accept header. As
// in Cometa, WebP needs image/webp named; it is picked when its q is above
// 0 and at least JPEG's, whose q is that of the most specific of
// image/jpeg, image/* and */* present (none: not acceptable). Anything
// else is JPEG, which every client can show, even when Accept makes
// neither acceptable. A range whose q is not a number from 0 to 1 is left
// out.
func Negotiate(accept string) Format {
	webp, jpeg := -1.0, -1.0
	jpegRank := 0
	for _, item := range strings.Split(accept, ",") {
		mediaRange, params, _ := strings.Cut(item, ";")
		mediaRange = strings.ToLower(strings.TrimSpace(mediaRange))
		q, ok := quality(params)
		if !ok {
			continue
		}
		if mediaRange == "image/webp" {
			webp = q
		} else if r := jpegRange(mediaRange); r > jpegRank {
			jpeg, jpegRank = q, r
		}
	}
	if webp > 0 && webp >= jpeg {
		return WebP
	}
	return JPEG
}

// jpegRange ranks the media ranges that match JPEG, the most specific
// highest; 0 is a range that does not.
func jpegRange(mediaRange string) int {
	switch mediaRange {
	case "image/jpeg":
		return 3
	case "image/*":
		return 2
	case "*/*":
		return 1
	}
	return 0
}

// quality reads the q of an Accept item's parameters, 1 without one;
// false when it is not a number from 0 to 1.
func quality(params string) (float64, bool) {
	for _, p := range strings.Split(params, ";") {
		key, value, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(key), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		return q, err == nil && q >= 0 && q <= 1
	}
	return 1, true
}

// sniff tells the format of encoded image bytes by their signature.
func sniff(data []byte) (Format, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		return JPEG, nil
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return WebP, nil
	}
	return 0, domain.Invalid("screenshot", "not a PNG, JPEG or WebP image")
}

// Rendition is a compressed copy of a screenshot, ready to be served.
type Rendition struct {
	// Path is the file on disk.
	Path string
	// Format is WebP or JPEG.
	Format Format
	// Size is the file's length in bytes.
	Size int64
	// ETag is a strong HTTP entity tag made from the original's hash and
	// the rendition's format, quoted. The content behind a name never
	// changes, so neither does its tag.
	ETag string
}

// Rendition returns the compressed copy of name in format f (WebP or
// JPEG), converting the original on first use and keeping the result on
// disk; later calls, and concurrent ones, convert nothing. An invalid name
// is domain.ErrInvalid, a missing original domain.ErrNotFound, an original
// that does not decode an error of neither category.
func (s *Store) Rendition(ctx context.Context, name string, f Format) (Rendition, error) {
	if err := ValidName(name); err != nil {
		return Rendition{}, err
	}
	if f != WebP && f != JPEG {
		return Rendition{}, fmt.Errorf("rendition of %q: format %d is not WebP or JPEG", name, f)
	}
	r := Rendition{Path: s.rendition(name, f), Format: f,
		ETag: `"` + Hash(name) + "-q" + fmt.Sprint(Quality) + "." + f.ext() + `"`}
	if info, err := os.Stat(r.Path); err == nil {
		r.Size = info.Size()
		return r, nil
	}

	// One conversion per rendition at a time within the process; another
	// process converting the same file at once only costs a second
	// conversion, as both rename identical bytes into place.
	_, err, _ := s.flight.Do(r.Path, func() (any, error) {
		if _, err := os.Stat(r.Path); err == nil {
			return nil, nil
		}
		return nil, s.convert(ctx, name, f, r.Path)
	})
	if err != nil {
		return Rendition{}, err
	}
	info, err := os.Stat(r.Path)
	if err != nil {
		return Rendition{}, fmt.Errorf("rendition of %q: %w", name, err)
	}
	r.Size = info.Size()
	return r, nil
}

// convert decodes the original of name and writes its rendition to path.
func (s *Store) convert(ctx context.Context, name string, f Format, path string) error {
	data, err := os.ReadFile(s.original(name))
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(name)
	}
	if err != nil {
		return fmt.Errorf("read screenshot %q: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("convert screenshot %q: %w", name, err)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("decode screenshot %q: %w", name, err)
	}

	var out bytes.Buffer
	switch f {
	case WebP:
		err = webp.Encode(&out, img, webp.Options{Quality: Quality, Method: webpMethod})
	case JPEG:
		err = jpeg.Encode(&out, flatten(img), &jpeg.Options{Quality: Quality})
	}
	if err != nil {
		return fmt.Errorf("encode %s rendition of %q: %w", f, name, err)
	}
	if err := writeAtomic(path, out.Bytes()); err != nil {
		return fmt.Errorf("write %s rendition of %q: %w", f, name, err)
	}
	s.conversions.Add(1)
	return nil
}

// flatten draws an image with transparency onto white, as JPEG has no
// alpha channel (encoding it directly would turn transparent pixels
// black). Opaque images, which screenshots are, pass unchanged.
func flatten(img image.Image) image.Image {
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return img
	}
	b := img.Bounds()
	dst := image.NewRGBA(b)
	draw.Draw(dst, b, image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, b, img, b.Min, draw.Over)
	return dst
}
