//! `GET /docs`: the OpenAPI document as one HTML page, rendered here from the same `ApiDoc`
//! value that `/openapi.json` serves, so the page and the document cannot disagree.
//!
//! Plain HTML with an inline style sheet: no script, no font, nothing fetched at build or run
//! time (a UI crate such as Swagger UI downloads its assets while building). Every text that
//! comes from the document is escaped.

use std::fmt::Write;
use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::path::{Operation, Parameter};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{ArrayItems, Schema, SchemaType, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{OpenApi, PathItem, RefOr, Required};
use utoipa::OpenApi as _;

use super::error::ErrorBody;
use super::openapi::ApiDoc;

/// The page, made once: the document cannot change while the process runs.
static PAGE: LazyLock<String> = LazyLock::new(|| render(&ApiDoc::openapi()));

/// The page forbids everything but its own inline style, so even a mistake in escaping could
/// not run a script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// This API's documentation page
///
/// Every route with its parameters, request body and responses, and every schema, rendered
/// on the server from the OpenAPI document.
#[utoipa::path(
    get,
    path = "/docs",
    operation_id = "docs_page",
    tag = "api description",
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
    ),
)]
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .body(PAGE.as_str())
}

const STYLE: &str = "
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#fff}
main{max-width:1100px;margin:0 auto;padding:1rem 1.5rem 4rem}
h1{margin:.5rem 0 0}h2{margin-top:2.5rem;border-bottom:2px solid #dde3ec;padding-bottom:.3rem}
h3{margin:0 0 .3rem;font-size:1.05rem}h4{margin:1rem 0 .3rem;font-size:.9rem;text-transform:uppercase;color:#5b6475}
code{font:13px/1.4 ui-monospace,monospace;background:#f2f4f8;padding:.05rem .3rem;border-radius:3px}
a{color:#1f5fbf}
.meta{color:#5b6475}
.op,.schema{border:1px solid #dde3ec;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:4.2rem;text-align:center;font:bold 12px/1.8 ui-monospace,monospace;color:#fff;border-radius:3px;margin-right:.4rem}
.get{background:#2f7d4f}.post{background:#1f5fbf}.patch{background:#a25f00}.delete{background:#b3261e}.put{background:#6b3fa0}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;vertical-align:top;border-top:1px solid #e8ecf2;padding:.3rem .5rem}
th{color:#5b6475;font-weight:600}
ul.toc{columns:2;padding-left:1.2rem}
@media (max-width:700px){ul.toc{columns:1}main{padding:1rem}}
";

/// The whole page for `doc`.
pub fn render(doc: &OpenApi) -> String {
    let mut page = String::with_capacity(96 * 1024);
    let title = escape(&doc.info.title);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>\
         <h1>{title}</h1><p class=\"meta\">Version {} · OpenAPI {} · \
         the document: <a href=\"/openapi.json\"><code>/openapi.json</code></a></p>",
        escape(&doc.info.version),
        escape(&serde_text(&doc.openapi)),
    );
    if let Some(description) = &doc.info.description {
        page.push_str(&paragraphs(description));
    }
    render_security_schemes(&mut page, doc);
    let groups = operations_by_tag(doc);
    render_contents(&mut page, &groups);
    for group in &groups {
        let _ = write!(
            page,
            "<h2 id=\"{}\">{}</h2>",
            anchor("tag", &group.name),
            escape(&group.name)
        );
        if let Some(description) = &group.description {
            page.push_str(&paragraphs(description));
        }
        for op in &group.operations {
            render_operation(&mut page, doc, op);
        }
    }
    render_schemas(&mut page, doc);
    page.push_str("</main></body></html>\n");
    page
}

/// One operation: a method on a path.
struct Endpoint<'a> {
    method: &'static str,
    path: &'a str,
    operation: &'a Operation,
}

/// The operations of one tag, in the document's path order.
struct TagGroup<'a> {
    name: String,
    description: Option<String>,
    operations: Vec<Endpoint<'a>>,
}

/// The operations of a path, by lower-case method.
pub(super) fn endpoints(item: &PathItem) -> Vec<(&'static str, &Operation)> {
    [
        ("get", &item.get),
        ("post", &item.post),
        ("put", &item.put),
        ("patch", &item.patch),
        ("delete", &item.delete),
        ("head", &item.head),
        ("options", &item.options),
        ("trace", &item.trace),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_ref().map(|op| (method, op)))
    .collect()
}

/// Groups in the order of the document's tags; operations with no listed tag come last.
fn operations_by_tag(doc: &OpenApi) -> Vec<TagGroup<'_>> {
    let mut groups: Vec<TagGroup> = doc
        .tags
        .iter()
        .flatten()
        .map(|tag| TagGroup {
            name: tag.name.clone(),
            description: tag.description.clone(),
            operations: Vec::new(),
        })
        .collect();
    let mut untagged = TagGroup {
        name: "other".into(),
        description: None,
        operations: Vec::new(),
    };
    for (path, item) in &doc.paths.paths {
        for (method, operation) in endpoints(item) {
            let endpoint = Endpoint {
                method,
                path,
                operation,
            };
            let first_tag = operation.tags.iter().flatten().next();
            match first_tag.and_then(|t| groups.iter_mut().find(|g| &g.name == t)) {
                Some(group) => group.operations.push(endpoint),
                None => untagged.operations.push(endpoint),
            }
        }
    }
    if !untagged.operations.is_empty() {
        groups.push(untagged);
    }
    groups.retain(|g| !g.operations.is_empty());
    groups
}

fn render_contents(page: &mut String, groups: &[TagGroup]) {
    page.push_str("<h2>Routes</h2><ul class=\"toc\">");
    for group in groups {
        for op in &group.operations {
            let _ = write!(
                page,
                "<li><a href=\"#{}\"><span class=\"method {m}\">{M}</span><code>{}</code></a></li>",
                anchor(op.method, op.path),
                escape(op.path),
                m = op.method,
                M = op.method.to_ascii_uppercase(),
            );
        }
    }
    page.push_str("</ul>");
}

fn render_security_schemes(page: &mut String, doc: &OpenApi) {
    let Some(components) = &doc.components else {
        return;
    };
    if components.security_schemes.is_empty() {
        return;
    }
    page.push_str(
        "<h2>Authentication</h2><table><tr><th>Scheme</th><th>How</th><th>Meaning</th></tr>",
    );
    for (name, scheme) in &components.security_schemes {
        // The scheme's kind is read from its JSON form: it is spread over several enums.
        let value = serde_json::to_value(scheme).unwrap_or_default();
        let text = |key: &str| value[key].as_str().unwrap_or("").to_string();
        let how = match text("type").as_str() {
            "http" => format!("HTTP {}", text("scheme")),
            "apiKey" => format!("{} parameter {}", text("in"), text("name")),
            other => other.to_string(),
        };
        let _ = write!(
            page,
            "<tr id=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            anchor("auth", name),
            escape(name),
            escape(&how),
            inline_text(&text("description")),
        );
    }
    page.push_str("</table>");
}

fn render_operation(page: &mut String, doc: &OpenApi, op: &Endpoint) {
    let operation = op.operation;
    let _ = write!(
        page,
        "<section class=\"op\" id=\"{}\"><h3><span class=\"method {m}\">{M}</span><code>{}</code></h3>",
        anchor(op.method, op.path),
        escape(op.path),
        m = op.method,
        M = op.method.to_ascii_uppercase(),
    );
    if let Some(summary) = &operation.summary {
        let _ = write!(page, "<p><strong>{}</strong></p>", inline_text(summary));
    }
    if let Some(description) = &operation.description {
        page.push_str(&paragraphs(description));
    }
    let security = operation.security.as_ref().or(doc.security.as_ref());
    let _ = write!(
        page,
        "<p class=\"meta\">Auth: {}</p>",
        security_label(security)
    );
    if let Some(parameters) = operation.parameters.as_ref().filter(|p| !p.is_empty()) {
        render_parameters(page, parameters);
    }
    if let Some(body) = &operation.request_body {
        render_request_body(page, body);
    }
    render_responses(page, operation);
    page.push_str("</section>");
}

/// "none", or the schemes that open the operation: any one of the requirements suffices.
fn security_label(security: Option<&Vec<SecurityRequirement>>) -> String {
    let requirements: Vec<String> = security
        .into_iter()
        .flatten()
        .map(|requirement| {
            let value = serde_json::to_value(requirement).unwrap_or_default();
            let names: Vec<String> = value
                .as_object()
                .map(|o| o.keys().map(|name| scheme_link(name)).collect())
                .unwrap_or_default();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(" and ")
            }
        })
        .collect();
    if requirements.is_empty() {
        "none".into()
    } else {
        requirements.join(" or ")
    }
}

fn scheme_link(name: &str) -> String {
    format!(
        "<a href=\"#{}\"><code>{}</code></a>",
        anchor("auth", name),
        escape(name)
    )
}

fn render_parameters(page: &mut String, parameters: &[Parameter]) {
    page.push_str(
        "<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Required</th>\
         <th>Type</th><th>Description</th></tr>",
    );
    for p in parameters {
        let required = matches!(p.required, Required::True);
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.name),
            escape(&serde_text(&p.parameter_in)),
            if required { "yes" } else { "no" },
            p.schema.as_ref().map(type_label).unwrap_or_default(),
            p.description
                .as_deref()
                .map(inline_text)
                .unwrap_or_default(),
        );
    }
    page.push_str("</table>");
}

fn render_request_body(page: &mut String, body: &RequestBody) {
    page.push_str("<h4>Request body</h4>");
    if let Some(description) = &body.description {
        page.push_str(&paragraphs(description));
    }
    page.push_str("<table><tr><th>Content type</th><th>Schema</th></tr>");
    for (content_type, content) in &body.content {
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            escape(content_type),
            content.schema.as_ref().map(type_label).unwrap_or_default(),
        );
    }
    page.push_str("</table>");
}

