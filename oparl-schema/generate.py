#!/usr/bin/env python3
"""Writes the JSON Schema files (draft 2020-12) in schema/ from the field
tables below, which follow the OParl 1.1 spec text (spec §3 Schema and §3.1,
the properties every object has).
Edit the tables, run `python3 oparl-schema/generate.py`, commit both.

Forms, as the spec distinguishes them:
- `<Type>.json` root: the object as fetched at its id or listed (standalone),
  with the back-references the spec requires; a deleted object is checked
  against Deleted.json instead.
- `<Type>.json#/$defs/embedded`: the object inside its parent: no
  back-references, never deleted.
"""
import json
import os

ID = "urn:oparl-schema:"
NS = "https://schema.oparl.org/1.1/"

S, U, D, DT, I, B, OBJ = "string", "url", "date", "date-time", "integer", "boolean", "object"
def arr(t): return ("array", t)
def emb(t): return ("embed", t)
def embs(t): return ("embeds", t)
L = "list"

# (field, kind, required-standalone)
TYPES = {
    "System": [
        ("oparlVersion", "version", True), ("otherOparlVersions", arr(U), False), ("license", U, False),
        ("body", L, True), ("name", S, False), ("contactEmail", S, False), ("contactName", S, False),
        ("website", U, False), ("vendor", U, False), ("product", U, False), ("web", U, False),
    ],
    "Body": [
        ("system", U, False), ("shortName", S, False), ("name", S, True), ("website", U, False),
        ("license", U, False), ("licenseValidSince", DT, False), ("oparlSince", DT, False),
        ("ags", S, False), ("rgs", S, False), ("equivalent", arr(U), False),
        ("contactEmail", S, False), ("contactName", S, False),
        ("organization", L, True), ("person", L, True), ("meeting", L, True), ("paper", L, True),
        # Required, but may be left out with omit_internal=true (checked apart).
        ("legislativeTerm", embs("LegislativeTerm"), False),
        ("agendaItem", L, True), ("consultation", L, True), ("file", L, True),
        ("locationList", L, True), ("legislativeTermList", L, True), ("membership", L, True),
        ("classification", S, False), ("location", emb("Location"), False),
        ("keyword", arr(S), False), ("web", U, False),
    ],
    "LegislativeTerm": [
        ("body", "back", True), ("name", S, False), ("startDate", D, False), ("endDate", D, False),
        ("license", S, False), ("keyword", arr(S), False), ("web", U, False),
    ],
    "Organization": [
        ("body", U, False), ("name", S, False), ("membership", arr(U), False), ("meeting", L, False),
        ("consultation", L, False), ("shortName", S, False), ("post", arr(S), False),
        ("subOrganizationOf", U, False), ("organizationType", S, False), ("classification", S, False),
        ("startDate", D, False), ("endDate", D, False), ("website", U, False),
        ("location", emb("Location"), False), ("externalBody", U, False),
        ("license", S, False), ("keyword", arr(S), False), ("web", U, False),
    ],
    "Person": [
        ("body", U, False), ("name", S, False), ("familyName", S, False), ("givenName", S, False),
        ("formOfAddress", S, False), ("affix", S, False), ("title", arr(S), False), ("gender", S, False),
        ("phone", arr(S), False), ("email", arr(S), False), ("location", U, False),
        ("locationObject", emb("Location"), False), ("status", arr(S), False),
        ("membership", embs("Membership"), False), ("life", S, False), ("lifeSource", S, False),
        ("license", S, False), ("keyword", arr(S), False), ("web", U, False),
    ],
    "Membership": [
        ("person", "back", True), ("organization", U, False), ("role", S, False), ("votingRight", B, False),
        ("startDate", D, False), ("endDate", D, False), ("onBehalfOf", U, False),
        ("license", S, False), ("keyword", arr(S), False), ("web", U, False),
    ],
    "Meeting": [
        ("name", S, False), ("meetingState", S, False), ("cancelled", B, False), ("start", DT, False),
        ("end", DT, False), ("location", emb("Location"), False), ("organization", arr(U), False),
        ("participant", arr(U), False), ("invitation", emb("File"), False),
        ("resultsProtocol", emb("File"), False), ("verbatimProtocol", emb("File"), False),
        ("auxiliaryFile", embs("File"), False), ("agendaItem", embs("AgendaItem"), False),
        ("license", S, False), ("keyword", arr(S), False), ("web", U, False),
    ],
    "AgendaItem": [
        ("meeting", "back", True), ("number", S, False), ("order", I, True), ("name", S, False),
        ("public", B, False), ("consultation", U, False), ("result", S, False),
        ("resolutionText", S, False), ("resolutionFile", emb("File"), False),
        ("auxiliaryFile", embs("File"), False), ("start", DT, False), ("end", DT, False),
        ("license", S, False), ("keyword", arr(S), False), ("web", U, False),
    ],
    "Paper": [
        ("body", U, False), ("name", S, False), ("reference", S, False), ("date", D, False),
        ("paperType", S, False), ("relatedPaper", arr(U), False), ("superordinatedPaper", arr(U), False),
        ("subordinatedPaper", arr(U), False), ("mainFile", emb("File"), False),
        ("auxiliaryFile", embs("File"), False), ("location", embs("Location"), False),
        ("originatorPerson", arr(U), False), ("underDirectionOf", arr(U), False),
        ("originatorOrganization", arr(U), False), ("consultation", embs("Consultation"), False),
        ("license", S, False), ("keyword", arr(S), False), ("web", U, False),
    ],
    "Consultation": [
        ("paper", "back", True), ("agendaItem", U, False), ("meeting", U, False),
        ("organization", arr(U), False), ("authoritative", B, False), ("role", S, False),
        ("license", S, False), ("keyword", arr(S), False), ("web", U, False),
    ],
    "File": [
        ("name", S, False), ("fileName", S, False), ("mimeType", S, False), ("date", D, False),
        ("size", I, False), ("sha1Checksum", S, False), ("sha512Checksum", S, False), ("text", S, False),
        ("accessUrl", U, True), ("downloadUrl", U, False), ("externalServiceUrl", U, False),
        ("masterFile", U, False), ("derivativeFile", arr(U), False), ("fileLicense", U, False),
        ("meeting", "backs", False), ("agendaItem", "backs", False), ("paper", "backs", False),
        ("license", S, False), ("keyword", arr(S), False), ("web", U, False),
    ],
    "Location": [
        ("description", S, False), ("geojson", "geojson", False), ("streetAddress", S, False),
        ("room", S, False), ("postalCode", S, False), ("subLocality", S, False), ("locality", S, False),
        ("bodies", "backs", False), ("organizations", "backs", False), ("persons", "backs", False),
        ("meetings", "backs", False), ("papers", "backs", False),
        ("license", S, False), ("keyword", arr(S), False), ("web", U, False),
    ],
}

