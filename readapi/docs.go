package readapi

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"
	"gopkg.in/yaml.v3"
)

// openapiFiles are the fragments of the OpenAPI document: base.yaml holds
// the frame (info, servers, security, shared components), every other file
// the paths and schemas of one resource.
//
//go:embed openapi/*.yaml
var openapiFiles embed.FS

// apiDocs is the merged document, its JSON and the HTML page made from it.
type apiDocs struct {
	doc  *openapi3.T
	json []byte
	html []byte
}

// OpenAPI returns the merged, validated OpenAPI document of the API, as
// /docs/openapi.json serves it. Tests validate responses against it.
func OpenAPI() (*openapi3.T, error) {
	d, err := loadDocs()
	if err != nil {
		return nil, err
	}
	return d.doc, nil
}

// loadDocs merges the fragments, validates the result and renders the HTML
// page.
func loadDocs() (*apiDocs, error) {
	merged, err := mergeFragments(openapiFiles)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("openapi: load merged document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi: merged document is invalid: %w", err)
	}
	pretty, err := json.MarshalIndent(merged, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	page, err := renderDocs(doc)
	if err != nil {
		return nil, err
	}
	return &apiDocs{doc: doc, json: pretty, html: page}, nil
}

// httpMethods are the operation keys of a path item, in display order.
func httpMethods() []string {
	return []string{"get", "post", "put", "patch", "delete", "head", "options"}
}

// mergeFragments reads base.yaml and adds every other fragment's paths and
// components to it. A method of a path or a component defined twice is an
// error naming both files. Every operation without a default response gets
// one: any status it does not list answers with the Error schema.
func mergeFragments(files fs.FS) (map[string]any, error) {
	names, err := fs.Glob(files, "openapi/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	read := func(name string) (map[string]any, error) {
		data, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", name, err)
		}
		return m, nil
	}
	base, err := read("openapi/base.yaml")
	if err != nil {
		return nil, err
	}
	paths := mapOf(base, "paths")
	components := mapOf(base, "components")
	owner := map[string]string{}
	for _, name := range names {
		if path.Base(name) == "base.yaml" {
			continue
		}
		frag, err := read(name)
		if err != nil {
			return nil, err
		}
		for key := range frag {
			if key != "paths" && key != "components" {
				return nil, fmt.Errorf("openapi: %s: only paths and components belong in a fragment, not %q", name, key)
			}
		}
		for p, item := range mapOf(frag, "paths") {
			target := mapOf(paths, p)
			for k, v := range item.(map[string]any) {
				id := "path " + p + " " + k
				if prev, dup := owner[id]; dup || (target[k] != nil && k != "parameters") {
					return nil, fmt.Errorf("openapi: %s defined in %s and %s", id, prev, name)
				}
				owner[id] = name
				target[k] = v
			}
		}
		for section, entries := range mapOf(frag, "components") {
			target := mapOf(components, section)
			for k, v := range entries.(map[string]any) {
				id := "component " + section + "/" + k
				if prev, dup := owner[id]; dup || target[k] != nil {
					return nil, fmt.Errorf("openapi: %s defined in %s and %s", id, prev, name)
				}
				owner[id] = name
				target[k] = v
			}
		}
	}
	mapOf(components, "responses")["Error"] = map[string]any{
		"description": "Any other status: an error in Cometa's shape.",
		"content": map[string]any{"application/json": map[string]any{
			"schema": map[string]any{"$ref": "#/components/schemas/Error"}}},
	}
	mapOf(components, "responses")["Pending"] = map[string]any{
		"description": "The change was recorded, but the read models did not show it within " +
			"COMETA_READ_YOUR_WRITES_TIMEOUT: do not send it again; read it back later.",
		"content": map[string]any{"application/json": map[string]any{
			"schema": map[string]any{"$ref": "#/components/schemas/Pending"}}},
	}
	mapOf(components, "schemas")["Pending"] = map[string]any{
		"type": "object", "required": []any{"success", "pending", "message"},
		"properties": map[string]any{
			"success": map[string]any{"type": "boolean", "enum": []any{true}},
			"pending": map[string]any{"type": "boolean", "enum": []any{true}},
			"message": map[string]any{"type": "string"},
		},
	}
	for _, item := range paths {
		for _, m := range httpMethods() {
			op, ok := item.(map[string]any)[m].(map[string]any)
			if !ok {
				continue
			}
			responses := mapOf(op, "responses")
			if _, ok := responses["default"]; !ok {
				responses["default"] = map[string]any{"$ref": "#/components/responses/Error"}
			}
			if _, ok := responses["202"]; !ok && m != "get" {
				responses["202"] = map[string]any{"$ref": "#/components/responses/Pending"}
			}
		}
	}
	return base, nil
}

// mapOf returns m[key] as a map, creating it when absent.
func mapOf(m map[string]any, key string) map[string]any {
	if v, ok := m[key].(map[string]any); ok {
		return v
	}
	v := map[string]any{}
	m[key] = v
	return v
}

// openAPIJSON serves the merged document.
func (a *api) openAPIJSON(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(a.docs.json)
}

