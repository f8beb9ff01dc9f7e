package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
)

// commonErrors are the statuses any route may answer besides its own:
// refused shape or paths, token, Host/Origin, failure, the caller leaving
// or shutdown, timeout. A route drops those it cannot answer with never.
var commonErrors = []int{
	http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
	http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// bodyErrors are added for routes that may carry a body.
var bodyErrors = []int{http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}

// openAPIDocument describes every route of the table as OpenAPI 3.1, with
// schemas generated from the Go types the handlers encode, so that the
// document cannot drift from the bodies. It runs at development time only
// (go generate ./internal/api), so that the binary does not link
// kin-openapi; the server serves the result, embedded from openapi.json.
func (s *Server) openAPIDocument() ([]byte, error) {
	doc := &openapi3.T{
		OpenAPI: "3.1.0",
		Info: &openapi3.Info{
			Title:   "skilldock API",
			Version: "1",
			Description: "The ToolHive skills API (/api/v1beta/skills) and skilldock's extension API " +
				"(/api/skilldock/v1, one route per method of the service façade). Errors are JSON strings. " +
				"A token is required only when the server was given or generated one (off loopback).",
		},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				"bearer": {Value: openapi3.NewSecurityScheme().WithType("http").WithScheme("bearer")},
			},
		},
		// The empty requirement makes the token optional: it is demanded only
		// when the server has one.
		Security: openapi3.SecurityRequirements{{}, {"bearer": []string{}}},
	}
	gen := newSchemas(doc.Components.Schemas)
	errSchema := &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"string"}, Description: "what went wrong, one line for people"}}
	for _, rt := range s.routes() {
		op := openapi3.NewOperation()
		op.OperationID = rt.id
		op.Summary = rt.summary
		op.Tags = []string{rt.tag}
		if rt.public {
			op.Security = &openapi3.SecurityRequirements{}
		}
		for _, p := range rt.params {
			schema := openapi3.NewStringSchema()
			for _, e := range p.enum {
				schema.Enum = append(schema.Enum, e)
			}
			var param *openapi3.Parameter
			if strings.Contains(rt.path, "{"+p.name+"}") {
				param = openapi3.NewPathParameter(p.name)
			} else {
				param = openapi3.NewQueryParameter(p.name).WithRequired(p.required)
			}
			op.AddParameter(param.WithDescription(p.desc).WithSchema(schema))
		}
		if rt.body != nil {
			ref, err := gen.request(rt.body)
			if err != nil {
				return nil, err
			}
			op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).WithJSONSchemaRef(ref)}
		}
		op.Responses = openapi3.NewResponses()
		switch {
		case rt.status == 0:
		case rt.raw:
			op.AddResponse(rt.status, openapi3.NewResponse().WithDescription(http.StatusText(rt.status)).WithContent(openapi3.Content{
				"application/octet-stream": &openapi3.MediaType{Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{
					Type: &openapi3.Types{"string"}, Format: "binary"}}},
			}))
		case rt.result == nil:
			op.AddResponse(rt.status, openapi3.NewResponse().WithDescription(http.StatusText(rt.status)))
		default:
			ref, err := gen.of(rt.result)
			if err != nil {
				return nil, err
			}
			op.AddResponse(rt.status, openapi3.NewResponse().WithDescription(http.StatusText(rt.status)).WithJSONSchemaRef(ref))
		}
		statuses := append(append([]int{}, commonErrors...), rt.errors...)
		if rt.method != http.MethodGet {
			statuses = append(statuses, bodyErrors...)
		}
		for _, code := range rt.never {
			if !slices.Contains(statuses, code) {
				return nil, fmt.Errorf("%s %s: never lists %d, which the route is not documented to answer anyway", rt.method, rt.path, code)
			}
		}
		statuses = slices.DeleteFunc(statuses, func(code int) bool { return slices.Contains(rt.never, code) })
		slices.Sort(statuses)
		for _, code := range slices.Compact(statuses) {
			op.AddResponse(code, openapi3.NewResponse().WithDescription(http.StatusText(code)).WithJSONSchemaRef(errSchema))
		}
		doc.AddOperation(rt.path, rt.method, op)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// schemas generates JSON Schemas from Go types: those of responses into
// the components map, with the fields encoding/json always writes marked
// required; those of requests inline, without required fields, because
// decoding leaves a missing field at its zero value.
type schemas struct {
	components openapi3.Schemas
	out        *openapi3gen.Generator
}

func newSchemas(components openapi3.Schemas) *schemas {
	return &schemas{
		components: components,
		out: openapi3gen.NewGenerator(
			// The façade's request types carry no json tags; encoding/json
			// uses their field names, and so does the document.
			openapi3gen.UseAllExportedFields(),
			openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true}),
			openapi3gen.CreateTypeNameGenerator(componentName),
			openapi3gen.SchemaCustomizer(customizer(true)),
		),
	}
}

// of is the schema of a response body.
func (s *schemas) of(v any) (*openapi3.SchemaRef, error) {
	return s.out.NewSchemaRefForValue(v, s.components)
}

// request is the schema of a request body.
func (s *schemas) request(v any) (*openapi3.SchemaRef, error) {
	return openapi3gen.NewSchemaRefForValue(v, nil, openapi3gen.UseAllExportedFields(), openapi3gen.SchemaCustomizer(customizer(false)))
}

// componentName names a struct's schema after its package, so that
// artifact.Platform and the OCI Platform stay apart; this package's wire
// types take the contract's names.
func componentName(t reflect.Type) string {
	name := t.Name()
	pkg := path.Base(t.PkgPath())
	switch pkg {
	case "api":
		r := []rune(name)
		r[0] = unicode.ToUpper(r[0])
		return string(r)
	case "v1":
		pkg = "oci"
	}
	return pkg + "." + name
}

// customizer turns the generator's OpenAPI 3.0 output into 3.1 schemas that
// say what encoding/json really does: nil slices, maps and pointers are null
// ("nullable" is gone in 3.1), no field but the type's appears (requests
// are decoded refusing unknown fields), and, with required, fields without
// omitempty are always written.
func customizer(required bool) openapi3gen.SchemaCustomizerFn {
	return func(name string, t reflect.Type, tag reflect.StructTag, schema *openapi3.Schema) error {
		customize(t, tag, schema, required)
		return nil
	}
}

func customize(t reflect.Type, tag reflect.StructTag, schema *openapi3.Schema, required bool) {
	if e := tag.Get("enum"); e != "" {
		for _, v := range strings.Split(e, ",") {
			schema.Enum = append(schema.Enum, v)
		}
	}
	nullable := schema.Nullable
	schema.Nullable = false
	switch t.Kind() {
	case reflect.Slice, reflect.Map:
		nullable = true
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			break
		}
		nullable = false // a component is shared; a nil pointer field is omitted or its own concern
		if required {
			schema.Required = requiredFields(t)
		}
		if schema.Type == nil {
			schema.Type = &openapi3.Types{"object"}
		}
		schema.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	}
	if nullable && schema.Type != nil && !schema.Type.Includes("null") {
		*schema.Type = append(*schema.Type, "null")
	}
}

// requiredFields lists the JSON names encoding/json always writes for t:
// exported fields without omitempty, embedded structs flattened.
func requiredFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			out = append(out, requiredFields(ft)...)
			continue
		}
		if !f.IsExported() || strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,") {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}
