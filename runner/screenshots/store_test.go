package screenshots_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gen2brain/webp"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/runner/screenshots"
)

// testImage draws a w×h picture with a gradient and a box, so that the
// encoders have real content to compress.
func testImage(w, h int, alpha uint8) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 128, A: alpha}
			if x > w/4 && x < w/2 && y > h/4 && y < h/2 {
				c = color.NRGBA{R: 250, G: 20, B: 20, A: alpha}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newStore(t *testing.T) *screenshots.Store {
	t.Helper()
	s, err := screenshots.New(filepath.Join(t.TempDir(), screenshots.Dir))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidName(t *testing.T) {
	t.Parallel()
	hash := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		ok   bool
	}{
		{hash + ".png", true},
		{hash + ".jpg", true},
		{hash + ".webp", true},
		{"../x", false},
		{"a/b", false},
		{"..", false},
		{"", false},
		{hash, false},
		{hash + ".gif", false},
		{hash + ".PNG", false},
		{strings.ToUpper(hash) + ".png", false},
		{hash[:62] + ".png", false},
		{hash + "00.png", false},
		{"../" + hash + ".png", false},
		{hash + ".png/..", false},
		{hash + `.png\x`, false},
		{hash + ".png\n", false},
		{"AMVARA_63.png", false},
		{"compressed", false},
	}
	for _, tt := range tests {
		err := screenshots.ValidName(tt.name)
		if tt.ok && err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", tt.name, err)
		}
		if !tt.ok && !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ValidName(%q) = %v, want an ErrInvalid error", tt.name, err)
		}
	}
}

func TestPutOpenRemove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	var jpg, wp bytes.Buffer
	if err := jpeg.Encode(&jpg, testImage(40, 30, 255), nil); err != nil {
		t.Fatal(err)
	}
	if err := webp.Encode(&wp, testImage(40, 30, 255), webp.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		format string
		data   []byte
	}{
		{"png", encodePNG(t, testImage(40, 30, 255))},
		{"jpg", jpg.Bytes()},
		{"webp", wp.Bytes()},
	}
	for _, tt := range tests {
		name, err := s.Put(ctx, tt.data)
		if err != nil {
			t.Fatalf("Put %s: %v", tt.format, err)
		}
		sum := sha256.Sum256(tt.data)
		if want := hex.EncodeToString(sum[:]) + "." + tt.format; name != want {
			t.Errorf("Put %s named %q, want %q", tt.format, name, want)
		}
		again, err := s.Put(ctx, tt.data)
		if err != nil || again != name {
			t.Errorf("second Put %s = %q, %v; want %q", tt.format, again, err, name)
		}
		f, err := s.Open(name)
		if err != nil {
			t.Fatalf("Open %s: %v", name, err)
		}
		got, err := io.ReadAll(f)
		_ = f.Close()
		if err != nil || !bytes.Equal(got, tt.data) {
			t.Errorf("Open %s read %d bytes (%v), want the %d put", tt.format, len(got), err, len(tt.data))
		}
		if _, err := s.Rendition(ctx, name, screenshots.JPEG); err != nil {
			t.Fatalf("Rendition of %s: %v", tt.format, err)
		}
		if err := s.Remove(name); err != nil {
			t.Fatalf("Remove %s: %v", name, err)
		}
		if _, err := s.Open(name); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("Open after Remove = %v, want ErrNotFound", err)
		}
		if err := s.Remove(name); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("second Remove = %v, want ErrNotFound", err)
		}
	}
	// Nothing but the empty shards and the renditions folder is left.
	err := filepath.WalkDir(s.Path(), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left behind: %s", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPutRefusesWhatIsNoImage(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	good := encodePNG(t, testImage(8, 8, 255))
	tests := map[string][]byte{
		"empty":              nil,
		"text":               []byte("hello, this is not an image"),
		"gif":                []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
		"truncated png":      good[:20],
		"png signature only": []byte("\x89PNG\r\n\x1a\n"),
		"riff but not webp":  []byte("RIFF\x10\x00\x00\x00WAVEfmt "),
	}
	for label, data := range tests {
		if name, err := s.Put(context.Background(), data); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("Put(%s) = %q, %v; want ErrInvalid", label, name, err)
		}
	}
}

