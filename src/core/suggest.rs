//! "Did you mean …" for near misses: enum values (`4k`, `16x9`, ` 16:9`) and field names
//! (`aspectRatio`, `image_url`, `size`).

use crate::core::value::{ascii_number, split_ascii};

/// Names other APIs use for a field of ours, which no spelling rule would find.
const FIELD_ALIASES: [(&str, &str); 10] = [
    ("size", "resolution"),
    ("quality", "resolution"),
    ("ratio", "aspect_ratio"),
    ("aspect", "aspect_ratio"),
    ("images", "image_urls"),
    ("image", "image_urls"),
    ("reference_images", "image_urls"),
    ("input_images", "image_urls"),
    ("text", "prompt"),
    ("description", "prompt"),
];

/// The allowed value a given enum value most likely meant, if exactly one fits.
pub fn enum_value(given: &str, allowed: &[&'static str]) -> Option<&'static str> {
    let canonical = canonical_enum(given);
    if let Some(hit) = allowed.iter().find(|a| canonical_enum(a) == canonical) {
        return Some(hit);
    }
    if let Some(hit) = reduced_ratio(&canonical).and_then(|r| allowed.iter().find(|a| **a == r)) {
        return Some(hit);
    }
    unique_within_one_edit(&canonical, allowed, canonical_enum)
}

/// The field (or option) a given unknown name most likely meant.
pub fn field_name(given: &str, fields: &[&'static str]) -> Option<&'static str> {
    let canonical = canonical_name(given);
    if let Some(hit) = fields.iter().find(|f| canonical_name(f) == canonical) {
        return Some(hit);
    }
    let alias = FIELD_ALIASES
        .iter()
        .find(|(from, _)| canonical_name(from) == canonical)
        .and_then(|(_, to)| fields.iter().copied().find(|f| f == to));
    alias.or_else(|| unique_within_one_edit(&canonical, fields, canonical_name))
}

/// Upper-case, no spaces, and any of `x × / - _ ; .` between two numbers read as `:`.
fn canonical_enum(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            'x' | 'X' | '×' | '/' | '-' | '_' | ';' | '∶' => ':',
            _ => c.to_ascii_uppercase(),
        })
        .collect()
}

fn canonical_name(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `1920:1080` → `16:9`: a ratio given as a size, or not in lowest terms.
fn reduced_ratio(canonical: &str) -> Option<String> {
    let (w, h) = split_ascii(canonical, b':')?;
    let (w, h) = (ascii_number(w)?, ascii_number(h)?);
    if w == 0 || h == 0 {
        return None;
    }
    let divisor = gcd(w, h);
    Some(format!("{}:{}", w / divisor, h / divisor))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn unique_within_one_edit(
    canonical: &str,
    candidates: &[&'static str],
    canon: fn(&str) -> String,
) -> Option<&'static str> {
    // Long junk is never a typo of a short name, and this keeps the work bounded.
    if canonical.chars().count() > 32 {
        return None;
    }
    let mut near = candidates
        .iter()
        .filter(|c| edit_distance(&canon(c), canonical) <= 1);
    match (near.next(), near.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        let mut next = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let left = next.last().copied().unwrap_or(usize::MAX);
            let cost = diagonal + usize::from(ca != *cb);
            next.push(
                cost.min(above.saturating_add(1))
                    .min(left.saturating_add(1)),
            );
            diagonal = above;
        }
        row = next;
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{FIELDS, GPT_IMAGE_2};

    #[test]
    fn near_enum_values() {
        let ratios = GPT_IMAGE_2.aspect_ratios;
        for (given, want) in [
            ("16x9", Some("16:9")),
            (" 16:9", Some("16:9")),
            ("16 : 9", Some("16:9")),
            ("16/9", Some("16:9")),
            ("1920x1080", Some("16:9")),
            ("16;9", Some("16:9")),
            ("2:1", None),
            ("square", None),
        ] {
            assert_eq!(enum_value(given, ratios), want, "{given:?}");
        }
        let resolutions: Vec<&str> = GPT_IMAGE_2.resolution_names().collect();
        assert_eq!(enum_value("4k", &resolutions), Some("4K"));
        assert_eq!(enum_value(" 2k ", &resolutions), Some("2K"));
        assert_eq!(enum_value("8K", &resolutions), None);
    }

    #[test]
    fn near_field_names() {
        for (given, want) in [
            ("aspectRatio", Some("aspect_ratio")),
            ("image_url", Some("image_urls")),
            ("imageUrls", Some("image_urls")),
            ("size", Some("resolution")),
            ("Prompt", Some("prompt")),
            ("promt", Some("prompt")),
            ("seed", None),
        ] {
            assert_eq!(field_name(given, &FIELDS), want, "{given:?}");
        }
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
    }
}
