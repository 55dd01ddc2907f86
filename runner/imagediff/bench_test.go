package imagediff

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cometa-es/cometa/internal/benchreport"
)

// The reference implementation the benchmark measures beside ours.
const (
	pixelmatchPkg = "pixelmatch@7.2.0"
	pngjsPkg      = "pngjs@7.0.0"
	nodeWarmup    = 5
	nodeRuns      = 30
)

// nodeBench decodes two PNGs with pngjs, then times pixelmatch on them (with
// a diff image, default options) run by run, and prints the count and the
// per-run milliseconds as JSON. Start-up and decoding are not timed. The
// last diff image is written, raw RGBA, to the file named by the sixth
// argument.
const nodeBench = `
const [dir, fa, fb, warmup, runs, diffOut] = process.argv.slice(2);
const { pathToFileURL } = await import('node:url');
const fs = await import('node:fs');
const mod = (p) => import(pathToFileURL(dir + '/node_modules/' + p).href);
const pixelmatch = (await mod('pixelmatch/index.js')).default;
const { PNG } = (await mod('pngjs/lib/png.js')).default;
const a = PNG.sync.read(fs.readFileSync(fa));
const b = PNG.sync.read(fs.readFileSync(fb));
const out = new Uint8Array(a.width * a.height * 4);
let count = 0;
const ms = [];
for (let i = 0; i < +warmup + +runs; i++) {
  const t0 = process.hrtime.bigint();
  count = pixelmatch(a.data, b.data, out, a.width, a.height, { threshold: 0.1 });
  const t1 = process.hrtime.bigint();
  if (i >= +warmup) ms.push(Number(t1 - t0) / 1e6);
}
fs.writeFileSync(diffOut, out);
console.log(JSON.stringify({ count, ms }));
`

// BenchmarkCompare1080p compares two 1920x1080 page-like screenshots (one
// changed by a step, or identical) with a diff image, in Go and in
// pixelmatch on Node, and reports the median milliseconds of both.
func BenchmarkCompare1080p(b *testing.B) {
	dir, err := installPixelmatch(b)
	if err != nil {
		b.Skip(err)
	}
	before, after := page(1920, 1080, false), page(1920, 1080, true)
	cases := []struct {
		name string
		a, b *image.NRGBA
	}{
		{"changed", before, after},
		{"identical", before, clone(before)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			fa, fb := writePNG(b, c.a, "a.png"), writePNG(b, c.b, "b.png")
			nodeCount, nodeDiff, nodeMS, err := runNode(b, dir, fa, fb)
			if err != nil {
				b.Fatal(err)
			}

			var samples []time.Duration
			var res Result
			for b.Loop() {
				t0 := time.Now()
				res, err = Compare(c.a, c.b, DefaultOptions(), true)
				samples = append(samples, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
			}
			same := bytes.Equal(res.Diff.Pix, nodeDiff)
			b.Logf("diff pixels: Go %d, pixelmatch %d; same diff image: %v", res.DiffPixels, nodeCount, same)
			// A faster comparison that counts differently is no result.
			if res.DiffPixels != nodeCount || !same {
				b.Errorf("Go and pixelmatch disagree on the same images: %d and %d pixels, same diff image %v",
					res.DiffPixels, nodeCount, same)
			}
			benchreport.Record(b, benchreport.Percentile(samples, 50),
				benchreport.Percentile(nodeMS, 50), "ms/compare")
		})
	}
}

// installPixelmatch installs the reference into a cache directory once and
// returns that directory, or why it cannot.
func installPixelmatch(b *testing.B) (string, error) {
	b.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("%s not available: %w", tool, err)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "cometa-bench", "pixelmatch-7.2.0")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "pixelmatch", "index.js")); err == nil {
		return dir, nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-save", "--no-audit", "--no-fund",
		"--prefix", dir, pixelmatchPkg, pngjsPkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install %s %s: %w: %s", pixelmatchPkg, pngjsPkg, err, out)
	}
	return dir, nil
}

// runNode runs nodeBench and returns pixelmatch's count, diff image (raw
// RGBA) and run times.
func runNode(b *testing.B, dir, fa, fb string) (int, []byte, []time.Duration, error) {
	b.Helper()
	tmp := b.TempDir()
	script, diffOut := filepath.Join(tmp, "bench.mjs"), filepath.Join(tmp, "diff.rgba")
	if err := os.WriteFile(script, []byte(nodeBench), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", script, dir, fa, fb,
		fmt.Sprint(nodeWarmup), fmt.Sprint(nodeRuns), diffOut)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, nil, nil, fmt.Errorf("node pixelmatch: %w: %s", err, stderr.Bytes())
	}

	var got struct {
		Count int
		MS    []float64
	}
	if err := json.Unmarshal(out, &got); err != nil {
		return 0, nil, nil, fmt.Errorf("node pixelmatch output %q: %w", out, err)
	}
	diff, err := os.ReadFile(diffOut)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("node pixelmatch diff image: %w", err)
	}
	samples := make([]time.Duration, len(got.MS))
	for i, ms := range got.MS {
		samples[i] = time.Duration(ms * float64(time.Millisecond))
	}
	return got.Count, diff, samples, nil
}

func writePNG(b *testing.B, img image.Image, name string) string {
	b.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}
