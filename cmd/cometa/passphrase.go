package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// passphraseFile is where a generated encryption passphrase is kept, inside
// the data directory.
const passphraseFile = "encryption-passphrase"

// encryptionPassphrase returns the configured passphrase, or the one kept in
// dataDir, generating and storing it (mode 0600) on the first start. A kept
// file that others can read is refused rather than used.
func encryptionPassphrase(cfg Config, dataDir string) (string, error) {
	if cfg.EncryptionPassphrase != "" {
		return cfg.EncryptionPassphrase, nil
	}
	path := filepath.Join(dataDir, passphraseFile)

	kept, err := readPassphrase(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return kept, err
	}

	buf := make([]byte, 32)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails
	generated := base64.RawURLEncoding.EncodeToString(buf)
	if err := writeExclusive(path, generated+"\n"); errors.Is(err, fs.ErrExist) {
		// Another process of the same data dir was faster; use its value.
		return readPassphrase(path)
	} else if err != nil {
		return "", fmt.Errorf("store encryption passphrase %q: %w", path, err)
	}
	return generated, nil
}

// writeExclusive creates path with content and mode 0600, or fails with
// fs.ErrExist when it exists. A reader never sees a partial file: content
// goes to a temporary file first, which is then linked to path.
func writeExclusive(path, content string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)

	_, err = f.WriteString(content) // CreateTemp's file has mode 0600
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(tmp, path)
}

func readPassphrase(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("read encryption passphrase %q: %w", path, err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("encryption passphrase %q has mode %04o; "+
			"it must be readable by its owner only (chmod 600)", path, perm)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read encryption passphrase %q: %w", path, err)
	}
	kept := strings.TrimSpace(string(raw))
	if len(kept) < minSecretLen {
		return "", fmt.Errorf("encryption passphrase %q is shorter than %d characters", path, minSecretLen)
	}
	return kept, nil
}
