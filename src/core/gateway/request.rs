//! Reading a create request's body (`{"model", "input"}`) as the proxies and the simulator
//! all must: strict JSON, lone surrogates mended, and the input checked by the library.

use serde_json::Value;

use super::Refusal;
use crate::core::code::ErrorCode;
use crate::core::messages::text;
use crate::core::model::ModelSpec;
use crate::core::validate::NormalizedInput;

/// Reads a run request's body: `{"model": string, "input": object}`; refuses the rest with the
/// API's own codes. Shared by the simulator and the proxy so both answer alike.
pub fn parse_run_request(body: &[u8]) -> Result<(String, Value), Refusal> {
    let parsed =
        serde_json::from_slice::<Value>(body).or_else(|e| match mend_lone_surrogates(body) {
            Some(mended) => serde_json::from_slice(&mended),
            None => Err(e),
        });
    let mut parsed: Value = parsed.map_err(|e| {
        Refusal::new(
            ErrorCode::InvalidJson,
            format!("The request body is not valid JSON: {e}"),
        )
    })?;
    let Some(model) = parsed.get("model").and_then(Value::as_str) else {
        return Err(Refusal::new(
            ErrorCode::MissingModel,
            "The request needs a \"model\" string, such as \"openai/gpt-image-2\"",
        ));
    };
    let model = model.to_string();
    let input = match parsed.get_mut("input").map(Value::take) {
        Some(input @ Value::Object(_)) => input,
        _ => {
            return Err(Refusal::new(
                ErrorCode::MissingInput,
                "The request needs an \"input\" object",
            ))
        }
    };
    Ok((model, input))
}

/// JSON text with every lone surrogate escape (`\ud800` without its pair: what
/// `JSON.stringify` writes for a lone surrogate in a JS string) turned into `\ufffd`, as the
/// library's own reading of a JS string does (same length in UTF-16 code units); `None` when
/// there is none. serde_json refuses such escapes; JavaScript accepts them.
pub fn mend_lone_surrogates(json: &[u8]) -> Option<Vec<u8>> {
    let hex_at = |i: usize| -> Option<u32> {
        let digits = json.get(i..i + 4)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let escape_at = |i: usize| -> Option<u32> {
        (json.get(i) == Some(&b'\\') && json.get(i + 1) == Some(&b'u'))
            .then(|| hex_at(i + 2))
            .flatten()
    };
    let mut out = Vec::with_capacity(json.len());
    let (mut i, mut mended) = (0, false);
    let copy = |out: &mut Vec<u8>, from: usize, to: usize| {
        out.extend_from_slice(json.get(from..to.min(json.len())).unwrap_or_default());
    };
    while let Some(&byte) = json.get(i) {
        if byte != b'\\' {
            out.push(byte);
            i += 1;
            continue;
        }
        let Some(unit) = escape_at(i) else {
            // Another escape (`\\`, `\"` …): both bytes as they are.
            copy(&mut out, i, i + 2);
            i += 2;
            continue;
        };
        let paired = (0xD800..0xDC00).contains(&unit)
            && escape_at(i + 6).is_some_and(|low| (0xDC00..0xE000).contains(&low));
        if paired {
            copy(&mut out, i, i + 12);
            i += 12;
        } else if (0xD800..0xE000).contains(&unit) {
            out.extend_from_slice(b"\\ufffd");
            mended = true;
            i += 6;
        } else {
            copy(&mut out, i, i + 6);
            i += 6;
        }
    }
    mended.then_some(out)
}

/// Validates `input` with the library, as the browser does, and hands the input as it should
/// be sent (defaults filled in) to `use_it`; the error lists every issue.
pub fn with_valid_input<T>(
    model: &ModelSpec,
    input: &Value,
    use_it: impl FnOnce(&NormalizedInput<'_>) -> T,
) -> Result<T, Refusal> {
    let value = to_core_value(input, 0);
    let validation = crate::core::validate::validate(model, &value);
    if let Some(normalized) = &validation.value {
        return Ok(use_it(normalized));
    }
    let first = validation
        .errors
        .first()
        .map_or(String::new(), |i| format!(": {}", i.message));
    let message = format!(
        "The input does not match {}'s schema ({} problem(s)){first}",
        model.id,
        validation.errors.len()
    );
    Err(Refusal::new(ErrorCode::InvalidInput, message).with_issues(validation.errors))
}

/// serde_json's value as the core reads it, bounded like the wasm layer's conversion.
pub fn to_core_value(value: &Value, depth: usize) -> crate::core::value::Value {
    use crate::core::value::Value as V;
    let deeper = depth < crate::core::value::MAX_DEPTH;
    match value {
        Value::Null => V::Null,
        Value::Bool(b) => V::Bool(*b),
        Value::Number(n) => V::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => V::String(s.clone()),
        Value::Array(items) if deeper => {
            V::Array(items.iter().map(|i| to_core_value(i, depth + 1)).collect())
        }
        Value::Array(_) => V::Opaque(text!(GivenArray)),
        Value::Object(fields) if deeper => V::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_core_value(v, depth + 1)))
                .collect(),
        ),
        Value::Object(_) => V::Opaque(text!(GivenObject)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_are_mended_and_pairs_kept() {
        let mend =
            |s: &str| mend_lone_surrogates(s.as_bytes()).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(
            mend(r#"{"p":"a\ud800b"}"#).as_deref(),
            Some(r#"{"p":"a\ufffdb"}"#)
        );
        assert_eq!(
            mend(r#"{"p":"\udc00\ud83d"}"#).as_deref(),
            Some(r#"{"p":"\ufffd\ufffd"}"#)
        );
        assert_eq!(mend(r#"{"p":"\ud83d\ude00 \\ud800"}"#), None);
        assert_eq!(mend(r#"{"p":"\u0041"}"#), None);
        let (_, input) = parse_run_request(br#"{"model":"m","input":{"prompt":"x\ud800"}}"#)
            .ok()
            .unwrap();
        assert_eq!(input["prompt"], "x\u{fffd}");
    }
}