func TestBadNamesTouchNothing(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	// A file outside the store that a traversal would reach.
	outside := filepath.Join(filepath.Dir(s.Path()), "secret.png")
	if err := os.WriteFile(outside, encodePNG(t, testImage(4, 4, 255)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../secret.png", "a/b", "../x", "/etc/passwd", ".."} {
		if _, err := s.Open(name); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("Open(%q) = %v, want ErrInvalid", name, err)
		}
		if err := s.Remove(name); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("Remove(%q) = %v, want ErrInvalid", name, err)
		}
		if _, err := s.Rendition(context.Background(), name, screenshots.WebP); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("Rendition(%q) = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("file outside the store: %v", err)
	}
}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	tests := map[string]screenshots.Format{
		"":                               screenshots.JPEG,
		"*/*":                            screenshots.JPEG,
		"image/png,image/*;q=0.8":        screenshots.JPEG,
		"image/avif,image/webp,*/*;q=.8": screenshots.WebP,
		"IMAGE/WEBP":                     screenshots.WebP,
		// q=0 is not acceptable; the higher q wins; a tie keeps WebP.
		"image/webp;q=0, image/jpeg":               screenshots.JPEG,
		"image/webp; Q=0":                          screenshots.JPEG,
		"image/webp;q=0.5, image/jpeg;q=0.9":       screenshots.JPEG,
		"image/webp;q=0.5, image/*;q=0.8":          screenshots.JPEG,
		"image/webp;q=0.9, image/jpeg;q=0.5":       screenshots.WebP,
		"image/webp;q=0.5, image/jpeg;q=0.5":       screenshots.WebP,
		"image/webp, image/jpeg;q=0":               screenshots.WebP,
		"image/webp;q=0.9, image/*;q=0.5, */*;q=1": screenshots.WebP,
		"image/webp;q=0, image/jpeg;q=0":           screenshots.JPEG,
		"image/webp;q=2, image/jpeg;q=0.1":         screenshots.JPEG,
	}
	for accept, want := range tests {
		if got := screenshots.Negotiate(accept); got != want {
			t.Errorf("Negotiate(%q) = %s, want %s", accept, got, want)
		}
	}
}

func TestRenditions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	src := testImage(320, 200, 255)
	name, err := s.Put(ctx, encodePNG(t, src))
	if err != nil {
		t.Fatal(err)
	}
	decoders := map[screenshots.Format]func(io.Reader) (image.Image, error){
		screenshots.WebP: webp.Decode,
		screenshots.JPEG: jpeg.Decode,
	}
	for f, decode := range decoders {
		r, err := s.Rendition(ctx, name, f)
		if err != nil {
			t.Fatalf("Rendition %s: %v", f, err)
		}
		if r.Format != f || !strings.Contains(r.ETag, screenshots.Hash(name)) || !strings.HasPrefix(r.ETag, `"`) {
			t.Errorf("Rendition %s = %+v", f, r)
		}
		data, err := os.ReadFile(r.Path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != r.Size {
			t.Errorf("%s: size %d, file has %d bytes", f, r.Size, len(data))
		}
		img, err := decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("decode %s rendition: %v", f, err)
		}
		if img.Bounds() != src.Bounds() {
			t.Errorf("%s rendition is %v, want %v", f, img.Bounds(), src.Bounds())
		}
		// Lossy, but the red box is still red.
		if c := color.NRGBAModel.Convert(img.At(120, 75)).(color.NRGBA); c.R < 200 || c.G > 80 {
			t.Errorf("%s rendition: box pixel is %v, want red", f, c)
		}
	}
	if got := s.Conversions(); got != 2 {
		t.Errorf("%d conversions, want 2", got)
	}

	// Asked again, by this store or by another one on the same directory
	// (another process), the renditions come from disk.
	for range 3 {
		if _, err := s.Rendition(ctx, name, screenshots.WebP); err != nil {
			t.Fatal(err)
		}
	}
	other, err := screenshots.New(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Rendition(ctx, name, screenshots.JPEG); err != nil {
		t.Fatal(err)
	}
	if s.Conversions() != 2 || other.Conversions() != 0 {
		t.Errorf("conversions after cached requests: %d and %d, want 2 and 0", s.Conversions(), other.Conversions())
	}

	missing := strings.Repeat("0", 64) + ".png"
	if _, err := s.Rendition(ctx, missing, screenshots.WebP); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Rendition of a missing file = %v, want ErrNotFound", err)
	}
}

func TestConcurrentRenditionsConvertOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	name, err := s.Put(ctx, encodePNG(t, testImage(640, 400, 255)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			r, err := s.Rendition(ctx, name, screenshots.WebP)
			if err == nil && r.Size == 0 {
				err = errors.New("empty rendition")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := s.Conversions(); got != 1 {
		t.Errorf("%d conversions for 8 concurrent requests, want 1", got)
	}
}

func TestJPEGOfTransparentImageIsOnWhite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	name, err := s.Put(ctx, encodePNG(t, testImage(64, 64, 0)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Rendition(ctx, name, screenshots.JPEG)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if c := color.GrayModel.Convert(img.At(5, 5)).(color.Gray); c.Y < 240 {
		t.Errorf("transparent pixel became %v in the JPEG, want white", c)
	}
}
