//! Every sentence the validator says, once, in English: `message!(Name, arg = …)` writes one
//! (a `format!` of its text, so it costs what a `format!` does), `text!(Name)` is the text
//! itself. [`ENGLISH`] lists them all by id; a locale's catalog (`js/locales/<locale>.js`)
//! pairs each with its translation, using the same `{names}`, and the package's JS says an
//! issue's message in that language from it (tests/locales.rs holds each catalog to this list).

macro_rules! messages {
    ($($variant:ident $id:literal = $text:literal,)*) => {
        /// A message's English text, as a literal: a `format!` string (`{{` is a brace).
        macro_rules! text {
            $(($variant) => { $text };)*
        }
        pub(crate) use text;

        /// Every message: its id and English text, in catalog order.
        pub const ENGLISH: &[(&str, &str)] = &[$(($id, $text),)*];
    };
}

messages! {
    InputNotObject "input_not_object" = "The input must be an object such as {{\"prompt\": \"A red bicycle\"}}, but {given} was given",
    UnknownField "unknown_field" = "Unknown field {field}: {model} accepts only {fields}.{did_you_mean}",
    PromptMissing "prompt_missing" = "A prompt is required: describe the image to generate",
    PromptNotString "prompt_not_string" = "The prompt must be text, but {given} was given",
    PromptEmpty "prompt_empty" = "The prompt is empty: describe the image to generate",
    PromptTooLong "prompt_too_long" = "The prompt is {length} characters long; the limit is {max}. Characters are counted as UTF-16 code units (JavaScript's String.length), so an emoji may count as 2. Shorten it by {over}",
    PromptBlank "prompt_blank" = "The prompt holds only whitespace: the image will not follow any description",
    ChoiceNotString "choice_not_string" = "{field} must be one of the strings {allowed}, but {given} was given. Leave it out to get the default \"{default}\"",
    ChoiceUnsupported "choice_unsupported" = "{field} {given} is not supported; use one of {allowed}.{did_you_mean}",
    ResolutionNotForRatio "resolution_not_allowed_for_aspect_ratio" = "Resolution {resolution} is only available with aspect ratios {ratios}, not with {ratio}. Choose one of those ratios, or resolution {resolutions}",
    RatioDefault "ratio_default" = "the default aspect ratio {ratio} (none was given)",
    RatioGiven "ratio_given" = "aspect ratio {ratio}",
    ImageUrlsNotArray "image_urls_not_array" = "image_urls must be an array of up to {max} URLs, but {given} was given",
    ImageUrlsTooMany "image_urls_too_many" = "{count} reference images were given; at most {max} are allowed",
    FileDuplicate "file_duplicate" = "This file is the same as image_urls[{first}]",
    UrlDuplicate "url_duplicate" = "This reference image is the same as image_urls[{first}]",
    ImageUrlNotString "image_url_not_string" = "Each reference image must be a URL string, but {given} was given",
    FileNoType "file_no_type" = "This file has no media type, not an image: attach a PNG, JPEG or WebP image",
    FileNotImage "file_not_image" = "This file is {media_type}, not an image: attach a PNG, JPEG or WebP image",
    FileEmpty "file_empty" = "This file is empty",
    FileWillBeFitted "file_will_be_fitted" = "This {media_type} file is {size} ({bytes} bytes), over the {limit} limit ({limit_bytes} bytes): it will be re-encoded (and scaled down if needed) to fit before sending",
    FileTooLarge "file_too_large" = "This {media_type} file is {size} ({bytes} bytes), over the {limit} limit ({limit_bytes} bytes), and this environment cannot re-encode images (no canvas, as in Node): resize or compress it first",
    UrlInsecure "url_insecure" = "{url} uses plain http: prefer https, which cannot be altered on the way",
    DataUrlTooLarge "data_url_too_large" = "This {media_type} data URL holds {size} ({bytes} bytes); each reference image may be at most {limit} ({limit_bytes} bytes)",
    UrlInvalid "url_invalid" = "{url} is not a valid URL: {why}",
    UrlScheme "url_scheme" = "{url} uses the scheme \"{scheme}:\"; reference images must be {schemes} URLs",
    DataUrlNotImage "data_url_not_image" = "This data URL holds {media_type}, not an image: use an image/* media type such as image/png",
    DataUrlNoType "data_url_no_type" = "text/plain (none given)",
    TooManyIssues "too_many_issues" = "{count} more issue(s) were found and left out of this list",
    ModelNotSupported "model_not_supported" = "The model {model} is not supported by this library; supported: {models}",
    DidYouMean "did_you_mean" = " Did you mean \"{suggestion}\"?",
    GivenNull "given_null" = "null",
    GivenBoolean "given_boolean" = "a boolean ({value})",
    GivenNumber "given_number" = "a number ({value})",
    GivenString "given_string" = "the string {value}",
    GivenArrayOf "given_array_of" = "an array of {count} item(s)",
    GivenArray "given_array" = "an array",
    GivenObject "given_object" = "an object",
    GivenFile "given_file" = "a file",
    GivenUndefined "given_undefined" = "undefined",
    GivenFunction "given_function" = "a function",
    GivenBigint "given_bigint" = "a bigint",
    GivenSymbol "given_symbol" = "a symbol",
    GivenUnreadable "given_unreadable" = "a value that could not be read (a getter or Proxy threw)",
    WhyEmpty "why_empty" = "it is empty",
    WhyWhitespaceEnds "why_whitespace_ends" = "it starts or ends with whitespace; percent-encode it or remove it",
    WhyContains "why_contains" = "it contains {char}; percent-encode it or remove it",
    CharSpace "char_space" = "a space",
    CharTab "char_tab" = "a tab",
    CharLineBreak "char_line_break" = "a line break",
    CharControl "char_control" = "the control character {code}",
    WhyNoScheme "why_no_scheme" = "it has no scheme: give an absolute URL such as https://example.com/photo.png",
    WhyBadScheme "why_bad_scheme" = "it has no valid scheme: give an absolute URL such as https://example.com/photo.png",
    WhyNoSlashes "why_no_slashes" = "the scheme must be followed by // and a host, as in https://example.com/photo.png",
    WhyIpv6Unclosed "why_ipv6_unclosed" = "its IPv6 host has no closing ]",
    WhyIpv6Invalid "why_ipv6_invalid" = "its IPv6 host is not valid",
    WhyAfterIpv6 "why_after_ipv6" = "unexpected text after its IPv6 host",
    WhyNoHost "why_no_host" = "it has no host",
    WhyHostChar "why_host_char" = "its host contains the character '{char}'",
    WhyPort "why_port" = "its port \"{port}\" is not a number from 0 to 65535",
    WhyDataNoComma "why_data_no_comma" = "this data: URL has no comma before its data",
    WhyDataEmpty "why_data_empty" = "this data: URL holds no data",
    WhyBase64Char "why_base64_char" = "its base64 data has the character '{char}' at offset {offset}, which base64 does not use",
    WhyBase64Length "why_base64_length" = "its base64 data has a length or padding that cannot be decoded",
}

/// A message in English; arguments by name, as `format!` takes them.
macro_rules! message {
    ($variant:ident) => {
        String::from($crate::core::messages::text!($variant))
    };
    ($variant:ident, $($args:tt)+) => {
        format!($crate::core::messages::text!($variant), $($args)+)
    };
}
pub(crate) use message;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_written_from_their_text() {
        assert_eq!(
            message!(DidYouMean, suggestion = "1:1"),
            " Did you mean \"1:1\"?"
        );
        assert_eq!(
            message!(InputNotObject, given = "null"),
            "The input must be an object such as {\"prompt\": \"A red bicycle\"}, but null was given"
        );
        // `message!(Name)` without arguments gives its text as it stands, not through
        // `format!`: a text with no argument may hold no escaped brace.
        for (id, text) in ENGLISH {
            let has_arguments = text
                .split('{')
                .skip(1)
                .any(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase()));
            assert!(
                has_arguments || !text.contains("{{") && !text.contains("}}"),
                "{id}"
            );
        }
    }
}
