//! Writes the TypeScript declarations (src/wasm/types.d.ts) from the Rust types: the unions
//! from the model data and the documented codes, the objects from the serde types (tsify's
//! derive, compiled in tests only, so the wasm build never sees it), and what cannot be
//! derived from src/wasm/handwritten.d.ts. The committed file must be what this makes:
//! `RUNBASE_UPDATE_GOLDEN=1 cargo test -p runbase-image --lib typescript` rewrites it.

use tsify_next::Tsify;

use crate::core::api::RunStatus;
use crate::core::code::{CodeSource, ErrorCode};
use crate::core::error::{ErrorKind, RunbaseError};
use crate::core::model::ModelFacts;
use crate::core::validate::{Issue, IssueCode, NormalizedInput, Severity};
use crate::{GPT_IMAGE_2, MODELS};

const HANDWRITTEN: &str = include_str!("wasm/handwritten.d.ts");
const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/wasm/types.d.ts");

fn union<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    values
        .into_iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A declaration under its TypeScript name (tsify names it after the Rust type), with its doc
/// comments as written (tsify escapes their quotes).
fn renamed(decl: &str, rust: &str, ts: &str) -> String {
    let decl = decl.replace("\\\"", "\"").replace("\\'", "'");
    let mut renamed = false;
    decl.lines()
        .map(|line| {
            for kind in ["export interface", "export type"] {
                let from = format!("{kind} {rust} ");
                if !renamed && line.starts_with(&from) {
                    renamed = true;
                    return line.replacen(&from, &format!("{kind} {ts} "), 1);
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn declarations() -> String {
    let unions = [
        ("Models this library knows.", "ModelId", union(MODELS.iter().map(|m| m.id)), false),
        (
            "gpt-image-2's aspect ratios (width:height).",
            "AspectRatio",
            union(GPT_IMAGE_2.aspect_ratios.iter().copied()),
            false,
        ),
        (
            "gpt-image-2's resolutions; \"4K\" only with \"16:9\", \"9:16\" or \"21:9\".",
            "Resolution",
            union(GPT_IMAGE_2.resolution_names()),
            false,
        ),
        (
            "Stable machine-readable reasons for a validation issue.",
            "IssueCode",
            union(IssueCode::ALL.iter().map(|c| c.as_str())),
            false,
        ),
        (
            "Statuses the API documents; any other string means \"not finished yet\".",
            "RunStatus",
            union(RunStatus::DOCUMENTED.iter().map(RunStatus::as_str)),
            true,
        ),
        (
            "The codes a RunbaseError may carry: the API's documented ones, the library's own, and\n * runbase-server's; any other string is a code the server added later.",
            "RunbaseErrorCode",
            union(
                ErrorCode::ALL
                    .iter()
                    .filter(|code| code.source() != Some(CodeSource::SimControl))
                    .map(ErrorCode::as_str),
            ),
            true,
        ),
    ];
    let mut out = String::from(
        "// Made by src/typescript.rs from the Rust types and src/wasm/handwritten.d.ts: do not edit.\n\n",
    );
    for (doc, name, values, open) in unions {
        let open = if open { " | (string & {})" } else { "" };
        out.push_str(&format!(
            "/** {doc} */\nexport type {name} = {values}{open};\n\n"
        ));
    }
    // (Rust name, TypeScript name, declaration.)
    for (rust, ts, decl) in [
        ("Severity", "Severity", Severity::DECL),
        ("Issue", "ValidationIssue", Issue::DECL),
        ("NormalizedInput", "NormalizedInput", NormalizedInput::DECL),
        ("ModelFacts", "ModelFacts", ModelFacts::DECL),
        ("ErrorKind", "RunbaseErrorKind", ErrorKind::DECL),
        ("RunbaseError", "RunbaseErrorFields", RunbaseError::DECL),
    ] {
        out.push_str(&renamed(decl, rust, ts));
        out.push_str("\n\n");
    }
    out.push_str(HANDWRITTEN);
    out
}

#[test]
fn types_d_ts_is_derived_from_the_rust_types() {
    let expected = declarations();
    if std::env::var_os("RUNBASE_UPDATE_GOLDEN").is_some() {
        std::fs::write(PATH, &expected).expect("write src/wasm/types.d.ts");
    }
    let actual = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        actual == expected,
        "src/wasm/types.d.ts is out of date: run RUNBASE_UPDATE_GOLDEN=1 cargo test -p runbase-image --lib typescript"
    );
}
