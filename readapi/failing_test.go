package readapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// TestMalformedEventFailsItsModelAndTheAPIServes puts an event that no
// read model can decode into the log of a running server: the models that
// read its type report failing at its stream and position in
// /backend/api/admin/projections/, and the server keeps answering, reads
// and writes of the models that are not affected alike.
func TestMalformedEventFailsItsModelAndTheAPIServes(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	ctx := t.Context()

	// Valid JSON, but environment_id is a string: EnvironmentCreated
	// cannot be decoded.
	bad, err := srv.Store.Append(ctx, "environment-900", eventstore.NoStream(), eventstore.EventData{
		ID: uuid.New(), Type: eventschemas.TypeEnvironmentCreated, SchemaVersion: 1,
		Data: []byte(`{"environment_id":"nine hundred","environment_name":"broken"}`), OccurredAt: time.Now(),
		Actor: "account-1", CorrelationID: uuid.NewString(),
	})
	if err != nil {
		t.Fatal(err)
	}

	type failure struct {
		Stream   string `json:"stream"`
		Revision uint64 `json:"revision"`
		Position string `json:"position"`
	}
	var st struct {
		Results []struct {
			Name    string   `json:"name"`
			State   string   `json:"state"`
			Failure *failure `json:"failure"`
		} `json:"results"`
	}
	deadline := time.Now().Add(time.Minute)
	for {
		srv.Do(t, http.MethodGet, "/backend/api/admin/projections/", srv.AdminToken, nil).Want(t, 200).JSON(t, &st)
		catalog := -1
		for i, m := range st.Results {
			if m.Name == "catalog" {
				catalog = i
			}
		}
		if catalog < 0 {
			t.Fatalf("the status lists no catalog model: %+v", st.Results)
		}
		if m := st.Results[catalog]; m.State == "failing" {
			want := failure{Stream: "environment-900", Revision: 0, Position: bad.Position.String()}
			if m.Failure == nil || *m.Failure != want {
				t.Errorf("catalog fails at %+v, want %+v", m.Failure, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("catalog did not report failing: %+v", st.Results)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, m := range st.Results {
		if m.Name == "departments" && m.State == "failing" {
			t.Errorf("departments, which does not read environments, is failing: %+v", m.Failure)
		}
	}

	// The process keeps serving: reads, and a write whose read
	// models are not the failing ones.
	srv.Do(t, http.MethodGet, "/backend/info/", "", nil).Want(t, 200)
	srv.Do(t, http.MethodGet, "/backend/api/departments/", srv.AdminToken, nil).Want(t, 200)
	srv.Department(t, "After the bad event")
}
