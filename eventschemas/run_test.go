package eventschemas_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/eventschemas"
)

// runSamples holds a fully populated payload per run event type.
func runSamples(t *testing.T) []eventschemas.Payload {
	t.Helper()
	secret, err := eventschemas.Ciphertext(sampleCiphertext)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 29, 1, 0, 2, 0, time.UTC)
	lease := at.Add(time.Minute)
	const current = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.png"
	const baseline = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752.png"
	const diff = "fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13.png"
	return []eventschemas.Payload{
		&eventschemas.RunRequested{RunID: 40, FeatureID: 12, FeatureVersion: 3,
			FeatureName: "Search on two engines", Description: "Looks up $SEARCHTERM",
			AppID: 1, AppName: "Shop", EnvironmentID: 4, EnvironmentName: "staging",
			DepartmentID: 3, DepartmentName: "QA",
			Steps: []eventschemas.RunStep{
				{StepID: "s-1", BelongsTo: 12, Position: 1, Keyword: "Given",
					Content: `Goto URL "https://example.com/"`, Type: "normal", Screenshot: true,
					Compare: true, Timeout: 60},
				{StepID: "s-9", BelongsTo: 7, Position: 2, Keyword: "Then",
					Content: `Send keys "$PASSWORD"`, Type: "substep", ContinueOnFailure: true,
					Timeout: 30},
			},
			Results: []eventschemas.RunResult{{FeatureResultID: 81,
				Browser: json.RawMessage(`{"browser":"chrome","browser_version":"latest","os":"Generic","cloud":"local"}`)}},
			Variables: []eventschemas.RunVariable{
				{VariableID: 9, Name: "PASSWORD", Based: eventschemas.BasedFeature, Value: secret},
				{VariableID: 10, Name: "SEARCHTERM", Based: eventschemas.BasedDepartment,
					Value: eventschemas.Plaintext("Grüße")},
			},
			Parameters:  map[string]string{"jobId": "5"},
			RequestedBy: 2, RequestKey: "0b7e9f3c-3d4a-5a8e-9a61-2f0c8e3d5b11", RequestedAt: at},
		&eventschemas.RunArchived{RunID: 40, Archived: true},
		&eventschemas.RunRemoved{RunID: 40},
		&eventschemas.RunRequestKeyed{RequestKey: "0b7e9f3c-3d4a-5a8e-9a61-2f0c8e3d5b11", RunID: 40},
		&eventschemas.ResultAllocated{FeatureResultID: 81, FeatureID: 12},
		&eventschemas.ResultClaimed{FeatureResultID: 81, RunID: 40, Runner: "runner@host-a/7f3c",
			ClaimedAt: at, LeaseUntil: lease},
		&eventschemas.ResultStarted{FeatureResultID: 81, Runner: "runner@host-a/7f3c",
			Browser:        json.RawMessage(`{"browser":"chrome","browser_version":"latest","os":"Generic","cloud":"local"}`),
			BrowserVersion: "Chrome/156.0.8078.114", PID: 4242, StartedAt: at},
		&eventschemas.StepRecorded{FeatureResultID: 81, Sequence: 1, Index: 0, StepID: "s-1",
			StepName: `Goto URL "https://example.com/"`, BelongsTo: 12, Status: eventschemas.StatusFailed,
			ExecutionTimeMS: 1234, Error: "Step took more than configured time: 60s.",
			Screenshots: []string{current, diff}, Current: current, Template: baseline, Difference: diff,
			PixelDiff: 1500, Variables: map[string]string{"PASSWORD": "[ENCRYPTED]"}},
		&eventschemas.ScreenshotTaken{FeatureResultID: 81, Sequence: 1, Name: current, Width: 1920, Height: 1080},
		&eventschemas.ScreenshotCompared{FeatureResultID: 81, Sequence: 1, BaselineKey: "s-1#1@chrome-latest-Generic",
			Baseline: baseline, Current: current, Diff: diff, PixelDiff: 1500, Threshold: 0.1,
			BaselineWidth: 1920, BaselineHeight: 1080, CurrentWidth: 1920, CurrentHeight: 1080,
			Failed: true, Error: "baseline is 1920x1080, screenshot is 1280x800"},
		&eventschemas.BaselineRecorded{FeatureID: 12, Key: "s-1#1@chrome-latest-Generic", StepID: "s-1",
			Occurrence: 1, BrowserKey: "chrome-latest-Generic", Name: baseline, Width: 1920, Height: 1080,
			FeatureResultID: 80, Sequence: 1},
		&eventschemas.LeaseRenewed{FeatureResultID: 81, Runner: "runner@host-a/7f3c", LeaseUntil: lease},
		&eventschemas.LeaseExpired{FeatureResultID: 81, Runner: "runner@host-a/7f3c", LeaseUntil: lease,
			DetectedBy: "runner@host-b/1a2b", DetectedAt: lease.Add(time.Second)},
		&eventschemas.RunKilled{FeatureResultID: 81, RunID: 40, FeatureID: 12, Reason: "killed by account 2",
			KilledBy: 2},
		&eventschemas.ResultFinished{FeatureResultID: 81, RunID: 40, Status: eventschemas.StatusCanceled,
			Reason: "aborted: the run was canceled", Log: "step 1 failed\n", NotReached: 1, FinishedAt: lease},
		&eventschemas.ResultArchived{FeatureResultID: 81, Archived: true},
		&eventschemas.ResultRemoved{FeatureResultID: 81},
	}
}

// TestRunGolden checks the run events against their fixtures: each sample
// encodes to its fixture and the fixture decodes to the sample. Run with
// -update to rewrite the fixtures from the samples.
func TestRunGolden(t *testing.T) {
	t.Parallel()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	samples := runSamples(t)
	seen := map[string]bool{}
	for _, sample := range samples {
		typ := sample.EventType()
		seen[typ] = true
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			_, version, data, err := reg.Encode(sample)
			if err != nil {
				t.Fatal(err)
			}
			path := fixturePath(typ, version)
			if *update {
				writeFixture(t, path, indent(t, data))
			}
			if diff := cmp.Diff(string(readFixture(t, path)), string(indent(t, data))); diff != "" {
				t.Errorf("sample encodes differently from %s (-fixture +encoded):\n%s", path, diff)
			}
			decoded, err := reg.Decode(typ, version, readFixture(t, path))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(sample, decoded, compactJSON); diff != "" {
				t.Errorf("fixture decodes to another payload (-sample +decoded):\n%s", diff)
			}
		})
	}
	for _, typ := range []string{
		eventschemas.TypeRunRequested, eventschemas.TypeRunArchived, eventschemas.TypeRunRemoved,
		eventschemas.TypeRunRequestKeyed,
		eventschemas.TypeResultAllocated, eventschemas.TypeResultClaimed, eventschemas.TypeResultStarted,
		eventschemas.TypeStepRecorded, eventschemas.TypeScreenshotTaken, eventschemas.TypeScreenshotCompared,
		eventschemas.TypeBaselineRecorded, eventschemas.TypeLeaseRenewed, eventschemas.TypeLeaseExpired,
		eventschemas.TypeRunKilled, eventschemas.TypeResultFinished, eventschemas.TypeResultArchived,
		eventschemas.TypeResultRemoved,
	} {
		if !seen[typ] {
			t.Errorf("no sample of %s", typ)
		}
	}
}
