// Package screenshots keeps the screenshots of runs as content-addressed
// files: a file's name is the SHA-256 of its bytes in hex plus the
// extension of its format ("<64 hex>.png"), so the same image is stored
// once however many steps took it, a name can be checked without touching
// the disk, and a name that is not one of ours can never reach a path
// outside the store.
//
// The store also makes compressed renditions for the API (WebP or JPEG at
// quality 70), converted once and kept on disk beside the originals.
//
// Layout under the store's directory (COMETA_DATA_DIR/screenshots):
//
//	ab/abcdef....png              originals, sharded by the first two hex digits
//	compressed/ab/abcdef....webp  renditions at Quality, one per format
package screenshots

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/singleflight"

	"github.com/cometa-es/cometa/domain"
)

// Dir is the store's directory under COMETA_DATA_DIR.
const Dir = "screenshots"

// compressedDir holds the renditions under the store's directory. It can
// never be mistaken for a shard: shards are two hex digits.
const compressedDir = "compressed"

// namePattern is the only form of a name the store hands out.
var namePattern = regexp.MustCompile(`^[0-9a-f]{64}\.(png|jpg|webp)$`)

// Store is the screenshot file store. It is safe for concurrent use by
// several goroutines and several processes sharing the directory: every
// file is written to a temporary name and renamed into place, so a reader
// sees a whole file or none.
type Store struct {
	dir         string
	flight      singleflight.Group
	conversions atomic.Int64
}

// New returns the store in dir (COMETA_DATA_DIR/screenshots), creating the
// directory when it does not exist.
func New(dir string) (*Store, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, errors.New("screenshot store: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("screenshot store %q: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(abs, compressedDir), 0o755); err != nil {
		return nil, fmt.Errorf("screenshot store %q: %w", dir, err)
	}
	return &Store{dir: abs}, nil
}

// Path returns the store's directory.
func (s *Store) Path() string { return s.dir }

// ValidName returns an error matching domain.ErrInvalid unless name has
// the exact form of the names Put hands out: 64 lower-case hex digits, a
// dot and png, jpg or webp. Path separators, "..", upper case, other
// extensions and anything else are refused.
func ValidName(name string) error {
	if !namePattern.MatchString(name) {
		return domain.Invalid("screenshot_name", "%q is not a screenshot name (sha256 hex and .png, .jpg or .webp)",
			truncate(name, 80))
	}
	return nil
}

// Hash returns the hex SHA-256 part of a valid name.
func Hash(name string) string {
	hash, _, _ := strings.Cut(name, ".")
	return hash
}

// Put stores an encoded PNG, JPEG or WebP image and returns its name. The
// format is read from the bytes, not trusted from a caller; anything else,
// or an image whose header does not decode, is domain.ErrInvalid. Putting
// the same bytes twice is harmless and returns the same name.
func (s *Store) Put(ctx context.Context, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("put screenshot: %w", err)
	}
	f, err := sniff(data)
	if err != nil {
		return "", err
	}
	if _, _, err := image.DecodeConfig(bytes.NewReader(data)); err != nil {
		return "", domain.Invalid("screenshot", "unreadable %s image: %v", f, err)
	}
	sum := sha256.Sum256(data)
	name := hex.EncodeToString(sum[:]) + "." + f.ext()
	path := s.original(name)
	if _, err := os.Stat(path); err == nil {
		return name, nil
	}
	if err := writeAtomic(path, data); err != nil {
		return "", fmt.Errorf("put screenshot %q: %w", name, err)
	}
	return name, nil
}

// Open opens the original file of name for reading. An invalid name is
// domain.ErrInvalid, a name not in the store domain.ErrNotFound.
func (s *Store) Open(name string) (*os.File, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	f, err := os.Open(s.original(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("open screenshot %q: %w", name, err)
	}
	return f, nil
}

// Exists reports whether the original of a valid name is in the store.
func (s *Store) Exists(name string) (bool, error) {
	if err := ValidName(name); err != nil {
		return false, err
	}
	_, err := os.Stat(s.original(name))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("stat screenshot %q: %w", name, err)
	}
}

// Remove deletes the original of name and its renditions. A name not in
// the store is domain.ErrNotFound (its stale renditions, if any, are
// removed all the same). Callers decide whether a file is still referenced
// before removing it: the store knows nothing of steps.
func (s *Store) Remove(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	var errs []error
	for _, f := range []Format{WebP, JPEG} {
		if err := os.Remove(s.rendition(name, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	err := os.Remove(s.original(name))
	if errors.Is(err, fs.ErrNotExist) && len(errs) == 0 {
		return notFound(name)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove screenshot %q: %w", name, errors.Join(errs...))
	}
	return nil
}

// Conversions counts the renditions this Store value has converted (not
// those it found already on disk), for metrics and tests.
func (s *Store) Conversions() int64 { return s.conversions.Load() }

func (s *Store) original(name string) string {
	return filepath.Join(s.dir, name[:2], name)
}

func (s *Store) rendition(name string, f Format) string {
	return filepath.Join(s.dir, compressedDir, name[:2], Hash(name)+"."+f.ext())
}

func notFound(name string) error {
	return fmt.Errorf("screenshot %q: %w", name, domain.ErrNotFound)
}

// writeAtomic writes data to a temporary file beside path and renames it
// into place.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
