// Package laravelcrypt reads (and, for tests and seeding, writes) values
// encrypted by Laravel's Crypt::encryptString with the application key
// APP_KEY, as Paymenter stores encrypted settings (settings.encrypted = 1).
//
// Paymenter configures the cipher AES-256-CBC (config/app.php), so this
// package supports exactly that: a 32-byte key, AES-256 in CBC mode with
// PKCS#7 padding, and a payload that is base64 of the JSON object
// {"iv": b64, "value": b64, "mac": hex, "tag": ""} where
//
//	mac = hex(HMAC-SHA256(key, iv_b64 . value_b64))
//
// computed over the base64 strings as they appear in the JSON. The MAC is
// checked in constant time before anything is decrypted, so a forged or
// corrupted payload never reaches the block cipher. Keys of other lengths
// (AES-128) and the AEAD ciphers (GCM, where mac is empty and tag is set) are
// refused: Paymenter does not use them.
//
// Errors never contain the key, the plaintext or the payload: callers may log
// them.
package laravelcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// KeySize is the length of an AES-256-CBC key in bytes.
const KeySize = 32

// Errors returned by this package. They say what is wrong, never with what.
var (
	// ErrInvalidKey: APP_KEY does not decode to a 32-byte key.
	ErrInvalidKey = errors.New("laravelcrypt: APP_KEY is not a valid AES-256-CBC key")
	// ErrInvalidPayload: the value is not a Laravel encryption payload.
	ErrInvalidPayload = errors.New("laravelcrypt: the payload is invalid")
	// ErrInvalidMAC: the payload was not produced with this key, or it was
	// altered.
	ErrInvalidMAC = errors.New("laravelcrypt: the MAC is invalid")
	// ErrDecrypt: the MAC matched but the ciphertext does not decrypt to a
	// well-padded plaintext.
	ErrDecrypt = errors.New("laravelcrypt: could not decrypt the data")
)

// base64Prefix marks an APP_KEY given in base64, as `php artisan key:generate`
// writes it.
const base64Prefix = "base64:"

// Key is a parsed APP_KEY. Its String and GoString methods redact the key, so
// it is safe to print a struct that holds one.
type Key struct {
	raw []byte
}

// ParseKey parses an APP_KEY as Laravel does: "base64:<standard base64>" or
// the raw key bytes. Surrounding whitespace and quotes (as in a .env line) are
// ignored.
func ParseKey(appKey string) (Key, error) {
	s := strings.Trim(strings.TrimSpace(appKey), `"'`)
	raw := []byte(s)
	if rest, ok := strings.CutPrefix(s, base64Prefix); ok {
		decoded, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return Key{}, ErrInvalidKey
		}
		raw = decoded
	}
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidKey, len(raw), KeySize)
	}
	return Key{raw: raw}, nil
}

// NewKey returns a fresh random key, for tests and demo installs.
func NewKey() (Key, error) {
	raw := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, raw); err != nil {
		return Key{}, fmt.Errorf("laravelcrypt: generate key: %w", err)
	}
	return Key{raw: raw}, nil
}

// AppKey returns the key in the "base64:..." form of a .env APP_KEY line.
func (k Key) AppKey() string {
	return base64Prefix + base64.StdEncoding.EncodeToString(k.raw)
}

// IsZero reports whether k holds no key.
func (k Key) IsZero() bool { return len(k.raw) == 0 }

// String redacts the key.
func (k Key) String() string { return "laravelcrypt.Key([redacted])" }

// GoString redacts the key in %#v.
func (k Key) GoString() string { return k.String() }

// payload is the JSON object inside a Laravel encryption payload.
type payload struct {
	IV    string `json:"iv"`
	Value string `json:"value"`
	MAC   string `json:"mac"`
	Tag   string `json:"tag"`
}

// DecryptString decrypts the output of Crypt::encryptString.
func (k Key) DecryptString(encrypted string) (string, error) {
	if k.IsZero() {
		return "", ErrInvalidKey
	}
	p, err := decodePayload(encrypted)
	if err != nil {
		return "", err
	}
	if !k.validMAC(p) {
		return "", ErrInvalidMAC
	}
	iv, err := base64.StdEncoding.DecodeString(p.IV)
	if err != nil || len(iv) != aes.BlockSize {
		return "", ErrInvalidPayload
	}
	ciphertext, err := base64.StdEncoding.DecodeString(p.Value)
	if err != nil {
		return "", ErrInvalidPayload
	}
	plaintext, err := k.decryptCBC(iv, ciphertext)
	if err != nil {
		return "", err
	}
	return string(plaintext), nil
}

