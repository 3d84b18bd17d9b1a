//! Checks a model's input against its [`ModelSpec`]: every problem at once, each with a path,
//! a stable code, a message a person understands and a severity; on success the input ready
//! to send, with defaults filled in.
//!
//! Here the result types, the entry points and the input as a whole; the per-field checks are
//! in `fields.rs` (prompt, aspect ratio, resolution) and `images.rs` (reference images).

use crate::core::messages::message;
use crate::core::model::{
    find_model, ModelSpec, FIELDS, FIELD_ASPECT_RATIO, FIELD_IMAGE_URLS, FIELD_PROMPT,
    FIELD_RESOLUTION, MODELS,
};
use crate::core::suggest;
use crate::core::value::{comma_list, quote, Value};
use serde::{Serialize, Serializer};
use std::borrow::Cow;

mod fields;
mod images;
pub use fields::prompt_length;
use fields::{check_choice, check_prompt, check_resolution_for_ratio};
use images::{check_image_urls, check_reference};

/// At most this many issues are reported; a last `too_many_issues` says how many were left out.
pub const MAX_ISSUES: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(tsify_next::Tsify))]
#[cfg_attr(test, serde(rename_all = "lowercase"))]
pub enum Severity {
    /// The API would refuse the input.
    Error,
    /// Legal, but probably not what was meant.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Serialize for IssueCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

macro_rules! issue_codes {
    ($($variant:ident = $code:literal,)*) => {
        /// Stable, machine-readable reasons. The strings are part of the public API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum IssueCode { $($variant,)* }

        impl IssueCode {
            pub const ALL: &'static [IssueCode] = &[$(IssueCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(IssueCode::$variant => $code,)* }
            }
        }
    };
}

issue_codes! {
    InputNotObject = "input_not_object",
    UnknownField = "unknown_field",
    PromptMissing = "prompt_missing",
    PromptNotString = "prompt_not_string",
    PromptEmpty = "prompt_empty",
    PromptTooLong = "prompt_too_long",
    PromptBlank = "prompt_blank",
    AspectRatioNotString = "aspect_ratio_not_string",
    AspectRatioUnsupported = "aspect_ratio_unsupported",
    ResolutionNotString = "resolution_not_string",
    ResolutionUnsupported = "resolution_unsupported",
    ResolutionNotAllowedForAspectRatio = "resolution_not_allowed_for_aspect_ratio",
    ImageUrlsNotArray = "image_urls_not_array",
    ImageUrlsTooMany = "image_urls_too_many",
    ImageUrlNotString = "image_url_not_string",
    ImageUrlInvalid = "image_url_invalid",
    ImageUrlUnsupportedScheme = "image_url_unsupported_scheme",
    ImageUrlNotImage = "image_url_not_image",
    ImageUrlTooLarge = "image_url_too_large",
    ImageUrlDuplicate = "image_url_duplicate",
    ImageUrlInsecure = "image_url_insecure",
    ImageFileWillBeFitted = "image_file_will_be_fitted",
    TooManyIssues = "too_many_issues",
    ModelNotSupported = "model_not_supported",
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(tsify_next::Tsify))]
#[cfg_attr(test, serde(rename = "ValidationIssue"))]
pub struct Issue {
    /// Where, relative to the input: "prompt", "image_urls[2]"; "" for the input itself.
    #[cfg_attr(test, tsify(type = "string"))]
    pub path: Cow<'static, str>,
    pub code: IssueCode,
    /// A sentence for a person: what was given and what is allowed.
    pub message: String,
    pub severity: Severity,
    /// A value that would fix it, when one is clear ("16:9" for "16x9").
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, tsify(optional, type = "string"))]
    pub suggestion: Option<&'static str>,
    /// The values the field accepts, for enum, scheme and field-name problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, tsify(optional, type = "string[]"))]
    pub allowed: Option<Cow<'static, [&'static str]>>,
}

/// The input ready to send: defaults filled in; `image_urls` left out when empty (an empty
/// list means the same as none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(tsify_next::Tsify))]
pub struct NormalizedInput<'a> {
    #[cfg_attr(test, tsify(type = "string"))]
    pub prompt: &'a str,
    #[cfg_attr(test, tsify(type = "AspectRatio"))]
    pub aspect_ratio: &'static str,
    #[cfg_attr(test, tsify(type = "Resolution"))]
    pub resolution: &'static str,
    /// The caller's own File / Blob objects stay in place (they are sent as data: URLs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(test, tsify(optional, type = "(string | Blob)[]"))]
    pub image_urls: Vec<ImageRef<'a>>,
}

