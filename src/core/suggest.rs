//! "Did you mean …" for near misses: enum values (`4k`, `16x9`, ` 16:9`) and field names
//! (`aspectRatio`, `image_url`, `size`).

use crate::core::value::{ascii_number, digits_number, split_ascii};

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
    let (same, near) = closest(Canon::Enum, given, allowed);
    same.or_else(|| {
        reduced_ratio(given)
            .and_then(|ratio| allowed.iter().copied().find(|a| ratio_text_is(a, ratio)))
    })
    .or(near)
}

/// The field (or option) a given unknown name most likely meant.
pub fn field_name(given: &str, fields: &[&'static str]) -> Option<&'static str> {
    let (same, near) = closest(Canon::Name, given, fields);
    let aliases = FIELD_ALIASES.map(|(from, _)| from);
    same.or_else(|| {
        let (from, _) = closest(Canon::Name, given, &aliases);
        let (_, to) = FIELD_ALIASES.iter().find(|(f, _)| Some(*f) == from)?;
        fields.iter().copied().find(|f| f == to)
    })
    .or(near)
}

/// How two spellings are made comparable. Canonical forms live in stack buffers, never in
/// strings: a form asks on every keystroke, and a string per candidate cost more than all the
/// rest of a validation.
#[derive(Clone, Copy)]
enum Canon {
    /// Upper-case, no spaces, and any of `x × / - _ ;` between two numbers read as `:`.
    Enum,
    /// Lower-case, without `_ - ` and spaces.
    Name,
}

/// `s` in canonical form, in `buffer`; `None` when longer than the buffer (long junk is never
/// a typo of a short name, and this keeps the work bounded).
fn canonical<'b>(canon: Canon, s: &str, buffer: &'b mut [char]) -> Option<&'b [char]> {
    let mut len = 0;
    let mut push = |c: char| -> Option<()> {
        let c = match canon {
            Canon::Enum if c.is_whitespace() => return Some(()),
            Canon::Enum => match c {
                'x' | 'X' | '×' | '/' | '-' | '_' | ';' | '∶' => ':',
                _ => c.to_ascii_uppercase(),
            },
            Canon::Name if matches!(c, '_' | '-' | ' ') => return Some(()),
            Canon::Name => c.to_ascii_lowercase(),
        };
        *buffer.get_mut(len)? = c;
        len += 1;
        Some(())
    };
    if s.is_ascii() {
        // Byte by byte: decoding UTF-8 was most of the time spent here.
        for &b in s.as_bytes() {
            push(char::from(b))?;
        }
    } else {
        for c in s.chars() {
            push(c)?;
        }
    }
    buffer.get(..len)
}

/// The candidate whose canonical form equals the given one's (the first), and the only one
/// within one edit of it (if exactly one is): each candidate made canonical once.
fn closest(
    canon: Canon,
    given: &str,
    candidates: &[&'static str],
) -> (Option<&'static str>, Option<&'static str>) {
    let (mut mine, mut theirs) = ([' '; MAX_TYPO_CHARS], [' '; MAX_TYPO_CHARS]);
    let Some(given) = canonical(canon, given, &mut mine) else {
        return (None, None);
    };
    let (mut near, mut how_many_near) = (None, 0);
    for candidate in candidates {
        let Some(theirs) = canonical(canon, candidate, &mut theirs) else {
            continue;
        };
        if theirs == given {
            return (Some(candidate), None);
        }
        if within_one_edit(theirs, given) {
            near = Some(*candidate);
            how_many_near += 1;
        }
    }
    (None, near.filter(|_| how_many_near == 1))
}

/// `1920:1080` → `(16, 9)`: a ratio given as a size, or not in lowest terms.
fn reduced_ratio(given: &str) -> Option<(u64, u64)> {
    // Room for two numbers of the most digits read (18) and the colon.
    let mut buffer = [' '; 2 * 18 + 1];
    let chars = canonical(Canon::Enum, given, &mut buffer)?;
    let colon = chars.iter().position(|c| *c == ':')?;
    let (w, h) = (
        digits_number(chars.get(..colon)?.iter().copied())?,
        digits_number(chars.get(colon + 1..)?.iter().copied())?,
    );
    if w == 0 || h == 0 {
        return None;
    }
    let divisor = gcd(w, h);
    Some((w / divisor, h / divisor))
}

/// Whether `text` is the ratio `w:h` written out.
fn ratio_text_is(allowed: &str, (w, h): (u64, u64)) -> bool {
    split_ascii(allowed, b':')
        .is_some_and(|(a, b)| ascii_number(a) == Some(w) && ascii_number(b) == Some(h))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

const MAX_TYPO_CHARS: usize = 32;

/// Whether the Levenshtein distance between the two is at most 1: one pass, no allocation.
fn within_one_edit(a: &[char], b: &[char]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    let (short_rest, long_rest) = (
        short.get(prefix..).unwrap_or_default(),
        long.get(prefix..).unwrap_or_default(),
    );
    if short.len() == long.len() {
        // One substitution at most: the rests after the first difference agree.
        short_rest.get(1..) == long_rest.get(1..)
    } else {
        // One insertion into the shorter one.
        long_rest.get(1..) == Some(short_rest)
    }
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
            // A ratio longer than a typo is still read as numbers (18 digits a side at most).
            ("0000000000000016:0000000000000009", Some("16:9")),
            ("3840000000000000x2160000000000000", Some("16:9")),
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
    fn one_edit() {
        let near = |a: &str, b: &str| {
            within_one_edit(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        for (a, b, want) in [
            ("kitten", "sitting", false),
            ("", "abc", false),
            ("", "a", true),
            ("abc", "abc", true),
            ("abc", "abd", true),
            ("abc", "bbd", false),
            ("abc", "ab", true),
            ("abc", "bc", true),
            ("abc", "ac", true),
            ("abc", "abcd", true),
            ("abc", "xabc", true),
            ("abc", "acb", false),
            ("promt", "prompt", true),
            ("8K", "4K", true),
        ] {
            assert_eq!(near(a, b), want, "{a} {b}");
            assert_eq!(near(b, a), want, "{b} {a}");
        }
    }
}
