package readapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/domain"
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
		return badRequestf("request body is required (JSON)")
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
	if err := decodeJSON(body, v, opts.strict); err != nil {
		return err
	}
	return checkDuplicateKeys(body)
}

// checkDuplicateKeys refuses an object that names a key twice, at any
// depth. encoding/json keeps the last value silently, so {"name": "A",
// "name": "B"} would store B while a reader of the request (a log, a proxy
// that checks the first) sees A. encoding/json also matches a key to a
// field whatever its letter case, so "Feature_ID" after "feature_id" is the
// same field given twice: keys are compared case-folded, as it compares
// them. It runs on JSON that has decoded already, so it judges no syntax.
func checkDuplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	// One entry per open object (its keys so far) or array (nil keys).
	type open struct {
		keys      map[string]bool
		expectKey bool // an object's next token is a key or its end
	}
	var stack []*open
	// valueDone notes, in the enclosing object, that its key's value ended.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF: done; anything else decodeJSON has judged
		}
		if n := len(stack); n > 0 && stack[n-1].expectKey {
			top := stack[n-1]
			if key, ok := tok.(string); ok {
				folded := foldKey(key)
				if top.keys[folded] {
					return badRequestf("duplicate key %q (before byte %d; keys are compared whatever their letter case): give each key once",
						key, dec.InputOffset())
				}
				top.keys[folded] = true
				top.expectKey = false
				continue
			}
			// '}': the object ends.
			stack = stack[:n-1]
			valueDone()
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &open{keys: map[string]bool{}, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &open{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// foldKey maps a key to one spelling per case-insensitive class: each
// rune becomes the smallest rune of its simple case-folding orbit, so two
// keys that strings.EqualFold (and encoding/json) takes for equal fold to
// the same string.
func foldKey(key string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, key)
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
		return badRequestf("body is not valid UTF-8 (at byte %d)", at)
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
		return badRequestf("unpaired surrogate escape %s at byte %d", body[i-1:i+5], i-1)
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
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequestf("unexpected data after the JSON value")
	}
	return nil
}

// badRequest is an errBadRequest whose message is only its own text (no
// ": bad request" after it).
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }
func (e *badRequest) Unwrap() error { return errBadRequest }

func badRequestf(format string, args ...any) error {
	return &badRequest{msg: fmt.Sprintf(format, args...)}
}

// jsonProblem turns a decoding error into the API's error: a value of the
// wrong type or an unknown field is a field error (the answer lists it in
// "fields"), anything else a bad request saying where the JSON broke.
func jsonProblem(err error) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return domain.Invalid(typ.Field, "expected %s, got %s", jsonTypeName(typ.Type.Kind().String()), typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return domain.Invalid(strings.Trim(name, `"`), "unknown field")
	}
	return badRequestf("%s", describeJSONError(err))
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