// EncryptString encrypts like Crypt::encryptString, with a random IV.
func (k Key) EncryptString(plaintext string) (string, error) {
	iv := make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(rand.Reader, iv); err != nil {
		return "", fmt.Errorf("laravelcrypt: generate iv: %w", err)
	}
	return k.encryptWithIV(plaintext, iv)
}

// encryptWithIV is EncryptString with a given IV, so tests can pin vectors.
func (k Key) encryptWithIV(plaintext string, iv []byte) (string, error) {
	if k.IsZero() {
		return "", ErrInvalidKey
	}
	block, err := aes.NewCipher(k.raw)
	if err != nil {
		return "", ErrInvalidKey
	}
	padded := pkcs7Pad([]byte(plaintext), aes.BlockSize)
	ciphertext := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ciphertext, padded)

	p := payload{
		IV:    base64.StdEncoding.EncodeToString(iv),
		Value: base64.StdEncoding.EncodeToString(ciphertext),
	}
	p.MAC = hex.EncodeToString(k.mac(p.IV, p.Value))
	// json.Marshal keeps the field order iv, value, mac, tag and, like PHP's
	// JSON_UNESCAPED_SLASHES that Laravel uses, does not escape "/".
	doc, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("laravelcrypt: encode payload: %w", err)
	}
	return base64.StdEncoding.EncodeToString(doc), nil
}

// decodePayload unwraps base64(JSON) and checks that the fields a CBC
// payload needs are there.
func decodePayload(encrypted string) (payload, error) {
	doc, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encrypted))
	if err != nil {
		return payload{}, ErrInvalidPayload
	}
	var p payload
	if err := json.Unmarshal(doc, &p); err != nil {
		return payload{}, ErrInvalidPayload
	}
	if p.IV == "" || p.Value == "" || p.MAC == "" {
		// An empty mac with a tag is an AEAD (GCM) payload: not Paymenter's
		// cipher, so it cannot have been written with this key's config.
		return payload{}, ErrInvalidPayload
	}
	return p, nil
}

// mac is Laravel's Encrypter::hash: HMAC-SHA256 over the base64 IV followed
// by the base64 ciphertext.
func (k Key) mac(ivB64, valueB64 string) []byte {
	h := hmac.New(sha256.New, k.raw)
	h.Write([]byte(ivB64))
	h.Write([]byte(valueB64))
	return h.Sum(nil)
}

// validMAC compares in constant time. The stored mac is hex; Laravel
// compares the hex strings with hash_equals, which is equivalent.
func (k Key) validMAC(p payload) bool {
	given, err := hex.DecodeString(p.MAC)
	if err != nil {
		return false
	}
	return hmac.Equal(given, k.mac(p.IV, p.Value))
}

func (k Key) decryptCBC(iv, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, ErrDecrypt
	}
	block, err := aes.NewCipher(k.raw)
	if err != nil {
		return nil, ErrInvalidKey
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	return pkcs7Unpad(plain, aes.BlockSize)
}

func pkcs7Pad(data []byte, blockSize int) []byte {
	n := blockSize - len(data)%blockSize
	out := make([]byte, len(data), len(data)+n)
	copy(out, data)
	for i := 0; i < n; i++ {
		out = append(out, byte(n))
	}
	return out
}

// pkcs7Unpad validates every padding byte, as OpenSSL does.
func pkcs7Unpad(data []byte, blockSize int) ([]byte, error) {
	if len(data) == 0 || len(data)%blockSize != 0 {
		return nil, ErrDecrypt
	}
	n := int(data[len(data)-1])
	if n == 0 || n > blockSize || n > len(data) {
		return nil, ErrDecrypt
	}
	for _, b := range data[len(data)-n:] {
		if int(b) != n {
			return nil, ErrDecrypt
		}
	}
	return data[:len(data)-n], nil
}