def ref(name, anchor=""):
    return {"$ref": f"{ID}common#/$defs/{name}"} if not anchor else {"$ref": f"{ID}{name}{anchor}"}

def kind_schema(kind):
    if kind == S: return {"type": "string"}
    if kind == U or kind in ("back", L): return ref("url")
    if kind == D: return ref("date")
    if kind == DT: return ref("dateTime")
    if kind == I: return {"type": "integer"}
    if kind == B: return {"type": "boolean"}
    if kind == "backs": return {"type": "array", "items": ref("url")}
    if kind == "version": return {"const": NS}
    if kind == "geojson": return ref("geojsonFeature")
    tag, inner = kind
    if tag == "array": return {"type": "array", "items": kind_schema(inner)}
    if tag == "embed": return {"$ref": f"{ID}{inner}#/$defs/embedded"}
    if tag == "embeds": return {"type": "array", "items": {"$ref": f"{ID}{inner}#/$defs/embedded"}}
    raise ValueError(kind)

def type_schema(name, fields):
    common = {
        "id": ref("url"),
        "type": {"const": NS + name},
        "created": ref("dateTime"),
        "modified": ref("dateTime"),
    }
    props = dict(common)
    for field, kind, _ in fields:
        props[field] = kind_schema(kind)
    base_required = ["id", "type", "created", "modified"]
    standalone_required = base_required + [f for f, k, req in fields if req]
    embedded_required = base_required + [f for f, k, req in fields if req and k != "back"]
    back = [f for f, k, _ in fields if k in ("back", "backs")]
    embedded_props = dict(props)
    for f in back:
        embedded_props[f] = False
    # An embedded object is never a deleted one (spec §2.8).
    embedded_props["deleted"] = False
    props["deleted"] = {"const": False}
    standalone = {"type": "object", "properties": props, "required": standalone_required}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": ID + name,
        "title": f"OParl 1.1 {name}",
        "description": f"A {name} as served at its id or in a list page; a deleted one is a tombstone (Deleted).",
        "if": {"properties": {"deleted": {"const": True}}, "required": ["deleted"]},
        "then": {"$ref": f"{ID}Deleted"},
        "else": standalone,
        "$defs": {
            "embedded": {
                "description": f"A {name} embedded in its parent: no back-references, never deleted.",
                "type": "object",
                "properties": embedded_props,
                "required": embedded_required,
            }
        },
    }

