package main

import (
	"fmt"

	"github.com/cometa-es/cometa/runner/imagediff"
)

// diffImagesCmd compares two images as the runner compares screenshots.
type diffImagesCmd struct {
	A         string  `arg:"" name:"a" help:"First PNG image." type:"existingfile"`
	B         string  `arg:"" name:"b" help:"Second PNG image." type:"existingfile"`
	Threshold float64 `help:"Matching threshold, 0 to 1; smaller is more sensitive." default:"0.1"`
	IncludeAA bool    `name:"include-aa" help:"Count anti-aliased pixels as differences too."`
}

// Run prints the number of differing pixels.
func (c diffImagesCmd) Run(p *process) error {
	opts := imagediff.DefaultOptions()
	opts.Threshold = c.Threshold
	opts.IncludeAA = c.IncludeAA
	res, err := imagediff.CompareFiles(c.A, c.B, opts)
	if err != nil {
		return fmt.Errorf("diff-images: %w", err)
	}
	_, err = fmt.Fprintln(p.stdout, res.DiffPixels)
	return err
}
