//! A JSON-like value the validator reads, so the core needs neither serde nor JavaScript.
//!
//! The wasm layer builds it from a JS value, the native server from parsed JSON. Both stop
//! descending at [`MAX_DEPTH`]: the rules never look deeper, and a bounded walk cannot
//! overflow the stack on hostile nesting.

use crate::core::messages::message;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, Serializer};

/// Levels converted below the input object (field values, then array entries).
pub const MAX_DEPTH: usize = 2;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    /// Keys in their original order; a JS `undefined` value is left out, as JSON.stringify does.
    Object(Vec<(String, Value)>),
    /// Something the rules never read inside: a nested container beyond [`MAX_DEPTH`], or a JS
    /// value JSON has no word for. Holds how to describe it to a person ("an object", "a function").
    Opaque(&'static str),
    /// A JS `File` or `Blob`: only the wasm layer makes one (JSON has no files).
    File(FileInfo),
}

/// What the rules need to know of a file, read without touching its bytes (`type` and `size`
/// only), so that checking one costs the same whatever its size.
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    /// Its media type as the environment gave it (`Blob.type`; empty when unknown).
    pub media_type: String,
    /// Its size in bytes (`Blob.size`).
    pub bytes: u64,
    /// Whether this environment can re-encode an image smaller before sending it (a browser
    /// with `createImageBitmap` and a canvas: yes; Node: no).
    pub fittable: bool,
    /// In an array: the index of an earlier entry that is this very object.
    pub same_as: Option<usize>,
}

impl Value {
    /// How a message names the kind of value that was given: "a number (42)", "an array".
    pub fn describe(&self) -> String {
        match self {
            Value::Null => message!(GivenNull),
            Value::Bool(b) => message!(GivenBoolean, value = b),
            Value::Number(n) => message!(GivenNumber, value = number_text(*n)),
            Value::String(s) => message!(GivenString, value = quote(s)),
            Value::Array(items) => message!(GivenArrayOf, count = items.len()),
            Value::Object(_) => message!(GivenObject),
            Value::Opaque(what) => (*what).to_string(),
            Value::File(_) => message!(GivenFile),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// `s.split_once(delimiter)` for an ASCII delimiter, by bytes: the `char`-pattern searchers
/// cost the wasm module over a kilobyte, and every delimiter the core splits on is ASCII.
pub fn split_ascii(s: &str, delimiter: u8) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == delimiter)?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// `s.rsplit_once(delimiter)` for an ASCII delimiter, by bytes.
pub fn rsplit_ascii(s: &str, delimiter: u8) -> Option<(&str, &str)> {
    let at = s.bytes().rposition(|b| b == delimiter)?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// 1 to 18 ASCII digits as a number (no sign, no spaces); one small reader instead of the
/// standard integer parsers, which the module would carry once per integer type.
pub fn ascii_number(s: &str) -> Option<u64> {
    digits_number(s.bytes().map(char::from))
}

/// [`ascii_number`] over characters (a canonical form in a buffer, say).
pub fn digits_number(mut chars: impl ExactSizeIterator<Item = char>) -> Option<u64> {
    if chars.len() == 0 || chars.len() > 18 {
        return None;
    }
    chars.try_fold(0u64, |n, c| Some(n * 10 + u64::from(c.to_digit(10)?)))
}

/// `a, b, c`: one helper for every list in a message (each `join` instance costs the module
/// about a kilobyte).
pub fn comma_list(values: &[&str]) -> String {
    let mut out = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(value);
    }
    out
}

/// A string as a message quotes it: in double quotes, cut to a readable length.
pub fn quote(s: &str) -> String {
    const SHOWN: usize = 40;
    let end = s.char_indices().nth(SHOWN).map_or(s.len(), |(at, _)| at);
    let (shown, cut) = (s.get(..end).unwrap_or(s), end < s.len());
    let mut out = String::with_capacity(shown.len() + 5);
    out.push('"');
    if shown
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        // The usual case, plain printable ASCII: copied as it is.
        out.push_str(shown);
    } else {
        push_escaped(&mut out, shown);
    }
    if cut {
        out.push('…');
    }
    out.push('"');
    out
}

fn push_escaped(out: &mut String, shown: &str) {
    for c in shown.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push('�'),
            c => out.push(c),
        }
    }
}

/// A number as a person reads it, without float formatting (which costs the wasm build
/// kilobytes): integers exactly, others to three decimals.
pub fn number_text(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let sign = if n < 0.0 { "-" } else { "" };
    let abs = n.abs();
    if abs >= 1e15 {
        // Digits counted by hand: `log10` would link a float routine into the module.
        let (mut rest, mut exponent) = (abs, 0);
        while rest >= 10.0 && exponent < 400 {
            rest /= 10.0;
            exponent += 1;
        }
        return format!("{sign}about 10^{exponent}");
    }
    let thousandths = (abs * 1000.0).round() as u64;
    let (whole, frac) = (thousandths / 1000, thousandths % 1000);
    if frac == 0 {
        format!("{sign}{whole}")
    } else {
        let digits = format!("{frac:03}");
        format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// Members of an API object that this library does not name, in their original order: read
/// and written back unchanged (`#[serde(flatten)]`), so fields the API adds later reach the
/// caller.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Members(pub Vec<(String, Value)>);

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null | Value::Opaque(_) | Value::File(_) => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                serializer.serialize_i64(*n as i64)
            }
            Value::Number(n) => serializer.serialize_f64(*n),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => serializer.collect_seq(items),
            Value::Object(fields) => serializer.collect_map(fields.iter().map(|(k, v)| (k, v))),
        }
    }
}

impl Serialize for Members {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Value::Number(n))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        Ok(Value::Object(read_members(map)?))
    }
}

fn read_members<'de, A: MapAccess<'de>>(mut map: A) -> Result<Vec<(String, Value)>, A::Error> {
    let mut fields = Vec::new();
    while let Some((key, value)) = map.next_entry::<String, Value>()? {
        fields.push((key, value));
    }
    Ok(fields)
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Members, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Members, A::Error> {
                read_members(map).map(Members)
            }
        }
        d.deserialize_map(MembersVisitor)
    }
}