COMMON = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": ID + "common",
    "title": "Value formats of OParl 1.1 (spec 2.4)",
    "$defs": {
        "url": {"type": "string", "format": "uri", "pattern": "^https?://"},
        "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date"},
        "dateTime": {
            "type": "string",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$",
            "format": "date-time",
        },
        "geojsonFeature": {
            "description": "A complete GeoJSON Feature (RFC 7946), coordinates in longitude, latitude order.",
            "type": "object",
            "properties": {
                "type": {"const": "Feature"},
                "geometry": {"type": ["object", "null"], "required": ["type"]},
                "properties": {"type": ["object", "null"]},
            },
            "required": ["type", "geometry", "properties"],
        },
    },
}

DELETED = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": ID + "Deleted",
    "title": "A deleted OParl object (spec 2.8)",
    "description": "Keeps id, type, created and modified (the deletion time); deleted is true; every other attribute may be dropped.",
    "type": "object",
    "properties": {
        "id": ref("url"),
        "type": {"type": "string", "pattern": "^https://schema\\.oparl\\.org/1\\.1/[A-Za-z]+$"},
        "created": ref("dateTime"),
        "modified": ref("dateTime"),
        "deleted": {"const": True},
    },
    "required": ["id", "type", "created", "modified", "deleted"],
}

LIST_PAGE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": ID + "ListPage",
    "title": "One page of an external object list (spec 2.5)",
    "type": "object",
    "properties": {
        "data": {"type": "array", "items": {"type": "object"}},
        "pagination": {
            "type": "object",
            "properties": {k: {"type": "integer", "minimum": 0} for k in ["totalElements", "elementsPerPage", "currentPage", "totalPages"]},
        },
        "links": {
            "type": "object",
            "properties": {k: ref("url") for k in ["first", "prev", "self", "next", "last", "web"]},
        },
    },
    "required": ["data", "pagination", "links"],
}

ERROR = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": ID + "Error",
    "title": "The OParl Error object (spec 2.9)",
    "type": "object",
    "properties": {
        "type": {"const": NS + "Error"},
        "message": {"type": "string"},
        "debug": {"type": "string"},
    },
    "required": ["type", "message"],
}

def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")
    os.makedirs(out, exist_ok=True)
    files = {"common": COMMON, "Deleted": DELETED, "ListPage": LIST_PAGE, "Error": ERROR}
    for name, fields in TYPES.items():
        files[name] = type_schema(name, fields)
    for name, schema in files.items():
        with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(schema, f, indent=2, ensure_ascii=False)
            f.write("\n")
    print(f"wrote {len(files)} schema files to {out}")

if __name__ == "__main__":
    main()
