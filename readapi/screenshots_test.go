package readapi_test

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"

	"github.com/gen2brain/webp"
)

func TestScreenshotServing(t *testing.T) {
	t.Parallel()
	f, sims := runsFixture(t)
	srv := f.Srv
	cur := sims["A"].Images[0]
	devops := f.Tokens["devops"]

	tests := []struct {
		accept, contentType string
		decode              func(*testing.T, []byte)
	}{
		{"image/avif,image/webp,image/apng,*/*;q=0.8", "image/webp", func(t *testing.T, b []byte) {
			if _, err := webp.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("WebP answer does not decode: %v", err)
			}
		}},
		{"image/png,image/*;q=0.8", "image/jpeg", func(t *testing.T, b []byte) {
			img, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("JPEG answer does not decode: %v", err)
			}
			if img.Bounds().Dx() != 41 || img.Bounds().Dy() != 30 {
				t.Errorf("JPEG is %v, want the 41x30 screenshot", img.Bounds())
			}
		}},
		{"", "image/jpeg", decodesJPEG},
		// q=0 refuses WebP; a higher q for JPEG wins; a tie keeps WebP.
		{"image/webp;q=0, image/jpeg", "image/jpeg", decodesJPEG},
		{"image/webp;q=0.5, image/*;q=0.8", "image/jpeg", decodesJPEG},
		{"image/jpeg;q=0.7, image/webp;q=0.7", "image/webp", func(t *testing.T, b []byte) {
			if _, err := webp.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("WebP answer does not decode: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		for _, path := range []string{"/backend/screenshot/" + cur + "/", "/screenshot/" + cur} {
			resp, body := raw(t, srv, http.MethodGet, path, devops, http.Header{"Accept": {tt.accept}})
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.contentType {
				t.Fatalf("GET %s (Accept %q): %d %s, want 200 %s", path, tt.accept, resp.StatusCode,
					resp.Header.Get("Content-Type"), tt.contentType)
			}
			tt.decode(t, body)
			etag := resp.Header.Get("ETag")
			if !strings.Contains(etag, strings.TrimSuffix(cur, ".png")) ||
				!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") ||
				resp.Header.Get("Vary") != "Accept" {
				t.Errorf("caching headers: ETag %q Cache-Control %q Vary %q", etag,
					resp.Header.Get("Cache-Control"), resp.Header.Get("Vary"))
			}
			again, body := raw(t, srv, http.MethodGet, path, devops,
				http.Header{"Accept": {tt.accept}, "If-None-Match": {etag}})
			if again.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("revalidation with the ETag: %d with %d bytes, want 304 and none", again.StatusCode, len(body))
			}
		}
	}
	// Two renditions converted, whatever was asked again.
	if got := srv.Deps.Screenshots.Conversions(); got != 2 {
		t.Errorf("%d conversions, want 2 (one WebP, one JPEG)", got)
	}

	bad := []struct {
		path   string
		status int
		// says is part of the error, when it matters.
		says string
	}{
		{"/backend/screenshot/../x/", 400, ""},
		{"/backend/screenshot/a/b/", 400, ""},
		// The name refused is shown decoded.
		{"/backend/screenshot/..%2F..%2Fencryption-passphrase/", 400, `"../../encryption-passphrase" is not`},
		{"/backend/screenshot/a%09b/", 400, `"a\tb" is not`},
		{"/backend/screenshot/AMVARA_63.png/", 400, ""},
		{"/backend/screenshot/" + strings.ToUpper(cur) + "/", 400, ""},
		{"/backend/screenshot/" + strings.TrimSuffix(cur, ".png") + ".gif/", 400, ""},
		{"/backend/screenshot/" + strings.Repeat("0", 64) + ".png/", 404, ""},
		// An image of department B's result.
		{"/backend/screenshot/" + sims["B"].Images[0] + "/", 404, ""},
		{"/backend/removeScreenshot/../x/", 400, ""},
		{"/backend/removeScreenshot/a/b/", 400, ""},
	}
	for _, b := range bad {
		before := srv.EventCount(t)
		resp, body := raw(t, srv, http.MethodGet, b.path, devops, nil)
		var e struct {
			Success *bool  `json:"success"`
			Error   string `json:"error"`
		}
		if resp.StatusCode != b.status || json.Unmarshal(body, &e) != nil || e.Success == nil || *e.Success || e.Error == "" {
			t.Errorf("GET %s: %d %s, want %d with a JSON error", b.path, resp.StatusCode, body, b.status)
		}
		if !strings.Contains(e.Error, b.says) {
			t.Errorf("GET %s: error %q, want it to contain %q", b.path, e.Error, b.says)
		}
		if srv.EventCount(t) != before {
			t.Errorf("GET %s appended events", b.path)
		}
	}
	if resp, _ := raw(t, srv, http.MethodGet, "/backend/screenshot/"+cur+"/", "", nil); resp.StatusCode != 401 {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
	// Department B sees its own image.
	if resp, _ := raw(t, srv, http.MethodGet, "/backend/screenshot/"+sims["B"].Images[0]+"/",
		f.Tokens["devopsB"], nil); resp.StatusCode != 200 {
		t.Errorf("department B's own image: %d", resp.StatusCode)
	}

	// Removed, the image is gone from its step and from the disk.
	srv.Do(t, http.MethodGet, "/backend/removeScreenshot/"+cur+"/", srv.AdminToken, nil).Want(t, 200)
	if resp, _ := raw(t, srv, http.MethodGet, "/backend/screenshot/"+cur+"/", devops, nil); resp.StatusCode != 404 {
		t.Errorf("removed image: %d, want 404", resp.StatusCode)
	}
	if ok, err := srv.Deps.Screenshots.Exists(cur); err != nil || ok {
		t.Errorf("removed image still on disk (%v, %v)", ok, err)
	}
	r := srv.Do(t, http.MethodGet, f.Expand("/backend/screenshots/{stepA2}/"), devops, nil).Want(t, 200)
	var names []string
	r.JSON(t, &names)
	if len(names) != 2 || names[0] == cur {
		t.Errorf("images of step 2 after the removal: %v", names)
	}
	step := srv.Do(t, http.MethodGet, f.Expand("/backend/api/step_result/{stepA2}/"), devops, nil).Want(t, 200)
	want("results.screenshot_current", `""`)(t, f, step)
}

// decodesJPEG fails when b is not a JPEG image.
func decodesJPEG(t *testing.T, b []byte) {
	t.Helper()
	if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("JPEG answer does not decode: %v", err)
	}
}
