//! The checks of one field each: the prompt (and its length as the API counts it), and the
//! aspect ratio and resolution as choices among the model's values, with the rule linking them.

use crate::core::model::{
    ModelSpec, FIELD_ASPECT_RATIO, FIELD_PROMPT, FIELD_RESOLUTION, PROMPT_LENGTH_UNIT,
};
use crate::core::suggest;
use crate::core::value::{join_text, quote, Value};
use std::borrow::Cow;

use super::{did_you_mean, list, IssueCode, Report};

/// The aspect ratio or the resolution: one of the model's values, or its default when absent.
pub(super) fn check_choice(
    model: &ModelSpec,
    field: &'static str,
    value: Option<&Value>,
    report: &mut Report,
) -> Option<&'static str> {
    let (allowed, default, codes) = if field == FIELD_ASPECT_RATIO {
        (
            Cow::Borrowed(model.aspect_ratios),
            model.default_aspect_ratio,
            (
                IssueCode::AspectRatioNotString,
                IssueCode::AspectRatioUnsupported,
            ),
        )
    } else {
        (
            Cow::Owned(model.resolution_names().collect()),
            model.default_resolution,
            (
                IssueCode::ResolutionNotString,
                IssueCode::ResolutionUnsupported,
            ),
        )
    };
    check_enum(value, field, allowed, default, codes, report)
}

pub(super) fn check_prompt<'a>(
    model: &ModelSpec,
    value: Option<&'a Value>,
    report: &mut Report,
) -> Option<&'a str> {
    let max = model.prompt_max_length;
    let text = match value {
        None => {
            report.push(
                FIELD_PROMPT,
                IssueCode::PromptMissing,
                "A prompt is required: describe the image to generate".into(),
            );
            return None;
        }
        Some(Value::String(text)) => text,
        Some(other) => {
            report.push(
                FIELD_PROMPT,
                IssueCode::PromptNotString,
                format!(
                    "The prompt must be text, but {} was given",
                    other.describe()
                ),
            );
            return None;
        }
    };
    let length = prompt_length(text);
    if length < model.prompt_min_length {
        report.push(
            FIELD_PROMPT,
            IssueCode::PromptEmpty,
            "The prompt is empty: describe the image to generate".into(),
        );
        return None;
    }
    if length > max {
        report.push(
            FIELD_PROMPT,
            IssueCode::PromptTooLong,
            format!(
                "The prompt is {length} characters long; the limit is {max}. Characters are counted as {PROMPT_LENGTH_UNIT}, so an emoji may count as 2. Shorten it by {}",
                length - max
            ),
        );
        return None;
    }
    if text.trim().is_empty() {
        report.warn(
            FIELD_PROMPT,
            IssueCode::PromptBlank,
            "The prompt holds only whitespace: the image will not follow any description".into(),
        );
    }
    Some(text)
}

/// A prompt's length as the API counts it (see [`PROMPT_LENGTH_UNIT`]).
pub fn prompt_length(text: &str) -> usize {
    // From the UTF-8 bytes: every character starts with one non-continuation byte, and the
    // four-byte ones (lead byte ≥ 0xF0) are two UTF-16 units. A byte loop stays fast in wasm.
    let mut units = 0;
    for &b in text.as_bytes() {
        units += usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0);
    }
    units
}

fn check_enum(
    value: Option<&Value>,
    field: &'static str,
    allowed: Cow<'static, [&'static str]>,
    default: &'static str,
    (not_string, unsupported): (IssueCode, IssueCode),
    report: &mut Report,
) -> Option<&'static str> {
    let given = match value {
        None => return Some(default),
        Some(Value::String(given)) => given,
        Some(other) => {
            report
                .push(
                    field,
                    not_string,
                    format!(
                        "{field} must be one of the strings {}, but {} was given. Leave it out to get the default \"{default}\"",
                        list(&allowed),
                        other.describe()
                    ),
                )
                .details(None, Some(allowed));
            return None;
        }
    };
    if let Some(hit) = allowed.iter().find(|a| *a == given) {
        return Some(hit);
    }
    let suggestion = suggest::enum_value(given, &allowed);
    report
        .push(
            field,
            unsupported,
            join_text(&[
                field,
                " ",
                &quote(given),
                " is not supported; use one of ",
                &list(&allowed),
                ".",
                &did_you_mean(suggestion),
            ]),
        )
        .details(suggestion, Some(allowed));
    None
}

pub(super) fn check_resolution_for_ratio(
    model: &ModelSpec,
    input: &Value,
    ratio: &str,
    resolution: &str,
    report: &mut Report,
) {
    let Some(rule) = model.resolution(resolution) else {
        return;
    };
    let Some(only_with) = rule.only_with_aspect_ratios else {
        return;
    };
    if only_with.contains(&ratio) {
        return;
    }
    let ratio_source = if input.get(FIELD_ASPECT_RATIO).is_none() {
        format!("the default aspect ratio {ratio} (none was given)")
    } else {
        format!("aspect ratio {ratio}")
    };
    let allowed: Vec<&'static str> = model.resolutions_for(ratio).collect();
    report
        .push(
            FIELD_RESOLUTION,
            IssueCode::ResolutionNotAllowedForAspectRatio,
            format!(
                "Resolution {resolution} is only available with aspect ratios {}, not with {ratio_source}. Choose one of those ratios, or resolution {}",
                list(only_with),
                list(&allowed)
            ),
        )
        .details(None, Some(Cow::Owned(allowed)));
}
