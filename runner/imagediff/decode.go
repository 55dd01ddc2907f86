package imagediff

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"

	"golang.org/x/image/webp"
)

// CompareFiles decodes the PNG, JPEG or WebP images at pathA and pathB and
// counts the pixels that differ. It draws no diff image; use CompareBytes
// for one.
func CompareFiles(pathA, pathB string, opts Options) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	a, err := decodeFile(pathA)
	if err != nil {
		return Result{}, err
	}
	b, err := decodeFile(pathB)
	if err != nil {
		return Result{}, err
	}
	res, err := Compare(a, b, opts, false)
	if err != nil {
		return Result{}, fmt.Errorf("compare %q with %q: %w", pathA, pathB, err)
	}
	return res, nil
}

// CompareBytes decodes two encoded PNG, JPEG or WebP images and compares
// them as Compare does.
func CompareBytes(a, b []byte, opts Options, wantDiff bool) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	ia, err := decode(a)
	if err != nil {
		return Result{}, fmt.Errorf("decode first image: %w", err)
	}
	ib, err := decode(b)
	if err != nil {
		return Result{}, fmt.Errorf("decode second image: %w", err)
	}
	return Compare(ia, ib, opts, wantDiff)
}

func decodeFile(path string) (image.Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read image %q: %w", path, err)
	}
	img, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode image %q: %w", path, err)
	}
	return img, nil
}

// decode picks the decoder by the file's signature rather than through
// image.Decode's process-wide format registry, so that no other package's
// registration changes what is accepted.
func decode(data []byte) (image.Image, error) {
	var (
		img image.Image
		err error
	)
	r := bytes.NewReader(data)
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		img, err = png.Decode(r)
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		img, err = jpeg.Decode(r)
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		img, err = webp.Decode(r)
	default:
		return nil, fmt.Errorf("not a PNG, JPEG or WebP image (%d bytes): %w", len(data), ErrDecode)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return img, nil
}
