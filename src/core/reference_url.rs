//! Offline checks of one reference-image URL: is it an absolute http(s) URL, or a `data:`
//! image whose decoded size can be known without fetching anything?

use crate::core::messages::message;
use crate::core::value::{ascii_number, rsplit_ascii, split_ascii};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceUrl<'a> {
    Https,
    Http,
    /// A `data:` URL with an `image/*` media type; `decoded_bytes` is the payload's size.
    DataImage {
        media_type: &'a str,
        decoded_bytes: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlProblem<'a> {
    /// Not a well-formed absolute URL; the text says what is wrong.
    Malformed(String),
    /// Well-formed, but of a scheme the API does not fetch (lower-cased).
    Scheme(String),
    /// A `data:` URL of something other than an image; holds the media type ("": none given).
    DataNotImage(&'a str),
}

pub fn classify(url: &str) -> Result<ReferenceUrl<'_>, UrlProblem<'_>> {
    if url.is_empty() {
        return Err(UrlProblem::Malformed(message!(WhyEmpty)));
    }
    // Bytes first: data URLs run to megabytes, and a per-char walk is many times slower.
    let ascii_bad = |b: &u8| *b <= b' ' || *b == 0x7f;
    let suspect = url.as_bytes().iter().any(ascii_bad) || !url.is_ascii();
    let bad_char = if suspect {
        url.chars().find(|c| c.is_whitespace() || c.is_control())
    } else {
        None
    };
    if let Some(c) = bad_char {
        let why = if url.trim() != url {
            message!(WhyWhitespaceEnds)
        } else {
            message!(WhyContains, char = describe_char(c))
        };
        return Err(UrlProblem::Malformed(why));
    }
    let Some((scheme, rest)) = split_ascii(url, b':') else {
        return Err(UrlProblem::Malformed(message!(WhyNoScheme)));
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err(UrlProblem::Malformed(message!(WhyBadScheme)));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => check_hierarchical(rest).map(|()| ReferenceUrl::Https),
        "http" => check_hierarchical(rest).map(|()| ReferenceUrl::Http),
        "data" => classify_data(rest),
        other => Err(UrlProblem::Scheme(other.to_string())),
    }
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => message!(CharSpace),
        '\t' => message!(CharTab),
        '\n' | '\r' => message!(CharLineBreak),
        _ => message!(CharControl, code = format!("U+{:04X}", c as u32)),
    }
}

/// `//host[:port][/path][?query][#fragment]`, with optional `user[:password]@`.
fn check_hierarchical(rest: &str) -> Result<(), UrlProblem<'static>> {
    let Some(after_slashes) = rest.strip_prefix("//") else {
        return Err(UrlProblem::Malformed(message!(WhyNoSlashes)));
    };
    let authority_end = after_slashes
        .find(['/', '?', '#', '\\'])
        .unwrap_or(after_slashes.len());
    let authority = after_slashes.get(..authority_end).unwrap_or_default();
    let host_port = rsplit_ascii(authority, b'@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((v6, after)) = split_ascii(bracketed, b']') else {
            return Err(UrlProblem::Malformed(message!(WhyIpv6Unclosed)));
        };
        if v6.is_empty()
            || !v6
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(UrlProblem::Malformed(message!(WhyIpv6Invalid)));
        }
        match after {
            "" => ("ipv6-literal", None),
            _ => match after.strip_prefix(':') {
                Some(port) => ("ipv6-literal", Some(port)),
                None => return Err(UrlProblem::Malformed(message!(WhyAfterIpv6))),
            },
        }
    } else {
        match rsplit_ascii(host_port, b':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err(UrlProblem::Malformed(message!(WhyNoHost)));
    }
    if let Some(bad) = host.chars().find(|c| {
        matches!(
            c,
            '#' | '/' | ':' | '<' | '>' | '?' | '@' | '[' | '\\' | ']' | '^' | '|' | '"' | '`'
        )
    }) {
        let bad = bad.to_string();
        return Err(UrlProblem::Malformed(message!(WhyHostChar, char = bad)));
    }
    if let Some(port) = port {
        let valid =
            port.is_empty() || (port.len() <= 5 && ascii_number(port).is_some_and(|p| p <= 65535));
        if !valid {
            return Err(UrlProblem::Malformed(message!(WhyPort, port = port)));
        }
    }
    Ok(())
}

/// Whether a media type is `image/<something>` (any case), for data: URLs and files alike.
pub fn is_image_type(media_type: &str) -> bool {
    media_type
        .get(..6)
        .is_some_and(|t| t.eq_ignore_ascii_case("image/"))
        && media_type.len() > 6
}

/// `data:[<media type>][;base64],<payload>` (RFC 2397).
fn classify_data(rest: &str) -> Result<ReferenceUrl<'_>, UrlProblem<'_>> {
    let Some((header, payload)) = split_ascii(rest, b',') else {
        return Err(UrlProblem::Malformed(message!(WhyDataNoComma)));
    };
    let mut params = header.split(';');
    let media_type = params.next().unwrap_or_default();
    let is_base64 = params.any(|p| p.eq_ignore_ascii_case("base64"));
    if !is_image_type(media_type) {
        return Err(UrlProblem::DataNotImage(media_type));
    }
    let decoded_bytes = if is_base64 {
        base64_decoded_len(payload).map_err(UrlProblem::Malformed)?
    } else {
        percent_decoded_len(payload)
    };
    if decoded_bytes == 0 {
        return Err(UrlProblem::Malformed(message!(WhyDataEmpty)));
    }
    Ok(ReferenceUrl::DataImage {
        media_type,
        decoded_bytes,
    })
}

/// The size base64 text decodes to, or why it is not base64. Checked, never decoded.
fn base64_decoded_len(payload: &str) -> Result<usize, String> {
    let body = payload.trim_end_matches('=');
    let padding = payload.len() - body.len();
    if let Some(i) = body
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/'))
    {
        let bad = body
            .get(i..)
            .and_then(|rest| rest.chars().next())
            .unwrap_or('?');
        return Err(message!(WhyBase64Char, char = bad, offset = i));
    }
    if padding > 2 || body.len() % 4 == 1 || (padding > 0 && (body.len() + padding) % 4 != 0) {
        return Err(message!(WhyBase64Length));
    }
    Ok(body.len() / 4 * 3 + (body.len() % 4).saturating_sub(1))
}

/// The size percent-encoded text decodes to: each valid `%XX` is one byte.
fn percent_decoded_len(payload: &str) -> usize {
    let bytes = payload.as_bytes();
    let mut len = 0;
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes.get(i) == Some(&b'%')
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        i += if escape { 3 } else { 1 };
        len += 1;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_sizes_match_real_decoding() {
        // "", "f", "fo", "foo", "foob", "fooba", "foobar"
        let cases = [
            ("Zg==", 1),
            ("Zm8=", 2),
            ("Zm9v", 3),
            ("Zm9vYg==", 4),
            ("Zm9vYmE=", 5),
            ("Zm9vYmFy", 6),
            ("Zm9vYg", 4),
        ];
        for (text, len) in cases {
            assert_eq!(base64_decoded_len(text), Ok(len), "{text}");
        }
        assert!(base64_decoded_len("Zm9vY").is_err());
        assert!(base64_decoded_len("Zm=9v").is_err());
        assert!(base64_decoded_len("Zm9v===").is_err());
    }

    #[test]
    fn percent_sizes() {
        assert_eq!(percent_decoded_len("a%20b"), 3);
        assert_eq!(percent_decoded_len("%zz"), 3);
        assert_eq!(percent_decoded_len("%2"), 2);
    }
}
