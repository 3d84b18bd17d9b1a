//! Each locale's catalog (js/locales/<locale>.js) is held to the core's messages
//! (src/core/messages.rs): every message, in order, with its English exactly as the core
//! writes it, and a translation that keeps every `{name}` the English has (and no other).

use runbase_image::core::messages::ENGLISH;

const LOCALES: [&str; 1] = ["zh-CN"];

/// The `{name}`s of a `format!` text (`{{` is a brace), sorted.
fn names(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(tail) = after.strip_prefix('{') {
            rest = tail;
            continue;
        }
        let close = after.find('}').expect("a closing brace");
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    names.sort_unstable();
    names
}

/// The catalog's JSON: what the file hands to `catalog(...)`.
fn catalog(locale: &str) -> serde_json::Value {
    let path = format!("{}/js/locales/{locale}.js", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).expect("the locale's file");
    let start = source.find("catalog(").expect("catalog(") + "catalog(".len();
    let end = source.rfind(");").expect(");");
    serde_json::from_str(&source[start..end]).expect("the catalog is JSON")
}

#[test]
fn every_locale_has_every_message_with_its_english_and_names() {
    for locale in LOCALES {
        let catalog = catalog(locale);
        let messages = catalog["messages"].as_array().expect("messages");
        let ids: Vec<&str> = messages.iter().map(|m| m[0].as_str().unwrap()).collect();
        let expected: Vec<&str> = ENGLISH.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, expected, "{locale}: the messages, in the core's order");
        for (message, (id, english)) in messages.iter().zip(ENGLISH) {
            assert_eq!(
                message[1], *english,
                "{locale} {id}: the English as the core writes it"
            );
            let said = message[2].as_str().expect("a translation");
            assert!(!said.trim().is_empty(), "{locale} {id}: empty");
            assert_eq!(names(said), names(english), "{locale} {id}: {said}");
        }
        let list = catalog["list"].as_array().expect("the list separators");
        assert_eq!(list.len(), 2, "{locale}: a separator and the last one");
    }
}

/// Each message of zh-CN is Chinese, but for the names of JavaScript values, which Chinese
/// writes as they are.
#[test]
fn zh_cn_is_chinese() {
    let as_is = [
        "given_null",
        "given_undefined",
        "given_bigint",
        "given_symbol",
    ];
    let cjk = |text: &str| {
        text.chars().any(|c| {
            ('\u{3000}'..='\u{9fff}').contains(&c) || ('\u{ff00}'..='\u{ffef}').contains(&c)
        })
    };
    for message in catalog("zh-CN")["messages"].as_array().unwrap() {
        let (id, said) = (message[0].as_str().unwrap(), message[2].as_str().unwrap());
        assert!(as_is.contains(&id) || cjk(said), "{id}: {said}");
    }
}

#[test]
fn names_are_read_as_format_reads_them() {
    assert_eq!(names("{{\"a\": 1}} {b} and {a}"), ["a", "b"]);
    assert!(names("no names").is_empty());
}
