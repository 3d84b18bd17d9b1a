//! The checks of one field each: the prompt (and its length as the API counts it), and the
//! aspect ratio and resolution as choices among the model's values, with the rule linking them.

use crate::core::messages::message;
use crate::core::model::{ModelSpec, FIELD_ASPECT_RATIO, FIELD_PROMPT, FIELD_RESOLUTION};
use crate::core::suggest;
use crate::core::value::{quote, Value};
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
                message!(PromptMissing),
            );
            return None;
        }
        Some(Value::String(text)) => text,
        Some(other) => {
            report.push(
                FIELD_PROMPT,
                IssueCode::PromptNotString,
                message!(PromptNotString, given = other.describe()),
            );
            return None;
        }
    };
    let length = prompt_length(text);
    if length < model.prompt_min_length {
        report.push(FIELD_PROMPT, IssueCode::PromptEmpty, message!(PromptEmpty));
        return None;
    }
    if length > max {
        report.push(
            FIELD_PROMPT,
            IssueCode::PromptTooLong,
            message!(
                PromptTooLong,
                length = length,
                max = max,
                over = (length - max)
            ),
        );
        return None;
    }
    if text.trim().is_empty() {
        report.warn(FIELD_PROMPT, IssueCode::PromptBlank, message!(PromptBlank));
    }
    Some(text)
}

/// A prompt's length as the API counts it: in UTF-16 code units, which docs/RUNBASE-API.md
/// recommends (what a JavaScript API's `String.length` most likely checks, and never looser
/// than code points); `prompt_too_long` says so.
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
                    message!(
                        ChoiceNotString,
                        field = field,
                        allowed = list(&allowed),
                        given = other.describe(),
                        default = default
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
            message!(
                ChoiceUnsupported,
                field = field,
                given = quote(given),
                allowed = list(&allowed),
                did_you_mean = did_you_mean(suggestion)
            ),
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
        message!(RatioDefault, ratio = ratio)
    } else {
        message!(RatioGiven, ratio = ratio)
    };
    let allowed: Vec<&'static str> = model.resolutions_for(ratio).collect();
    report
        .push(
            FIELD_RESOLUTION,
            IssueCode::ResolutionNotAllowedForAspectRatio,
            message!(
                ResolutionNotForRatio,
                resolution = resolution,
                ratios = list(only_with),
                ratio = ratio_source,
                resolutions = list(&allowed)
            ),
        )
        .details(None, Some(Cow::Owned(allowed)));
}
