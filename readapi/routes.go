package readapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/domain"
)

// routes registers a resource's handlers. Paths are written as Django sees
// them ("/api/accounts/"); every route is served both under /backend, as
// Cometa's UI calls it through its proxy, and bare. The app's default
// non-strict routing makes the trailing slash optional.
type routes struct {
	app  *fiber.App
	auth fiber.Handler
}

// pathForms returns the two forms of a Django path.
func pathForms(path string) []string { return []string{"/backend" + path, path} }

// handle registers h for method on path behind the bearer-token middleware.
func (r *routes) handle(method, path string, h fiber.Handler) {
	for _, p := range pathForms(path) {
		r.app.Add(method, p, r.auth, checkText, singleQuery, h)
	}
}

// public registers h for method on path without authentication.
func (r *routes) public(method, path string, h fiber.Handler) {
	for _, p := range pathForms(path) {
		r.app.Add(method, p, checkText, singleQuery, h)
	}
}

// singleQuery refuses a request that repeats a query parameter, a 400
// naming it. Every parameter of the API takes one value (lists are
// comma-separated); of two, handlers would use one silently, and page
// links would carry both.
func singleQuery(c *fiber.Ctx) error {
	seen := map[string]int{}
	var repeated []string
	c.Context().QueryArgs().VisitAll(func(k, _ []byte) {
		key := string(k)
		if seen[key]++; seen[key] == 2 && key != "" {
			repeated = append(repeated, key)
		}
	})
	if len(repeated) == 0 {
		return c.Next()
	}
	problems := make([]error, len(repeated))
	for i, key := range repeated {
		problems[i] = domain.Invalid(key, "is given %d times; give it once", seen[key])
	}
	return joinInvalid(problems)
}

// checkText refuses a request whose path parameters or query parameters,
// once percent-decoded, are not valid UTF-8 or hold a NUL character: a 400
// naming each one. PostgreSQL cannot compare such text, so a lookup by it
// would fail as a 500, and a stream (GET /api/live/) would start before
// failing. It runs before every handler, so none needs to check on its own.
func checkText(c *fiber.Ctx) error {
	var problems []error
	for _, name := range c.Route().Params {
		value, err := url.PathUnescape(c.Params(name))
		if err != nil {
			continue // not text at all: the handler refuses it
		}
		if strings.HasPrefix(name, "*") || strings.HasPrefix(name, "+") {
			name = "path"
		}
		if err := domain.CheckFreeText(name, value); err != nil {
			problems = append(problems, err)
		}
	}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		name := string(k)
		if err := domain.CheckFreeText(strconv.Quote(name), name); err != nil {
			problems = append(problems, err)
			return
		}
		if err := domain.CheckFreeText(name, string(v)); err != nil {
			problems = append(problems, err)
		}
	})
	if len(problems) > 0 {
		return joinInvalid(problems)
	}
	return c.Next()
}

func (r *routes) get(path string, h fiber.Handler)    { r.handle(fiber.MethodGet, path, h) }
func (r *routes) post(path string, h fiber.Handler)   { r.handle(fiber.MethodPost, path, h) }
func (r *routes) patch(path string, h fiber.Handler)  { r.handle(fiber.MethodPatch, path, h) }
func (r *routes) delete(path string, h fiber.Handler) { r.handle(fiber.MethodDelete, path, h) }

// pathID reads the positive integer path parameter name; anything else is
// a 400 naming it.
func pathID(c *fiber.Ctx, name string) (int64, error) {
	raw := c.Params(name)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, domain.Invalid(name, "must be a positive integer, got %q", raw)
	}
	return id, nil
}

// decodeInput reads a request's input into v: the JSON body when there is
// one, else the query parameters (Cometa's GET endpoints take a JSON body,
// which many HTTP clients cannot send). With neither, v keeps its zero
// value whatever opts.optional says: "a body is required" would be wrong
// for a request that may use the query instead, so every caller checks its
// required fields and names those missing.
func decodeInput(c *fiber.Ctx, v any, opts decodeOptions) error {
	body, err := requestBody(c)
	if err != nil {
		return err
	}
	switch {
	case len(bytes.TrimSpace(body)) > 0:
		return decodeBody(c, v, opts)
	case c.Context().QueryArgs().Len() == 0:
		return nil
	}
	return decodeQuery(c, v, opts.strict)
}

// decodeQuery fills the fields of the struct v points to from the query
// parameters named by their json tags. Strings, integers, floats and
// booleans are supported; a value that does not parse is a 400 naming it.
func decodeQuery(c *fiber.Ctx, v any, strict bool) error {
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	fields := map[string]reflect.Value{}
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = rv.Field(i)
		}
	}
	var problems []error
	c.Context().QueryArgs().VisitAll(func(k, val []byte) {
		key, raw := string(k), string(val)
		f, ok := fields[key]
		if !ok {
			if strict {
				problems = append(problems, domain.Invalid(key, "unknown parameter"))
			}
			return
		}
		if err := setFromText(f, raw); err != nil {
			problems = append(problems, domain.Invalid(key, "%v", err))
		}
	})
	if len(problems) > 0 {
		return joinInvalid(problems)
	}
	return nil
}

// setFromText parses raw into f by f's kind.
func setFromText(f reflect.Value, raw string) error {
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		if err := setFromText(p.Elem(), raw); err != nil {
			return err
		}
		f.Set(p)
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(raw)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, f.Type().Bits())
		switch {
		case errors.Is(err, strconv.ErrRange) && strings.HasPrefix(raw, "-"):
			return fmt.Errorf("%s is too small: the minimum is %d", raw, int64(-1)<<(f.Type().Bits()-1))
		case errors.Is(err, strconv.ErrRange):
			return fmt.Errorf("%s is too large: the maximum is %d", raw, int64(^uint64(0)>>(65-f.Type().Bits())))
		case err != nil:
			return fmt.Errorf("expected integer, got %q", raw)
		}
		f.SetInt(n)
	case reflect.Float64:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("expected number, got %q", raw)
		}
		f.SetFloat(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("expected boolean, got %q", raw)
		}
		f.SetBool(b)
	default:
		if f.Type() == reflect.TypeFor[json.RawMessage]() {
			f.SetBytes([]byte(raw))
			return nil
		}
		return fmt.Errorf("cannot be given as a query parameter; send a JSON body")
	}
	return nil
}

// joinInvalid joins field errors into one error that still names each.
func joinInvalid(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return &multiInvalid{errs: errs}
}

type multiInvalid struct{ errs []error }

func (m *multiInvalid) Error() string {
	parts := make([]string, len(m.errs))
	for i, e := range m.errs {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (m *multiInvalid) Unwrap() []error { return m.errs }

// created answers 201 with body, as every create of Cometa's API does.
func created(c *fiber.Ctx, body any) error {
	return c.Status(fiber.StatusCreated).JSON(body)
}
