package cryptojs

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDecryptCryptoJS decrypts values produced by CryptoJS 4.2.0 in Node
// (testdata/cryptojs-4.2.0.jsonl), so values made by Cometa's UI decrypt here.
func TestDecryptCryptoJS(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/cryptojs-4.2.0.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var v struct{ Passphrase, Plaintext, Ciphertext string }
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		got, err := Decrypt(v.Passphrase, v.Ciphertext)
		if err != nil || got != v.Plaintext {
			t.Errorf("Decrypt(%q) = %q, %v; want %q", v.Ciphertext, got, err, v.Plaintext)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no vectors read")
	}
}

// TestOpenSSLDecryptsEncrypt hands what Encrypt made to `openssl enc`,
// whose "Salted__" format (EVP_BytesToKey over MD5) is the one CryptoJS
// implements, so values made here decrypt in Cometa's UI too.
func TestOpenSSLDecryptsEncrypt(t *testing.T) {
	t.Parallel()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("the reverse direction needs the openssl command (make setup installs it): %v", err)
	}
	for _, text := range []string{"", "exactly 16 bytes", "Grüße, 世界 ✓ — emoji 🚀", strings.Repeat("é", 333)} {
		ct, err := Encrypt("pässphrase ✓", text)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(openssl, "enc", "-d", "-aes-256-cbc", "-md", "md5", "-a", "-A", "-pass", "stdin")
		// openssl reads the passphrase as the first line of stdin, then the
		// ciphertext.
		cmd.Stdin = strings.NewReader("pässphrase ✓\n" + ct)
		out, err := cmd.Output()
		if err != nil || string(out) != text {
			t.Errorf("openssl decrypted %q to %q, %v; want %q", ct, out, err, text)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"", "a", "exactly 16 bytes", "Grüße, 世界 ✓ — emoji 🚀", strings.Repeat("x", 1000)} {
		ct, err := Encrypt("pass", text)
		if err != nil {
			t.Fatal(err)
		}
		if !IsCiphertext(ct) {
			t.Errorf("ciphertext %q lacks the prefix %q", ct, Prefix)
		}
		got, err := Decrypt("pass", ct)
		if err != nil || got != text {
			t.Errorf("round trip of %q = %q, %v", text, got, err)
		}
	}
}

func TestSaltIsFresh(t *testing.T) {
	t.Parallel()
	a, _ := Encrypt("p", "same")
	b, _ := Encrypt("p", "same")
	if a == b {
		t.Errorf("two encryptions of the same text are equal: %q", a)
	}
}

func TestDecryptRejects(t *testing.T) {
	t.Parallel()
	good, _ := Encrypt("right", "secret value")
	cases := map[string]struct{ pass, text string }{
		"not base64":       {"right", "%%%"},
		"no header":        {"right", "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8="},
		"truncated":        {"right", good[:20]},
		"wrong passphrase": {"wrong", good},
		"empty":            {"right", ""},
	}
	for name, tc := range cases {
		got, err := Decrypt(tc.pass, tc.text)
		// A wrong passphrase has about a 1/256 chance of producing valid
		// padding; then the text is garbage, but never the secret.
		if name == "wrong passphrase" && err == nil && got != "secret value" {
			continue
		}
		if !errors.Is(err, ErrNotCiphertext) {
			t.Errorf("%s: Decrypt = %q, %v; want ErrNotCiphertext", name, got, err)
		}
	}
}