/// One reference image of a valid input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageRef<'a> {
    Url(&'a str),
    /// A file (JS `File` / `Blob`), valid as given or once fitted. It cannot be sent as it is:
    /// the package's entry module turns it into a data: URL first, and puts the caller's
    /// object back where this serializes as `null` (the normalized value of validateInput).
    File,
}

impl ImageRef<'_> {
    pub fn url(&self) -> Option<&str> {
        match self {
            ImageRef::Url(url) => Some(url),
            ImageRef::File => None,
        }
    }
}

impl Serialize for ImageRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ImageRef::Url(url) => serializer.serialize_str(url),
            ImageRef::File => serializer.serialize_unit(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Validation<'a> {
    /// Present exactly when no issue is an error.
    pub value: Option<NormalizedInput<'a>>,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

/// As `validateInput` answers: `{ ok, value?, issues, warnings }`.
impl Serialize for Validation<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("ValidationResult", 4)?;
        out.serialize_field("ok", &self.is_ok())?;
        match &self.value {
            Some(value) => out.serialize_field("value", &value)?,
            None => out.skip_field("value")?,
        }
        out.serialize_field("issues", &self.errors)?;
        out.serialize_field("warnings", &self.warnings)?;
        out.end()
    }
}

impl Validation<'_> {
    pub fn is_ok(&self) -> bool {
        self.value.is_some()
    }

    /// All issues, errors first.
    pub fn issues(&self) -> impl Iterator<Item = &Issue> {
        self.errors.iter().chain(&self.warnings)
    }
}

/// Collects issues and keeps the list bounded whatever the input holds.
#[derive(Default)]
struct Report {
    issues: Vec<Issue>,
    left_out: usize,
}

impl Report {
    fn push(
        &mut self,
        path: impl Into<Cow<'static, str>>,
        code: IssueCode,
        message: String,
    ) -> &mut Self {
        self.push_with(path, code, Severity::Error, message)
    }

    fn warn(
        &mut self,
        path: impl Into<Cow<'static, str>>,
        code: IssueCode,
        message: String,
    ) -> &mut Self {
        self.push_with(path, code, Severity::Warning, message)
    }

    fn push_with(
        &mut self,
        path: impl Into<Cow<'static, str>>,
        code: IssueCode,
        severity: Severity,
        message: String,
    ) -> &mut Self {
        if self.issues.len() < MAX_ISSUES {
            self.issues.push(Issue {
                path: path.into(),
                code,
                message,
                severity,
                suggestion: None,
                allowed: None,
            });
        } else {
            self.left_out += 1;
        }
        self
    }

    /// Adds details to the issue just pushed (if it was not left out).
    fn details(
        &mut self,
        suggestion: Option<&'static str>,
        allowed: Option<Cow<'static, [&'static str]>>,
    ) {
        if self.left_out == 0 {
            if let Some(last) = self.issues.last_mut() {
                last.suggestion = suggestion;
                last.allowed = allowed;
            }
        }
    }
}

/// Validates `input` for the model with this id; an unknown id is itself the one error.
pub fn validate_for_model<'a>(model_id: &str, input: &'a Value) -> Validation<'a> {
    match find_model(model_id) {
        Some(model) => validate(model, input),
        None => Validation {
            value: None,
            errors: vec![Issue {
                path: Cow::Borrowed(""),
                code: IssueCode::ModelNotSupported,
                message: message!(
                    ModelNotSupported,
                    model = quote(model_id),
                    models = list(&MODELS.map(|m| m.id))
                ),
                severity: Severity::Error,
                suggestion: None,
                allowed: Some(Cow::Owned(MODELS.map(|m| m.id).to_vec())),
            }],
            warnings: Vec::new(),
        },
    }
}

/// The issues of one `image_urls` entry (a URL string or a file) on its own, errors and
/// warnings: none when it passes clean. js/fast-path.js keeps whether it has none per string
/// and per file, so that validating the same references again (a form does on every
/// keystroke) costs a lookup instead of a pass over a 4 MB data URL; fitReferenceImage
/// refuses a file with its first error. The rules stay here; `path` names the entry in the
/// issues ("" for the entry itself).
pub fn reference_issues(model: &ModelSpec, entry: &Value, path: &str) -> Vec<Issue> {
    let mut report = Report::default();
    check_reference(model, entry, path, &mut report);
    report.issues
}

