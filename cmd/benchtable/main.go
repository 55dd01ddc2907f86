// Command benchtable turns `go test -bench` output into one table of the
// project's figures: each row is a figure, its value, the baseline measured
// in the same run and their ratio.
//
// A benchmark reports a pair of metrics through internal/benchreport:
// "<unit>" and "base-<unit>". Metrics without such a pair (ns/op, B/op, ...)
// are not figures and are left out. When a benchmark ran several times
// (-count), the row shows the mean of its runs.
//
// It reads the benchmark output on stdin and exits non-zero when the output
// reports a failed test or benchmark, so that `make bench` fails with it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// basePrefix marks a baseline metric, as internal/benchreport writes it.
const basePrefix = "base-"

// Row is one figure of the table.
type Row struct {
	// Figure names the benchmark and its unit, e.g.
	// "eventstore/postgres Append/writers=1 (events/s)".
	Figure   string
	Value    float64
	Baseline float64
	// Runs is how many result lines were averaged into the row.
	Runs int
}

// Ratio is Value over Baseline, or 0 when there is no baseline to divide by.
func (r Row) Ratio() float64 {
	if r.Baseline == 0 {
		return 0
	}
	return r.Value / r.Baseline
}

// Report is what Parse found in a benchmark output.
type Report struct {
	Rows []Row
	// Failures are the lines that report a failed test, benchmark or
	// package, in the order they came.
	Failures []string
}

// Parse reads `go test -bench` output. module, when not empty, is cut from
// the front of package paths to keep figure names short.
func Parse(r io.Reader, module string) (Report, error) {
	type sums struct {
		value, baseline float64
		runs            int
	}
	var order []string
	acc := map[string]*sums{}
	var rep Report

	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg: "))
			if module != "" {
				pkg = strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
			}
			continue
		case isFailure(line):
			rep.Failures = append(rep.Failures, strings.TrimSpace(line))
			continue
		}

		name, metrics, ok := parseResult(line)
		if !ok {
			continue
		}
		for _, unit := range slices.Sorted(maps.Keys(metrics)) {
			if strings.HasPrefix(unit, basePrefix) {
				continue
			}
			value := metrics[unit]
			baseline, paired := metrics[basePrefix+unit]
			if !paired {
				continue
			}
			figure := name + " (" + unit + ")"
			if pkg != "" {
				figure = pkg + " " + figure
			}
			s, seen := acc[figure]
			if !seen {
				s = &sums{}
				acc[figure] = s
				order = append(order, figure)
			}
			s.value += value
			s.baseline += baseline
			s.runs++
		}
	}
	if err := sc.Err(); err != nil {
		return Report{}, fmt.Errorf("read benchmark output: %w", err)
	}

	for _, figure := range order {
		s := acc[figure]
		rep.Rows = append(rep.Rows, Row{
			Figure:   figure,
			Value:    s.value / float64(s.runs),
			Baseline: s.baseline / float64(s.runs),
			Runs:     s.runs,
		})
	}
	return rep, nil
}

// parseResult splits a result line such as
//
//	BenchmarkAppend/writers=32-2   100   5123 ns/op   812.5 events/s   903 base-events/s
//
// into the benchmark's name without "Benchmark" and the GOMAXPROCS suffix,
// and its metrics by unit. Lines that are not result lines give ok false.
func parseResult(line string) (name string, metrics map[string]float64, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || len(fields)%2 != 0 || !strings.HasPrefix(fields[0], "Benchmark") {
		return "", nil, false
	}
	if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
		return "", nil, false
	}
	metrics = make(map[string]float64, (len(fields)-2)/2)
	for i := 2; i < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return "", nil, false
		}
		metrics[fields[i+1]] = v
	}

	name = strings.TrimPrefix(fields[0], "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	return name, metrics, true
}

// isFailure reports whether line is go test's mark of a failure: a failed
// test or benchmark ("--- FAIL: ..."), a failed package ("FAIL\tpkg ..."),
// or a build failure ("FAIL pkg [build failed]").
func isFailure(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, "--- FAIL") || t == "FAIL" || strings.HasPrefix(t, "FAIL\t") ||
		strings.HasPrefix(t, "FAIL ") || strings.HasPrefix(t, "panic: ")
}

// Write prints rep's rows as a table: the figure left-aligned, the numbers
// right-aligned.
func Write(w io.Writer, rep Report) error {
	cells := [][4]string{{"figure", "value", "baseline", "ratio"}}
	for _, r := range rep.Rows {
		ratio := "n/a"
		if r.Baseline != 0 {
			ratio = strconv.FormatFloat(r.Ratio(), 'f', 2, 64) + "x"
		}
		cells = append(cells, [4]string{r.Figure, number(r.Value), number(r.Baseline), ratio})
	}
	var width [4]int
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	for _, row := range cells {
		_, err := fmt.Fprintf(w, "%-*s  %*s  %*s  %*s\n",
			width[0], row[0], width[1], row[1], width[2], row[2], width[3], row[3])
		if err != nil {
			return err
		}
	}
	return nil
}

// number formats a figure with at most three significant decimals and no
// exponent for the sizes benchmarks report.
func number(v float64) string {
	switch {
	case v >= 1000 || v <= -1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10 || v <= -10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func main() {
	module := flag.String("module", "github.com/cometa-es/cometa",
		"module path cut from package names")
	flag.Parse()
	os.Exit(run(os.Stdin, os.Stdout, os.Stderr, *module))
}

func run(in io.Reader, out, errOut io.Writer, module string) int {
	rep, err := Parse(in, module)
	if err != nil {
		fmt.Fprintf(errOut, "benchtable: %v\n", err)
		return 1
	}
	if len(rep.Rows) == 0 {
		fmt.Fprintln(out, "no benchmark reported a figure beside a baseline")
	} else if err := Write(out, rep); err != nil {
		fmt.Fprintf(errOut, "benchtable: %v\n", err)
		return 1
	}
	if len(rep.Failures) > 0 {
		fmt.Fprintf(errOut, "benchtable: the benchmark run failed:\n  %s\n",
			strings.Join(rep.Failures, "\n  "))
		return 1
	}
	return 0
}