fn render_responses(page: &mut String, operation: &Operation) {
    page.push_str(
        "<h4>Responses</h4><table><tr><th>Status</th><th>Description</th><th>Body</th></tr>",
    );
    for (status, response) in &operation.responses.responses {
        let (description, bodies, headers) = match response {
            RefOr::T(r) => {
                let bodies: Vec<String> = r
                    .content
                    .iter()
                    .map(|(content_type, content)| {
                        format!(
                            "<code>{}</code> {}",
                            escape(content_type),
                            content.schema.as_ref().map(type_label).unwrap_or_default()
                        )
                    })
                    .collect();
                let headers: Vec<String> = r
                    .headers
                    .iter()
                    .map(|(name, header)| {
                        format!(
                            "header <code>{}</code>: {}",
                            escape(name),
                            header
                                .description
                                .as_deref()
                                .map(inline_text)
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                (inline_text(&r.description), bodies, headers)
            }
            RefOr::Ref(r) => (ref_link(&r.ref_location), Vec::new(), Vec::new()),
        };
        let mut cell = bodies.join("<br>");
        for header in headers {
            if !cell.is_empty() {
                cell.push_str("<br>");
            }
            cell.push_str(&header);
        }
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{description}</td><td>{cell}</td></tr>",
            escape(status),
        );
    }
    page.push_str("</table>");
}

fn render_schemas(page: &mut String, doc: &OpenApi) {
    let Some(components) = &doc.components else {
        return;
    };
    page.push_str("<h2 id=\"schemas\">Schemas</h2>");
    for (name, schema) in &components.schemas {
        let _ = write!(
            page,
            "<section class=\"schema\" id=\"{}\"><h3><code>{}</code></h3>",
            anchor("schema", name),
            escape(name),
        );
        match schema {
            RefOr::T(schema) => render_schema_body(page, schema),
            RefOr::Ref(r) => {
                let _ = write!(page, "<p>{}</p>", ref_link(&r.ref_location));
            }
        }
        page.push_str("</section>");
    }
}

/// A schema's description, then its fields, values or alternatives.
fn render_schema_body(page: &mut String, schema: &Schema) {
    if let Some(description) = schema_description(schema) {
        page.push_str(&paragraphs(description));
    }
    match schema {
        Schema::Object(object) if !object.properties.is_empty() => {
            page.push_str(
                "<table><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr>",
            );
            for (field, property) in &object.properties {
                let required = object.required.iter().any(|r| r == field);
                let description = match property {
                    RefOr::T(s) => schema_description(s).map(inline_text).unwrap_or_default(),
                    RefOr::Ref(r) => inline_text(&r.description),
                };
                let _ = write!(
                    page,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{description}</td></tr>",
                    escape(field),
                    type_label(property),
                    if required { "yes" } else { "no" },
                );
            }
            page.push_str("</table>");
        }
        Schema::OneOf(one_of) => render_alternatives(page, "One of", &one_of.items),
        Schema::AnyOf(any_of) => render_alternatives(page, "Any of", &any_of.items),
        Schema::AllOf(all_of) => render_alternatives(page, "All of", &all_of.items),
        other => {
            let _ = write!(page, "<p>{}</p>", schema_label(other));
        }
    }
}

fn render_alternatives(page: &mut String, heading: &str, items: &[RefOr<Schema>]) {
    let _ = write!(page, "<p>{heading}:</p><ul>");
    for item in items {
        page.push_str("<li>");
        match item {
            RefOr::T(schema @ Schema::Object(object)) if !object.properties.is_empty() => {
                render_schema_body(page, schema)
            }
            other => page.push_str(&type_label(other)),
        }
        page.push_str("</li>");
    }
    page.push_str("</ul>");
}

fn schema_description(schema: &Schema) -> Option<&str> {
    match schema {
        Schema::Object(o) => o.description.as_deref(),
        Schema::Array(a) => a.description.as_deref(),
        Schema::OneOf(o) => o.description.as_deref(),
        Schema::AllOf(a) => a.description.as_deref(),
        Schema::AnyOf(a) => a.description.as_deref(),
        _ => None,
    }
}

/// A short, linked, escaped name for a schema: `Campaign`, `array of Lead`,
/// `integer (int64)`, `string or null`, `one of: "json", "csv"`.
fn type_label(schema: &RefOr<Schema>) -> String {
    match schema {
        RefOr::Ref(r) => ref_link(&r.ref_location),
        RefOr::T(schema) => schema_label(schema),
    }
}

fn schema_label(schema: &Schema) -> String {
    match schema {
        Schema::Array(array) => {
            let items = match &array.items {
                ArrayItems::RefOrSchema(items) => type_label(items),
                ArrayItems::False => "nothing".into(),
            };
            with_null(format!("array of {items}"), &array.schema_type)
        }
        Schema::Object(object) => {
            if let Some(values) = object.enum_values.as_ref().filter(|v| !v.is_empty()) {
                let values: Vec<String> = values
                    .iter()
                    .map(|v| format!("<code>{}</code>", escape(&v.to_string())))
                    .collect();
                return format!("one of {}", values.join(", "));
            }
            let mut label = type_names(&object.schema_type);
            if let Some(format) = &object.format {
                let _ = write!(label, " ({})", escape(&serde_text(format)));
            }
            let bound = |n: &Option<utoipa::Number>| n.as_ref().map(serde_text);
            match (bound(&object.minimum), bound(&object.maximum)) {
                (Some(low), Some(high)) => {
                    let _ = write!(label, ", {}", escape(&format!("{low}..={high}")));
                }
                (Some(low), None) => {
                    let _ = write!(label, ", {}", escape(&format!(">= {low}")));
                }
                (None, Some(high)) => {
                    let _ = write!(label, ", {}", escape(&format!("<= {high}")));
                }
                (None, None) => {}
            }
            if let Some(default) = &object.default {
                let _ = write!(label, ", default {}", escape(&default.to_string()));
            }
            label
        }
        Schema::OneOf(one_of) => alternatives_label(&one_of.items, " or "),
        Schema::AnyOf(any_of) => alternatives_label(&any_of.items, " or "),
        Schema::AllOf(all_of) => alternatives_label(&all_of.items, " and "),
        _ => "schema".into(),
    }
}

/// `X or Y`, with a `null` alternative said as "or null" at the end.
fn alternatives_label(items: &[RefOr<Schema>], joiner: &str) -> String {
    let is_null = |item: &RefOr<Schema>| matches!(item, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
    let mut labels: Vec<String> = items
        .iter()
        .filter(|item| !is_null(item))
        .map(type_label)
        .collect();
    if items.iter().any(is_null) {
        labels.push("null".into());
        return labels.join(" or ");
    }
    labels.join(joiner)
}

fn with_null(label: String, schema_type: &SchemaType) -> String {
    match schema_type {
        SchemaType::Array(types) if types.contains(&Type::Null) => format!("{label} or null"),
        _ => label,
    }
}

fn type_names(schema_type: &SchemaType) -> String {
    match schema_type {
        SchemaType::Type(t) => escape(&serde_text(t)),
        SchemaType::Array(types) => {
            let names: Vec<String> = types.iter().map(|t| escape(&serde_text(t))).collect();
            names.join(" or ")
        }
        SchemaType::AnyValue => "any value".into(),
    }
}

/// `#/components/schemas/Campaign` → a link to that schema's section.
fn ref_link(location: &str) -> String {
    let name = location.rsplit('/').next().unwrap_or(location);
    format!(
        "<a href=\"#{}\"><code>{}</code></a>",
        anchor("schema", name),
        escape(name)
    )
}

/// A unit enum's JSON text (`Type::Integer` → `integer`), or nothing.
fn serde_text<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// An id safe in an attribute and a fragment: letters, digits and `-` only.
fn anchor(kind: &str, name: &str) -> String {
    let mut id = String::with_capacity(kind.len() + name.len() + 1);
    id.push_str(kind);
    id.push('-');
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_string()
}

/// Blank-line separated paragraphs, each with `code` spans.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", inline_text(p)))
        .collect()
}

/// Escaped text in which `backticked` runs become `<code>`.
fn inline_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let parts: Vec<&str> = text.split('`').collect();
    // An odd number of backticks leaves the last one literal, not an unclosed <code>.
    let closed = parts.len() % 2 == 1;
    for (i, part) in parts.iter().enumerate() {
        let in_code = i % 2 == 1;
        if in_code && (closed || i + 1 < parts.len()) {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            if in_code {
                out.push('`');
            }
            out.push_str(&escape(part));
        }
    }
    out
}

/// HTML-escapes text for use in element content and in quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert(\"x\" & 'y')</script>"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn backticks_become_code_and_stay_escaped() {
        assert_eq!(inline_text("a `<b>` c"), "a <code>&lt;b&gt;</code> c");
        assert_eq!(inline_text("odd ` tick"), "odd ` tick");
    }

    #[test]
    fn anchors_are_plain() {
        assert_eq!(
            anchor("get", "/campaigns/{id}/leads"),
            "get-campaigns-id-leads"
        );
        assert_eq!(
            anchor("schema", "Listing_Campaign"),
            "schema-listing-campaign"
        );
    }

    #[test]
    fn the_page_shows_every_route_and_schema() {
        let doc = ApiDoc::openapi();
        let page = render(&doc);
        for path in doc.paths.paths.keys() {
            assert!(page.contains(&escape(path)), "{path} is on the page");
        }
        for name in doc.components.as_ref().expect("components").schemas.keys() {
            assert!(
                page.contains(&format!("id=\"{}\"", anchor("schema", name))),
                "schema {name} has a section"
            );
        }
        assert!(!page.contains("<script"), "no script");
        for link in page.split("href=\"#").skip(1) {
            let target = link.split('"').next().unwrap_or_default();
            assert!(
                page.contains(&format!("id=\"{target}\"")),
                "the link to #{target} has a target"
            );
        }
    }
}
