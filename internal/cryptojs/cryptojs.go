// Package cryptojs encrypts and decrypts values in the format Cometa shares
// with CryptoJS in its web UI: OpenSSL's "Salted__" passphrase encryption
// with AES-256-CBC, key and IV derived by EVP_BytesToKey over MD5 with one
// iteration, PKCS#7 padding, base64 output. Every ciphertext therefore
// starts with Prefix.
//
// Unlike Cometa, padding is computed over bytes, so non-ASCII text works.
package cryptojs

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Prefix starts every ciphertext: base64 of "Salted__". Cometa exposes it
// to the UI as encryption_prefix and uses it to tell encrypted values apart.
const Prefix = "U2FsdGVkX1"

// ErrNotCiphertext is returned when a value cannot be decrypted because it
// is not in the expected format, or the passphrase does not fit it.
var ErrNotCiphertext = errors.New("not a Cometa ciphertext")

const saltHeader = "Salted__"

// IsCiphertext reports whether s looks like a value this package produced.
func IsCiphertext(s string) bool { return strings.HasPrefix(s, Prefix) }

// Encrypt encrypts plaintext with passphrase and a fresh random salt.
func Encrypt(passphrase, plaintext string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("encrypt: read salt: %w", err)
	}
	return encryptWithSalt(passphrase, plaintext, salt)
}

func encryptWithSalt(passphrase, plaintext string, salt []byte) (string, error) {
	key, iv := deriveKey([]byte(passphrase), salt)
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	padded := pad([]byte(plaintext), aes.BlockSize)
	out := make([]byte, 16+len(padded))
	copy(out, saltHeader)
	copy(out[8:], salt)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out[16:], padded)
	return base64.StdEncoding.EncodeToString(out), nil
}

// Decrypt reverses Encrypt, and decrypts what CryptoJS.AES.encrypt(text,
// passphrase) produces.
func Decrypt(passphrase, ciphertext string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ciphertext))
	if err != nil {
		return "", fmt.Errorf("decrypt: base64: %w", ErrNotCiphertext)
	}
	if len(raw) < 16+aes.BlockSize || string(raw[:8]) != saltHeader || (len(raw)-16)%aes.BlockSize != 0 {
		return "", fmt.Errorf("decrypt: missing Salted__ header or bad length: %w", ErrNotCiphertext)
	}
	key, iv := deriveKey([]byte(passphrase), raw[8:16])
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("decrypt: %w", err)
	}
	plain := make([]byte, len(raw)-16)
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, raw[16:])
	plain, ok := unpad(plain, aes.BlockSize)
	if !ok {
		return "", fmt.Errorf("decrypt: bad padding (wrong passphrase?): %w", ErrNotCiphertext)
	}
	return string(plain), nil
}

// deriveKey is OpenSSL's EVP_BytesToKey with MD5 and one iteration,
// producing a 32-byte key and a 16-byte IV.
func deriveKey(passphrase, salt []byte) (key, iv []byte) {
	var derived, prev []byte
	for len(derived) < 48 {
		h := md5.New()
		h.Write(prev)
		h.Write(passphrase)
		h.Write(salt)
		prev = h.Sum(nil)
		derived = append(derived, prev...)
	}
	return derived[:32], derived[32:48]
}

func pad(b []byte, size int) []byte {
	n := size - len(b)%size
	return append(bytes.Clone(b), bytes.Repeat([]byte{byte(n)}, n)...)
}

func unpad(b []byte, size int) ([]byte, bool) {
	if len(b) == 0 || len(b)%size != 0 {
		return nil, false
	}
	n := int(b[len(b)-1])
	if n == 0 || n > size || n > len(b) {
		return nil, false
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, false
		}
	}
	return b[:len(b)-n], true
}
