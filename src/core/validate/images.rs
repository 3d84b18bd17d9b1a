//! The reference images (`image_urls`): the list, and each entry on its own, a URL (https,
//! http, data:) or a file, with sizes against the model's limit.

use crate::core::messages::{message, text};
use crate::core::model::{ModelSpec, FIELD_IMAGE_URLS};
use crate::core::reference_url::{classify, is_image_type, ReferenceUrl, UrlProblem};
use crate::core::value::{comma_list, number_text, quote, FileInfo, Value};
use std::borrow::Cow;

use super::{ImageRef, IssueCode, Report, Severity};

pub(super) fn check_image_urls<'a>(
    model: &ModelSpec,
    value: Option<&'a Value>,
    report: &mut Report,
) -> Option<Vec<ImageRef<'a>>> {
    let items = match value {
        None => return Some(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            report.push(
                FIELD_IMAGE_URLS,
                IssueCode::ImageUrlsNotArray,
                message!(
                    ImageUrlsNotArray,
                    max = model.max_image_urls,
                    given = other.describe()
                ),
            );
            return None;
        }
    };
    let mut ok = true;
    if items.len() > model.max_image_urls {
        ok = false;
        report.push(
            FIELD_IMAGE_URLS,
            IssueCode::ImageUrlsTooMany,
            message!(
                ImageUrlsTooMany,
                count = items.len(),
                max = model.max_image_urls
            ),
        );
    }
    let mut urls = Vec::with_capacity(items.len());
    // Duplicates are looked for among the first entries only: past the limit the list is
    // refused anyway, and this keeps the work linear in hostile input.
    let mut first_seen: Vec<(&str, usize)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("{FIELD_IMAGE_URLS}[{index}]");
        ok &= check_reference(model, item, &path, report);
        match item {
            Value::File(file) => {
                if let Some(first) = file.same_as {
                    report.warn(
                        path,
                        IssueCode::ImageUrlDuplicate,
                        message!(FileDuplicate, first = first),
                    );
                }
                urls.push(ImageRef::File);
            }
            Value::String(url) => {
                let seen = first_seen.iter().find(|(seen, _)| *seen == url.as_str());
                if let Some((_, first)) = seen {
                    report.warn(
                        path,
                        IssueCode::ImageUrlDuplicate,
                        message!(UrlDuplicate, first = first),
                    );
                } else if first_seen.len() < 16 {
                    first_seen.push((url, index));
                }
                urls.push(ImageRef::Url(url));
            }
            _ => {}
        }
    }
    ok.then_some(urls)
}

/// Reports the problems of one entry of the list on its own (a file, a URL string, or what
/// is neither); true when it may be sent. Duplicates are the list's to find.
pub(super) fn check_reference(
    model: &ModelSpec,
    item: &Value,
    path: &str,
    report: &mut Report,
) -> bool {
    match item {
        Value::File(file) => check_image_file(model, file, path, report),
        Value::String(url) => check_image_url(model, url, path, report),
        _ => {
            report.push(
                path.to_owned(),
                IssueCode::ImageUrlNotString,
                message!(ImageUrlNotString, given = item.describe()),
            );
            false
        }
    }
}

/// Reports a file's problems (from its type and size only); true when it may be sent, as it
/// is or once the JS layer has fitted it.
fn check_image_file(model: &ModelSpec, file: &FileInfo, path: &str, report: &mut Report) -> bool {
    if !is_image_type(&file.media_type) {
        let message = if file.media_type.is_empty() {
            message!(FileNoType)
        } else {
            message!(FileNotImage, media_type = quote(&file.media_type))
        };
        report.push(path.to_owned(), IssueCode::ImageUrlNotImage, message);
        return false;
    }
    if file.bytes == 0 {
        report.push(
            path.to_owned(),
            IssueCode::ImageUrlInvalid,
            message!(FileEmpty),
        );
        return false;
    }
    if file.bytes <= model.max_image_bytes as u64 {
        return true;
    }
    let (size, bytes) = (megabytes(file.bytes as f64), number_text(file.bytes as f64));
    let (limit, limit_bytes) = (
        megabytes(model.max_image_bytes as f64),
        model.max_image_bytes,
    );
    let media_type = &file.media_type;
    let (code, severity, message) = if file.fittable {
        (
            IssueCode::ImageFileWillBeFitted,
            Severity::Warning,
            message!(
                FileWillBeFitted,
                media_type = media_type,
                size = size,
                bytes = bytes,
                limit = limit,
                limit_bytes = limit_bytes
            ),
        )
    } else {
        (
            IssueCode::ImageUrlTooLarge,
            Severity::Error,
            message!(
                FileTooLarge,
                media_type = media_type,
                size = size,
                bytes = bytes,
                limit = limit,
                limit_bytes = limit_bytes
            ),
        )
    };
    report.push_with(path.to_owned(), code, severity, message);
    file.fittable
}

/// Reports the URL's problems; true when it may be sent.
fn check_image_url(model: &ModelSpec, url: &str, path: &str, report: &mut Report) -> bool {
    let shown = quote(url);
    match classify(url) {
        Ok(ReferenceUrl::Https) => true,
        Ok(ReferenceUrl::Http) => {
            report.warn(
                path.to_owned(),
                IssueCode::ImageUrlInsecure,
                message!(UrlInsecure, url = shown),
            );
            true
        }
        Ok(ReferenceUrl::DataImage {
            media_type,
            decoded_bytes,
        }) => {
            if decoded_bytes <= model.max_image_bytes {
                return true;
            }
            report.push(
                path.to_owned(),
                IssueCode::ImageUrlTooLarge,
                message!(
                    DataUrlTooLarge,
                    media_type = media_type,
                    size = megabytes(decoded_bytes as f64),
                    bytes = decoded_bytes,
                    limit = megabytes(model.max_image_bytes as f64),
                    limit_bytes = model.max_image_bytes
                ),
            );
            false
        }
        Err(UrlProblem::Malformed(why)) => {
            report.push(
                path.to_owned(),
                IssueCode::ImageUrlInvalid,
                message!(UrlInvalid, url = shown, why = why),
            );
            false
        }
        Err(UrlProblem::Scheme(scheme)) => {
            report
                .push(
                    path.to_owned(),
                    IssueCode::ImageUrlUnsupportedScheme,
                    message!(
                        UrlScheme,
                        url = shown,
                        scheme = scheme,
                        schemes = comma_list(model.image_url_schemes)
                    ),
                )
                .details(None, Some(Cow::Borrowed(model.image_url_schemes)));
            false
        }
        Err(UrlProblem::DataNotImage(media_type)) => {
            report.push(
                path.to_owned(),
                IssueCode::ImageUrlNotImage,
                message!(
                    DataUrlNotImage,
                    media_type = if media_type.is_empty() {
                        text!(DataUrlNoType)
                    } else {
                        media_type
                    }
                ),
            );
            false
        }
    }
}

/// Sizes in binary megabytes, as the limit is stated ("4 MB" = 4 × 1024 × 1024 bytes).
fn megabytes(bytes: f64) -> String {
    format!("{} MB", number_text((bytes / 10_485.76).round() / 100.0))
}