pub fn validate<'a>(model: &ModelSpec, input: &'a Value) -> Validation<'a> {
    let mut report = Report::default();
    let normalized = check_input(model, input, &mut report);
    if report.left_out > 0 {
        let n = report.left_out;
        report.issues.push(Issue {
            path: Cow::Borrowed(""),
            code: IssueCode::TooManyIssues,
            message: message!(TooManyIssues, count = n),
            severity: Severity::Error,
            suggestion: None,
            allowed: None,
        });
    }
    let (errors, warnings): (Vec<Issue>, Vec<Issue>) = report
        .issues
        .into_iter()
        .partition(|i| i.severity == Severity::Error);
    Validation {
        value: normalized.filter(|_| errors.is_empty()),
        errors,
        warnings,
    }
}

fn check_input<'a>(
    model: &ModelSpec,
    input: &'a Value,
    report: &mut Report,
) -> Option<NormalizedInput<'a>> {
    let Value::Object(fields) = input else {
        report.push(
            "",
            IssueCode::InputNotObject,
            message!(InputNotObject, given = input.describe()),
        );
        return None;
    };
    let prompt = check_prompt(model, input.get(FIELD_PROMPT), report);
    let aspect_ratio = check_choice(
        model,
        FIELD_ASPECT_RATIO,
        input.get(FIELD_ASPECT_RATIO),
        report,
    );
    let resolution = check_choice(model, FIELD_RESOLUTION, input.get(FIELD_RESOLUTION), report);
    if let (Some(ratio), Some(resolution)) = (aspect_ratio, resolution) {
        check_resolution_for_ratio(model, input, ratio, resolution, report);
    }
    let image_urls = check_image_urls(model, input.get(FIELD_IMAGE_URLS), report);
    // Unknown fields last, so that a flood of them cannot push the known fields' issues out.
    for (name, _) in fields {
        if !FIELDS.contains(&name.as_str()) {
            let suggestion = suggest::field_name(name, &FIELDS);
            report
                .push(
                    name.clone(),
                    IssueCode::UnknownField,
                    message!(
                        UnknownField,
                        field = quote(name),
                        model = model.id,
                        fields = comma_list(&FIELDS),
                        did_you_mean = did_you_mean(suggestion)
                    ),
                )
                .details(suggestion, Some(Cow::Borrowed(&FIELDS)));
        }
    }
    Some(NormalizedInput {
        prompt: prompt?,
        aspect_ratio: aspect_ratio?,
        resolution: resolution?,
        image_urls: image_urls?,
    })
}

/// The issues of one field's value taken on its own (errors and warnings, in report order), or
/// `None` for a field whose issues are not its own alone. js/fast-path.js keeps them per value, so
/// that the fields a keystroke did not change cost a lookup, not a call into the core; the
/// rule linking resolution to aspect ratio stays with the whole input's validation.
pub fn field_issues(model: &ModelSpec, field: &str, value: &Value) -> Option<Vec<Issue>> {
    let mut report = Report::default();
    // Only the issues are wanted here, not the value each check hands on.
    match field {
        FIELD_PROMPT => {
            check_prompt(model, Some(value), &mut report);
        }
        FIELD_ASPECT_RATIO => {
            check_choice(model, FIELD_ASPECT_RATIO, Some(value), &mut report);
        }
        FIELD_RESOLUTION => {
            check_choice(model, FIELD_RESOLUTION, Some(value), &mut report);
        }
        _ => return None,
    }
    Some(report.issues)
}

/// ` Did you mean "16:9"?` in the language in use, or nothing.
fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or(String::new(), |s| message!(DidYouMean, suggestion = s))
}

/// `"1:1", "2:3" or "3:2"`
fn list(values: &[&str]) -> String {
    // Built by hand: a `join` over `String`s would add a second copy of `join` to the module.
    let mut out = String::with_capacity(values.iter().map(|v| v.len() + 4).sum());
    for (i, value) in values.iter().enumerate() {
        out.push_str(match i {
            0 => "\"",
            _ if i + 1 == values.len() => "\" or \"",
            _ => "\", \"",
        });
        out.push_str(value);
    }
    if !values.is_empty() {
        out.push('"');
    }
    out
}
