package readapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// decodeOptions tune decodeBody for one endpoint.
type decodeOptions struct {
	// optional allows an empty body (the zero value is decoded).
	optional bool
	// strict refuses fields the target does not know. Cometa's UI sends
	// whole objects back, so most endpoints ignore unknown fields.
	strict bool
}

// decodeBody reads the request's JSON body into v. A body that is not JSON
// (by Content-Type) or is compressed is errUnsupportedMedia; malformed
// JSON, text that is not UTF-8, a value of the wrong type or trailing data
// is errBadRequest naming the field or the byte.
func decodeBody(c *fiber.Ctx, v any, opts decodeOptions) error {
	body, err := requestBody(c)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if opts.optional {
			return nil
		}
		return fmt.Errorf("request body is required (JSON): %w", errBadRequest)
	}
	if ct := c.Get(fiber.HeaderContentType); !isJSONType(ct) {
		if ct == "" {
			ct = "none"
		}
		return fmt.Errorf("content type %q: send application/json: %w", ct, errUnsupportedMedia)
	}
	if err := checkUTF8(body); err != nil {
		return err
	}
	return decodeJSON(body, v, opts.strict)
}

// checkUTF8 refuses a body that is not valid UTF-8 or holds an escape of
// half a surrogate pair ("\ud800" alone), which encoding/json would both
// silently turn into U+FFFD: what is stored must be what was sent.
func checkUTF8(body []byte) error {
	if !utf8.Valid(body) {
		at := 0
		for at < len(body) {
			r, size := utf8.DecodeRune(body[at:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			at += size
		}
		return fmt.Errorf("body is not valid UTF-8 (at byte %d): %w", at, errBadRequest)
	}
	// A backslash is only valid JSON inside a string, where it starts an
	// escape; each one is read with the character it escapes.
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 == len(body) {
			continue
		}
		i++
		if body[i] != 'u' {
			continue
		}
		r, ok := hexEscape(body, i-1)
		if !ok || !utf16.IsSurrogate(r) {
			continue
		}
		next, ok := hexEscape(body, i+5)
		if ok && r < 0xdc00 && next >= 0xdc00 && next <= 0xdfff {
			i += 10 // the pair, read as one
			continue
		}
		return fmt.Errorf("unpaired surrogate escape %s at byte %d: %w", body[i-1:i+5], i-1, errBadRequest)
	}
	return nil
}

// hexEscape reads the \uXXXX escape at body[at:], if there is one.
func hexEscape(body []byte, at int) (rune, bool) {
	if at+6 > len(body) || body[at] != '\\' || body[at+1] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(body[at+2:at+6]), 16, 32)
	return rune(n), err == nil
}

// requestBody returns the request's body as it was sent. Every handler
// reads its body through here, never through fiber's c.Body(): that one
// inflates gzip, deflate and brotli bodies with no limit, so a few KiB sent
// would become gigabytes past COMETA_BODY_LIMIT (which fasthttp checks on
// the bytes received). A body with any Content-Encoding but identity is
// refused (errUnsupportedMedia naming it) instead of inflated: Cometa's
// clients send plain JSON.
//
// A leading UTF-8 byte order mark, which some Windows tools write before
// JSON, is read as white space (RFC 8259 lets a parser ignore it). It
// becomes three spaces rather than being cut, so that the byte offsets of
// later errors still count from the start of the body as sent.
func requestBody(c *fiber.Ctx) ([]byte, error) {
	var refused string
	c.Request().Header.VisitAll(func(key, value []byte) {
		if refused != "" || !strings.EqualFold(string(key), fiber.HeaderContentEncoding) {
			return
		}
		for _, coding := range strings.Split(string(value), ",") {
			if coding = strings.TrimSpace(coding); coding != "" && !strings.EqualFold(coding, "identity") {
				refused = coding
				return
			}
		}
	})
	if refused != "" {
		return nil, fmt.Errorf("content encoding %q: send the body uncompressed: %w", refused, errUnsupportedMedia)
	}
	body := c.Request().Body()
	if rest, ok := bytes.CutPrefix(body, []byte(utf8BOM)); ok {
		// A copy: the request's buffer is fasthttp's.
		body = append([]byte("   "), rest...)
	}
	return body, nil
}

// utf8BOM is U+FEFF, the byte order mark, in UTF-8.
const utf8BOM = "\ufeff"

// decodeJSON is the body-independent part of decodeBody, also used for
// JSON carried in query parameters.
func decodeJSON(data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", describeJSONError(err), errBadRequest)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("unexpected data after the JSON value: %w", errBadRequest)
	}
	return nil
}

func isJSONType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == fiber.MIMEApplicationJSON || strings.HasSuffix(mt, "+json")
}

// describeJSONError turns encoding/json's errors into messages that name
// the field and the expected type.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return fmt.Sprintf("%s: expected %s, got %s", field, jsonTypeName(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "malformed JSON: unexpected end of input"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		return "malformed JSON: " + err.Error()
	}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		// "got number 1.5" must not read as a number expected.
		return "integer"
	case "float32", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	case "bool":
		return "boolean"
	default:
		return kind
	}
}
