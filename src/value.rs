//! A JSON-like value the validator reads, so the core needs neither serde nor JavaScript.
//!
//! The wasm layer builds it from a JS value, the native server from parsed JSON. Both stop
//! descending at [`MAX_DEPTH`]: the rules never look deeper, and a bounded walk cannot
//! overflow the stack on hostile nesting.

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
}

impl Value {
    /// How a message names the kind of value that was given: "a number (42)", "an array".
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "null".to_string(),
            Value::Bool(b) => format!("a boolean ({b})"),
            Value::Number(n) => format!("a number ({})", number_text(*n)),
            Value::String(s) => format!("the string {}", quote(s)),
            Value::Array(items) => format!("an array of {} item(s)", items.len()),
            Value::Object(_) => "an object".to_string(),
            Value::Opaque(what) => (*what).to_string(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A string as a message quotes it: in double quotes, cut to a readable length.
pub fn quote(s: &str) -> String {
    const SHOWN: usize = 40;
    let mut shown: String = s.chars().take(SHOWN).collect();
    if shown.len() < s.len() {
        shown.push('…');
    }
    let mut out = String::with_capacity(shown.len() + 2);
    out.push('"');
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
    out.push('"');
    out
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
        return format!("{sign}about 10^{}", abs.log10() as i32);
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
