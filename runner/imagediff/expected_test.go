package imagediff

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fixtureRow is one line of testdata/expected.tsv: reference counts from
// pixelmatch 7.2.0.
type fixtureRow struct {
	a, b      string
	threshold float64
	includeAA bool
	want      int
}

func readFixtures(t *testing.T) []fixtureRow {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })

	var rows []fixtureRow
	sc := bufio.NewScanner(f)
	header := true
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 5 {
			t.Fatalf("expected.tsv: %d columns in %q", len(cols), line)
		}
		th, err1 := strconv.ParseFloat(cols[2], 64)
		aa, err2 := strconv.ParseBool(cols[3])
		n, err3 := strconv.Atoi(cols[4])
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("expected.tsv: bad row %q", line)
		}
		rows = append(rows, fixtureRow{cols[0], cols[1], th, aa, n})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("expected.tsv: no rows")
	}
	return rows
}

func TestCompareFilesMatchesPixelmatch(t *testing.T) {
	t.Parallel()
	for _, row := range readFixtures(t) {
		name := row.a + "-" + row.b + "-" + strconv.FormatFloat(row.threshold, 'g', -1, 64) +
			"-aa=" + strconv.FormatBool(row.includeAA)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := DefaultOptions()
			opts.Threshold = row.threshold
			opts.IncludeAA = row.includeAA
			res, err := CompareFiles(filepath.Join("testdata", row.a), filepath.Join("testdata", row.b), opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.DiffPixels != row.want {
				t.Errorf("DiffPixels = %d, want %d", res.DiffPixels, row.want)
			}
		})
	}
}
