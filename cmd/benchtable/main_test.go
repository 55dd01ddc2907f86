package main

import (
	"bytes"
	"strings"
	"testing"
)

const sampleOutput = `goos: linux
goarch: amd64
pkg: github.com/cometa-es/cometa/eventstore/postgres
cpu: AMD EPYC 7B13
BenchmarkAppend/writers=1-2         	     200	   5234567 ns/op	       812.5 base-events/s	       640.0 events/s	     512 B/op	       9 allocs/op
BenchmarkAppend/writers=1-2         	     200	   5234567 ns/op	       787.5 base-events/s	       660.0 events/s	     512 B/op	       9 allocs/op
BenchmarkAppend/writers=32-2        	    1000	   1034567 ns/op	      9000 base-events/s	     12000 events/s
BenchmarkCatchUp
    catchup_test.go:40: seeded 100000 events
BenchmarkCatchUp-2                  	       1	2034567000 ns/op	    450000 base-events/s	    300000 events/s	         3.5 base-ms-p50	         2.1 ms-p50
BenchmarkNoBaseline-2               	     100	     12345 ns/op
PASS
ok  	github.com/cometa-es/cometa/eventstore/postgres	12.345s
pkg: github.com/cometa-es/cometa/projections
BenchmarkRebuild-2   1   900000000 ns/op   0 base-events/s   110000 events/s
PASS
ok  	github.com/cometa-es/cometa/projections	3.1s
`

func TestParse(t *testing.T) {
	t.Parallel()

	rep, err := Parse(strings.NewReader(sampleOutput), "github.com/cometa-es/cometa")
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{"eventstore/postgres Append/writers=1 (events/s)", 650, 800, 2},
		{"eventstore/postgres Append/writers=32 (events/s)", 12000, 9000, 1},
		{"eventstore/postgres CatchUp (events/s)", 300000, 450000, 1},
		{"eventstore/postgres CatchUp (ms-p50)", 2.1, 3.5, 1},
		{"projections Rebuild (events/s)", 110000, 0, 1},
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(rep.Rows), len(want), rep.Rows)
	}
	for i, w := range want {
		if rep.Rows[i] != w {
			t.Errorf("row %d = %+v, want %+v", i, rep.Rows[i], w)
		}
	}
	if len(rep.Failures) != 0 {
		t.Errorf("failures = %q, want none", rep.Failures)
	}
	if got := rep.Rows[1].Ratio(); got < 1.333 || got > 1.334 {
		t.Errorf("ratio of 12000 over 9000 = %v", got)
	}
	if got := rep.Rows[4].Ratio(); got != 0 {
		t.Errorf("ratio over a zero baseline = %v, want 0", got)
	}
}

func TestParseResultLines(t *testing.T) {
	t.Parallel()

	tests := []struct {
		line string
		name string
		ok   bool
	}{
		{"BenchmarkX-2  10  5 ns/op", "X", true},
		{"BenchmarkX  10  5 ns/op", "X", true},
		{"BenchmarkSub/n=-3-16  10  5 ns/op", "Sub/n=-3", true},
		{"BenchmarkX-2", "", false},
		{"BenchmarkX-2  ten  5 ns/op", "", false},
		{"BenchmarkX-2  10  five ns/op", "", false},
		{"BenchmarkX-2  10  5", "", false},
		{"ok  	pkg	1.0s", "", false},
		{"    BenchmarkX: logged line", "", false},
	}
	for _, tt := range tests {
		name, _, ok := parseResult(tt.line)
		if ok != tt.ok || name != tt.name {
			t.Errorf("parseResult(%q) = %q, %v; want %q, %v", tt.line, name, ok, tt.name, tt.ok)
		}
	}
}

func TestParseFailures(t *testing.T) {
	t.Parallel()

	out := `pkg: github.com/cometa-es/cometa/eventstore/postgres
BenchmarkAppend-2   10   5 ns/op   1 events/s   2 base-events/s
--- FAIL: BenchmarkCatchUp-2
    catchup_test.go:12: seed: connection refused
FAIL
exit status 1
FAIL	github.com/cometa-es/cometa/eventstore/postgres	1.2s
FAIL github.com/cometa-es/cometa/runner [build failed]
`
	var stdout, stderr bytes.Buffer
	code := run(strings.NewReader(out), &stdout, &stderr, "github.com/cometa-es/cometa")
	if code == 0 {
		t.Error("run exited 0 on a failed benchmark run")
	}
	if !strings.Contains(stdout.String(), "eventstore/postgres Append (events/s)") {
		t.Errorf("the rows before the failure are missing:\n%s", stdout.String())
	}
	for _, want := range []string{"--- FAIL: BenchmarkCatchUp-2", "[build failed]"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not show %q:\n%s", want, stderr.String())
		}
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()

	var stdout, stderr bytes.Buffer
	if code := run(strings.NewReader(sampleOutput), &stdout, &stderr, ""); code != 0 {
		t.Fatalf("run exited %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("got %d lines, want a header and 5 rows:\n%s", len(lines), stdout.String())
	}
	for _, want := range []string{"figure", "value", "baseline", "ratio"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header %q lacks %q", lines[0], want)
		}
	}
	checks := map[int][]string{
		1: {"github.com/cometa-es/cometa/eventstore/postgres Append/writers=1 (events/s)",
			" 650.0 ", " 800.0 ", " 0.81x"},
		2: {" 12000 ", " 9000 ", " 1.33x"},
		4: {" 2.100 ", " 3.500 ", " 0.60x"},
		5: {"projections Rebuild", " n/a"},
	}
	for i, wants := range checks {
		for _, want := range wants {
			if !strings.Contains(lines[i], want) {
				t.Errorf("line %d %q lacks %q", i, lines[i], want)
			}
		}
	}
}

func TestRunWithoutFigures(t *testing.T) {
	t.Parallel()

	var stdout, stderr bytes.Buffer
	code := run(strings.NewReader("PASS\nok  \tpkg\t0.1s\n"), &stdout, &stderr, "")
	if code != 0 {
		t.Errorf("run exited %d on output without benchmarks", code)
	}
	if !strings.Contains(stdout.String(), "no benchmark reported") {
		t.Errorf("stdout = %q", stdout.String())
	}
}
