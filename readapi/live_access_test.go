package readapi_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestLiveStreamEndsWhenAccessWithdrawn: a stream whose token is revoked,
// or whose account is deleted, sends an error event saying so and ends,
// without the events appended afterwards; the stream of an account moved
// to another department follows that department from then on.
func TestLiveStreamEndsWhenAccessWithdrawn(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	k := kit{t: t, f: f}
	revoked, revokedToken := f.Srv.Account(t, "DEVOPS", f.DeptA)
	deleted, deletedToken := f.Srv.Account(t, "DEVOPS", f.DeptA)
	moved, movedToken := f.Srv.Account(t, "DEVOPS", f.DeptA)
	ended := map[string]*sseClient{
		"revoked": openLive(t, f.Srv.URL, "/backend/api/live/", revokedToken, ""),
		"deleted": openLive(t, f.Srv.URL, "/backend/api/live/", deletedToken, ""),
	}
	movedLive := openLive(t, f.Srv.URL, "/backend/api/live/", movedToken, "")

	account := func(id int64) string { return "/backend/api/accounts/" + strconv.FormatInt(id, 10) + "/" }
	k.do(http.MethodDelete, account(revoked)+"tokens/", "admin", nil, 200, nil)
	k.do(http.MethodDelete, account(deleted), "admin", nil, 200, nil)
	k.do(http.MethodPatch, account(moved), "admin", map[string]any{"name": "Moved",
		"email": "moved-" + strconv.FormatInt(moved, 10) + "@example.test", "departments": []int64{f.DeptB}}, 200, nil)
	inA := "feature-" + newFeature(t, f, "devops", "After the change", f.DeptA, stepJSON("Press Enter"))
	inB := "feature-" + newFeature(t, f, "devopsB", "In the new department", f.DeptB, stepJSON("Press Enter"))

	for name, c := range ended {
		for {
			e := c.next()
			if e.Event.Stream == inA {
				t.Errorf("%s: received %s of %s after its access was withdrawn", name, e.Event.EventType, inA)
				break
			}
			if e.Type != "error" {
				continue
			}
			if !strings.Contains(e.Raw, "revoked or its account deleted") {
				t.Errorf("%s: error event %s, want it to say the token was revoked or its account deleted", name, e.Raw)
			}
			if rest, err := io.ReadAll(c.lines); err != nil || len(rest) > 0 {
				t.Errorf("%s: after the error event %q (%v), want the stream closed", name, rest, err)
			}
			break
		}
	}
	inBSaved := isEvent(eventschemas.TypeFeatureSaved, inB)
	for _, e := range movedLive.until(func(e sseEvent) bool { return e.Event.Stream == inA || inBSaved(e) }) {
		if e.Event.Stream == inA {
			t.Errorf("moved account received %s of %s, a department it has left", e.Event.EventType, inA)
			break
		}
	}
}
