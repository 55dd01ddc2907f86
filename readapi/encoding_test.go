package readapi_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestEncodedBodyRefused sends bodies with a Content-Encoding: each is a
// 415 naming the encoding and appends nothing, however small the
// compressed body is (a gzip bomb must not be inflated past the body
// limit), on every way a handler reads a body.
func TestEncodedBodyRefused(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{BodyLimit: 64 << 10})
	// Far above the body limit once inflated, a few KiB as sent.
	inflated := `{"feature_name": "` + strings.Repeat("x", 1<<20) + `", "app_id": 1, "environment_id": 1,
		"department_id": 1, "steps": {"steps_content": []}}`
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	if _, err := w.Write([]byte(inflated)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	small := gzipped(t, `{"feature_name": "Small", "app_id": 1, "environment_id": 1, "department_id": 1,
		"steps": {"steps_content": []}}`)

	tests := []struct {
		name, method, path, encoding string
		body                         []byte
	}{
		{"gzip bomb", post, "/backend/api/features/", "gzip", gz.Bytes()},
		{"small gzip", post, "/backend/api/features/", "gzip", small},
		{"upper case", patch, "/backend/api/features/", "GZIP", small},
		{"deflate", post, "/backend/api/departments/", "deflate", small},
		{"brotli", post, "/backend/api/departments/", "br", small},
		{"chained", post, "/backend/api/departments/", "identity, gzip", small},
		{"GET updateTask", get, "/backend/updateTask/", "gzip", gzipped(t, `{"feature_id": 1}`)},
		{"body or query", post, "/backend/exectest/", "gzip", gzipped(t, `{"feature_id": 1}`)},
		{"GET with a body", get, "/backend/exectest/", "gzip", gzipped(t, `{"feature_id": 1}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r *apitest.Response
			srv.Unchanged(t, tc.name, func() {
				r = srv.Send(t, apitest.Request{Method: tc.method, Path: tc.path, Token: srv.AdminToken,
					Body: tc.body, Header: http.Header{"Content-Encoding": {tc.encoding}}})
			})
			r.Want(t, http.StatusUnsupportedMediaType)
			wantError(strings.TrimPrefix(tc.encoding, "identity, "))(t, nil, r)
		})
	}

	// identity is no encoding at all.
	srv.Send(t, apitest.Request{Method: post, Path: "/backend/api/departments/", Token: srv.AdminToken,
		Body: `{"department_name": "Identity"}`, Header: http.Header{"Content-Encoding": {"identity"}}}).
		Want(t, http.StatusCreated)
}

// gzipped is s compressed with gzip.
func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestByteOrderMarkSkipped: a body that starts with a UTF-8 byte order
// mark is read as the JSON after it, on the writes and on the GET routes
// that read a body; only one mark is skipped, and a later error still
// gives the offset in the body as sent.
func TestByteOrderMarkSkipped(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	const bom = "\ufeff"
	var got map[string]any
	srv.Send(t, apitest.Request{Method: post, Path: "/backend/api/departments/", Token: srv.AdminToken,
		Body: bom + `{"department_name": "Marked"}`}).Want(t, http.StatusCreated).JSON(t, &got)
	if got["department_name"] != "Marked" {
		t.Errorf("department_name %q, want Marked", got["department_name"])
	}
	srv.Send(t, apitest.Request{Method: get, Path: "/backend/encrypt/", Token: srv.AdminToken,
		Body: bom + `{"action": "encrypt", "text": "x"}`}).Want(t, http.StatusOK)

	for _, tc := range []struct{ name, body, says string }{
		{"a mark alone", bom, "body is required"},
		{"bytes that are not UTF-8 after it", bom + "{\"department_name\": \"a\xffb\"}",
			"body is not valid UTF-8 (at byte 25)"},
		{"a second mark", bom + bom + `{"department_name": "Twice"}`, "malformed JSON at byte 4"},
	} {
		srv.Unchanged(t, tc.name, func() {
			r := srv.Send(t, apitest.Request{Method: post, Path: "/backend/api/departments/", Token: srv.AdminToken,
				Body: tc.body}).Want(t, http.StatusBadRequest)
			wantError(tc.says)(t, nil, r)
		})
	}
}