// docsPage serves the human-readable documentation. It loads nothing from
// elsewhere: the page is rendered here from the document.
func (a *api) docsPage(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(a.docs.html)
}

// docOperation is one operation as the page shows it.
type docOperation struct {
	Method, Path, Summary, Description, Tag string
	Public                                  bool
	Params                                  []docParam
	Body                                    string
	Responses                               []docResponse
}

type docParam struct{ Name, In, Type, Description string }

type docResponse struct{ Status, Description, Schema string }

// renderDocs renders the page: the introduction, then every operation
// grouped by tag, then the schemas.
func renderDocs(doc *openapi3.T) ([]byte, error) {
	var ops []docOperation
	for _, p := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(p)
		for _, m := range httpMethods() {
			op := item.GetOperation(strings.ToUpper(m))
			if op == nil {
				continue
			}
			o := docOperation{Method: strings.ToUpper(m), Path: p, Summary: op.Summary,
				Description: op.Description, Tag: "other", Public: op.Security != nil && len(*op.Security) == 0}
			if len(op.Tags) > 0 {
				o.Tag = op.Tags[0]
			}
			for _, ref := range append(item.Parameters, op.Parameters...) {
				if prm := ref.Value; prm != nil {
					o.Params = append(o.Params, docParam{prm.Name, prm.In, schemaText(prm.Schema), prm.Description})
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				if mt := op.RequestBody.Value.Content.Get(fiber.MIMEApplicationJSON); mt != nil {
					o.Body = schemaText(mt.Schema)
				}
			}
			for status, ref := range op.Responses.Map() {
				r := docResponse{Status: status}
				if ref.Value != nil {
					if ref.Value.Description != nil {
						r.Description = *ref.Value.Description
					}
					if mt := ref.Value.Content.Get(fiber.MIMEApplicationJSON); mt != nil {
						r.Schema = schemaText(mt.Schema)
					}
				}
				o.Responses = append(o.Responses, r)
			}
			sort.Slice(o.Responses, func(i, j int) bool { return o.Responses[i].Status < o.Responses[j].Status })
			ops = append(ops, o)
		}
	}
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].Tag != ops[j].Tag {
			return ops[i].Tag < ops[j].Tag
		}
		return ops[i].Path < ops[j].Path
	})
	var schemas []docResponse
	for name, ref := range doc.Components.Schemas {
		schemas = append(schemas, docResponse{Status: name, Schema: schemaText(ref)})
	}
	sort.Slice(schemas, func(i, j int) bool { return schemas[i].Status < schemas[j].Status })

	var buf bytes.Buffer
	err := docsTemplate.Execute(&buf, map[string]any{
		"Title": doc.Info.Title, "Version": doc.Info.Version, "Intro": doc.Info.Description,
		"Operations": ops, "Schemas": schemas,
	})
	if err != nil {
		return nil, fmt.Errorf("openapi: render page: %w", err)
	}
	return buf.Bytes(), nil
}

// schemaText shows a schema as indented JSON, keeping references as
// names.
func schemaText(ref *openapi3.SchemaRef) string {
	if ref == nil {
		return ""
	}
	if ref.Ref != "" {
		return strings.TrimPrefix(ref.Ref, "#/components/schemas/")
	}
	raw, err := json.MarshalIndent(ref, "", "  ")
	if err != nil {
		return ""
	}
	return string(raw)
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2.5rem}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.m{font-weight:bold;font-family:monospace;padding:.1rem .4rem;border-radius:3px;background:#eef}
.p{font-family:monospace;font-size:1.05rem}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:.85rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
.intro{white-space:pre-wrap}
</style></head><body>
<h1>{{.Title}} <small>{{.Version}}</small></h1>
<p class="intro">{{.Intro}}</p>
<p>The machine-readable document: <a href="/docs/openapi.json">/docs/openapi.json</a>.</p>
{{$tag := ""}}
{{range .Operations}}{{if ne .Tag $tag}}{{$tag = .Tag}}<h2>{{.Tag}}</h2>{{end}}
<div class="op" id="{{.Method}} {{.Path}}">
<p><span class="m">{{.Method}}</span> <span class="p">{{.Path}}</span> {{.Summary}}{{if .Public}} <em>(no token needed)</em>{{end}}</p>
{{if .Description}}<p class="intro">{{.Description}}</p>{{end}}
{{if .Params}}<table><tr><th>parameter</th><th>in</th><th>schema</th><th></th></tr>
{{range .Params}}<tr><td>{{.Name}}</td><td>{{.In}}</td><td><pre>{{.Type}}</pre></td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Body}}<p>Body (application/json):</p><pre>{{.Body}}</pre>{{end}}
<table><tr><th>status</th><th>meaning</th><th>body</th></tr>
{{range .Responses}}<tr><td>{{.Status}}</td><td>{{.Description}}</td><td>{{if .Schema}}<pre>{{.Schema}}</pre>{{end}}</td></tr>{{end}}</table>
</div>{{end}}
<h2>Schemas</h2>
{{range .Schemas}}<h3 id="{{.Status}}">{{.Status}}</h3><pre>{{.Schema}}</pre>{{end}}
</body></html>
`))
