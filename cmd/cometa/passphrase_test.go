package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncryptionPassphraseGenerated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	first, err := encryptionPassphrase(Config{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < minSecretLen {
		t.Errorf("generated passphrase has %d characters", len(first))
	}
	info, err := os.Stat(filepath.Join(dir, passphraseFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("passphrase file mode = %04o, want 0600", info.Mode().Perm())
	}
	again, err := encryptionPassphrase(Config{}, dir)
	if err != nil || again != first {
		t.Errorf("second call = %q, %v; want the kept passphrase", again, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only the passphrase file", len(entries))
	}
}

func TestEncryptionPassphraseConfigured(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	got, err := encryptionPassphrase(Config{EncryptionPassphrase: "a configured passphrase"}, dir)
	if err != nil || got != "a configured passphrase" {
		t.Errorf("got %q, %v; want the configured passphrase", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, passphraseFile)); !os.IsNotExist(err) {
		t.Errorf("a configured passphrase still wrote a file (%v)", err)
	}
}

func TestEncryptionPassphraseRefusesBadFiles(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"readable by others", "0123456789abcdefghij\n", 0o644, "has mode 0644"},
		{"too short", "short\n", 0o600, "shorter than 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, passphraseFile)
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // umask may have cut it
				t.Fatal(err)
			}
			_, err := encryptionPassphrase(Config{}, dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
			if raw, _ := os.ReadFile(path); string(raw) != tt.content {
				t.Errorf("the refused file was changed to %q", raw)
			}
		})
	}
}
