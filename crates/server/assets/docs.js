// Renders /openapi.json as a list of operations: parameters, body fields and responses.
"use strict";
(async function () {
  const root = document.getElementById("api");
  const doc = await (await fetch("/openapi.json")).json();
  const schemas = (doc.components && doc.components.schemas) || {};
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    kids.flat().forEach((k) => e.append(k instanceof Node ? k : String(k)));
    return e;
  };
  const resolve = (s) => (s && s.$ref ? schemas[s.$ref.split("/").pop()] || {} : s || {});
  const refName = (s) => (s && s.$ref ? s.$ref.split("/").pop() : null);
  const typeOf = (s) => {
    if (!s) return "";
    if (s.$ref) return refName(s);
    if (s.oneOf) return s.oneOf.map(typeOf).join(" | ");
    let t = Array.isArray(s.type) ? s.type.join(" | ") : s.type || "any";
    if (s.items) t += " of " + typeOf(s.items);
    if (s.format) t += " (" + s.format + ")";
    return t;
  };
  const fields = (schema) => {
    const s = resolve(schema);
    const req = new Set(s.required || []);
    const rows = Object.entries(s.properties || {}).map(([name, p]) =>
      el("tr", {}, el("td", {}, el("code", {}, name), req.has(name) ? " *" : ""),
        el("td", {}, typeOf(p)), el("td", {}, (p.description || resolve(p).description || ""))));
    if (!rows.length) return el("p", {}, typeOf(schema));
    return el("table", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "type"), el("th", {}, "about")), rows);
  };
  const byTag = {};
  for (const [path, ops] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags && op.tags[0]) || "other";
      (byTag[tag] = byTag[tag] || []).push([method, path, op]);
    }
  }
  root.textContent = "";
  for (const [tag, ops] of Object.entries(byTag)) {
    root.append(el("h2", {}, tag));
    for (const [method, path, op] of ops) {
      const body = el("div", { class: "op" });
      if (op.description || op.summary) body.append(el("p", {}, op.description || op.summary));
      const scopes = (op.security || []).flatMap((s) => Object.values(s).flat());
      body.append(el("p", { class: "scope" }, scopes.length ? "Token scope: " + scopes.join(", ") : "No token needed"));
      if (op.parameters && op.parameters.length) {
        body.append(el("h4", {}, "Parameters"), el("table", {},
          op.parameters.map((p) => el("tr", {}, el("td", {}, el("code", {}, p.name), p.required ? " *" : ""),
            el("td", {}, p.in), el("td", {}, typeOf(p.schema)), el("td", {}, p.description || "")))));
      }
      const rb = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
      if (rb) body.append(el("h4", {}, "Body (application/json): " + (refName(rb.schema) || "")), fields(rb.schema));
      body.append(el("h4", {}, "Responses"));
      for (const [code, r] of Object.entries(op.responses || {})) {
        const [ct, media] = Object.entries(r.content || {})[0] || [];
        body.append(el("p", {}, el("strong", {}, code), " ", r.description || "", ct ? " — " + ct + " " + (refName(media.schema) || "") : ""));
      }
      root.append(el("details", {}, el("summary", {}, el("span", { class: "method" }, method.toUpperCase()), " ", el("span", { class: "path" }, path)), body));
    }
  }
  root.append(el("h2", {}, "schemas"));
  for (const [name, s] of Object.entries(schemas)) {
    root.append(el("details", {}, el("summary", {}, name), el("div", { class: "op" }, s.description ? el("p", {}, s.description) : "", fields({ $ref: "#/components/schemas/" + name }))));
  }
})().catch((e) => { document.getElementById("api").textContent = "Cannot load /openapi.json: " + e; });
